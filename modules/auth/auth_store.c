/*
 * The auth module's statements over the tables of migration 002: users and
 * credentials, sessions, refresh tokens, failed login attempts, signing
 * keys and settings. Prepared statements from the connection's cache, one
 * function per statement or short sequence; no rules here (auth.c decides),
 * and no transactions (the caller holds them).
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"

/* Copies column i (text or NULL) into out. */
static void
col_text(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

/* Binds a text parameter, or NULL. */
static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return (s != NULL ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
	                  : sqlite3_bind_null(st, i));
}

/* Steps a statement that returns no rows. */

int
auth_store_setting(struct lx_conn *c, const char *key, char *out, size_t outsz,
    int *found, struct lx_err *err)
{
	static const char sql[] = "SELECT value FROM settings WHERE key = ?1";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_text(st, 0, out, outsz);
		*found = 1;
	} else if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read a setting", err));
	sqlite3_reset(st);
	return (0);
}

#define USER_COLS \
	"u.id, u.email, u.name, u.platform_admin, " \
	"coalesce(u.email_confirmed_at, 0), coalesce(u.last_sign_in_at, 0), " \
	"u.created_at, u.updated_at, c.hash "

/* Reads a user row (USER_COLS) from st. */
static void
read_user(sqlite3_stmt *st, struct auth_user *u, struct auth_cred *cred)
{
	memset(u, 0, sizeof(*u));
	col_text(st, 0, u->id, sizeof(u->id));
	col_text(st, 1, u->email, sizeof(u->email));
	u->has_name = sqlite3_column_type(st, 2) != SQLITE_NULL;
	col_text(st, 2, u->name, sizeof(u->name));
	u->platform_admin = sqlite3_column_int(st, 3);
	u->email_confirmed_at = sqlite3_column_int64(st, 4);
	u->last_sign_in_at = sqlite3_column_int64(st, 5);
	u->created_at = sqlite3_column_int64(st, 6);
	u->updated_at = sqlite3_column_int64(st, 7);
	if (cred != NULL) {
		cred->has_password = sqlite3_column_type(st, 8) != SQLITE_NULL;
		col_text(st, 8, cred->hash, sizeof(cred->hash));
	}
}

/* Runs a user query with one text parameter. */
static int
user_query(struct lx_conn *c, const char *sql, const char *arg,
    struct auth_user *u, struct auth_cred *cred, int *found, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if (cred != NULL)
		memset(cred, 0, sizeof(*cred));
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, arg);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_user(st, u, cred);
		*found = 1;
	} else if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read a user", err));
	sqlite3_reset(st);
	return (0);
}

int
auth_store_user_by_email(struct lx_conn *c, const char *email,
    struct auth_user *u, struct auth_cred *cred, int *found, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT " USER_COLS "FROM users u LEFT JOIN credentials c "
	    "ON c.user_id = u.id AND c.kind = 'password' "
	    "WHERE u.email = ?1";

	return (user_query(c, sql, email, u, cred, found, err));
}

int
auth_store_user_by_id(struct lx_conn *c, const char *id, struct auth_user *u,
    struct auth_cred *cred, int *found, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT " USER_COLS "FROM users u LEFT JOIN credentials c "
	    "ON c.user_id = u.id AND c.kind = 'password' "
	    "WHERE u.id = ?1";

	return (user_query(c, sql, id, u, cred, found, err));
}

int
auth_store_user_insert(struct lx_conn *c, const struct auth_user *u,
    const char *hash, uint64_t memlimit_kib, uint64_t opslimit,
    struct lx_err *err)
{
	static const char usql[] =
	    "INSERT INTO users (id, email, name, email_confirmed_at, "
	    "platform_admin, created_at, updated_at) "
	    "VALUES (?1, ?2, ?3, nullif(?4, 0), ?5, ?6, ?6)";
	static const char csql[] =
	    "INSERT INTO credentials (id, user_id, kind, hash, algorithm, "
	    "memlimit_kib, opslimit, created_at, updated_at) "
	    "VALUES (?1, ?2, 'password', ?3, 'argon2id', ?4, ?5, ?6, ?6)";
	sqlite3_stmt *st;
	char cid[AUTH_ID_SIZE];

	if ((st = lx_conn_stmt(c, usql, err)) == NULL)
		return (-1);
	bind_text(st, 1, u->id);
	bind_text(st, 2, u->email);
	bind_text(st, 3, u->has_name ? u->name : NULL);
	sqlite3_bind_int64(st, 4, u->email_confirmed_at);
	sqlite3_bind_int(st, 5, u->platform_admin);
	sqlite3_bind_int64(st, 6, u->created_at);
	if (lx_conn_step_done(c, st, "insert a user", err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, csql, err)) == NULL)
		return (-1);
	auth_uuid(cid);
	bind_text(st, 1, cid);
	bind_text(st, 2, u->id);
	bind_text(st, 3, hash);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)memlimit_kib);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)opslimit);
	sqlite3_bind_int64(st, 6, u->created_at);
	return (lx_conn_step_done(c, st, "insert a credential", err));
}

int
auth_store_user_signed_in(
    struct lx_conn *c, const char *user_id, int64_t now, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE users SET last_sign_in_at = ?2 WHERE id = ?1";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, user_id);
	sqlite3_bind_int64(st, 2, now);
	return (lx_conn_step_done(c, st, "update a user", err));
}

int
auth_store_cred_update(struct lx_conn *c, const char *user_id, const char *hash,
    uint64_t memlimit_kib, uint64_t opslimit, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE credentials SET hash = ?2, memlimit_kib = ?3, "
	    "opslimit = ?4, updated_at = ?5 "
	    "WHERE user_id = ?1 AND kind = 'password'";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, user_id);
	bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)memlimit_kib);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)opslimit);
	sqlite3_bind_int64(st, 5, lx_now_ms());
	return (lx_conn_step_done(c, st, "update a credential", err));
}

int
auth_store_session_insert(struct lx_conn *c, const char *id,
    const char *user_id, const char *aal, const char *amr_json,
    const struct auth_client *cl, int64_t now, int64_t not_after,
    struct lx_err *err)
{
	static const char sql[] =
	    "INSERT INTO sessions (id, user_id, aal, amr, user_agent, ip, "
	    "created_at, not_after) VALUES (?1, ?2, ?3, ?4, substr(?5, 1, "
	    "255), substr(?6, 1, 63), ?7, ?8)";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	bind_text(st, 2, user_id);
	bind_text(st, 3, aal);
	bind_text(st, 4, amr_json);
	bind_text(st, 5, cl != NULL ? cl->user_agent : NULL);
	bind_text(st, 6, cl != NULL ? cl->address : NULL);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, not_after);
	return (lx_conn_step_done(c, st, "insert a session", err));
}

int
auth_store_session_get(struct lx_conn *c, const char *id,
    struct auth_store_session *s, int *found, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT user_id, aal, amr, revoked_at IS NOT NULL, not_after "
	    "FROM sessions WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	memset(s, 0, sizeof(*s));
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_text(st, 0, s->user_id, sizeof(s->user_id));
		col_text(st, 1, s->aal, sizeof(s->aal));
		col_text(st, 2, s->amr, sizeof(s->amr));
		s->revoked = sqlite3_column_int(st, 3);
		s->not_after = sqlite3_column_int64(st, 4);
		*found = 1;
	} else if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read a session", err));
	sqlite3_reset(st);
	return (0);
}

int
auth_store_session_refreshed(struct lx_conn *c, const char *id, int64_t now,
    int64_t not_after, struct lx_err *err)
{
	static const char sql[] = "UPDATE sessions SET refreshed_at = ?2, "
	                          "not_after = ?3 WHERE id = ?1";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, not_after);
	return (lx_conn_step_done(c, st, "update a session", err));
}

int
auth_store_sessions_revoke(struct lx_conn *c, const char *user_id,
    const char *only, const char *except, const char *reason, int64_t now,
    void (*fn)(const char *id, void *arg), void *arg, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE sessions SET revoked_at = ?4, revoked_reason = ?5 "
	    "WHERE user_id = ?1 AND revoked_at IS NULL "
	    "AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR id <> ?3) "
	    "RETURNING id";
	static const char rsql[] =
	    "UPDATE refresh_tokens SET spent = 1, spent_at = ?2 "
	    "WHERE session_id = ?1 AND spent = 0";
	sqlite3_stmt *st, *rt;
	char ids[64][AUTH_ID_SIZE];
	int rc, i, n = 0, total = 0;

	/* RETURNING rows in batches: refresh tokens are spent after the
	 * sessions statement finished. */
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, user_id);
	bind_text(st, 2, only);
	bind_text(st, 3, except);
	sqlite3_bind_int64(st, 4, now);
	bind_text(st, 5, reason);
	for (;;) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && n < (int)LX_NELEM(ids)) {
			col_text(st, 0, ids[n], sizeof(ids[n]));
			n++;
			continue;
		}
		if (rc == SQLITE_ROW) {
			/* More than a batch: spend the rest below by user. */
			total++;
			if (fn != NULL)
				fn((const char *)sqlite3_column_text(st, 0),
				    arg);
			continue;
		}
		if (rc != SQLITE_DONE)
			return (lx_conn_error(c, rc, "revoke sessions", err));
		break;
	}
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		if ((rt = lx_conn_stmt(c, rsql, err)) == NULL)
			return (-1);
		bind_text(rt, 1, ids[i]);
		sqlite3_bind_int64(rt, 2, now);
		if (lx_conn_step_done(c, rt, "spend refresh tokens", err) == -1)
			return (-1);
		if (fn != NULL)
			fn(ids[i], arg);
	}
	if (total > 0) {
		static const char usql[] =
		    "UPDATE refresh_tokens SET spent = 1, spent_at = ?2 "
		    "WHERE spent = 0 AND session_id IN (SELECT id FROM "
		    "sessions WHERE user_id = ?1 AND revoked_at IS NOT NULL)";

		if ((rt = lx_conn_stmt(c, usql, err)) == NULL)
			return (-1);
		bind_text(rt, 1, user_id);
		sqlite3_bind_int64(rt, 2, now);
		if (lx_conn_step_done(c, rt, "spend refresh tokens", err) == -1)
			return (-1);
	}
	return (n + total);
}

int
auth_store_sessions_list(struct lx_conn *c, const char *user_id, int64_t now,
    struct auth_session **out, int *n, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT id, created_at, coalesce(refreshed_at, 0), "
	    "coalesce(user_agent, ''), coalesce(ip, ''), aal FROM sessions "
	    "WHERE user_id = ?1 AND revoked_at IS NULL AND not_after > ?2 "
	    "ORDER BY created_at DESC, id LIMIT 1000";
	struct auth_session *v = NULL, *s;
	sqlite3_stmt *st;
	int rc, cap = 0;

	*out = NULL;
	*n = 0;
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, user_id);
	sqlite3_bind_int64(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			v = lx_realloc(v, (size_t)cap * sizeof(*v));
		}
		s = &v[(*n)++];
		col_text(st, 0, s->id, sizeof(s->id));
		s->created_at = sqlite3_column_int64(st, 1);
		s->refreshed_at = sqlite3_column_int64(st, 2);
		col_text(st, 3, s->user_agent, sizeof(s->user_agent));
		col_text(st, 4, s->ip, sizeof(s->ip));
		col_text(st, 5, s->aal, sizeof(s->aal));
	}
	if (rc != SQLITE_DONE) {
		lx_free(v);
		*n = 0;
		return (lx_conn_error(c, rc, "list sessions", err));
	}
	sqlite3_reset(st);
	*out = v;
	return (0);
}

int
auth_store_sessions_revoked_since(struct lx_conn *c, int64_t since,
    void (*fn)(const char *id, int64_t revoked_at, void *arg), void *arg,
    struct lx_err *err)
{
	static const char sql[] = "SELECT id, revoked_at FROM sessions "
	                          "WHERE revoked_at IS NOT NULL AND "
	                          "revoked_at >= ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), arg);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read revoked sessions", err));
	sqlite3_reset(st);
	return (0);
}

int
auth_store_refresh_insert(struct lx_conn *c, const char *id,
    const char *hash_hex, const char *session_id, const char *user_id,
    const char *family_id, const char *parent_id, int64_t now,
    int64_t expires_at, struct lx_err *err)
{
	static const char sql[] =
	    "INSERT INTO refresh_tokens (id, token_hash, session_id, "
	    "user_id, family_id, parent_id, created_at, expires_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	bind_text(st, 2, hash_hex);
	bind_text(st, 3, session_id);
	bind_text(st, 4, user_id);
	bind_text(st, 5, family_id);
	bind_text(st, 6, parent_id);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, expires_at);
	return (lx_conn_step_done(c, st, "insert a refresh token", err));
}

int
auth_store_refresh_get(struct lx_conn *c, const char *hash_hex,
    struct auth_store_refresh *r, int *found, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT id, session_id, user_id, family_id, spent, expires_at "
	    "FROM refresh_tokens WHERE token_hash = ?1";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	memset(r, 0, sizeof(*r));
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, hash_hex);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_text(st, 0, r->id, sizeof(r->id));
		col_text(st, 1, r->session_id, sizeof(r->session_id));
		col_text(st, 2, r->user_id, sizeof(r->user_id));
		col_text(st, 3, r->family_id, sizeof(r->family_id));
		r->spent = sqlite3_column_int(st, 4);
		r->expires_at = sqlite3_column_int64(st, 5);
		*found = 1;
	} else if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read a refresh token", err));
	sqlite3_reset(st);
	return (0);
}

int
auth_store_refresh_spend(struct lx_conn *c, const char *id, int64_t now,
    int *changed, struct lx_err *err)
{
	static const char sql[] = "UPDATE refresh_tokens SET spent = 1, "
	                          "spent_at = ?2 WHERE id = ?1 AND spent = 0";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (lx_conn_step_done(c, st, "spend a refresh token", err) == -1)
		return (-1);
	*changed = sqlite3_changes(lx_conn_sqlite(c));
	return (0);
}

int
auth_store_refresh_spend_family(
    struct lx_conn *c, const char *family_id, int64_t now, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE refresh_tokens SET spent = 1, spent_at = ?2 "
	    "WHERE family_id = ?1 AND spent = 0";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, family_id);
	sqlite3_bind_int64(st, 2, now);
	return (lx_conn_step_done(c, st, "spend a token family", err));
}

/* Counts failures for one key column since a time. */
static int
count_attempts(struct lx_conn *c, const char *sql, const char *key,
    int64_t since, int *n, int64_t *oldest, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	*oldest = 0;
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, since);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return (lx_conn_error(c, rc, "count login attempts", err));
	*n = sqlite3_column_int(st, 0);
	*oldest = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return (0);
}

int
auth_store_attempts(struct lx_conn *c, const char *email, const char *address,
    int64_t since, int *n_email, int64_t *oldest_email, int *n_address,
    int64_t *oldest_address, struct lx_err *err)
{
	static const char esql[] =
	    "SELECT count(*), coalesce(min(created_at), 0) FROM "
	    "login_attempts WHERE email = ?1 AND created_at >= ?2 "
	    "AND cleared_at IS NULL";
	static const char asql[] =
	    "SELECT count(*), coalesce(min(created_at), 0) FROM "
	    "login_attempts WHERE address = ?1 AND created_at >= ?2";

	if (count_attempts(c, esql, email, since, n_email, oldest_email, err)
	    == -1)
		return (-1);
	return (count_attempts(c, asql, address ? address : "", since,
	    n_address, oldest_address, err));
}

int
auth_store_attempt_insert(struct lx_conn *c, const char *email,
    const char *address, int64_t now, int64_t prune_before, struct lx_err *err)
{
	static const char isql[] = "INSERT INTO login_attempts (email, "
	                           "address, created_at) VALUES (?1, ?2, ?3)";
	static const char psql[] =
	    "DELETE FROM login_attempts WHERE created_at < ?1";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, psql, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, prune_before);
	if (lx_conn_step_done(c, st, "prune login attempts", err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, isql, err)) == NULL)
		return (-1);
	bind_text(st, 1, email);
	bind_text(st, 2, address ? address : "");
	sqlite3_bind_int64(st, 3, now);
	return (lx_conn_step_done(c, st, "record a login attempt", err));
}

int
auth_store_attempts_clear(
    struct lx_conn *c, const char *email, struct lx_err *err)
{
	static const char sql[] = "UPDATE login_attempts SET cleared_at = ?2 "
	                          "WHERE email = ?1 AND cleared_at IS NULL";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, email);
	sqlite3_bind_int64(st, 2, lx_now_ms());
	return (lx_conn_step_done(c, st, "clear login attempts", err));
}

int
auth_store_keys_each(struct lx_conn *c,
    int (*fn)(const struct auth_key_info *k, const unsigned char *pk,
        const unsigned char *sk, void *arg),
    void *arg, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT kid, state, created_at, coalesce(retire_at, 0), "
	    "public_key, CASE state WHEN 'active' THEN private_key END, alg "
	    "FROM signing_keys ORDER BY created_at DESC, kid";
	struct auth_key_info k;
	const unsigned char *pk, *sk;
	char alg[8];
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&k, 0, sizeof(k));
		col_text(st, 0, k.kid, sizeof(k.kid));
		col_text(st, 1, k.state, sizeof(k.state));
		k.created_at = sqlite3_column_int64(st, 2);
		k.retire_at = sqlite3_column_int64(st, 3);
		col_text(st, 6, alg, sizeof(alg));
		if (auth_alg_parse(alg, &k.alg) == -1)
			continue; /* a newer binary's key: not ours to use */
		pk = sqlite3_column_blob(st, 4);
		if ((size_t)sqlite3_column_bytes(st, 4)
		    != auth_alg_pk_len(k.alg))
			continue;
		sk = sqlite3_column_type(st, 5) == SQLITE_BLOB
		        && (size_t)sqlite3_column_bytes(st, 5)
		            == auth_alg_sk_len(k.alg)
		    ? sqlite3_column_blob(st, 5)
		    : NULL;
		if (fn(&k, pk, sk, arg) == -1) {
			sqlite3_reset(st);
			return (lx_err_set(err, 503, "out_of_memory",
			    "cannot load the signing keys"));
		}
	}
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read signing keys", err));
	sqlite3_reset(st);
	return (0);
}

int
auth_store_key_insert(struct lx_conn *c, const char *kid, enum auth_alg alg,
    const unsigned char *pk, const unsigned char *sk, int64_t now,
    struct lx_err *err)
{
	static const char sql[] =
	    "INSERT INTO signing_keys (kid, alg, public_key, private_key, "
	    "state, created_at) VALUES (?1, ?5, ?2, ?3, 'active', ?4)";
	sqlite3_stmt *st;
	int ret;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, kid);
	sqlite3_bind_blob(st, 2, pk, (int)auth_alg_pk_len(alg), SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, sk, (int)auth_alg_sk_len(alg), SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	bind_text(st, 5, auth_alg_name(alg));
	ret = lx_conn_step_done(c, st, "store a signing key", err);
	sqlite3_clear_bindings(st); /* sk is about to be wiped */
	return (ret);
}

int
auth_store_keys_demote(struct lx_conn *c, int64_t retire_at, struct lx_err *err)
{
	static const char sql[] = "UPDATE signing_keys SET state = 'retiring', "
	                          "retire_at = ?1 WHERE state = 'active'";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, retire_at);
	return (lx_conn_step_done(c, st, "demote the active key", err));
}

int
auth_store_keys_retire(
    struct lx_conn *c, int64_t now, int *n, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE signing_keys SET state = 'retired', retired_at = ?1, "
	    "private_key = zeroblob(length(private_key)) "
	    "WHERE state = 'retiring' AND retire_at <= ?1";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, now);
	if (lx_conn_step_done(c, st, "retire signing keys", err) == -1)
		return (-1);
	*n = sqlite3_changes(lx_conn_sqlite(c));
	return (0);
}

int
auth_store_keys_stamp(struct lx_conn *c, int64_t *stamp, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT count(*), coalesce(max(max(created_at, "
	    "coalesce(retire_at, 0), coalesce(retired_at, 0))), 0) "
	    "FROM signing_keys";
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read signing keys", err));
	*stamp =
	    sqlite3_column_int64(st, 1) ^ (sqlite3_column_int64(st, 0) << 48);
	sqlite3_reset(st);
	return (0);
}

int
auth_store_user_metadata(struct lx_conn *c, const char *id, char **out,
    int *found, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT user_metadata FROM users WHERE id = ?1";
	const unsigned char *t;
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	*out = NULL;
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		*out = lx_strdup(t != NULL ? (const char *)t : "{}");
		*found = 1;
	} else if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read user metadata", err));
	sqlite3_reset(st);
	return (0);
}

int
auth_store_user_metadata_merge(struct lx_conn *c, const char *id,
    const char *patch, int64_t now, int64_t max, int *changed,
    struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE users SET user_metadata = json_patch(user_metadata, ?2), "
	    "updated_at = ?3 "
	    "WHERE id = ?1 AND length(json_patch(user_metadata, ?2)) <= ?4";
	sqlite3_stmt *st;

	*changed = 0;
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	bind_text(st, 1, id);
	bind_text(st, 2, patch);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, max);
	if (lx_conn_step_done(c, st, "merge user metadata", err) == -1)
		return (-1);
	*changed = sqlite3_changes(lx_conn_sqlite(c));
	return (0);
}
