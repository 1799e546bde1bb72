/*
 * The billing routes: public plans, platform-admin plan management and a
 * tenant's subscription (the tenant from the tenant-context rule: a
 * service key's own, else X-Tenant-Id, else ?tenant_id=). The invoice
 * routes live in billing_invoices.c; this file holds the one route table.
 *
 * A subscription's lifecycle: POST /subscriptions starts it (trialing when
 * the plan has trial days, else active) and moves tenants.plan, and with it
 * the tenant's limits, to the plan; PATCH changes the plan (a mid-period
 * change leaves two proration items for the period's invoice), cancels it
 * at the period's end or resumes it. A plan whose limits are below the
 * tenant's usage is refused with what exceeds. Each change a PATCH makes
 * (change_plan, then cancel or resume) is put to the
 * billing/updateSubscription hook first (billing_hooks.c), after the rules
 * here passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "audit.h"
#include "auth.h"
#include "billing.h"
#include "tenants.h"
#include "webhooks.h"

/* --- JSON --- */

static void
limit_json(struct lx_buf *b, const struct billing_limit *l)
{
	lx_buf_adds(b, "{\"quota\":");
	if (l->quota >= 0)
		lx_buf_add_uint(b, (uint64_t)l->quota);
	else
		lx_buf_adds(b, "null");
	lx_buf_adds(b, ",\"included\":");
	lx_buf_add_uint(b, (uint64_t)l->included);
	lx_buf_adds(b, ",\"unit_amount\":");
	lx_buf_add_uint(b, (uint64_t)l->unit_amount);
	lx_buf_adds(b, ",\"unit_size\":");
	lx_buf_add_uint(b, (uint64_t)l->unit_size);
	lx_buf_adds(b, "}");
}

void
billing_plan_json(struct lx_buf *b, const struct billing_plan *p)
{
	int i, n = 0;

	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, p->id);
	lx_buf_adds(b, ",\"code\":");
	lx_buf_add_json_str(b, p->code);
	lx_buf_adds(b, ",\"name\":");
	lx_buf_add_json_str(b, p->name);
	lx_buf_adds(b, ",\"description\":");
	lx_buf_add_json_str(b, p->description);
	lx_buf_adds(b, ",\"amount\":");
	lx_buf_add_uint(b, (uint64_t)p->amount);
	lx_buf_adds(b, ",\"currency\":");
	lx_buf_add_json_str(b, p->currency);
	lx_buf_adds(b, ",\"interval\":");
	lx_buf_add_json_str(b, p->interval);
	lx_buf_adds(b, ",\"trial_days\":");
	lx_buf_add_uint(b, (uint64_t)p->trial_days);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, p->status);
	lx_buf_adds(
	    b, p->is_default ? ",\"default\":true" : ",\"default\":false");
	lx_buf_adds(b, ",\"position\":");
	lx_buf_addf(b, "%d", p->position);
	lx_buf_adds(b, ",\"limits\":{");
	for (i = 0; i < BILLING_NMETRICS; i++) {
		if (!p->limits[i].set)
			continue;
		lx_buf_adds(b, n++ > 0 ? "," : "");
		lx_buf_add_json_str(b, billing_metrics[i]);
		lx_buf_adds(b, ":");
		limit_json(b, &p->limits[i]);
	}
	lx_buf_adds(b, "},\"created_at\":");
	lx_buf_add_time_json(b, p->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, p->updated_at);
	lx_buf_adds(b, "}");
}

void
billing_sub_json(struct lx_buf *b, const struct billing_subscription *s,
    const char *plan_code)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, s->id);
	lx_buf_adds(b, ",\"tenant_id\":");
	lx_buf_add_json_str(b, s->tenant_id);
	lx_buf_adds(b, ",\"plan\":");
	lx_buf_add_json_str(b, plan_code);
	lx_buf_adds(b, ",\"plan_id\":");
	lx_buf_add_json_str(b, s->plan_id);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, s->status);
	lx_buf_adds(b, ",\"current_period_start\":");
	lx_buf_add_time_json(b, s->current_period_start);
	lx_buf_adds(b, ",\"current_period_end\":");
	lx_buf_add_time_json(b, s->current_period_end);
	lx_buf_adds(b, ",\"trial_end\":");
	lx_buf_add_time_json(b, s->trial_end);
	lx_buf_adds(b,
	    s->cancel_at_period_end ? ",\"cancel_at_period_end\":true"
	                            : ",\"cancel_at_period_end\":false");
	lx_buf_adds(b, ",\"canceled_at\":");
	lx_buf_add_time_json(b, s->canceled_at);
	lx_buf_adds(b, ",\"provider\":");
	lx_buf_add_json_str_or_null(b, s->provider);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, s->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, s->updated_at);
	lx_buf_adds(b, "}");
}

int
billing_emit_sub(struct lx_conn *c, const struct billing_subscription *s,
    const char *plan_code, const char *type, struct lx_err *err)
{
	struct lx_buf b;
	int rc;

	lx_buf_init(&b);
	billing_sub_json(&b, s, plan_code);
	rc = webhooks_emit(c, s->tenant_id, type, b.data, err);
	lx_buf_cleanup(&b);
	return (rc);
}

static void
send_buf(struct lx_resp *resp, int status, struct lx_buf *b)
{
	lx_resp_json(resp, status, b->data != NULL ? b->data : "{}");
	lx_buf_cleanup(b);
}

static int
audit(const struct lx_req *req, const char *action, const char *target,
    const char *detail, struct lx_err *err)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	e.actor = req->ident.actor;
	e.tenant = req->tenant.id[0] != '\0' ? req->tenant.id : NULL;
	e.action = action;
	e.target = target;
	e.request_id = req->request_id;
	e.address = req->remote_addr;
	e.detail_json = detail;
	return (audit_record(req->db, &e, err));
}

/* --- limits against usage --- */

int
billing_limits_check(const struct lx_req *req, const struct billing_plan *to,
    struct lx_resp *resp, struct lx_err *err)
{
	int64_t used[BILLING_NMETRICS], start, end;
	const struct billing_limit *l;
	struct lx_buf b, x;
	char key[24];
	int i, n = 0;

	if (billing_store_usage_period(
	        req->db, req->tenant.id, lx_now_ms(), &start, &end, err)
	    == -1)
		return (-1);
	billing_period_key(start, key);
	if (billing_store_usage(req->db, req->tenant.id, key, used, err) == -1)
		return (-1);
	lx_buf_init(&x);
	for (i = 0; i < BILLING_NMETRICS; i++) {
		l = &to->limits[i];
		if (!l->set || l->quota < 0 || used[i] <= l->quota)
			continue;
		lx_buf_adds(&x, n++ > 0 ? ",{\"metric\":" : "{\"metric\":");
		lx_buf_add_json_str(&x, billing_metrics[i]);
		lx_buf_adds(&x, ",\"usage\":");
		lx_buf_add_uint(&x, (uint64_t)used[i]);
		lx_buf_adds(&x, ",\"quota\":");
		lx_buf_add_uint(&x, (uint64_t)l->quota);
		lx_buf_adds(&x, "}");
	}
	if (n == 0) {
		lx_buf_cleanup(&x);
		return (0);
	}
	/* The problem document with the list beside its members. */
	lx_buf_init(&b);
	lx_problem_json(&b, 409, "plan_limits_exceeded",
	    "the tenant uses more than the plan allows; reduce what exceeds "
	    "first",
	    req->request_id, NULL);
	b.data[--b.len] = '\0'; /* the closing brace */
	lx_buf_adds(&b, ",\"exceeded\":[");
	lx_buf_add(&b, x.data, x.len);
	lx_buf_adds(&b, "]}");
	lx_resp_json(resp, 409, b.data);
	resp->content_type = "application/problem+json";
	lx_buf_cleanup(&b);
	lx_buf_cleanup(&x);
	return (1);
}

/* --- plans --- */

static int
h_plans(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_qarg none[] = { { NULL, NULL, 0, 0 } };
	struct billing_plan *v = NULL;
	struct lx_buf b;
	int i, n = 0;
	int all = req->route->need == NEED_PLATFORM_ADMIN;

	if (lx_query_args(req->query, none, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_store_plans(req->db, all, &v, &n, err) == -1)
		return (-1);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"plans\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		billing_plan_json(&b, &v[i]);
	}
	lx_buf_adds(&b, "]}");
	lx_free(v);
	send_buf(resp, 200, &b);
	return (0);
}

static int
int_member(const cJSON *o, const char *name, int64_t min, int64_t max,
    int64_t *out, struct lx_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v)
	    || v->valuedouble != (double)(int64_t)v->valuedouble
	    || v->valuedouble < (double)min || v->valuedouble > (double)max)
		return (lx_err_set(err, 422, "invalid_limits",
		    "%s is an integer from %lld to %lld", name, (long long)min,
		    (long long)max));
	*out = (int64_t)v->valuedouble;
	return (0);
}

/* Parses a body's "limits": {metric: {quota, included, unit_amount,
 * unit_size}} into p (replacing every limit). */
static int
limits_parse(const cJSON *limits, struct billing_plan *p, struct lx_err *err)
{
	struct billing_limit *l;
	const cJSON *m, *f, *q;
	int i;

	memset(p->limits, 0, sizeof(p->limits));
	cJSON_ArrayForEach(m, limits)
	{
		if ((i = billing_metric_index(m->string)) < 0)
			return (lx_err_set(err, 422, "unknown_metric",
			    "unknown metric '%.40s' (members, service_keys, "
			    "plugins, functions, function_invocations, "
			    "api_requests)",
			    m->string));
		if (!cJSON_IsObject(m))
			return (lx_err_set(err, 422, "invalid_limits",
			    "limits.%s is an object", m->string));
		cJSON_ArrayForEach(f, m)
		{
			if (strcmp(f->string, "quota") != 0
			    && strcmp(f->string, "included") != 0
			    && strcmp(f->string, "unit_amount") != 0
			    && strcmp(f->string, "unit_size") != 0)
				return (lx_err_set(err, 422, "invalid_limits",
				    "limits.%s takes quota, included, "
				    "unit_amount and unit_size",
				    m->string));
		}
		l = &p->limits[i];
		l->set = 1;
		l->quota = -1;
		l->unit_size = 1;
		q = cJSON_GetObjectItemCaseSensitive(m, "quota");
		if (q != NULL && !cJSON_IsNull(q)
		    && int_member(
		           m, "quota", 0, INT64_C(1) << 52, &l->quota, err)
		        == -1)
			return (-1);
		if (int_member(
		        m, "included", 0, INT64_C(1) << 52, &l->included, err)
		        == -1
		    || int_member(m, "unit_amount", 0, BILLING_AMOUNT_MAX,
		           &l->unit_amount, err)
		        == -1
		    || int_member(m, "unit_size", 1, INT64_C(1) << 40,
		           &l->unit_size, err)
		        == -1)
			return (-1);
	}
	return (0);
}

static int
plan_audit(const struct lx_req *req, const char *action,
    const struct billing_plan *p, struct lx_err *err)
{
	struct lx_buf b;
	int rc;

	lx_buf_init(&b);
	billing_plan_json(&b, p);
	rc = audit(req, action, p->id, b.data, err);
	lx_buf_cleanup(&b);
	return (rc);
}

static int
h_plan_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const cJSON *body = req->body, *v;
	struct billing_plan p;
	struct lx_buf b;
	int64_t n;

	memset(&p, 0, sizeof(p));
	snprintf(p.code, sizeof(p.code), "%s", lx_req_body_str(req, "code"));
	snprintf(p.name, sizeof(p.name), "%s", lx_req_body_str(req, "name"));
	v = cJSON_GetObjectItemCaseSensitive(body, "description");
	snprintf(p.description, sizeof(p.description), "%s",
	    cJSON_IsString(v) ? v->valuestring : "");
	snprintf(p.currency, sizeof(p.currency), "%.3s",
	    lx_req_body_str(req, "currency"));
	snprintf(p.interval, sizeof(p.interval), "%.7s",
	    lx_req_body_str(req, "interval"));
	if (billing_code_check(lx_req_body_str(req, "code"), err) == -1
	    || billing_currency_check(lx_req_body_str(req, "currency"), err)
	        == -1
	    || billing_interval_check(lx_req_body_str(req, "interval"), err)
	        == -1
	    || int_member(body, "amount", 0, BILLING_AMOUNT_MAX, &p.amount, err)
	        == -1)
		return (tenants_http_fail(req, resp, err));
	n = 0;
	if (int_member(body, "trial_days", 0, 365, &n, err) == -1)
		return (tenants_http_fail(req, resp, err));
	p.trial_days = (int)n;
	n = 0;
	if (int_member(body, "position", -1000000, 1000000, &n, err) == -1)
		return (tenants_http_fail(req, resp, err));
	p.position = (int)n;
	if (p.name[0] == '\0') {
		lx_err_set(err, 422, "invalid_name", "name must not be empty");
		return (tenants_http_fail(req, resp, err));
	}
	v = cJSON_GetObjectItemCaseSensitive(body, "limits");
	if (v != NULL && limits_parse(v, &p, err) == -1)
		return (tenants_http_fail(req, resp, err));
	v = cJSON_GetObjectItemCaseSensitive(body, "default");
	p.is_default = cJSON_IsTrue(v);
	auth_uuid(p.id);
	snprintf(p.status, sizeof(p.status), "active");
	p.created_at = p.updated_at = lx_now_ms();
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_store_plan_insert(req->db, &p, err) == -1
	    || plan_audit(req, "plan.create", &p, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&b);
	billing_plan_json(&b, &p);
	send_buf(resp, 201, &b);
	return (0);
}

static int
h_plan_update(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	static const char *const fixed[] = { "code", "amount", "currency",
		"interval" };
	const cJSON *body = req->body, *v;
	struct billing_plan p;
	struct lx_buf b;
	size_t i;
	int64_t n;

	for (i = 0; i < LX_NELEM(fixed); i++)
		if (cJSON_GetObjectItemCaseSensitive(body, fixed[i]) != NULL) {
			lx_err_set(err, 422, "immutable_field",
			    "a plan's %s cannot change once created: archive "
			    "it and create a new plan (its subscribers keep "
			    "it)",
			    fixed[i]);
			return (tenants_http_fail(req, resp, err));
		}
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_store_plan_by_code(
	        req->db, lx_req_param(req, "code"), &p, err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if ((v = cJSON_GetObjectItemCaseSensitive(body, "name")) != NULL) {
		if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
			lx_err_set(
			    err, 422, "invalid_name", "name must not be empty");
			return (tenants_http_fail_tx(req, resp, err));
		}
		snprintf(p.name, sizeof(p.name), "%s", v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(body, "description")) != NULL
	    && cJSON_IsString(v))
		snprintf(
		    p.description, sizeof(p.description), "%s", v->valuestring);
	n = p.trial_days;
	if (int_member(body, "trial_days", 0, 365, &n, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	p.trial_days = (int)n;
	n = p.position;
	if (int_member(body, "position", -1000000, 1000000, &n, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	p.position = (int)n;
	if ((v = cJSON_GetObjectItemCaseSensitive(body, "limits")) != NULL
	    && limits_parse(v, &p, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if ((v = cJSON_GetObjectItemCaseSensitive(body, "default")) != NULL) {
		if (cJSON_IsFalse(v) && p.is_default) {
			lx_err_set(err, 409, "default_plan",
			    "make another plan the default instead");
			return (tenants_http_fail_tx(req, resp, err));
		}
		if (cJSON_IsTrue(v) && strcmp(p.status, "active") != 0) {
			lx_err_set(err, 409, "plan_archived",
			    "an archived plan cannot be the default");
			return (tenants_http_fail_tx(req, resp, err));
		}
		p.is_default = cJSON_IsTrue(v);
	}
	p.updated_at = lx_now_ms();
	if (billing_store_plan_update(req->db, &p, err) == -1
	    || plan_audit(req, "plan.update", &p, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&b);
	billing_plan_json(&b, &p);
	send_buf(resp, 200, &b);
	return (0);
}

/* Archived: no new subscribers; the existing keep it and renew on it. */
static int
h_plan_archive(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_plan p;
	struct lx_buf b;

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_store_plan_by_code(
	        req->db, lx_req_param(req, "code"), &p, err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (p.is_default) {
		lx_err_set(err, 409, "default_plan",
		    "the default plan cannot be archived; make another plan "
		    "the default first");
		return (tenants_http_fail_tx(req, resp, err));
	}
	if (strcmp(p.status, "archived") != 0) {
		snprintf(p.status, sizeof(p.status), "archived");
		p.updated_at = lx_now_ms();
		if (billing_store_plan_update(req->db, &p, err) == -1
		    || plan_audit(req, "plan.archive", &p, err) == -1)
			return (tenants_http_fail_tx(req, resp, err));
	}
	if (lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&b);
	billing_plan_json(&b, &p);
	send_buf(resp, 200, &b);
	return (0);
}

/* --- subscriptions --- */

/* The plan a body names for a subscription: active, or 422. */
static int
plan_for_sub(const struct lx_req *req, const char *code, struct billing_plan *p,
    struct lx_err *err)
{
	if (billing_store_plan_by_code(req->db, code, p, err) == -1) {
		if (err->status == 404)
			lx_err_set(err, 422, "unknown_plan",
			    "no plan has the code '%.40s' (GET /plans)", code);
		return (-1);
	}
	if (strcmp(p->status, "active") != 0)
		return (lx_err_set(err, 422, "plan_archived",
		    "the plan '%s' takes no new subscribers", p->code));
	return (0);
}

static int
send_sub(struct lx_req *req, struct lx_resp *resp, int status,
    const struct billing_subscription *s, struct lx_err *err)
{
	struct billing_plan p;
	struct lx_buf b;

	if (billing_store_plan_by_id(req->db, s->plan_id, &p, err) == -1)
		return (-1);
	lx_buf_init(&b);
	billing_sub_json(&b, s, p.code);
	send_buf(resp, status, &b);
	return (0);
}

static int
sub_audit(const struct lx_req *req, const char *action,
    const struct billing_subscription *s, const char *code, struct lx_err *err)
{
	struct lx_buf b;
	int rc;

	lx_buf_init(&b);
	billing_sub_json(&b, s, code);
	rc = audit(req, action, s->id, b.data, err);
	lx_buf_cleanup(&b);
	return (rc);
}

static int
h_sub_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_subscription s;
	struct billing_plan p;
	int64_t now = lx_now_ms();
	int rc;

	memset(&s, 0, sizeof(s));
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (plan_for_sub(req, lx_req_body_str(req, "plan"), &p, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if ((rc = billing_limits_check(req, &p, resp, err)) != 0) {
		lx_conn_rollback(req->db);
		return (rc == 1 ? 0 : tenants_http_fail(req, resp, err));
	}
	auth_uuid(s.id);
	snprintf(s.tenant_id, sizeof(s.tenant_id), "%s", req->tenant.id);
	snprintf(s.plan_id, sizeof(s.plan_id), "%s", p.id);
	snprintf(s.period_plan_id, sizeof(s.period_plan_id), "%s", p.id);
	s.current_period_start = s.created_at = s.updated_at = now;
	if (p.trial_days > 0) {
		snprintf(s.status, sizeof(s.status), "trialing");
		s.trial_end = now + (int64_t)p.trial_days * 86400000;
		s.current_period_end = s.trial_end;
	} else {
		snprintf(s.status, sizeof(s.status), "active");
		s.current_period_end = billing_period_add(now, p.interval);
	}
	if (billing_store_sub_insert(req->db, &s, err) == -1
	    || billing_store_tenant_set_plan(req->db, s.tenant_id, p.code, err)
	        == -1
	    || sub_audit(req, "subscription.create", &s, p.code, err) == -1
	    || billing_emit_sub(
	           req->db, &s, p.code, "subscription.created", err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	billing_meter_forget(s.tenant_id);
	return (send_sub(req, resp, 201, &s, err));
}

static int
h_sub_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_subscription *rows;
	struct billing_plan p;
	struct lx_buf b;
	char after[40];
	int i, n, limit;

	if (tenants_page_args(req, &limit, after, err) == -1)
		return (tenants_http_fail(req, resp, err));
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (billing_store_subs(req->db, after, limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (tenants_http_fail(req, resp, err));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"subscriptions\":[");
	for (i = 0; i < n && i < limit; i++) {
		if (billing_store_plan_by_id(req->db, rows[i].plan_id, &p, err)
		    == -1) {
			lx_free(rows);
			lx_buf_cleanup(&b);
			return (-1);
		}
		if (i > 0)
			lx_buf_adds(&b, ",");
		billing_sub_json(&b, &rows[i], p.code);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(&b, n > limit ? rows[limit - 1].id : NULL);
	lx_buf_adds(&b, "}");
	lx_free(rows);
	send_buf(resp, 200, &b);
	return (0);
}

static int
h_sub_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_subscription s;

	if (billing_store_sub_get(req->db, lx_req_param(req, "id"), &s, err)
	    == -1)
		return (tenants_http_fail(req, resp, err));
	return (send_sub(req, resp, 200, &s, err));
}

/*
 * A mid-period change from plan `from` to `to` at now: a credit for the
 * old plan's unused time and a charge for the new plan's remaining time,
 * both of the period's length, as pending items for the period's invoice.
 */
static int
prorate(const struct lx_req *req, const struct billing_subscription *s,
    const struct billing_plan *from, const struct billing_plan *to, int64_t now,
    struct lx_err *err)
{
	int64_t whole =
	    (s->current_period_end - s->current_period_start) / 1000;
	int64_t part = (s->current_period_end - now) / 1000;
	int64_t credit = -billing_prorate(from->amount, part, whole);
	int64_t charge = billing_prorate(to->amount, part, whole);
	char what[320], when[32];
	struct lx_buf t;

	lx_buf_init(&t);
	lx_buf_add_time_json(&t, now);
	snprintf(when, sizeof(when), "%.10s", t.data + 1);
	lx_buf_cleanup(&t);
	snprintf(
	    what, sizeof(what), "Unused time on %s after %s", from->name, when);
	if (credit != 0
	    && billing_store_item_add(req->db, s, "proration", what, credit,
	           from->currency, now, s->current_period_end, err)
	        == -1)
		return (-1);
	snprintf(what, sizeof(what), "Remaining time on %s after %s", to->name,
	    when);
	if (charge != 0
	    && billing_store_item_add(req->db, s, "proration", what, charge,
	           to->currency, now, s->current_period_end, err)
	        == -1)
		return (-1);
	return (0);
}

static int
h_sub_patch(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const cJSON *cancel;
	const char *code = lx_req_body_str(req, "plan");
	struct billing_subscription s;
	struct billing_plan from, to;
	int64_t now = lx_now_ms();
	int rc;

	cancel =
	    cJSON_GetObjectItemCaseSensitive(req->body, "cancel_at_period_end");
	if (code == NULL && cancel == NULL) {
		lx_err_set(err, 422, "nothing_to_change",
		    "give plan and/or cancel_at_period_end");
		return (tenants_http_fail(req, resp, err));
	}
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_store_sub_get(req->db, lx_req_param(req, "id"), &s, err)
	        == -1
	    || billing_store_plan_by_id(req->db, s.plan_id, &from, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	to = from;
	if (strcmp(s.status, "canceled") == 0) {
		lx_err_set(err, 409, "invalid_state",
		    "the subscription is canceled; start a new one with POST "
		    "/subscriptions");
		return (tenants_http_fail_tx(req, resp, err));
	}
	if (code != NULL && strcmp(code, from.code) != 0) {
		if (plan_for_sub(req, code, &to, err) == -1)
			return (tenants_http_fail_tx(req, resp, err));
		if (strcmp(to.currency, from.currency) != 0
		    || strcmp(to.interval, from.interval) != 0) {
			lx_err_set(err, 422, "incompatible_plan",
			    "%s bills in %s per %s and %s in %s per %s; cancel "
			    "and subscribe anew to change currency or interval",
			    from.code, from.currency, from.interval, to.code,
			    to.currency, to.interval);
			return (tenants_http_fail_tx(req, resp, err));
		}
		if ((rc = billing_limits_check(req, &to, resp, err)) != 0) {
			lx_conn_rollback(req->db);
			return (
			    rc == 1 ? 0 : tenants_http_fail(req, resp, err));
		}
		if (billing_hook_sub_change(&s, &from, &to, "change_plan", err)
		    == -1)
			return (tenants_http_fail_tx(req, resp, err));
		/* A trial is not billed, so it changes plan without
		 * proration. */
		if (strcmp(s.status, "trialing") == 0)
			snprintf(s.period_plan_id, sizeof(s.period_plan_id),
			    "%s", to.id);
		else if (prorate(req, &s, &from, &to, now, err) == -1)
			return (tenants_http_fail_tx(req, resp, err));
		snprintf(s.plan_id, sizeof(s.plan_id), "%s", to.id);
		if (billing_store_tenant_set_plan(
		        req->db, s.tenant_id, to.code, err)
		    == -1)
			return (tenants_http_fail_tx(req, resp, err));
	}
	if (cancel != NULL && cJSON_IsTrue(cancel) != s.cancel_at_period_end) {
		if (billing_hook_sub_change(&s, &to, &to,
		        cJSON_IsTrue(cancel) ? "cancel" : "resume", err)
		    == -1)
			return (tenants_http_fail_tx(req, resp, err));
		s.cancel_at_period_end = cJSON_IsTrue(cancel);
	}
	s.updated_at = now;
	if (billing_store_sub_update(req->db, &s, err) == -1
	    || sub_audit(req, "subscription.update", &s, to.code, err) == -1
	    || billing_emit_sub(
	           req->db, &s, to.code, "subscription.updated", err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	billing_meter_forget(s.tenant_id);
	return (send_sub(req, resp, 200, &s, err));
}

/* --- the route table --- */

static const struct lx_field plan_fields[] = {
	{ "code", F_STRING, 1, BILLING_CODE_MAX },
	{ "name", F_STRING, 1, BILLING_NAME_MAX },
	{ "description", F_STRING, 0, BILLING_DESC_MAX },
	{ "amount", F_INT, 1, 0 },
	{ "currency", F_STRING, 1, 3 },
	{ "interval", F_STRING, 1, 5 },
	{ "trial_days", F_INT, 0, 0 },
	{ "position", F_INT, 0, 0 },
	{ "default", F_BOOL, 0, 0 },
	{ "limits", F_OBJECT, 0, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema plan_schema = { plan_fields };
static const struct lx_field plan_patch_fields[] = {
	{ "name", F_STRING, 0, BILLING_NAME_MAX },
	{ "description", F_STRING, 0, BILLING_DESC_MAX },
	{ "trial_days", F_INT, 0, 0 },
	{ "position", F_INT, 0, 0 },
	{ "default", F_BOOL, 0, 0 },
	{ "limits", F_OBJECT, 0, 0 },
	/* Refused with a clear reason rather than as unknown fields. */
	{ "code", F_STRING, 0, 0 },
	{ "amount", F_INT, 0, 0 },
	{ "currency", F_STRING, 0, 0 },
	{ "interval", F_STRING, 0, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema plan_patch_schema = { plan_patch_fields };
static const struct lx_field sub_fields[] = {
	{ "plan", F_STRING, 1, BILLING_CODE_MAX },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema sub_schema = { sub_fields };
static const struct lx_field sub_patch_fields[] = {
	{ "plan", F_STRING, 0, BILLING_CODE_MAX },
	{ "cancel_at_period_end", F_BOOL, 0, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema sub_patch_schema = { sub_patch_fields };

/* Billing stays reachable when the request quota is spent. */
#define BILL_READ LX_UNMETERED(NEED_TENANT_CTX_PERM(PERM_BILLING_READ))
#define BILL_WRITE LX_UNMETERED(NEED_TENANT_CTX_PERM(PERM_BILLING_WRITE))

static const struct lx_route billing_routes[] = {
	{ "/plans", M_GET, NEED_ANON, NULL, h_plans },
	{ "/admin/plans", M_GET, NEED_PLATFORM_ADMIN, NULL, h_plans },
	{ "/admin/plans", M_POST, NEED_PLATFORM_ADMIN, &plan_schema,
	    h_plan_create },
	{ "/admin/plans/{code}", M_PATCH, NEED_PLATFORM_ADMIN,
	    &plan_patch_schema, h_plan_update },
	{ "/admin/plans/{code}/archive", M_POST, NEED_PLATFORM_ADMIN, NULL,
	    h_plan_archive },
	{ "/subscriptions", M_GET, BILL_READ, NULL, h_sub_list },
	{ "/subscriptions", M_POST, BILL_WRITE, &sub_schema, h_sub_create },
	{ "/subscriptions/{id}", M_GET, BILL_READ, NULL, h_sub_get },
	{ "/subscriptions/{id}", M_PATCH, BILL_WRITE, &sub_patch_schema,
	    h_sub_patch },
	{ "/invoices", M_GET, BILL_READ, NULL, billing_invoices_list },
	{ "/invoices", M_POST, BILL_WRITE, &billing_invoice_schema,
	    billing_invoice_create },
	{ "/invoices/{id}", M_GET, BILL_READ, NULL, billing_invoice_get },
	{ "/invoices/{id}", M_DELETE, BILL_WRITE, NULL,
	    billing_invoice_delete },
	{ "/invoices/{id}/finalize", M_POST, BILL_WRITE, NULL,
	    billing_invoice_finalize },
	{ "/invoices/{id}/void", M_POST, BILL_WRITE, NULL,
	    billing_invoice_void },
	{ "/invoices/{id}/mark-uncollectible", M_POST, BILL_WRITE, NULL,
	    billing_invoice_uncollectible },
	{ "/invoices/{id}/mark-paid", M_POST, BILL_WRITE, &billing_pay_schema,
	    billing_invoice_mark_paid },
	{ "/tenants/{id}/usage", M_GET,
	    LX_UNMETERED(NEED_TENANT_PERM(PERM_BILLING_READ)), NULL,
	    billing_usage },
	{ "/billing/webhooks/{provider}", M_POST, NEED_ANON, &lx_raw_body,
	    billing_provider_webhook },
	{ NULL, 0, 0, NULL, NULL },
};

static int
billing_init(struct lx_server *srv, struct lx_err *err)
{
	if (billing_provider_init(srv, err) == -1
	    || billing_meter_init(srv, err) == -1)
		return (-1);
	return (billing_invoices_init(srv, err));
}

static void
billing_shutdown(void)
{
	billing_meter_shutdown();
	billing_provider_shutdown();
}

const struct lx_module billing_module = {
	"billing",
	billing_routes,
	billing_init,
	billing_shutdown,
};
