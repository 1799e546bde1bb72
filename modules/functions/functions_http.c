/*
 * The /functions and /secrets routes: deploy a function version (compiled
 * in the sandbox first; a syntax error is a 400 with its line), list,
 * read, change (public or not), delete, list versions, roll back, read the
 * invocation log, and a tenant's secrets (set, list by name and digest,
 * delete; a value is never answered). The tenant comes from the
 * tenant-context rule; reads need functions.read, changes functions.write.
 * Every change commits with its audit record. The invocation route itself
 * (ANY /functions/v1/{name}) is in functions_invoke.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "functions.h"
#include "jobs.h"
#include "plugins.h"
#include "tenants.h"

#define VERSIONS_MAX 1000 /* versions read for a rollback */
#define SECRETS_MAX 100 /* secrets per tenant */

static struct lx_server *module_srv; /* for background runs */

struct lx_server *
functions_server(void)
{
	return (module_srv);
}

static int
fail_tx(const struct lx_req *req)
{
	lx_conn_rollback(req->db);
	return (-1);
}

/* --- query parameters --- */

/* ?limit=&cursor= (and tenant_id, read by the core); cursor_ok decides
 * what a cursor may hold. */
static int
page_args(const struct lx_req *req, int *limit, char *cursor, size_t size,
    int (*cursor_ok)(const char *), struct lx_err *err)
{
	char num[24], cur[80], tid[40], *end;
	struct lx_qarg args[] = {
		{ "limit", num, sizeof(num), 0 },
		{ "cursor", cur, sizeof(cur), 0 },
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};
	long v;

	if (cursor == NULL)
		args[1].name = NULL; /* no cursor: limit only */
	if (lx_query_args(req->query, args, err) == -1)
		return (-1);
	*limit = FUNCTIONS_PAGE_DEFAULT;
	if (args[0].seen) {
		v = strtol(num, &end, 10);
		if (num[0] < '0' || num[0] > '9' || *end != '\0' || v < 1
		    || v > FUNCTIONS_PAGE_MAX)
			return (lx_err_set(err, 400, "invalid_limit",
			    "limit must be an integer from 1 to %d",
			    FUNCTIONS_PAGE_MAX));
		*limit = (int)v;
	}
	if (cursor == NULL)
		return (0);
	if (args[1].seen && (strlen(cur) >= size || !cursor_ok(cur)))
		return (lx_err_set(err, 400, "invalid_cursor",
		    "cursor must be a next_cursor value"));
	snprintf(cursor, size, "%s", cur);
	return (0);
}

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

static int
name_cursor_ok(const char *s)
{
	return (functions_name_ok(s));
}

static int
id_cursor_ok(const char *s)
{
	return (s[0] >= '1' && s[0] <= '9'
	    && strspn(s, "0123456789") == strlen(s) && strlen(s) < 19);
}

/* --- JSON --- */

static void
fn_json(struct lx_buf *b, const struct functions_fn *f)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, f->id);
	lx_buf_adds(b, ",\"name\":");
	lx_buf_add_json_str(b, f->name);
	lx_buf_adds(b, f->public ? ",\"public\":true" : ",\"public\":false");
	lx_buf_adds(b, ",\"active_version\":");
	lx_buf_add_json_str(b, f->active_version);
	lx_buf_addf(b, ",\"versions\":%d,\"created_by\":", f->nversions);
	lx_buf_add_json_str_or_null(
	    b, f->created_by[0] != '\0' ? f->created_by : NULL);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, f->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, f->updated_at);
	lx_buf_adds(b, "}");
}

static void
send_fn(struct lx_resp *resp, int status, const struct functions_fn *f)
{
	struct lx_buf b;

	lx_buf_init(&b);
	fn_json(&b, f);
	lx_resp_json(resp, status, b.data);
	lx_buf_cleanup(&b);
}

static void
version_json(struct lx_buf *b, const struct functions_version *v, int active)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, v->id);
	lx_buf_adds(b, ",\"version\":");
	lx_buf_add_json_str(b, v->version);
	lx_buf_adds(b, ",\"sha256\":");
	lx_buf_add_json_str(b, v->sha256);
	lx_buf_addf(b,
	    ",\"size\":%lld,\"active\":%s,\"created_by\":", (long long)v->size,
	    active ? "true" : "false");
	lx_buf_add_json_str_or_null(
	    b, v->created_by[0] != '\0' ? v->created_by : NULL);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, v->created_at);
	lx_buf_adds(b, "}");
}

/* --- functions --- */

static int
h_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_fn *rows;
	struct lx_buf b;
	char after[FUNCTIONS_NAME_MAX + 1];
	int i, n, limit;

	if (page_args(req, &limit, after, sizeof(after), name_cursor_ok, err)
	    == -1)
		return (-1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (functions_store_list(req->db, after, limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"functions\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		fn_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(
	    &b, n > limit ? rows[limit - 1].name : NULL);
	lx_buf_adds(&b, "}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static int
h_deploy(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const cJSON *pub = cJSON_GetObjectItem(req->body, "public");
	struct functions_deploy in;
	struct functions_version v;
	struct functions_fn f;
	struct lx_buf b;
	int created;

	if (no_args(req, err) == -1)
		return (-1);
	memset(&in, 0, sizeof(in));
	in.srv = req->srv;
	in.tenant_id = req->tenant.id;
	in.actor = req->ident.actor;
	in.request_id = req->request_id;
	in.address = req->remote_addr;
	in.name = lx_req_body_str(req, "name");
	in.version = lx_req_body_str(req, "version");
	in.source = lx_req_body_str(req, "source");
	in.public = cJSON_IsBool(pub) ? cJSON_IsTrue(pub) : -1;
	if (functions_deploy(req->db, &in, &f, &v, &created, err) == -1)
		return (-1);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"function\":");
	fn_json(&b, &f);
	lx_buf_adds(&b, ",\"version\":");
	version_json(&b, &v, 1);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, created ? 201 : 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static const char sql_source[] =
    "SELECT source FROM p_function_versions WHERE function_id = ?1 AND "
    "version = ?2";

static int
h_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_fn f;
	sqlite3_stmt *st;
	struct lx_buf b;
	int rc;

	if (no_args(req, err) == -1
	    || functions_store_get(req->db, lx_req_param(req, "name"), &f, err)
	        == -1
	    || (st = lx_conn_stmt(req->db, sql_source, err)) == NULL)
		return (-1);
	lx_buf_init(&b);
	fn_json(&b, &f);
	b.len--; /* reopen the object */
	lx_buf_adds(&b, ",\"source\":");
	sqlite3_bind_text(st, 1, f.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f.active_version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	lx_buf_add_json_str_or_null(&b,
	    rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	lx_buf_adds(&b, "}");
	if (rc != SQLITE_ROW) {
		lx_buf_cleanup(&b);
		return (lx_conn_error(req->db, rc, "function source", err));
	}
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static int
h_patch(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const cJSON *pub = cJSON_GetObjectItem(req->body, "public");
	struct functions_fn f;
	char *d = NULL;
	int ret = -1;

	if (no_args(req, err) == -1 || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (functions_store_get(req->db, lx_req_param(req, "name"), &f, err)
	    == -1)
		goto fail;
	if (cJSON_IsBool(pub)) {
		f.public = cJSON_IsTrue(pub);
		f.updated_at = lx_now_ms();
		d = functions_detail(f.name, NULL, f.public);
		if (functions_store_update(req->db, &f, err) == -1
		    || tenants_http_audit(req, "function.update", f.id, d, err)
		        == -1)
			goto fail;
	}
	if (lx_conn_commit(req->db, err) == -1)
		goto fail;
	send_fn(resp, 200, &f);
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	lx_free(d);
	return (ret);
}

static int
h_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_fn f;
	char *d = NULL;
	int ret = -1;

	if (no_args(req, err) == -1 || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (functions_store_get(req->db, lx_req_param(req, "name"), &f, err)
	    == -1)
		goto fail;
	d = functions_detail(f.name, f.active_version, -1);
	if (functions_store_delete(req->db, req->tenant.id, f.id, f.name, err)
	        == -1
	    || tenants_http_audit(req, "function.delete", f.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	resp->status = 204;
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	lx_free(d);
	return (ret);
}

static int
h_versions(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_version *rows = NULL;
	struct functions_fn f;
	struct lx_buf b;
	int i, n = 0, limit;

	if (page_args(req, &limit, NULL, 0, NULL, err) == -1
	    || functions_store_get(req->db, lx_req_param(req, "name"), &f, err)
	        == -1)
		return (-1);
	rows = lx_calloc((size_t)limit, sizeof(*rows));
	if (functions_store_versions(req->db, f.id, rows, limit, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"active_version\":");
	lx_buf_add_json_str(&b, f.active_version);
	lx_buf_adds(&b, ",\"versions\":[");
	for (i = 0; i < n; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		version_json(&b, &rows[i],
		    strcmp(rows[i].version, f.active_version) == 0);
	}
	lx_buf_adds(&b, "]}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

/* The version to roll back to: want when given (it must exist and not be
 * the active one), else the highest version below the active one. */
static int
rollback_target(struct lx_conn *c, const struct functions_fn *f,
    const char *want, char *out, size_t size, struct lx_err *err)
{
	struct functions_version *rows;
	const char *best = NULL;
	int i, n, ret = -1;

	rows = lx_calloc(VERSIONS_MAX, sizeof(*rows));
	if (functions_store_versions(c, f->id, rows, VERSIONS_MAX, &n, err)
	    == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (want != NULL) {
			if (strcmp(rows[i].version, want) == 0)
				best = rows[i].version;
		} else if (plugins_semver_cmp(
		               rows[i].version, f->active_version)
		        < 0
		    && (best == NULL
		        || plugins_semver_cmp(rows[i].version, best) > 0))
			best = rows[i].version;
	}
	if (best == NULL && want != NULL)
		lx_err_set(err, 404, "version_not_found",
		    "the function has no version %s", want);
	else if (best == NULL)
		lx_err_set(err, 409, "no_earlier_version",
		    "no version below %s to roll back to", f->active_version);
	else if (strcmp(best, f->active_version) == 0)
		lx_err_set(err, 409, "version_active",
		    "version %s is the active one already", best);
	else {
		snprintf(out, size, "%s", best);
		ret = 0;
	}
out:
	lx_free(rows);
	return (ret);
}

static int
h_rollback(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *want =
	    req->body != NULL ? lx_req_body_str(req, "version") : NULL;
	char to[FUNCTIONS_VERSION_MAX + 1], *d = NULL;
	struct functions_fn f;
	int ret = -1;

	if (no_args(req, err) == -1 || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (functions_store_get(req->db, lx_req_param(req, "name"), &f, err)
	        == -1
	    || rollback_target(req->db, &f, want, to, sizeof(to), err) == -1)
		goto fail;
	d = functions_detail(f.name, to, -1);
	snprintf(f.active_version, sizeof(f.active_version), "%s", to);
	f.updated_at = lx_now_ms();
	if (functions_store_update(req->db, &f, err) == -1
	    || tenants_http_audit(req, "function.rollback", f.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	send_fn(resp, 200, &f);
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	lx_free(d);
	return (ret);
}

static void
invocation_json(struct lx_buf *b, const struct functions_invocation *r)
{
	lx_buf_addf(b, "{\"id\":\"%lld\",\"version\":", (long long)r->id);
	lx_buf_add_json_str(b, r->version);
	lx_buf_adds(b, ",\"started_at\":");
	lx_buf_add_time_json(b, r->started_at);
	lx_buf_addf(b,
	    ",\"duration_us\":%lld,\"status\":%d,\"memory\":%lld,\"error\":",
	    (long long)r->duration_us, r->status, (long long)r->memory);
	lx_buf_add_json_str_or_null(b, r->error);
	lx_buf_adds(b, ",\"log\":[");
	/* The log is JSON lines: one object per line, as an array. */
	if (r->log != NULL) {
		const char *p = r->log, *e;
		int first = 1;

		for (; *p != '\0'; p = *e == '\n' ? e + 1 : e) {
			e = p + strcspn(p, "\n");
			if (e == p)
				continue;
			lx_buf_adds(b, first ? "" : ",");
			first = 0;
			lx_buf_add(b, p, (size_t)(e - p));
		}
	}
	lx_buf_adds(b, "],\"request_id\":");
	lx_buf_add_json_str_or_null(
	    b, r->request_id[0] != '\0' ? r->request_id : NULL);
	lx_buf_adds(b, ",\"actor\":");
	lx_buf_add_json_str(b, r->actor);
	lx_buf_adds(b, "}");
}

static int
h_invocations(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_invocation *rows;
	struct functions_fn f;
	struct lx_buf b;
	char cursor[24];
	int i, n, limit;

	if (page_args(req, &limit, cursor, sizeof(cursor), id_cursor_ok, err)
	        == -1
	    || functions_store_get(req->db, lx_req_param(req, "name"), &f, err)
	        == -1)
		return (-1);
	functions_log_flush();
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (functions_store_invocations(req->db, f.id,
	        cursor[0] != '\0' ? strtoll(cursor, NULL, 10) : 0, limit + 1,
	        rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"invocations\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		invocation_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	if (n > limit)
		lx_buf_addf(&b, "\"%lld\"", (long long)rows[limit - 1].id);
	else
		lx_buf_adds(&b, "null");
	lx_buf_adds(&b, "}");
	functions_invocations_cleanup(rows, n);
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

/* --- secrets --- */

static int
secret_name_ok(const char *s)
{
	size_t n = strlen(s);

	return (n >= 1 && n <= FUNCTIONS_SECRET_NAME_MAX
	    && strspn(s,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789_")
	        == n);
}

static int
h_secrets(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_secret *rows;
	struct lx_buf b;
	int i, n;

	if (no_args(req, err) == -1)
		return (-1);
	rows = lx_calloc(SECRETS_MAX, sizeof(*rows));
	if (functions_store_secrets(req->db, rows, SECRETS_MAX, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"secrets\":[");
	for (i = 0; i < n; i++) {
		lx_buf_adds(&b, i > 0 ? ",{\"name\":" : "{\"name\":");
		lx_buf_add_json_str(&b, rows[i].name);
		lx_buf_adds(&b, ",\"digest\":");
		lx_buf_add_json_str(&b, rows[i].digest);
		lx_buf_adds(&b, ",\"created_at\":");
		lx_buf_add_time_json(&b, rows[i].created_at);
		lx_buf_adds(&b, ",\"updated_at\":");
		lx_buf_add_time_json(&b, rows[i].updated_at);
		lx_buf_adds(&b, "}");
	}
	lx_buf_adds(&b, "]}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static int
h_secret_set(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *name = lx_req_param(req, "secret_name");
	const char *value = lx_req_body_str(req, "value");
	char *d = NULL;
	int created, n, ret = -1;

	if (no_args(req, err) == -1)
		goto out;
	if (!secret_name_ok(name)) {
		lx_err_set(err, 422, "invalid_name",
		    "a secret name is 1 to %d of A-Z, a-z, 0-9 and '_'",
		    FUNCTIONS_SECRET_NAME_MAX);
		goto out;
	}
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	d = functions_detail(name, NULL, -1);
	if (functions_store_secret_set(
	        req->db, req->tenant.id, name, value, &created, err)
	    == -1)
		goto fail;
	if (created
	    && (functions_store_secret_count(req->db, &n, err) == -1
	        || (n > SECRETS_MAX
	            && lx_err_set(err, 403, "quota_exceeded",
	                "a tenant keeps at most %d secrets", SECRETS_MAX))))
		goto fail;
	if (tenants_http_audit(
	        req, created ? "secret.create" : "secret.update", name, d, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	lx_resp_json(resp, created ? 201 : 200, d);
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	lx_req_body_wipe(req, "value"); /* on every path, refusals too */
	lx_free(d);
	return (ret);
}

static int
h_secret_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *name = lx_req_param(req, "secret_name");

	if (no_args(req, err) == -1 || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (functions_store_secret_delete(req->db, name, err) == -1
	    || tenants_http_audit(req, "secret.delete", name, NULL, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (fail_tx(req));
	resp->status = 204;
	return (0);
}

/* --- the module --- */

static int
functions_init(struct lx_server *srv, struct lx_err *err)
{
	module_srv = srv;
	if (functions_pool_init(srv, err) == -1
	    || functions_hooks_init(lx_server_data_dir(srv), err) == -1)
		return (-1);
	lx_jobs_register("functions.background", functions_job_run);
	return (functions_log_start(lx_server_db(srv), err));
}

static void
functions_shutdown(void)
{
	functions_log_stop();
	module_srv = NULL;
}

static const struct lx_field deploy_fields[] = {
	{ "name", F_STRING, 1, FUNCTIONS_NAME_MAX },
	{ "version", F_STRING, 1, FUNCTIONS_VERSION_MAX },
	{ "source", F_STRING, 1, FUNCTIONS_SOURCE_MAX },
	{ "public", F_BOOL, 0, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema deploy_schema = { deploy_fields };
static const struct lx_field patch_fields[] = {
	{ "public", F_BOOL, 0, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema patch_schema = { patch_fields };
static const struct lx_field rollback_fields[] = {
	{ "version", F_STRING, 0, FUNCTIONS_VERSION_MAX },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema rollback_schema = { rollback_fields };
static const struct lx_field secret_fields[] = {
	{ "value", F_STRING, 1, FUNCTIONS_SECRET_MAX },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema secret_schema = { secret_fields };

#define READ NEED_TENANT_CTX_PERM(PERM_FUNCTIONS_READ)
#define WRITE NEED_TENANT_CTX_PERM(PERM_FUNCTIONS_WRITE)
#define ANY_METHOD (M_GET | M_POST | M_PUT | M_PATCH | M_DELETE)

static const struct lx_route functions_routes[] = {
	{ "/functions", M_GET, READ, NULL, h_list },
	{ "/functions", M_POST, WRITE, &deploy_schema, h_deploy },
	{ "/functions/{name}", M_GET, READ, NULL, h_get },
	{ "/functions/{name}", M_PATCH, WRITE, &patch_schema, h_patch },
	{ "/functions/{name}", M_DELETE, WRITE, NULL, h_delete },
	{ "/functions/{name}/versions", M_GET, READ, NULL, h_versions },
	{ "/functions/{name}/rollback", M_POST, WRITE, &rollback_schema,
	    h_rollback },
	{ "/functions/{name}/invocations", M_GET, READ, NULL, h_invocations },
	/* Counted as a function invocation (functions_invoke), not also as
	 * an API request. */
	{ "/functions/v1/{name}", ANY_METHOD,
	    LX_UNMETERED(NEED_TENANT_CTX_OPT_PERM(PERM_FUNCTIONS_READ)),
	    &lx_any_body, functions_invoke },
	{ "/secrets", M_GET, READ, NULL, h_secrets },
	{ "/secrets/{secret_name}", M_PUT, WRITE, &secret_schema,
	    h_secret_set },
	{ "/secrets/{secret_name}", M_DELETE, WRITE, NULL, h_secret_delete },
	{ NULL, 0, 0, NULL, NULL },
};

const struct lx_module functions_module = {
	"functions",
	functions_routes,
	functions_init,
	functions_shutdown,
};
