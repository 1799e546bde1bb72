/*
 * The statements of edge functions: functions, versions, the invocation
 * log and secrets, read and written by request code through the policy
 * views of migrations/006 (p_functions, p_function_versions,
 * p_function_invocations, p_function_secrets), so a forgotten tenant
 * filter fails closed. The invocation target and a tenant's slug are read
 * as system code: the invocation path settles the tenant before it reads.
 *
 * The invocation target (which version of a tenant's function serves) is
 * read on every call, so each thread keeps the last ones it read: an
 * entry holds until a deploy, change, rollback or delete in this process
 * (a generation every such write bumps) or for TARGET_TTL_MS, the time a
 * change made by another process (`luxima fn deploy`) takes to be seen.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "functions.h"

#define FN_COLS \
	"f.id, f.tenant_id, f.name, f.public, f.active_version, " \
	"coalesce(f.created_by, ''), f.created_at, f.updated_at, " \
	"(SELECT count(*) FROM p_function_versions v WHERE v.function_id " \
	"= f.id)"

static void
fn_row(sqlite3_stmt *st, struct functions_fn *f)
{
	memset(f, 0, sizeof(*f));
	lx_col_text(st, 0, f->id, sizeof(f->id));
	lx_col_text(st, 1, f->tenant_id, sizeof(f->tenant_id));
	lx_col_text(st, 2, f->name, sizeof(f->name));
	f->public = sqlite3_column_int(st, 3);
	lx_col_text(st, 4, f->active_version, sizeof(f->active_version));
	lx_col_text(st, 5, f->created_by, sizeof(f->created_by));
	f->created_at = sqlite3_column_int64(st, 6);
	f->updated_at = sqlite3_column_int64(st, 7);
	f->nversions = sqlite3_column_int(st, 8);
}

static const char sql_get[] =
    "SELECT " FN_COLS " FROM p_functions f WHERE f.name = ?1";

int
functions_store_get(struct lx_conn *c, const char *name,
    struct functions_fn *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_get, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "not_found", "no such function"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "function", err));
	return (0);
}

static const char sql_list[] =
    "SELECT " FN_COLS " FROM p_functions f WHERE f.name > ?1 "
    "ORDER BY f.name LIMIT ?2";

int
functions_store_list(struct lx_conn *c, const char *after, int limit,
    struct functions_fn *rows, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_list, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		fn_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "functions", err));
	return (0);
}

static const char sql_insert[] =
    "INSERT INTO p_functions (id, tenant_id, name, public, active_version, "
    "created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
    "?7, ?7)";

int
functions_store_insert(
    struct lx_conn *c, const struct functions_fn *f, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_insert, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, f->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, f->public);
	sqlite3_bind_text(st, 5, f->active_version, -1, SQLITE_STATIC);
	if (f->created_by[0] != '\0')
		sqlite3_bind_text(st, 6, f->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, f->created_at);
	functions_store_changed();
	return (lx_conn_step_one(
	    c, st, "function", "not_found", "no such function", err));
}

static const char sql_update[] =
    "UPDATE p_functions SET active_version = ?2, public = ?3, "
    "updated_at = ?4 WHERE id = ?1";

int
functions_store_update(
    struct lx_conn *c, const struct functions_fn *f, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_update, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, f->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->active_version, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->public);
	sqlite3_bind_int64(st, 4, f->updated_at);
	functions_store_changed();
	return (lx_conn_step_one(
	    c, st, "function", "not_found", "no such function", err));
}

static const char sql_version_insert[] =
    "INSERT INTO p_function_versions (id, tenant_id, function_id, version, "
    "source, sha256, size, created_by, created_at) VALUES (?1, ?2, ?3, ?4, "
    "?5, ?6, ?7, ?8, ?9)";

int
functions_store_version_insert(struct lx_conn *c, const char *tenant_id,
    const char *fn_id, const struct functions_version *v, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_version_insert, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fn_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, v->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, v->source, (int)v->size, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, v->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, v->size);
	if (v->created_by[0] != '\0')
		sqlite3_bind_text(st, 8, v->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, v->created_at);
	return (lx_conn_step_one(
	    c, st, "function version", "not_found", "no such function", err));
}

static const char sql_versions[] =
    "SELECT id, version, sha256, size, coalesce(created_by, ''), "
    "created_at FROM p_function_versions WHERE function_id = ?1 "
    "ORDER BY created_at DESC, version DESC LIMIT ?2";

int
functions_store_versions(struct lx_conn *c, const char *fn_id,
    struct functions_version *rows, int limit, int *n, struct lx_err *err)
{
	struct functions_version *v;
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_versions, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, fn_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = &rows[(*n)++];
		memset(v, 0, sizeof(*v));
		lx_col_text(st, 0, v->id, sizeof(v->id));
		lx_col_text(st, 1, v->version, sizeof(v->version));
		lx_col_text(st, 2, v->sha256, sizeof(v->sha256));
		v->size = sqlite3_column_int64(st, 3);
		lx_col_text(st, 4, v->created_by, sizeof(v->created_by));
		v->created_at = sqlite3_column_int64(st, 5);
	}
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "function versions", err));
	return (0);
}

/* Cascades cannot run through a policy view (the authorizer refuses
 * them), so the delete runs as system code once the view found the row;
 * the tenant id keeps it to the caller's tenant all the same. */
static const char *const sql_delete[] = {
	"DELETE FROM function_documents WHERE tenant_id = ?1 AND namespace = "
	"'fn:' || ?3",
	"DELETE FROM functions WHERE tenant_id = ?1 AND id = ?2",
};

int
functions_store_delete(struct lx_conn *c, const char *tenant_id,
    const char *fn_id, const char *name, struct lx_err *err)
{
	sqlite3_stmt *st;
	size_t i;
	int ret = -1;

	functions_store_changed();
	lx_conn_system_begin(c);
	for (i = 0; i < LX_NELEM(sql_delete); i++) {
		if ((st = lx_conn_stmt(c, sql_delete[i], err)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, fn_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		if (lx_conn_step_done(c, st, "function delete", err) == -1)
			goto out;
	}
	ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_invocations[] =
    "SELECT id, tenant_id, function_id, version, started_at, duration_us, "
    "status, memory, error, log, coalesce(request_id, ''), "
    "coalesce(actor, '') FROM p_function_invocations WHERE function_id = "
    "?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3";

void
functions_invocation_row(sqlite3_stmt *st, struct functions_invocation *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	lx_col_text(st, 1, r->tenant_id, sizeof(r->tenant_id));
	lx_col_text(st, 2, r->function_id, sizeof(r->function_id));
	lx_col_text(st, 3, r->version, sizeof(r->version));
	r->started_at = sqlite3_column_int64(st, 4);
	r->duration_us = sqlite3_column_int64(st, 5);
	r->status = sqlite3_column_int(st, 6);
	r->memory = sqlite3_column_int64(st, 7);
	r->error = lx_col_dup(st, 8);
	r->log = lx_col_dup(st, 9);
	lx_col_text(st, 10, r->request_id, sizeof(r->request_id));
	lx_col_text(st, 11, r->actor, sizeof(r->actor));
}

int
functions_store_invocations(struct lx_conn *c, const char *fn_id,
    int64_t before, int limit, struct functions_invocation *rows, int *n,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_invocations, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, fn_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int(st, 3, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		functions_invocation_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "invocations", err));
	return (0);
}

void
functions_invocations_cleanup(struct functions_invocation *rows, int n)
{
	int i;

	for (i = 0; rows != NULL && i < n; i++) {
		lx_free(rows[i].error);
		lx_free(rows[i].log);
		rows[i].error = rows[i].log = NULL;
	}
}

/* --- system code: the invocation target, slugs --- */

#define TARGET_SLOTS 64 /* targets each thread remembers */
#define TARGET_TTL_MS 1000

struct target_slot {
	uint64_t gen; /* target_gen when read; 0: empty */
	int64_t at; /* lx_now_ms() when read */
	char tenant[FUNCTIONS_ID_SIZE];
	char name[FUNCTIONS_NAME_MAX + 1];
	struct functions_target t; /* source always NULL */
};

static _Atomic uint64_t target_gen = 1;
static _Thread_local struct target_slot target_slots[TARGET_SLOTS];

void
functions_store_changed(void)
{
	atomic_fetch_add(&target_gen, 1);
}

static struct target_slot *
target_slot(const char *tenant, const char *name)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = tenant; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return (&target_slots[h % TARGET_SLOTS]);
}

static const char sql_target[] =
    "SELECT f.id, f.public, f.active_version, v.id, "
    "CASE WHEN ?3 THEN v.source END FROM functions f JOIN "
    "function_versions v ON v.function_id = f.id AND v.version = "
    "f.active_version WHERE f.tenant_id = ?1 AND f.name = ?2";

int
functions_store_target(struct lx_conn *c, const char *tenant_id,
    const char *name, int want_source, struct functions_target *out,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	const void *src;
	int rc = SQLITE_ERROR, ret = -1;

	struct target_slot *slot = target_slot(tenant_id, name);
	uint64_t gen = atomic_load(&target_gen);
	int64_t now = lx_now_ms();

	memset(out, 0, sizeof(*out));
	if (!want_source && slot->gen == gen && now - slot->at < TARGET_TTL_MS
	    && strcmp(slot->tenant, tenant_id) == 0
	    && strcmp(slot->name, name) == 0) {
		*out = slot->t;
		return (0);
	}
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_target, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, want_source);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		lx_col_text(st, 0, out->fn_id, sizeof(out->fn_id));
		out->public = sqlite3_column_int(st, 1);
		lx_col_text(st, 2, out->version, sizeof(out->version));
		lx_col_text(st, 3, out->version_id, sizeof(out->version_id));
		if (want_source && (src = sqlite3_column_text(st, 4)) != NULL) {
			out->source_len = (size_t)sqlite3_column_bytes(st, 4);
			out->source = lx_strndup(src, out->source_len);
		}
	}
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "not_found", "no such function");
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "function target", err);
	else {
		slot->gen = gen;
		slot->at = now;
		snprintf(slot->tenant, sizeof(slot->tenant), "%s", tenant_id);
		snprintf(slot->name, sizeof(slot->name), "%s", name);
		slot->t = *out;
		slot->t.source = NULL;
		slot->t.source_len = 0;
		ret = 0;
	}
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_slug[] =
    "SELECT id FROM tenants WHERE slug = ?1 AND status = 'active'";
static const char sql_slug_or_id[] =
    "SELECT id FROM tenants WHERE (slug = ?1 OR id = ?1) AND status = "
    "'active'";

static int
tenant_lookup(struct lx_conn *c, const char *sql, const char *slug,
    char id[FUNCTIONS_ID_SIZE], struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	id[0] = '\0';
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, slug, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		lx_col_text(st, 0, id, FUNCTIONS_ID_SIZE);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "not_found", "no such tenant");
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "tenant slug", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

int
functions_store_tenant_by_slug(struct lx_conn *c, const char *slug,
    char id[FUNCTIONS_ID_SIZE], struct lx_err *err)
{
	return (tenant_lookup(c, sql_slug, slug, id, err));
}

int
functions_store_tenant(struct lx_conn *c, const char *ref,
    char id[FUNCTIONS_ID_SIZE], struct lx_err *err)
{
	return (tenant_lookup(c, sql_slug_or_id, ref, id, err));
}

/* --- secrets --- */

static const char sql_secrets[] =
    "SELECT name, value, created_at, updated_at FROM p_function_secrets "
    "ORDER BY name LIMIT ?1";

int
functions_store_secrets(struct lx_conn *c, struct functions_secret *rows,
    int limit, int *n, struct lx_err *err)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	struct functions_secret *r;
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_secrets, err)) == NULL)
		return (-1);
	sqlite3_bind_int(st, 1, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = &rows[(*n)++];
		memset(r, 0, sizeof(*r));
		lx_col_text(st, 0, r->name, sizeof(r->name));
		v = sqlite3_column_text(st, 1);
		crypto_hash_sha256(h, v != NULL ? v : (const unsigned char *)"",
		    (unsigned long long)sqlite3_column_bytes(st, 1));
		sodium_bin2hex(r->digest, sizeof(r->digest), h, sizeof(h));
		r->created_at = sqlite3_column_int64(st, 2);
		r->updated_at = sqlite3_column_int64(st, 3);
	}
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "secrets", err));
	return (0);
}

static const char sql_secret_update[] =
    "UPDATE p_function_secrets SET value = ?2, updated_at = ?3 WHERE name "
    "= ?1";
static const char sql_secret_insert[] =
    "INSERT INTO p_function_secrets (tenant_id, name, value, created_at, "
    "updated_at) VALUES (?4, ?1, ?2, ?3, ?3)";

int
functions_store_secret_set(struct lx_conn *c, const char *tenant_id,
    const char *name, const char *value, int *created, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();
	int i;

	*created = 0;
	for (i = 0; i < 2; i++) {
		st = lx_conn_stmt(
		    c, i == 0 ? sql_secret_update : sql_secret_insert, err);
		if (st == NULL)
			return (-1);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		if (i == 1)
			sqlite3_bind_text(st, 4, tenant_id, -1, SQLITE_STATIC);
		if (lx_conn_step_done(c, st, "secret", err) == -1)
			return (-1);
		if (lx_conn_policy_changes(c) > 0)
			return (0);
		*created = 1;
	}
	return (lx_err_set(err, 500, "internal_error", "secret not written"));
}

static const char sql_secret_delete[] =
    "DELETE FROM p_function_secrets WHERE name = ?1";

int
functions_store_secret_delete(
    struct lx_conn *c, const char *name, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_secret_delete, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return (lx_conn_step_one(
	    c, st, "secret", "not_found", "no such secret", err));
}

static const char sql_secret_count[] =
    "SELECT count(*) FROM p_function_secrets";

int
functions_store_secret_count(struct lx_conn *c, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if ((st = lx_conn_stmt(c, sql_secret_count, err)) == NULL
	    || lx_conn_step_int(c, st, "secrets", &v, err) == -1)
		return (-1);
	*n = (int)v;
	return (0);
}
