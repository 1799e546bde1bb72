/*
 * Service keys of a tenant: POST/GET/DELETE /tenants/{id}/api-keys and the
 * key authenticator the core calls for "Authorization: Bearer lx_sk_...".
 * A key carries a subset of its creator's permissions in the tenant; its
 * secret is shown once, stored as SHA-256 next to a short non-secret
 * prefix that finds the row. The statements of the routes go through
 * p_service_keys (the request's context); the authenticator runs before
 * any context is bound and reads service_keys directly, once per request
 * (no cache: a revocation applies to the very next request).
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "audit.h"
#include "auth.h"
#include "tenants.h"

#define KEY_RAW 32 /* random bytes of a secret */
#define KEY_B64 43 /* their base64url length, no padding */
#define KEY_PREFIX_LEN 6 /* strlen(LX_SERVICE_KEY_PREFIX) */
#define KEY_LEN (KEY_PREFIX_LEN + KEY_B64)
#define KEY_SHOW 18 /* "lx_sk_" + 12 characters: the stored prefix */
#define KEY_NAME_MAX 100

/* One key as listed; never its secret or hash. */
struct service_key {
	char id[40];
	char name[KEY_NAME_MAX + 1];
	char prefix[KEY_SHOW + 1];
	lx_perm_set perms;
	char created_by[40]; /* "" if a key created it or the user is gone */
	int64_t created_at; /* ms since epoch */
	int64_t revoked_at; /* 0: live */
};

static void
finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* The permission set of a stored JSON array of names (unknown names, which
 * a later release may have dropped, grant nothing). */
static lx_perm_set
perms_parse(const char *json)
{
	cJSON *a, *it;
	lx_perm_set set = 0;
	enum lx_perm p;

	if (json == NULL || (a = cJSON_Parse(json)) == NULL)
		return (0);
	cJSON_ArrayForEach(it, a)
	{
		if (cJSON_IsString(it)
		    && (p = lx_perm_by_name(it->valuestring)) != PERM_NONE)
			set |= LX_PERM_BIT(p);
	}
	cJSON_Delete(a);
	return (set);
}

void
tenants_perms_json(struct lx_buf *b, lx_perm_set set)
{
	unsigned p;
	int n = 0;

	lx_buf_adds(b, "[");
	for (p = 1; p < PERM__COUNT; p++)
		if ((set & LX_PERM_BIT(p)) != 0) {
			lx_buf_adds(b, n++ > 0 ? "," : "");
			lx_buf_add_json_str(b, lx_perm_name((enum lx_perm)p));
		}
	lx_buf_adds(b, "]");
}

/* --- the key authenticator (system code: no context bound yet) --- */

static const char sql_key_by_prefix[] =
    "SELECT k.id, k.tenant_id, k.secret_hash, k.permissions, "
    "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2) "
    "AND t.status != 'deleted' "
    "FROM service_keys k JOIN tenants t ON t.id = k.tenant_id "
    "WHERE k.prefix = ?1";

int
tenants_key_verify(struct lx_conn *c, const char *token, size_t len,
    struct lx_identity *out, struct lx_err *err)
{
	sqlite3_stmt *st = NULL;
	char *tok = NULL, hash[65], prefix[KEY_SHOW + 1];
	const char *stored;
	int rc, ret = -1, ok = 0;

	memset(out, 0, sizeof(*out));
	if (len != KEY_LEN) {
		lx_err_set(err, 401, "invalid_token", "not a service key");
		goto out;
	}
	if ((tok = sodium_malloc(KEY_LEN + 1)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	memcpy(tok, token, KEY_LEN);
	tok[KEY_LEN] = '\0';
	memcpy(prefix, tok, KEY_SHOW);
	prefix[KEY_SHOW] = '\0';
	auth_sha256_hex(tok, hash);
	if ((st = lx_conn_stmt(c, sql_key_by_prefix, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lx_now_ms());
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		stored = (const char *)sqlite3_column_text(st, 2);
		ok = stored != NULL && strlen(stored) == 64
		    && sodium_memcmp(stored, hash, 64) == 0
		    && sqlite3_column_int(st, 4) == 1;
		if (ok) {
			snprintf(out->key_id, sizeof(out->key_id), "%s",
			    (const char *)sqlite3_column_text(st, 0));
			snprintf(out->key_tenant, sizeof(out->key_tenant), "%s",
			    (const char *)sqlite3_column_text(st, 1));
			out->key_perms = perms_parse(
			    (const char *)sqlite3_column_text(st, 3));
		}
	}
	finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "service key", err);
		goto out;
	}
	if (!ok) {
		lx_err_set(err, 401, "invalid_token",
		    "unknown or revoked service key");
		goto out;
	}
	out->service_key = 1;
	ret = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	if (tok != NULL)
		sodium_free(tok);
	if (ret == -1)
		memset(out, 0, sizeof(*out));
	return (ret);
}

/* --- statements through p_service_keys --- */

static const char sql_key_insert[] =
    "INSERT INTO p_service_keys (id, tenant_id, name, prefix, secret_hash, "
    "permissions, created_by, created_at) "
    "VALUES (?1, current_tenant(), ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_key_list[] =
    "SELECT id, name, prefix, permissions, created_by, created_at, "
    "revoked_at FROM p_service_keys WHERE tenant_id = current_tenant() "
    "AND id > ?1 ORDER BY id LIMIT ?2";
static const char sql_key_revoke[] =
    "UPDATE p_service_keys SET revoked_at = ?2 "
    "WHERE id = ?1 AND tenant_id = current_tenant() AND revoked_at IS NULL";
static const char sql_has_perm[] = "SELECT has_permission(?1)";

int
tenants_caller_perms(
    const struct lx_req *req, lx_perm_set *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	unsigned p;
	int rc;

	*out = 0;
	if (req->ident.service_key) {
		*out = req->ident.key_perms;
		return (0);
	}
	if ((st = lx_conn_stmt(req->db, sql_has_perm, err)) == NULL)
		return (-1);
	for (p = 1; p < PERM__COUNT; p++) {
		sqlite3_bind_text(
		    st, 1, lx_perm_name((enum lx_perm)p), -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW
		    && sqlite3_column_int(st, 0) == 1)
			*out |= LX_PERM_BIT(p);
		finish(st);
		if (rc != SQLITE_ROW)
			return (lx_conn_error(req->db, rc, "permission", err));
	}
	return (0);
}

/* --- handlers --- */

/* The body's permissions as a set: 422 "invalid_permissions" unless a
 * non-empty array of strings, 422 "unknown_permission" naming the unknown
 * ones. */
static int
body_perms(const struct lx_req *req, lx_perm_set *out, struct lx_err *err)
{
	cJSON *a, *it;
	struct lx_buf bad;
	enum lx_perm p;
	int n = 0;

	*out = 0;
	a = cJSON_GetObjectItemCaseSensitive(req->body, "permissions");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
		return (lx_err_set(err, 422, "invalid_permissions",
		    "permissions must be a non-empty array of names"));
	lx_buf_init(&bad);
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it)) {
			lx_buf_cleanup(&bad);
			return (lx_err_set(err, 422, "invalid_permissions",
			    "permissions must be a non-empty array of names"));
		}
		if ((p = lx_perm_by_name(it->valuestring)) == PERM_NONE) {
			if (n++ < 8 && strlen(it->valuestring) <= 40)
				lx_buf_addf(&bad, "%s%s", bad.len ? ", " : "",
				    it->valuestring);
		} else
			*out |= LX_PERM_BIT(p);
	}
	if (n > 0) {
		lx_err_set(err, 422, "unknown_permission",
		    "unknown permissions: %s", bad.data ? bad.data : "?");
		lx_buf_cleanup(&bad);
		return (-1);
	}
	lx_buf_cleanup(&bad);
	return (0);
}

/* 403 "permission_not_held" naming what want has beyond have. */
static int
subset_rule(lx_perm_set want, lx_perm_set have, struct lx_err *err)
{
	struct lx_buf b;
	unsigned p;

	if ((want & ~have) == 0)
		return (0);
	lx_buf_init(&b);
	for (p = 1; p < PERM__COUNT; p++)
		if ((want & ~have & LX_PERM_BIT(p)) != 0)
			lx_buf_addf(&b, "%s%s", b.len ? ", " : "",
			    lx_perm_name((enum lx_perm)p));
	lx_err_set(err, 403, "permission_not_held",
	    "a key may carry only permissions you hold; you lack: %s", b.data);
	lx_buf_cleanup(&b);
	return (-1);
}

static void
key_json(struct lx_buf *b, const struct service_key *k)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, k->id);
	lx_buf_adds(b, ",\"name\":");
	lx_buf_add_json_str(b, k->name);
	lx_buf_adds(b, ",\"prefix\":");
	lx_buf_add_json_str(b, k->prefix);
	lx_buf_adds(b, ",\"permissions\":");
	tenants_perms_json(b, k->perms);
	lx_buf_adds(b, ",\"created_by\":");
	lx_buf_add_json_str_or_null(b, k->created_by);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, k->created_at);
	lx_buf_adds(b, ",\"revoked_at\":");
	if (k->revoked_at != 0)
		lx_buf_add_time_json(b, k->revoked_at);
	else
		lx_buf_adds(b, "null");
	lx_buf_adds(b, "}");
}

/* Makes a secret into tok (KEY_LEN + 1 bytes, sodium memory); -1 with
 * 503 when secure memory runs out. */
static int
key_make(char *tok, struct lx_err *err)
{
	unsigned char *raw;

	if ((raw = sodium_malloc(KEY_RAW)) == NULL)
		return (lx_err_set(
		    err, 503, "out_of_memory", "out of secure memory"));
	randombytes_buf(raw, KEY_RAW);
	memcpy(tok, LX_SERVICE_KEY_PREFIX, KEY_PREFIX_LEN);
	sodium_bin2base64(tok + KEY_PREFIX_LEN, KEY_B64 + 1, raw, KEY_RAW,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_free(raw);
	return (0);
}

int
tenants_key_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct service_key k;
	struct lx_buf b, detail;
	lx_perm_set have;
	sqlite3_stmt *st;
	char *tok = NULL, hash[65];
	const char *name = lx_req_body_str(req, "name");
	int ret = -1;

	memset(&k, 0, sizeof(k));
	lx_buf_init(&b);
	lx_buf_init(&detail);
	hash[0] = '\0';
	if (tenants_name_check(name, err) == -1
	    || body_perms(req, &k.perms, err) == -1
	    || tenants_caller_perms(req, &have, err) == -1
	    || subset_rule(k.perms, have, err) == -1) {
		ret = tenants_http_fail(req, resp, err);
		goto out;
	}
	if ((tok = sodium_malloc(KEY_LEN + 1)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	if (key_make(tok, err) == -1)
		goto out;
	auth_sha256_hex(tok, hash);
	auth_uuid(k.id);
	snprintf(k.name, sizeof(k.name), "%s", name);
	memcpy(k.prefix, tok, KEY_SHOW);
	if (!req->ident.service_key)
		snprintf(k.created_by, sizeof(k.created_by), "%s",
		    req->ident.user_id);
	k.created_at = lx_now_ms();
	tenants_perms_json(&b, k.perms);
	if (lx_conn_begin(req->db, err) == -1) {
		ret = tenants_http_fail(req, resp, err);
		goto out;
	}
	if (tenants_quota_room(
	        req->srv, req->db, req->tenant.id, "service_keys", err)
	        == -1
	    || (st = lx_conn_stmt(req->db, sql_key_insert, err)) == NULL) {
		ret = tenants_http_fail_tx(req, resp, err);
		goto out;
	}
	sqlite3_bind_text(st, 1, k.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k.prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, b.data, -1, SQLITE_STATIC);
	if (k.created_by[0] != '\0')
		sqlite3_bind_text(st, 6, k.created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, k.created_at);
	lx_buf_adds(&detail, "{\"name\":");
	lx_buf_add_json_str(&detail, k.name);
	lx_buf_adds(&detail, ",\"prefix\":");
	lx_buf_add_json_str(&detail, k.prefix);
	lx_buf_adds(&detail, ",\"permissions\":");
	lx_buf_adds(&detail, b.data);
	lx_buf_adds(&detail, "}");
	if (lx_conn_step_done(req->db, st, "service key insert", err) == -1
	    || tenants_http_audit(
	           req, "service_key.create", k.id, detail.data, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		ret = tenants_http_fail_tx(req, resp, err);
		goto out;
	}
	/* The one response that carries the secret. */
	lx_buf_reset(&b);
	key_json(&b, &k);
	b.len--; /* reopen the object for the secret */
	lx_buf_adds(&b, ",\"secret\":");
	lx_buf_add_json_str(&b, tok);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 201, b.data);
	sodium_memzero(b.data, b.len);
	ret = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	if (tok != NULL)
		sodium_free(tok);
	lx_buf_cleanup(&b);
	lx_buf_cleanup(&detail);
	return (ret);
}

int
tenants_key_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct service_key *rows;
	sqlite3_stmt *st;
	struct lx_buf b;
	const char *s;
	char after[40];
	int i, n = 0, limit, rc;

	if (tenants_page_args(req, &limit, after, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if ((st = lx_conn_stmt(req->db, sql_key_list, err)) == NULL)
		return (-1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit + 1);
	while (n <= limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(st, 0);
		snprintf(rows[n].id, sizeof(rows[n].id), "%s", s ? s : "");
		s = (const char *)sqlite3_column_text(st, 1);
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", s ? s : "");
		s = (const char *)sqlite3_column_text(st, 2);
		snprintf(
		    rows[n].prefix, sizeof(rows[n].prefix), "%s", s ? s : "");
		rows[n].perms =
		    perms_parse((const char *)sqlite3_column_text(st, 3));
		s = (const char *)sqlite3_column_text(st, 4);
		snprintf(rows[n].created_by, sizeof(rows[n].created_by), "%s",
		    s ? s : "");
		rows[n].created_at = sqlite3_column_int64(st, 5);
		rows[n].revoked_at = sqlite3_column_int64(st, 6);
		n++;
	}
	finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		lx_free(rows);
		return (lx_conn_error(req->db, rc, "service keys", err));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"api_keys\":[");
	for (i = 0; i < n && i < limit; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		key_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	if (n > limit)
		lx_buf_add_json_str(&b, rows[limit - 1].id);
	else
		lx_buf_adds(&b, "null");
	lx_buf_adds(&b, "}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

int
tenants_key_revoke(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "key_id");
	sqlite3_stmt *st;

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if ((st = lx_conn_stmt(req->db, sql_key_revoke, err)) == NULL)
		return (tenants_http_fail_tx(req, resp, err));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lx_now_ms());
	if (lx_conn_step_one(req->db, st, "service key revoke", "key_not_found",
	        "no live service key with this id in the tenant", err)
	        == -1
	    || tenants_http_audit(req, "service_key.revoke", id, NULL, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	resp->status = 204;
	return (0);
}

static const struct lx_field key_fields[] = {
	{ "name", F_STRING, 1, KEY_NAME_MAX },
	{ "permissions", F_ARRAY, 1, 0 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema tenants_key_schema = { key_fields };

int
tenants_keys_init(struct lx_server *srv, struct lx_err *err)
{
	(void)err;
	lx_server_set_key_authenticator(srv, tenants_key_verify);
	return (0);
}
