/*
 * The platform services a script reaches (edge.h's struct edge_host_ops):
 * secrets, the document store, background jobs and webhook events, for
 * the tenant the call acts in. Secrets and documents are read and written
 * through the policy views (p_function_secrets, p_function_documents)
 * under the context the caller bound, so a script can reach its own
 * tenant's rows only, whatever it asks for; documents are further kept to
 * the call's namespace ("fn:<name>", "plugin:<name>"). http.fetch is in
 * functions_fetch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "functions.h"
#include "jobs.h"
#include "webhooks.h"

#define DOCS_MAX_DEFAULT 10000 /* documents per tenant */
#define EVENT_PREFIX "custom." /* the event types scripts may emit */

static const char sql_secret[] =
    "SELECT value FROM p_function_secrets WHERE name = ?1";

static int
secret_get(
    void *ud, const char *name, char **val, size_t *len, struct lx_err *err)
{
	struct functions_host_ctx *h = ud;
	sqlite3_stmt *st;
	const void *p;
	int rc;

	*val = NULL;
	*len = 0;
	if ((st = lx_conn_stmt(h->c, sql_secret, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW
	    && (p = sqlite3_column_text(st, 0)) != NULL) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*val = lx_strndup(p, *len);
	}
	lx_stmt_finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(h->c, rc, "secret", err));
	return (0);
}

static const char sql_doc_get[] =
    "SELECT value FROM p_function_documents WHERE namespace = ?1 AND "
    "collection = ?2 AND key = ?3";

static int
doc_get(void *ud, const char *coll, const char *key, char **json,
    struct lx_err *err)
{
	struct functions_host_ctx *h = ud;
	sqlite3_stmt *st;
	const unsigned char *p;
	int rc;

	*json = NULL;
	if ((st = lx_conn_stmt(h->c, sql_doc_get, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, h->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW
	    && (p = sqlite3_column_text(st, 0)) != NULL)
		*json = lx_strdup((const char *)p);
	lx_stmt_finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(h->c, rc, "document", err));
	return (0);
}

static const char sql_doc_update[] =
    "UPDATE p_function_documents SET value = ?4, updated_at = ?5 WHERE "
    "namespace = ?1 AND collection = ?2 AND key = ?3";
static const char sql_doc_count[] = "SELECT count(*) FROM "
                                    "p_function_documents";
static const char sql_doc_insert[] =
    "INSERT INTO p_function_documents (tenant_id, namespace, collection, "
    "key, value, created_at, updated_at) VALUES (?6, ?1, ?2, ?3, ?4, ?5, "
    "?5)";

static void
doc_bind(sqlite3_stmt *st, const struct functions_host_ctx *h, const char *coll,
    const char *key, const char *json, size_t len)
{
	sqlite3_bind_text(st, 1, h->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, lx_now_ms());
}

/* Replaces the document, or inserts it while the tenant has room; in one
 * transaction so the count and the insert agree. */
static int
doc_put(void *ud, const char *coll, const char *key, const char *json,
    size_t len, struct lx_err *err)
{
	struct functions_host_ctx *h = ud;
	const char *v = functions_setting("docs_max");
	int64_t n = 0, max = v != NULL ? strtoll(v, NULL, 10) : 0;
	sqlite3_stmt *st;

	if (max <= 0)
		max = DOCS_MAX_DEFAULT;
	if (len > FUNCTIONS_DOC_MAX)
		return (lx_err_set(err, 413, "too_large",
		    "a document holds at most %zu bytes of JSON",
		    FUNCTIONS_DOC_MAX));
	if (lx_conn_begin(h->c, err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(h->c, sql_doc_update, err)) == NULL)
		goto fail;
	doc_bind(st, h, coll, key, json, len);
	if (lx_conn_step_done(h->c, st, "document", err) == -1)
		goto fail;
	if (lx_conn_policy_changes(h->c) == 0) {
		if ((st = lx_conn_stmt(h->c, sql_doc_count, err)) == NULL
		    || lx_conn_step_int(h->c, st, "documents", &n, err) == -1)
			goto fail;
		if (n >= max) {
			lx_err_set(err, 403, "quota_exceeded",
			    "the tenant holds %lld documents, its limit "
			    "(functions.docs_max)",
			    (long long)n);
			goto fail;
		}
		if ((st = lx_conn_stmt(h->c, sql_doc_insert, err)) == NULL)
			goto fail;
		doc_bind(st, h, coll, key, json, len);
		sqlite3_bind_text(st, 6, h->tenant_id, -1, SQLITE_STATIC);
		if (lx_conn_step_one(h->c, st, "document", "not_found",
		        "no such tenant", err)
		    == -1)
			goto fail;
	}
	return (lx_conn_commit(h->c, err));
fail:
	lx_conn_rollback(h->c);
	return (-1);
}

static const char sql_doc_delete[] =
    "DELETE FROM p_function_documents WHERE namespace = ?1 AND collection "
    "= ?2 AND key = ?3";

static int
doc_delete(void *ud, const char *coll, const char *key, int *deleted,
    struct lx_err *err)
{
	struct functions_host_ctx *h = ud;
	sqlite3_stmt *st;

	*deleted = 0;
	if ((st = lx_conn_stmt(h->c, sql_doc_delete, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, h->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	if (lx_conn_step_done(h->c, st, "document", err) == -1)
		return (-1);
	*deleted = lx_conn_policy_changes(h->c) > 0;
	return (0);
}

static const char sql_doc_query[] =
    "SELECT key, value, updated_at FROM p_function_documents WHERE "
    "namespace = ?1 AND collection = ?2 AND key >= ?3 AND key > ?4 AND "
    "substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?5";

static int
doc_query(void *ud, const char *coll, const char *prefix, const char *after,
    int limit, char **json, struct lx_err *err)
{
	struct functions_host_ctx *h = ud;
	sqlite3_stmt *st;
	struct lx_buf b;
	const unsigned char *v;
	int rc, first = 1;

	*json = NULL;
	if ((st = lx_conn_stmt(h->c, sql_doc_query, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, h->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, limit);
	lx_buf_init(&b);
	lx_buf_adds(&b, "[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		lx_buf_adds(&b, first ? "{\"key\":" : ",{\"key\":");
		first = 0;
		lx_buf_add_json_str(
		    &b, (const char *)sqlite3_column_text(st, 0));
		lx_buf_adds(&b, ",\"value\":");
		v = sqlite3_column_text(st, 1);
		lx_buf_adds(&b, v != NULL ? (const char *)v : "null");
		lx_buf_adds(&b, ",\"updated_at\":");
		lx_buf_add_time_json(&b, sqlite3_column_int64(st, 2));
		lx_buf_adds(&b, "}");
	}
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE) {
		lx_buf_cleanup(&b);
		return (lx_conn_error(h->c, rc, "documents", err));
	}
	lx_buf_adds(&b, "]");
	*json = lx_buf_take(&b);
	return (0);
}

/* jobs.enqueue(kind, payload): a "functions.background" job that runs the
 * same function later with req.job = {kind, payload}, or for a plugin's
 * run a FUNCTIONS_PLUGIN_JOB job that runs the same file of the plugin;
 * scripts never name the platform's own job kinds. */
static int
job_enqueue(void *ud, const char *kind, const char *payload_json, char **job_id,
    struct lx_err *err)
{
	struct functions_host_ctx *h = ud;
	struct lx_buf b;
	int64_t id = 0;
	int ret = -1;

	*job_id = NULL;
	if (h->fn_name == NULL && h->plugin_job == NULL)
		return (lx_err_set(err, 400, "not_available",
		    "jobs.enqueue is for edge functions and plugins"));
	if (strlen(kind) == 0 || strlen(kind) > 64)
		return (lx_err_set(err, 400, "invalid_argument",
		    "a job kind has 1 to 64 bytes"));
	if (strlen(payload_json) > FUNCTIONS_DOC_MAX)
		return (lx_err_set(err, 413, "too_large",
		    "a job payload holds at most %zu bytes of JSON",
		    FUNCTIONS_DOC_MAX));
	lx_buf_init(&b);
	if (h->plugin_job != NULL)
		lx_buf_adds(&b, h->plugin_job);
	else {
		lx_buf_adds(&b, "{\"tenant_id\":");
		lx_buf_add_json_str(&b, h->tenant_id);
		lx_buf_adds(&b, ",\"function\":");
		lx_buf_add_json_str(&b, h->fn_name);
	}
	lx_buf_adds(&b, ",\"kind\":");
	lx_buf_add_json_str(&b, kind);
	lx_buf_adds(&b, ",\"payload\":");
	lx_buf_adds(&b, payload_json);
	lx_buf_adds(&b, ",\"actor\":");
	lx_buf_add_json_str(&b, h->actor);
	lx_buf_adds(&b, "}");
	lx_conn_system_begin(h->c);
	if (lx_jobs_enqueue(h->c,
	        h->plugin_job != NULL ? FUNCTIONS_PLUGIN_JOB
	                              : "functions.background",
	        b.data, 0, 3, &id, err)
	    == 0) {
		*job_id = lx_asprintf("%lld", (long long)id);
		ret = 0;
	}
	lx_conn_system_end(h->c);
	lx_buf_cleanup(&b);
	return (ret);
}

/* events.emit(type, data): a webhook event of the tenant, of a type under
 * "custom." so a script cannot forge the platform's invoice.* or
 * subscription.* events. */
static int
event_emit(
    void *ud, const char *type, const char *data_json, struct lx_err *err)
{
	struct functions_host_ctx *h = ud;

	if (!webhooks_type_known(type)
	    || strncmp(type, EVENT_PREFIX, strlen(EVENT_PREFIX)) != 0)
		return (lx_err_set(err, 400, "invalid_event_type",
		    "scripts emit event types \"" EVENT_PREFIX
		    "<name>\" (lower-case letters, digits, '_', '.', '-'; at "
		    "most 64 bytes)"));
	return (webhooks_emit(h->c, h->tenant_id, type, data_json, err));
}

const struct edge_host_ops functions_host_ops = {
	secret_get,
	doc_get,
	doc_put,
	doc_delete,
	doc_query,
	functions_host_fetch,
	job_enqueue,
	event_emit,
};
