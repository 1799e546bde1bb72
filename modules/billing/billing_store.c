/*
 * Billing statements. Plans and their limits are instance-wide tables
 * (no policy: any context reads them). Subscriptions and pending items are
 * tenant rows, read and written through their policy views
 * (p_subscriptions, p_invoice_items) under the request's context. A
 * tenant's plan and usage are read as system code (lx_conn_system_begin),
 * because quota checks run under contexts that may not hold billing.read.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "billing.h"

static void
finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	snprintf(out, len, "%s", s != NULL ? s : "");
}

static void
bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* --- plans --- */

#define PLAN_COLS \
	"id, code, name, description, amount, currency, interval, " \
	"trial_days, status, is_default, position, created_at, updated_at"

static void
plan_row(sqlite3_stmt *st, struct billing_plan *p)
{
	memset(p, 0, sizeof(*p));
	col_copy(st, 0, p->id, sizeof(p->id));
	col_copy(st, 1, p->code, sizeof(p->code));
	col_copy(st, 2, p->name, sizeof(p->name));
	col_copy(st, 3, p->description, sizeof(p->description));
	p->amount = sqlite3_column_int64(st, 4);
	col_copy(st, 5, p->currency, sizeof(p->currency));
	col_copy(st, 6, p->interval, sizeof(p->interval));
	p->trial_days = sqlite3_column_int(st, 7);
	col_copy(st, 8, p->status, sizeof(p->status));
	p->is_default = sqlite3_column_int(st, 9);
	p->position = sqlite3_column_int(st, 10);
	p->created_at = sqlite3_column_int64(st, 11);
	p->updated_at = sqlite3_column_int64(st, 12);
}

static const char sql_limits[] =
    "SELECT metric, quota, included, unit_amount, unit_size "
    "FROM plan_limits WHERE plan_id = ?1";

static int
plan_limits(struct lx_conn *c, struct billing_plan *p, struct lx_err *err)
{
	struct billing_limit *l;
	sqlite3_stmt *st;
	int rc, i;

	if ((st = lx_conn_stmt(c, sql_limits, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		i = billing_metric_index(
		    (const char *)sqlite3_column_text(st, 0));
		if (i < 0)
			continue;
		l = &p->limits[i];
		l->set = 1;
		l->quota = sqlite3_column_type(st, 1) == SQLITE_NULL
		    ? -1
		    : sqlite3_column_int64(st, 1);
		l->included = sqlite3_column_int64(st, 2);
		l->unit_amount = sqlite3_column_int64(st, 3);
		l->unit_size = sqlite3_column_int64(st, 4);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "plan limits", err));
	return (0);
}

static int
plan_one(struct lx_conn *c, const char *sql, const char *key,
    struct billing_plan *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	if (key != NULL)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		plan_row(st, out);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "plan_not_found", "no such plan"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read plan", err));
	return (plan_limits(c, out, err));
}

static const char sql_plan_code[] =
    "SELECT " PLAN_COLS " FROM plans WHERE code = ?1";
static const char sql_plan_id[] =
    "SELECT " PLAN_COLS " FROM plans WHERE id = ?1";
static const char sql_plan_default[] =
    "SELECT " PLAN_COLS " FROM plans WHERE is_default = 1";

int
billing_store_plan_by_code(struct lx_conn *c, const char *code,
    struct billing_plan *out, struct lx_err *err)
{
	return (plan_one(c, sql_plan_code, code, out, err));
}

int
billing_store_plan_by_id(struct lx_conn *c, const char *id,
    struct billing_plan *out, struct lx_err *err)
{
	return (plan_one(c, sql_plan_id, id, out, err));
}

int
billing_store_plan_default(
    struct lx_conn *c, struct billing_plan *out, struct lx_err *err)
{
	return (plan_one(c, sql_plan_default, NULL, out, err));
}

static const char sql_plans[] =
    "SELECT " PLAN_COLS " FROM plans WHERE ?1 OR status = 'active' "
    "ORDER BY position, code";

int
billing_store_plans(struct lx_conn *c, int all, struct billing_plan **out,
    int *n, struct lx_err *err)
{
	struct billing_plan *v = NULL;
	sqlite3_stmt *st;
	int i, rc;

	*out = NULL;
	*n = 0;
	if ((st = lx_conn_stmt(c, sql_plans, err)) == NULL)
		return (-1);
	sqlite3_bind_int(st, 1, all != 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = lx_realloc(v, sizeof(*v) * (size_t)(*n + 1));
		plan_row(st, &v[(*n)++]);
	}
	finish(st);
	if (rc != SQLITE_DONE) {
		lx_free(v);
		*n = 0;
		return (lx_conn_error(c, rc, "list plans", err));
	}
	for (i = 0; i < *n; i++)
		if (plan_limits(c, &v[i], err) == -1) {
			lx_free(v);
			*n = 0;
			return (-1);
		}
	*out = v;
	return (0);
}

static const char sql_limits_del[] =
    "DELETE FROM plan_limits WHERE plan_id = ?1";
static const char sql_limit_ins[] =
    "INSERT INTO plan_limits (plan_id, metric, quota, included, "
    "unit_amount, unit_size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static int
limits_write(
    struct lx_conn *c, const struct billing_plan *p, struct lx_err *err)
{
	const struct billing_limit *l;
	sqlite3_stmt *st;
	int i;

	if ((st = lx_conn_stmt(c, sql_limits_del, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	if (lx_conn_step_done(c, st, "clear plan limits", err) == -1)
		return (-1);
	for (i = 0; i < BILLING_NMETRICS; i++) {
		l = &p->limits[i];
		if (!l->set)
			continue;
		if ((st = lx_conn_stmt(c, sql_limit_ins, err)) == NULL)
			return (-1);
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, billing_metrics[i], -1, SQLITE_STATIC);
		if (l->quota >= 0)
			sqlite3_bind_int64(st, 3, l->quota);
		sqlite3_bind_int64(st, 4, l->included);
		sqlite3_bind_int64(st, 5, l->unit_amount);
		sqlite3_bind_int64(st, 6, l->unit_size);
		if (lx_conn_step_done(c, st, "write plan limit", err) == -1)
			return (-1);
	}
	return (0);
}

static const char sql_default_clear[] =
    "UPDATE plans SET is_default = 0, updated_at = ?2 "
    "WHERE is_default = 1 AND id != ?1";

static int
default_clear(
    struct lx_conn *c, const struct billing_plan *p, struct lx_err *err)
{
	sqlite3_stmt *st;

	if (!p->is_default)
		return (0);
	if ((st = lx_conn_stmt(c, sql_default_clear, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->updated_at);
	return (lx_conn_step_done(c, st, "clear default plan", err));
}

static const char sql_plan_ins[] =
    "INSERT INTO plans (" PLAN_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)";

int
billing_store_plan_insert(
    struct lx_conn *c, const struct billing_plan *p, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (default_clear(c, p, err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, sql_plan_ins, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, p->amount);
	sqlite3_bind_text(st, 6, p->currency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, p->interval, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, p->trial_days);
	sqlite3_bind_text(st, 9, p->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, p->is_default);
	sqlite3_bind_int(st, 11, p->position);
	sqlite3_bind_int64(st, 12, p->created_at);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(lx_conn_sqlite(c))
		    == SQLITE_CONSTRAINT_UNIQUE)
			lx_err_set(err, 409, "plan_exists",
			    "a plan with this code exists");
		else
			lx_conn_error(c, rc, "insert plan", err);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		return (-1);
	return (limits_write(c, p, err));
}

static const char sql_plan_upd[] =
    "UPDATE plans SET name = ?2, description = ?3, trial_days = ?4, "
    "status = ?5, is_default = ?6, position = ?7, updated_at = ?8 "
    "WHERE id = ?1";

int
billing_store_plan_update(
    struct lx_conn *c, const struct billing_plan *p, struct lx_err *err)
{
	sqlite3_stmt *st;

	if (default_clear(c, p, err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, sql_plan_upd, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->description, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, p->trial_days);
	sqlite3_bind_text(st, 5, p->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, p->is_default);
	sqlite3_bind_int(st, 7, p->position);
	sqlite3_bind_int64(st, 8, p->updated_at);
	if (lx_conn_step_done(c, st, "update plan", err) == -1)
		return (-1);
	return (limits_write(c, p, err));
}

/* --- a tenant's plan and usage (system code) --- */

static const char sql_tenant_plan[] =
    "SELECT p.id FROM tenants t JOIN plans p ON p.code = t.plan "
    "WHERE t.id = ?1";

int
billing_store_tenant_plan(struct lx_conn *c, const char *tenant_id,
    struct billing_plan *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	char id[40];
	int rc;

	lx_conn_system_begin(c);
	st = lx_conn_stmt(c, sql_tenant_plan, err);
	if (st != NULL) {
		sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			col_copy(st, 0, id, sizeof(id));
		finish(st);
	}
	lx_conn_system_end(c);
	if (st == NULL)
		return (-1);
	if (rc == SQLITE_DONE)
		return (billing_store_plan_default(c, out, err));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "tenant plan", err));
	return (billing_store_plan_by_id(c, id, out, err));
}

static const char sql_usage[] =
    "SELECT (SELECT count(*) FROM memberships WHERE tenant_id = ?1), "
    "(SELECT count(*) FROM service_keys WHERE tenant_id = ?1 "
    "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)), "
    "(SELECT coalesce(max(value), 0) FROM usage_counters "
    "WHERE tenant_id = ?1 AND metric = 'function_invocations' "
    "AND period = ?3), "
    "(SELECT coalesce(max(value), 0) FROM usage_counters "
    "WHERE tenant_id = ?1 AND metric = 'api_requests' AND period = ?3), "
    "(SELECT count(*) FROM plugin_installations WHERE tenant_id = ?1), "
    "(SELECT count(*) FROM functions WHERE tenant_id = ?1)";

int
billing_store_usage(struct lx_conn *c, const char *tenant_id,
    const char *period, int64_t used[BILLING_NMETRICS], struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR;

	memset(used, 0, sizeof(int64_t) * BILLING_NMETRICS);
	lx_conn_system_begin(c);
	st = lx_conn_stmt(c, sql_usage, err);
	if (st != NULL) {
		sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, lx_now_ms());
		sqlite3_bind_text(st, 3, period, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			used[0] = sqlite3_column_int64(st, 0);
			used[1] = sqlite3_column_int64(st, 1);
			used[4] = sqlite3_column_int64(st, 2);
			used[5] = sqlite3_column_int64(st, 3);
			used[2] = sqlite3_column_int64(st, 4);
			used[3] = sqlite3_column_int64(st, 5);
		}
		finish(st);
	}
	lx_conn_system_end(c);
	if (st == NULL)
		return (-1);
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "tenant usage", err));
	return (0);
}

static const char sql_live_period[] =
    "SELECT current_period_start, current_period_end FROM subscriptions "
    "WHERE tenant_id = ?1 AND status != 'canceled'";

int
billing_store_usage_period(struct lx_conn *c, const char *tenant_id,
    int64_t now, int64_t *start, int64_t *end, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR;

	*start = billing_month_start(now);
	*end = billing_period_add(*start, "month");
	lx_conn_system_begin(c);
	st = lx_conn_stmt(c, sql_live_period, err);
	if (st != NULL) {
		sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			*start = sqlite3_column_int64(st, 0);
			*end = sqlite3_column_int64(st, 1);
		}
		finish(st);
	}
	lx_conn_system_end(c);
	if (st == NULL)
		return (-1);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "usage period", err));
	return (0);
}

static const char sql_tenant_set_plan[] =
    "UPDATE tenants SET plan = ?2 WHERE id = ?1";

int
billing_store_tenant_set_plan(struct lx_conn *c, const char *tenant_id,
    const char *code, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_tenant_set_plan, err)) == NULL) {
		lx_conn_system_end(c);
		return (-1);
	}
	sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
	rc = lx_conn_step_done(c, st, "set tenant plan", err);
	lx_conn_system_end(c);
	return (rc);
}

/* --- subscriptions (p_subscriptions) --- */

void
billing_store_sub_row(sqlite3_stmt *st, struct billing_subscription *s)
{
	memset(s, 0, sizeof(*s));
	col_copy(st, 0, s->id, sizeof(s->id));
	col_copy(st, 1, s->tenant_id, sizeof(s->tenant_id));
	col_copy(st, 2, s->plan_id, sizeof(s->plan_id));
	col_copy(st, 3, s->period_plan_id, sizeof(s->period_plan_id));
	col_copy(st, 4, s->status, sizeof(s->status));
	s->current_period_start = sqlite3_column_int64(st, 5);
	s->current_period_end = sqlite3_column_int64(st, 6);
	s->trial_end = sqlite3_column_int64(st, 7);
	s->cancel_at_period_end = sqlite3_column_int(st, 8);
	s->canceled_at = sqlite3_column_int64(st, 9);
	col_copy(st, 10, s->provider, sizeof(s->provider));
	col_copy(st, 11, s->provider_ref, sizeof(s->provider_ref));
	s->created_at = sqlite3_column_int64(st, 12);
	s->updated_at = sqlite3_column_int64(st, 13);
}

static int
sub_one(struct lx_conn *c, const char *sql, const char *key,
    struct billing_subscription *out, const char *code, const char *detail,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	if (key != NULL)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		billing_store_sub_row(st, out);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, code, "%s", detail));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read subscription", err));
	return (0);
}

static const char sql_sub_get[] =
    "SELECT " BILLING_SUB_COLS " FROM p_subscriptions "
    "WHERE tenant_id = current_tenant() AND id = ?1";

int
billing_store_sub_get(struct lx_conn *c, const char *id,
    struct billing_subscription *out, struct lx_err *err)
{
	return (sub_one(c, sql_sub_get, id, out, "subscription_not_found",
	    "no such subscription", err));
}

static const char sql_sub_sys[] =
    "SELECT " BILLING_SUB_COLS " FROM subscriptions WHERE id = ?1";

int
billing_store_sub_read(struct lx_conn *c, const char *id,
    struct billing_subscription *out, struct lx_err *err)
{
	int rc;

	lx_conn_system_begin(c);
	rc = sub_one(c, sql_sub_sys, id, out, "subscription_not_found",
	    "no such subscription", err);
	lx_conn_system_end(c);
	return (rc);
}

static const char sql_subs[] =
    "SELECT " BILLING_SUB_COLS " FROM p_subscriptions "
    "WHERE tenant_id = current_tenant() AND id > ?1 ORDER BY id LIMIT ?2";

int
billing_store_subs(struct lx_conn *c, const char *after, int limit,
    struct billing_subscription *out, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_subs, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
		billing_store_sub_row(st, &out[(*n)++]);
	finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "list subscriptions", err));
	return (0);
}

static const char sql_sub_ins[] =
    "INSERT INTO p_subscriptions (id, tenant_id, plan_id, period_plan_id, "
    "status, current_period_start, current_period_end, trial_end, "
    "cancel_at_period_end, canceled_at, provider, provider_ref, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, "
    "NULL, NULL, NULL, ?9, ?9)";

int
billing_store_sub_insert(
    struct lx_conn *c, const struct billing_subscription *s, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_sub_ins, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->period_plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, s->current_period_start);
	sqlite3_bind_int64(st, 7, s->current_period_end);
	bind_opt(st, 8, s->trial_end);
	sqlite3_bind_int64(st, 9, s->created_at);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(lx_conn_sqlite(c))
		    == SQLITE_CONSTRAINT_UNIQUE)
			lx_err_set(err, 409, "subscription_exists",
			    "the tenant already has a live subscription; "
			    "change it with PATCH /subscriptions/{id}");
		else
			lx_conn_error(c, rc, "insert subscription", err);
	}
	finish(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

static const char sql_sub_upd[] =
    "UPDATE p_subscriptions SET plan_id = ?2, period_plan_id = ?3, "
    "status = ?4, current_period_start = ?5, current_period_end = ?6, "
    "trial_end = ?7, cancel_at_period_end = ?8, canceled_at = ?9, "
    "provider = nullif(?10, ''), provider_ref = nullif(?11, ''), "
    "updated_at = ?12 WHERE id = ?1 AND tenant_id = current_tenant()";

int
billing_store_sub_update(
    struct lx_conn *c, const struct billing_subscription *s, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_sub_upd, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->period_plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, s->current_period_start);
	sqlite3_bind_int64(st, 6, s->current_period_end);
	bind_opt(st, 7, s->trial_end);
	sqlite3_bind_int(st, 8, s->cancel_at_period_end);
	bind_opt(st, 9, s->canceled_at);
	sqlite3_bind_text(st, 10, s->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, s->provider_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, s->updated_at);
	return (lx_conn_step_one(c, st, "update subscription",
	    "subscription_not_found", "no such subscription", err));
}

static const char sql_item_add[] =
    "INSERT INTO p_invoice_items (id, tenant_id, subscription_id, kind, "
    "description, amount, currency, period_start, period_end, invoice_id, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10)";

int
billing_store_item_add(struct lx_conn *c, const struct billing_subscription *s,
    const char *kind, const char *description, int64_t amount,
    const char *currency, int64_t period_start, int64_t period_end,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	char id[AUTH_ID_SIZE];

	if ((st = lx_conn_stmt(c, sql_item_add, err)) == NULL)
		return (-1);
	auth_uuid(id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, amount);
	sqlite3_bind_text(st, 7, currency, -1, SQLITE_STATIC);
	bind_opt(st, 8, period_start);
	bind_opt(st, 9, period_end);
	sqlite3_bind_int64(st, 10, lx_now_ms());
	return (lx_conn_step_done(c, st, "add invoice item", err));
}

static const char sql_counter_set[] =
    "INSERT INTO usage_counters (tenant_id, metric, period, value, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (tenant_id, metric, period) DO UPDATE SET "
    "value = max(value, excluded.value), updated_at = excluded.updated_at";

int
billing_store_counter_set(struct lx_conn *c, const char *tenant_id,
    const char *metric, const char *period, int64_t value, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_counter_set, err)) != NULL) {
		sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, period, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, value);
		sqlite3_bind_int64(st, 5, lx_now_ms());
		rc = lx_conn_step_done(c, st, "write usage counter", err);
	}
	lx_conn_system_end(c);
	return (rc);
}
