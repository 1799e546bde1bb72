/*
 * The statements of outgoing webhooks. The endpoint routes read and write
 * through the policy views (p_webhook_endpoints, p_webhook_deliveries,
 * p_webhook_messages, p_webhook_attempts) under the request's context, so
 * another tenant's rows are not there to find. Messages, deliveries and
 * attempts are written by system code only (storage/policy.c declares no
 * write policy for them): the emitter, inside lx_conn_system_begin/_end
 * when a request context is bound, and the delivery job, whose connection
 * carries no context. Every statement compiled in system mode is used only
 * there.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "audit.h"
#include "jobs.h"
#include "plugins.h"
#include "webhooks.h"

static void
finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return (t != NULL ? lx_strdup((const char *)t) : NULL);
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* --- endpoints, through p_webhook_endpoints --- */

#define ENDPOINT_COLS \
	"id, url, description, event_types, status, created_at, updated_at"

static const char sql_list[] =
    "SELECT " ENDPOINT_COLS " FROM p_webhook_endpoints "
    "WHERE tenant_id = current_tenant() AND id > ?1 ORDER BY id LIMIT ?2";
static const char sql_get[] =
    "SELECT " ENDPOINT_COLS " FROM p_webhook_endpoints "
    "WHERE tenant_id = current_tenant() AND id = ?1";
static const char sql_count[] = "SELECT count(*) FROM p_webhook_endpoints "
                                "WHERE tenant_id = current_tenant()";
static const char sql_insert[] =
    "INSERT INTO p_webhook_endpoints (id, tenant_id, url, description, "
    "event_types, secret, status, created_at, updated_at) "
    "VALUES (?1, current_tenant(), ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char sql_update[] =
    "UPDATE p_webhook_endpoints SET url = ?2, description = ?3, "
    "event_types = ?4, status = ?5, updated_at = ?6, "
    "secret = coalesce(?7, secret) "
    "WHERE id = ?1 AND tenant_id = current_tenant()";
static const char sql_delete_sys[] =
    "DELETE FROM webhook_endpoints WHERE id = ?1 AND tenant_id = ?2";

static void
read_endpoint(sqlite3_stmt *st, struct webhooks_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	col_copy(st, 0, e->id, sizeof(e->id));
	col_copy(st, 1, e->url, sizeof(e->url));
	col_copy(st, 2, e->description, sizeof(e->description));
	e->event_types = col_dup(st, 3);
	col_copy(st, 4, e->status, sizeof(e->status));
	e->created_at = sqlite3_column_int64(st, 5);
	e->updated_at = sqlite3_column_int64(st, 6);
}

void
webhooks_endpoints_cleanup(struct webhooks_endpoint *v, int n)
{
	int i;

	for (i = 0; v != NULL && i < n; i++) {
		lx_free(v[i].event_types);
		v[i].event_types = NULL;
	}
}

int
webhooks_store_list(struct lx_conn *c, const char *after, int limit,
    struct webhooks_endpoint *out, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_list, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_endpoint(st, &out[(*n)++]);
	finish(st);
	if (*n < limit && rc != SQLITE_DONE) {
		webhooks_endpoints_cleanup(out, *n);
		*n = 0;
		return (lx_conn_error(c, rc, "webhook endpoints", err));
	}
	return (0);
}

int
webhooks_store_get(struct lx_conn *c, const char *id,
    struct webhooks_endpoint *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_get, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		read_endpoint(st, out);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "endpoint_not_found",
		    "no webhook endpoint with this id in the tenant"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "webhook endpoint", err));
	return (0);
}

int
webhooks_store_count(struct lx_conn *c, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t v;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_count, err)) == NULL
	    || lx_conn_step_int(c, st, "webhook endpoints", &v, err) == -1)
		return (-1);
	*n = (int)v;
	return (0);
}

int
webhooks_store_insert(struct lx_conn *c, const struct webhooks_endpoint *e,
    const char *secret, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_insert, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->event_types, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, secret, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, e->created_at);
	return (lx_conn_step_done(c, st, "webhook endpoint insert", err));
}

/* Steps a write through a policy view: 404 unless exactly one row. */
static int
one_row(
    struct lx_conn *c, sqlite3_stmt *st, const char *what, struct lx_err *err)
{
	return (lx_conn_step_one(c, st, what, "endpoint_not_found",
	    "no webhook endpoint with this id in the tenant", err));
}

int
webhooks_store_update(struct lx_conn *c, const struct webhooks_endpoint *e,
    const char *secret, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_update, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->event_types, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, e->updated_at);
	bind_text_or_null(st, 7, secret);
	return (one_row(c, st, "webhook endpoint update", err));
}

/*
 * The row is found through p_webhook_endpoints (so another tenant's id is
 * 404) but deleted as system code: the foreign-key cascade to its
 * deliveries and attempts runs outside any policy object, which the
 * authorizer refuses at prepare time (as for tenants, storage/policy.c).
 */
int
webhooks_store_delete(struct lx_conn *c, const char *tenant_id, const char *id,
    struct lx_err *err)
{
	struct webhooks_endpoint e;
	sqlite3_stmt *st;
	int ret = -1;

	if (webhooks_store_get(c, id, &e, err) == -1)
		return (-1);
	webhooks_endpoints_cleanup(&e, 1);
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_delete_sys, err)) != NULL) {
		sqlite3_bind_text(st, 1, e.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
		if (lx_conn_step_done(c, st, "webhook endpoint delete", err)
		    == 0)
			ret = 0;
	}
	lx_conn_system_end(c);
	return (ret);
}

/* --- the delivery log, through the policy views --- */

static const char sql_deliveries[] =
    "SELECT d.id, d.endpoint_id, d.message_id, m.event_type, d.status, "
    "d.attempts, coalesce(d.last_status, 0), d.last_error, d.created_at, "
    "d.updated_at, coalesce(d.delivered_at, 0) "
    "FROM p_webhook_deliveries d "
    "JOIN p_webhook_messages m ON m.id = d.message_id "
    "WHERE d.endpoint_id = ?1 AND d.tenant_id = current_tenant() "
    "AND (?2 = '' OR d.id < ?2) ORDER BY d.id DESC LIMIT ?3";
static const char sql_attempts[] =
    "SELECT attempted_at, coalesce(status, 0), duration_ms, error "
    "FROM p_webhook_attempts WHERE delivery_id = ?1 ORDER BY id";

void
webhooks_deliveries_cleanup(struct webhooks_delivery *v, int n)
{
	int i, k;

	for (i = 0; v != NULL && i < n; i++) {
		lx_free(v[i].last_error);
		for (k = 0; k < v[i].nhistory; k++)
			lx_free(v[i].history[k].error);
		lx_free(v[i].history);
		v[i].last_error = NULL;
		v[i].history = NULL;
		v[i].nhistory = 0;
	}
}

/* Reads the attempts of d into d->history. */
static int
read_history(struct lx_conn *c, struct webhooks_delivery *d, struct lx_err *err)
{
	struct webhooks_attempt *a;
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_attempts, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d->history = lx_realloc(d->history,
		    sizeof(*d->history) * (size_t)(d->nhistory + 1));
		a = &d->history[d->nhistory++];
		a->attempted_at = sqlite3_column_int64(st, 0);
		a->status = sqlite3_column_int(st, 1);
		a->duration_ms = sqlite3_column_int64(st, 2);
		a->error = col_dup(st, 3);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "webhook attempts", err));
	return (0);
}

int
webhooks_store_deliveries(struct lx_conn *c, const char *endpoint_id,
    const char *before, int limit, struct webhooks_delivery *out, int *n,
    struct lx_err *err)
{
	struct webhooks_delivery *d;
	sqlite3_stmt *st;
	int i, rc = SQLITE_DONE;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_deliveries, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, before, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		d = &out[(*n)++];
		memset(d, 0, sizeof(*d));
		col_copy(st, 0, d->id, sizeof(d->id));
		col_copy(st, 1, d->endpoint_id, sizeof(d->endpoint_id));
		col_copy(st, 2, d->message_id, sizeof(d->message_id));
		col_copy(st, 3, d->event_type, sizeof(d->event_type));
		col_copy(st, 4, d->status, sizeof(d->status));
		d->attempts = sqlite3_column_int(st, 5);
		d->last_status = sqlite3_column_int(st, 6);
		d->last_error = col_dup(st, 7);
		d->created_at = sqlite3_column_int64(st, 8);
		d->updated_at = sqlite3_column_int64(st, 9);
		d->delivered_at = sqlite3_column_int64(st, 10);
	}
	finish(st);
	if (*n < limit && rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "webhook deliveries", err);
		goto fail;
	}
	for (i = 0; i < *n; i++)
		if (read_history(c, &out[i], err) == -1)
			goto fail;
	return (0);
fail:
	webhooks_deliveries_cleanup(out, *n);
	*n = 0;
	return (-1);
}

/* --- the emitter (system code) --- */

static const char sql_emit_endpoints[] =
    "SELECT id, event_types FROM webhook_endpoints "
    "WHERE tenant_id = ?1 AND status = 'enabled' AND (?2 IS NULL OR id = ?2) "
    "ORDER BY id";
static const char sql_msg_insert[] =
    "INSERT INTO webhook_messages (id, tenant_id, event_type, payload, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_delivery_insert[] =
    "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, message_id, "
    "status, attempts, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5)";

/* The enabled endpoints of tenant (or only endpoint_id) that want type:
 * their ids into *ids (lx_malloc, WEBHOOKS_ID_SIZE each), count in *n. */
static int
targets(struct lx_conn *c, const char *tenant_id, const char *endpoint_id,
    const char *type, char (**ids)[WEBHOOKS_ID_SIZE], int *n,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*ids = NULL;
	*n = 0;
	if ((st = lx_conn_stmt(c, sql_emit_endpoints, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
	bind_text_or_null(st, 2, endpoint_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (endpoint_id == NULL
		    && !webhooks_types_match(
		        (const char *)sqlite3_column_text(st, 1), type))
			continue;
		*ids = lx_realloc(*ids, sizeof(**ids) * (size_t)(*n + 1));
		col_copy(st, 0, (*ids)[*n], WEBHOOKS_ID_SIZE);
		(*n)++;
	}
	finish(st);
	if (rc != SQLITE_DONE) {
		lx_free(*ids);
		*ids = NULL;
		*n = 0;
		return (lx_conn_error(c, rc, "webhook endpoints", err));
	}
	return (0);
}

int
webhooks_store_emit(struct lx_conn *c, const char *tenant_id,
    const char *endpoint_id, const char *type, const char *data_json,
    int *queued, char msg_id[WEBHOOKS_MSG_ID_SIZE], struct lx_err *err)
{
	char(*ids)[WEBHOOKS_ID_SIZE] = NULL, mid[WEBHOOKS_MSG_ID_SIZE];
	char did[WEBHOOKS_ID_SIZE], payload[128];
	struct lx_buf body;
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();
	int i, n = 0, max = webhooks_config()->max_attempts, ret = -1;

	lx_buf_init(&body);
	if (queued != NULL)
		*queued = 0;
	if (msg_id != NULL)
		msg_id[0] = '\0';
	if (webhooks_body(type, now, data_json, &body, err) == -1
	    || targets(c, tenant_id, endpoint_id, type, &ids, &n, err) == -1)
		goto out;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	webhooks_msg_id(mid);
	if ((st = lx_conn_stmt(c, sql_msg_insert, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, mid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, body.data, (int)body.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	if (lx_conn_step_done(c, st, "webhook message insert", err) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		webhooks_uuid7(did);
		if ((st = lx_conn_stmt(c, sql_delivery_insert, err)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, mid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		if (lx_conn_step_done(c, st, "webhook delivery insert", err)
		    == -1)
			goto out;
		snprintf(payload, sizeof(payload),
		    "{\"delivery_id\":\"%s\",\"max_attempts\":%d}", did, max);
		if (lx_jobs_enqueue(c, WEBHOOKS_JOB, payload, 0, max, NULL, err)
		    == -1)
			goto out;
	}
	if (queued != NULL)
		*queued = n;
	if (msg_id != NULL)
		memcpy(msg_id, mid, sizeof(mid));
	ret = 0;
out:
	lx_free(ids);
	lx_buf_cleanup(&body);
	return (ret);
}

int
webhooks_emit(struct lx_conn *c, const char *tenant_id, const char *type,
    const char *data_json, struct lx_err *err)
{
	int own = !lx_conn_in_tx(c), ret = -1;

	if (!webhooks_type_known(type))
		return (lx_err_set(err, 500, "unknown_event_type",
		    "webhooks_emit: unknown event type %.64s",
		    type != NULL ? type : "(null)"));
	if (own && lx_conn_begin(c, err) == -1)
		return (-1);
	lx_conn_system_begin(c);
	/* All of the event or none of it, whatever the caller does next. */
	if (lx_conn_exec(c, "SAVEPOINT lx_webhooks_emit", err) == 0) {
		if (webhooks_store_emit(
		        c, tenant_id, NULL, type, data_json, NULL, NULL, err)
		        == 0
		    && plugins_dispatch(c, tenant_id, type, data_json, err)
		        == 0)
			ret = 0;
		else
			(void)lx_conn_exec(
			    c, "ROLLBACK TO lx_webhooks_emit", NULL);
		(void)lx_conn_exec(c, "RELEASE lx_webhooks_emit", NULL);
	}
	lx_conn_system_end(c);
	if (own) {
		if (ret == 0 && lx_conn_commit(c, err) == -1)
			ret = -1;
		if (ret == -1)
			lx_conn_rollback(c);
	}
	return (ret);
}

/* --- the delivery job (system code, no context) --- */

static const char sql_job_row[] =
    "SELECT d.id, d.tenant_id, d.endpoint_id, d.status, d.attempts, e.url, "
    "e.status, e.secret, t.status, m.id, m.payload "
    "FROM webhook_deliveries d "
    "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
    "JOIN webhook_messages m ON m.id = d.message_id "
    "JOIN tenants t ON t.id = d.tenant_id WHERE d.id = ?1";
static const char sql_attempt_insert[] =
    "INSERT INTO webhook_attempts (delivery_id, tenant_id, attempted_at, "
    "status, duration_ms, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_delivery_tried[] =
    "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, "
    "last_status = ?3, last_error = ?4, updated_at = ?5, "
    "delivered_at = CASE WHEN ?2 = 'succeeded' THEN ?5 ELSE delivered_at "
    "END WHERE id = ?1";
static const char sql_delivery_stop[] =
    "UPDATE webhook_deliveries SET status = ?2, last_error = ?3, "
    "updated_at = ?4 WHERE id = ?1";
static const char sql_endpoint_disable[] =
    "UPDATE webhook_endpoints SET status = 'disabled', updated_at = ?2 "
    "WHERE id = ?1 AND status = 'enabled'";

void
webhooks_job_row_cleanup(struct webhooks_job_row *r)
{
	if (r == NULL)
		return;
	lx_free(r->payload);
	if (r->secret != NULL) {
		sodium_memzero(r->secret, strlen(r->secret));
		sodium_free(r->secret);
	}
	memset(r, 0, sizeof(*r));
}

int
webhooks_store_job_row(struct lx_conn *c, const char *delivery_id,
    struct webhooks_job_row *out, struct lx_err *err)
{
	const unsigned char *s;
	sqlite3_stmt *st;
	size_t n;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_job_row, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, delivery_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_copy(st, 0, out->delivery_id, sizeof(out->delivery_id));
		col_copy(st, 1, out->tenant_id, sizeof(out->tenant_id));
		col_copy(st, 2, out->endpoint_id, sizeof(out->endpoint_id));
		col_copy(st, 3, out->status, sizeof(out->status));
		out->attempts = sqlite3_column_int(st, 4);
		col_copy(st, 5, out->url, sizeof(out->url));
		col_copy(
		    st, 6, out->endpoint_status, sizeof(out->endpoint_status));
		s = sqlite3_column_text(st, 7);
		n = s != NULL ? strlen((const char *)s) : 0;
		if ((out->secret = sodium_malloc(n + 1)) != NULL) {
			memcpy(
			    out->secret, s != NULL ? (const char *)s : "", n);
			out->secret[n] = '\0';
		}
		col_copy(st, 8, out->tenant_status, sizeof(out->tenant_status));
		col_copy(st, 9, out->msg_id, sizeof(out->msg_id));
		out->payload = col_dup(st, 10);
	}
	finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "delivery_not_found",
		    "webhook delivery %s is gone", delivery_id);
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "webhook delivery", err);
	else if (out->secret == NULL)
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
	else if (out->payload == NULL)
		lx_err_set(
		    err, 500, "internal_error", "a message without body");
	else
		ret = 0;
	if (ret == -1)
		webhooks_job_row_cleanup(out);
	return (ret);
}

/* The endpoint of r is disabled by the receiver (410 Gone): the change
 * and its audit record. */
static int
disable_endpoint(struct lx_conn *c, const struct webhooks_job_row *r,
    int64_t at_ms, struct lx_err *err)
{
	struct audit_entry e;
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_endpoint_disable, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, r->endpoint_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at_ms);
	if (lx_conn_step_done(c, st, "webhook endpoint disable", err) == -1)
		return (-1);
	if (sqlite3_changes(lx_conn_sqlite(c)) == 0)
		return (0);
	memset(&e, 0, sizeof(e));
	e.actor = "system";
	e.tenant = r->tenant_id;
	e.action = "webhook_endpoint.disable";
	e.target = r->endpoint_id;
	e.detail_json = "{\"reason\":\"the receiver answered 410 Gone\"}";
	return (audit_record(c, &e, err));
}

int
webhooks_store_attempt(struct lx_conn *c, const struct webhooks_job_row *r,
    int tried, int64_t at_ms, int status, int64_t duration_ms,
    const char *error, const char *state, int disable, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();

	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (tried) {
		if ((st = lx_conn_stmt(c, sql_attempt_insert, err)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, r->delivery_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, at_ms);
		if (status > 0)
			sqlite3_bind_int(st, 4, status);
		sqlite3_bind_int64(st, 5, duration_ms);
		bind_text_or_null(st, 6, error);
		if (lx_conn_step_done(c, st, "webhook attempt insert", err)
		        == -1
		    || (st = lx_conn_stmt(c, sql_delivery_tried, err)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, r->delivery_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		if (status > 0)
			sqlite3_bind_int(st, 3, status);
		bind_text_or_null(st, 4, error);
		sqlite3_bind_int64(st, 5, now);
	} else {
		if ((st = lx_conn_stmt(c, sql_delivery_stop, err)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, r->delivery_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		bind_text_or_null(st, 3, error);
		sqlite3_bind_int64(st, 4, now);
	}
	if (lx_conn_step_done(c, st, "webhook delivery update", err) == -1
	    || (disable && disable_endpoint(c, r, now, err) == -1)
	    || lx_conn_commit(c, err) == -1)
		goto fail;
	return (0);
fail:
	lx_conn_rollback(c);
	return (-1);
}
