/*
 * The /webhooks routes: a tenant's endpoints (list, create, read, change,
 * delete, rotate the secret, send a test event) and each endpoint's
 * delivery log. The tenant comes from the tenant-context rule
 * (NEED_TENANT_CTX_PERM: a service key's own tenant, else X-Tenant-Id,
 * else ?tenant_id=); reads need billing.read, changes billing.write. The
 * core has checked identity, membership and permission and bound the
 * policy context, so an endpoint id of another tenant is simply not there
 * (404). Every change commits with its audit record in one transaction;
 * a secret appears only in the answers that made it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "audit.h"
#include "webhooks.h"

/* Rolls back req's transaction; the core answers err (a problem for a
 * 4xx, a logged 500 otherwise). */
static int
fail_tx(const struct lx_req *req)
{
	lx_conn_rollback(req->db);
	return (-1);
}

static int
audit(const struct lx_req *req, const char *action, const char *target,
    const char *detail, struct lx_err *err)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	e.actor = req->ident.actor;
	e.tenant = req->tenant.id;
	e.action = action;
	e.target = target;
	e.request_id = req->request_id;
	e.address = req->remote_addr;
	e.detail_json = detail;
	return (audit_record(req->db, &e, err));
}

/* --- query parameters --- */

/* ?tenant_id= (the tenant-context rule read it) and nothing else. */
static int
no_args(const struct lx_req *req, struct lx_err *err)
{
	char tid[40];
	struct lx_qarg args[] = {
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};

	return (lx_query_args(req->query, args, err));
}

/* ?limit=&cursor= (and tenant_id): the cursor is an id of the previous
 * page (hex and '-'). */
static int
page_args(
    const struct lx_req *req, int *limit, char cursor[40], struct lx_err *err)
{
	char num[24], cur[80], tid[40], *end;
	struct lx_qarg args[] = {
		{ "limit", num, sizeof(num), 0 },
		{ "cursor", cur, sizeof(cur), 0 },
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};
	size_t i, n;
	long v;

	if (lx_query_args(req->query, args, err) == -1)
		return (-1);
	*limit = WEBHOOKS_PAGE_DEFAULT;
	if (args[0].seen) {
		v = strtol(num, &end, 10);
		if (num[0] < '0' || num[0] > '9' || *end != '\0' || v < 1
		    || v > WEBHOOKS_PAGE_MAX)
			return (lx_err_set(err, 400, "invalid_limit",
			    "limit must be an integer from 1 to %d",
			    WEBHOOKS_PAGE_MAX));
		*limit = (int)v;
	}
	n = strlen(cur);
	if (args[1].seen && (n == 0 || n >= 40))
		return (lx_err_set(err, 400, "invalid_cursor",
		    "cursor must be a next_cursor value"));
	for (i = 0; i < n; i++)
		if (!((cur[i] >= '0' && cur[i] <= '9')
		        || (cur[i] >= 'a' && cur[i] <= 'f') || cur[i] == '-'))
			return (lx_err_set(err, 400, "invalid_cursor",
			    "cursor must be a next_cursor value"));
	memcpy(cursor, cur, n + 1);
	return (0);
}

/* --- JSON --- */

static void
endpoint_json(
    struct lx_buf *b, const struct webhooks_endpoint *e, const char *secret)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, e->id);
	lx_buf_adds(b, ",\"url\":");
	lx_buf_add_json_str(b, e->url);
	lx_buf_adds(b, ",\"description\":");
	lx_buf_add_json_str(b, e->description);
	lx_buf_adds(b, ",\"event_types\":");
	lx_buf_adds(b, e->event_types != NULL ? e->event_types : "[]");
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, e->status);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, e->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, e->updated_at);
	if (secret != NULL) {
		lx_buf_adds(b, ",\"secret\":");
		lx_buf_add_json_str(b, secret);
	}
	lx_buf_adds(b, "}");
}

/* Sends e (with secret when not NULL; the copy is wiped). */
static void
send_endpoint(struct lx_resp *resp, int status,
    const struct webhooks_endpoint *e, const char *secret)
{
	struct lx_buf b;

	lx_buf_init(&b);
	endpoint_json(&b, e, secret);
	lx_resp_json(resp, status, b.data);
	sodium_memzero(b.data, b.len);
	lx_buf_cleanup(&b);
}

static void
int_or_null(struct lx_buf *b, int v)
{
	if (v > 0)
		lx_buf_addf(b, "%d", v);
	else
		lx_buf_adds(b, "null");
}

static void
delivery_json(struct lx_buf *b, const struct webhooks_delivery *d)
{
	const struct webhooks_attempt *a;
	int i;

	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, d->id);
	lx_buf_adds(b, ",\"endpoint_id\":");
	lx_buf_add_json_str(b, d->endpoint_id);
	lx_buf_adds(b, ",\"message_id\":");
	lx_buf_add_json_str(b, d->message_id);
	lx_buf_adds(b, ",\"event_type\":");
	lx_buf_add_json_str(b, d->event_type);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, d->status);
	lx_buf_addf(b, ",\"attempts\":%d,\"last_status\":", d->attempts);
	int_or_null(b, d->last_status);
	lx_buf_adds(b, ",\"last_error\":");
	lx_buf_add_json_str_or_null(b, d->last_error);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, d->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, d->updated_at);
	lx_buf_adds(b, ",\"delivered_at\":");
	lx_buf_add_time_json(b, d->delivered_at);
	lx_buf_adds(b, ",\"history\":[");
	for (i = 0; i < d->nhistory; i++) {
		a = &d->history[i];
		lx_buf_adds(
		    b, i > 0 ? ",{\"attempted_at\":" : "{\"attempted_at\":");
		lx_buf_add_time_json(b, a->attempted_at);
		lx_buf_adds(b, ",\"status\":");
		int_or_null(b, a->status);
		lx_buf_addf(b, ",\"duration_ms\":%lld,\"error\":",
		    (long long)a->duration_ms);
		lx_buf_add_json_str_or_null(b, a->error);
		lx_buf_adds(b, "}");
	}
	lx_buf_adds(b, "]}");
}

/* --- body rules --- */

/* A description: no control characters (the core checked UTF-8 and the
 * length). */
static int
description_check(const char *s, struct lx_err *err)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (lx_err_set(err, 422, "invalid_description",
			    "description must not hold control characters"));
	return (0);
}

static int
url_check(const char *url, struct webhooks_url *u, struct lx_err *err)
{
	if (webhooks_url_parse(url, u, err) == -1
	    || webhooks_url_allowed(u, webhooks_config()->allow_http,
	           webhooks_config()->allow_private, err)
	        == -1)
		return (-1);
	return (0);
}

/* The body's event_types normalised into *out (lx_malloc), or def when
 * absent or null. */
static int
types_arg(
    const struct lx_req *req, const char *def, char **out, struct lx_err *err)
{
	const cJSON *a =
	    cJSON_GetObjectItemCaseSensitive(req->body, "event_types");
	struct lx_buf b;

	*out = NULL;
	if (a == NULL || cJSON_IsNull(a)) {
		*out = def != NULL ? lx_strdup(def) : NULL;
		return (0);
	}
	lx_buf_init(&b);
	if (webhooks_types_normalize(a, &b, err) == -1) {
		lx_buf_cleanup(&b);
		return (-1);
	}
	*out = lx_buf_take(&b);
	return (0);
}

/* Audit detail naming the host (never the path or query, which may carry
 * a receiver's token) and the event types. */
static void
detail_json(
    struct lx_buf *b, const char *url, const char *types, const char *status)
{
	struct webhooks_url u;
	struct lx_err e;

	lx_buf_adds(b, "{");
	if (url != NULL && webhooks_url_parse(url, &u, &e) == 0) {
		lx_buf_adds(b, "\"host\":");
		lx_buf_add_json_str(b, u.host);
		lx_buf_adds(b, ",\"https\":");
		lx_buf_adds(b, u.https ? "true" : "false");
	}
	if (types != NULL) {
		lx_buf_adds(b, b->len > 1 ? "," : "");
		lx_buf_adds(b, "\"event_types\":");
		lx_buf_adds(b, types);
	}
	if (status != NULL) {
		lx_buf_adds(b, b->len > 1 ? "," : "");
		lx_buf_adds(b, "\"status\":");
		lx_buf_add_json_str(b, status);
	}
	lx_buf_adds(b, "}");
}

/* --- handlers --- */

static int
h_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct webhooks_endpoint *rows;
	struct lx_buf b;
	char after[40];
	int i, n, limit;

	if (page_args(req, &limit, after, err) == -1)
		return (-1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (webhooks_store_list(req->db, after, limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"endpoints\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		endpoint_json(&b, &rows[i], NULL);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(&b, n > limit ? rows[limit - 1].id : NULL);
	lx_buf_adds(&b, "}");
	webhooks_endpoints_cleanup(rows, n);
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static int
h_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *url = lx_req_body_str(req, "url");
	const char *desc = lx_req_body_str(req, "description");
	struct webhooks_endpoint e;
	struct webhooks_url u;
	struct lx_buf d;
	char *secret = NULL;
	int n, ret = -1;

	memset(&e, 0, sizeof(e));
	lx_buf_init(&d);
	if (no_args(req, err) == -1 || url_check(url, &u, err) == -1
	    || description_check(desc, err) == -1
	    || types_arg(req, "[\"*\"]", &e.event_types, err) == -1)
		goto out;
	if ((secret = sodium_malloc(WEBHOOKS_SECRET_SIZE)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	webhooks_secret_new(secret);
	webhooks_uuid7(e.id);
	snprintf(e.url, sizeof(e.url), "%s", url);
	snprintf(e.description, sizeof(e.description), "%s",
	    desc != NULL ? desc : "");
	snprintf(e.status, sizeof(e.status), "enabled");
	e.created_at = e.updated_at = lx_now_ms();
	detail_json(&d, e.url, e.event_types, NULL);
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	if (webhooks_store_count(req->db, &n, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	if (n >= webhooks_config()->endpoint_limit) {
		lx_err_set(err, 403, "quota_exceeded",
		    "a tenant may have %d webhook endpoints "
		    "(webhooks.endpoint_limit)",
		    webhooks_config()->endpoint_limit);
		ret = fail_tx(req);
		goto out;
	}
	if (webhooks_store_insert(req->db, &e, secret, err) == -1
	    || audit(req, "webhook_endpoint.create", e.id, d.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	/* The one answer that carries the secret, with rotate-secret's. */
	send_endpoint(resp, 201, &e, secret);
	ret = 0;
out:
	if (secret != NULL) {
		sodium_memzero(secret, WEBHOOKS_SECRET_SIZE);
		sodium_free(secret);
	}
	lx_free(e.event_types);
	lx_buf_cleanup(&d);
	return (ret);
}

static int
h_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct webhooks_endpoint e;

	if (no_args(req, err) == -1
	    || webhooks_store_get(
	           req->db, lx_req_param(req, "endpoint_id"), &e, err)
	        == -1)
		return (-1);
	send_endpoint(resp, 200, &e, NULL);
	webhooks_endpoints_cleanup(&e, 1);
	return (0);
}

static int
h_patch(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "endpoint_id");
	const char *url = lx_req_body_str(req, "url");
	const char *desc = lx_req_body_str(req, "description");
	const char *status = lx_req_body_str(req, "status");
	struct webhooks_endpoint e;
	struct webhooks_url u;
	struct lx_buf d;
	char *types = NULL;
	int types_given, ret = -1;

	memset(&e, 0, sizeof(e));
	lx_buf_init(&d);
	if (no_args(req, err) == -1
	    || (url != NULL && url_check(url, &u, err) == -1)
	    || description_check(desc, err) == -1
	    || types_arg(req, NULL, &types, err) == -1)
		goto out;
	if (status != NULL && strcmp(status, "enabled") != 0
	    && strcmp(status, "disabled") != 0) {
		lx_err_set(err, 422, "invalid_status",
		    "status is enabled or disabled");
		goto out;
	}
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	if (webhooks_store_get(req->db, id, &e, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	if (url == NULL && desc == NULL && types == NULL && status == NULL) {
		/* Nothing to change: the endpoint as it is. */
		lx_conn_rollback(req->db);
		send_endpoint(resp, 200, &e, NULL);
		ret = 0;
		goto out;
	}
	if (url != NULL)
		snprintf(e.url, sizeof(e.url), "%s", url);
	if (desc != NULL)
		snprintf(e.description, sizeof(e.description), "%s", desc);
	if ((types_given = types != NULL)) {
		lx_free(e.event_types);
		e.event_types = types;
		types = NULL;
	}
	if (status != NULL)
		snprintf(e.status, sizeof(e.status), "%s", status);
	e.updated_at = lx_now_ms();
	detail_json(&d, url, types_given ? e.event_types : NULL, status);
	if (webhooks_store_update(req->db, &e, NULL, err) == -1
	    || audit(req, "webhook_endpoint.update", e.id, d.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	send_endpoint(resp, 200, &e, NULL);
	ret = 0;
out:
	lx_free(types);
	webhooks_endpoints_cleanup(&e, 1);
	lx_buf_cleanup(&d);
	return (ret);
}

static int
h_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "endpoint_id");

	if (no_args(req, err) == -1 || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (webhooks_store_delete(req->db, req->tenant.id, id, err) == -1
	    || audit(req, "webhook_endpoint.delete", id, NULL, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (fail_tx(req));
	resp->status = 204;
	return (0);
}

static int
h_rotate(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "endpoint_id");
	struct webhooks_endpoint e;
	char *secret = NULL;
	int ret = -1;

	memset(&e, 0, sizeof(e));
	if (no_args(req, err) == -1)
		goto out;
	if ((secret = sodium_malloc(WEBHOOKS_SECRET_SIZE)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	webhooks_secret_new(secret);
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	if (webhooks_store_get(req->db, id, &e, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	e.updated_at = lx_now_ms();
	if (webhooks_store_update(req->db, &e, secret, err) == -1
	    || audit(req, "webhook_endpoint.rotate_secret", id, NULL, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	send_endpoint(resp, 200, &e, secret);
	ret = 0;
out:
	if (secret != NULL) {
		sodium_memzero(secret, WEBHOOKS_SECRET_SIZE);
		sodium_free(secret);
	}
	webhooks_endpoints_cleanup(&e, 1);
	return (ret);
}

static int
h_test(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "endpoint_id");
	char mid[WEBHOOKS_MSG_ID_SIZE];
	struct webhooks_endpoint e;
	struct lx_buf data, b;
	int rc, queued = 0, ret = -1;

	memset(&e, 0, sizeof(e));
	lx_buf_init(&data);
	lx_buf_init(&b);
	if (no_args(req, err) == -1 || lx_conn_begin(req->db, err) == -1)
		goto out;
	if (webhooks_store_get(req->db, id, &e, err) == -1) {
		ret = fail_tx(req);
		goto out;
	}
	if (strcmp(e.status, "enabled") != 0) {
		lx_err_set(err, 409, "endpoint_disabled",
		    "the endpoint is disabled; enable it to send a test event");
		ret = fail_tx(req);
		goto out;
	}
	lx_buf_adds(&data, "{\"endpoint_id\":");
	lx_buf_add_json_str(&data, e.id);
	lx_buf_adds(&data, ",\"message\":\"a test event from Luxima\"}");
	/* Messages, deliveries and jobs are written as system code. */
	lx_conn_system_begin(req->db);
	rc = webhooks_store_emit(req->db, req->tenant.id, e.id,
	    WEBHOOKS_TEST_TYPE, data.data, &queued, mid, err);
	lx_conn_system_end(req->db);
	if (rc == -1) {
		ret = fail_tx(req);
		goto out;
	}
	lx_buf_adds(&b, "{\"message_id\":");
	lx_buf_add_json_str(&b, mid);
	lx_buf_adds(&b, "}");
	if (queued != 1
	    || audit(req, "webhook_endpoint.test", e.id, b.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		if (queued != 1)
			lx_err_set(err, 500, "internal_error",
			    "the test event was not queued");
		ret = fail_tx(req);
		goto out;
	}
	lx_buf_reset(&b);
	lx_buf_adds(&b, "{\"message_id\":");
	lx_buf_add_json_str(&b, mid);
	lx_buf_adds(&b, ",\"endpoint_id\":");
	lx_buf_add_json_str(&b, e.id);
	lx_buf_adds(&b, ",\"event_type\":\"" WEBHOOKS_TEST_TYPE "\"}");
	lx_resp_json(resp, 202, b.data);
	ret = 0;
out:
	webhooks_endpoints_cleanup(&e, 1);
	lx_buf_cleanup(&data);
	lx_buf_cleanup(&b);
	return (ret);
}

static int
h_deliveries(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "endpoint_id");
	struct webhooks_delivery *rows = NULL;
	struct webhooks_endpoint e;
	struct lx_buf b;
	char before[40];
	int i, n = 0, limit;

	if (page_args(req, &limit, before, err) == -1
	    || webhooks_store_get(req->db, id, &e, err) == -1)
		return (-1);
	webhooks_endpoints_cleanup(&e, 1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (webhooks_store_deliveries(
	        req->db, id, before, limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"deliveries\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		delivery_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(&b, n > limit ? rows[limit - 1].id : NULL);
	lx_buf_adds(&b, "}");
	webhooks_deliveries_cleanup(rows, n);
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static const struct lx_field create_fields[] = {
	{ "url", F_STRING, 1, WEBHOOKS_URL_MAX },
	{ "description", F_STRING, 0, WEBHOOKS_DESC_MAX },
	{ "event_types", F_ARRAY, 0, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema create_schema = { create_fields };
static const struct lx_field patch_fields[] = {
	{ "url", F_STRING, 0, WEBHOOKS_URL_MAX },
	{ "description", F_STRING, 0, WEBHOOKS_DESC_MAX },
	{ "event_types", F_ARRAY, 0, 0 },
	{ "status", F_STRING, 0, 16 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema patch_schema = { patch_fields };

#define READ NEED_TENANT_CTX_PERM(PERM_BILLING_READ)
#define WRITE NEED_TENANT_CTX_PERM(PERM_BILLING_WRITE)

static const struct lx_route webhooks_routes[] = {
	{ "/webhooks/endpoints", M_GET, READ, NULL, h_list },
	{ "/webhooks/endpoints", M_POST, WRITE, &create_schema, h_create },
	{ "/webhooks/endpoints/{endpoint_id}", M_GET, READ, NULL, h_get },
	{ "/webhooks/endpoints/{endpoint_id}", M_PATCH, WRITE, &patch_schema,
	    h_patch },
	{ "/webhooks/endpoints/{endpoint_id}", M_DELETE, WRITE, NULL,
	    h_delete },
	{ "/webhooks/endpoints/{endpoint_id}/rotate-secret", M_POST, WRITE,
	    NULL, h_rotate },
	{ "/webhooks/endpoints/{endpoint_id}/test", M_POST, WRITE, NULL,
	    h_test },
	{ "/webhooks/endpoints/{endpoint_id}/deliveries", M_GET, READ, NULL,
	    h_deliveries },
	{ NULL, 0, 0, NULL, NULL },
};

const struct lx_module webhooks_module = {
	"webhooks",
	webhooks_routes,
	webhooks_init,
	NULL,
};
