/*
 * Email verification and password reset: single-use, expiring tokens sent
 * by mail. A token is 32 random bytes, base64url in the link the user
 * gets; the store keeps its SHA-256 (email_tokens, purpose confirm_signup
 * or recovery). The mail is queued in the outbox inside the transaction
 * that made the token, so one exists only with the other. Requests are
 * throttled per client address and per email (email_requests), and the
 * forgotten-password answer is the same whether the account exists or
 * not. The statements over email_tokens and email_requests live here with
 * the rules, since no other file uses them.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "mail.h"

#define TOKEN_BYTES 32
#define TOKEN_TEXT 44 /* base64url of TOKEN_BYTES + NUL */

static const char *(*default_url)(void);

void
auth_email_default_url(const char *(*fn)(void))
{
	default_url = fn;
}

static const char *
site_url(void)
{
	const struct auth_config *cfg = auth_config();
	const char *u;

	if (cfg->site_url[0] != '\0')
		return (cfg->site_url);
	if (default_url != NULL && (u = default_url()) != NULL && *u != '\0')
		return (u);
	return ("http://localhost:8080");
}

static const char *
purpose_db(enum auth_email_purpose p)
{
	return (p == AUTH_EMAIL_VERIFY ? "confirm_signup" : "recovery");
}

/* --- statements --- */

static int
token_insert(struct lx_conn *c, const char *user_id, const char *purpose,
    const char *hash, const char *email, int64_t now, int64_t expires_at,
    struct lx_err *err)
{
	static const char sql[] =
	    "INSERT INTO email_tokens (id, user_id, purpose, token_hash, "
	    "email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7)";
	sqlite3_stmt *st;
	char id[AUTH_ID_SIZE];

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	auth_uuid(id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, expires_at);
	return (lx_conn_step_done(c, st, "insert an email token", err));
}

/* A token row by hash and purpose. */
struct token_row {
	char id[AUTH_ID_SIZE];
	char user_id[AUTH_ID_SIZE];
	char email[AUTH_EMAIL_MAX + 1];
	int64_t expires_at;
	int used;
};

static int
token_get(struct lx_conn *c, const char *hash, const char *purpose,
    struct token_row *t, int *found, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT id, user_id, email, expires_at, used_at IS NOT NULL "
	    "FROM email_tokens WHERE token_hash = ?1 AND purpose = ?2";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	memset(t, 0, sizeof(*t));
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(t->id, sizeof(t->id), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(t->user_id, sizeof(t->user_id), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		snprintf(t->email, sizeof(t->email), "%s",
		    (const char *)sqlite3_column_text(st, 2));
		t->expires_at = sqlite3_column_int64(st, 3);
		t->used = sqlite3_column_int(st, 4);
		*found = 1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read an email token", err));
	return (0);
}

/* Spends token id and every other live token of its user and purpose;
 * *changed is 0 when id was spent already (a race). */
static int
token_spend(struct lx_conn *c, const char *id, const char *user_id,
    const char *purpose, int64_t now, int *changed, struct lx_err *err)
{
	static const char one[] = "UPDATE email_tokens SET used_at = ?2 "
	                          "WHERE id = ?1 AND used_at IS NULL";
	static const char rest[] =
	    "UPDATE email_tokens SET used_at = ?3 WHERE user_id = ?1 "
	    "AND purpose = ?2 AND used_at IS NULL";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, one, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (lx_conn_step_done(c, st, "spend an email token", err) == -1)
		return (-1);
	*changed = sqlite3_changes(lx_conn_sqlite(c)) == 1;
	if ((st = lx_conn_stmt(c, rest, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return (lx_conn_step_done(c, st, "spend email tokens", err));
}

static int
confirm_email(
    struct lx_conn *c, const char *user_id, int64_t now, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE users SET email_confirmed_at = "
	    "coalesce(email_confirmed_at, ?2), updated_at = ?2 WHERE id = ?1";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return (lx_conn_step_done(c, st, "confirm an email", err));
}

/* Requests of purpose since since (ms) from address and for email; the
 * oldest of each (ms, 0 if none). */
static int
requests_count(struct lx_conn *c, const char *purpose, const char *email,
    const char *address, int64_t since, int *n_email, int64_t *old_email,
    int *n_addr, int64_t *old_addr, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT count(*), coalesce(min(created_at), 0) FROM email_requests "
	    "WHERE purpose = ?1 AND created_at >= ?3 AND "
	    "(CASE ?4 WHEN 0 THEN email = ?2 ELSE address = ?2 END)";
	sqlite3_stmt *st;
	int i, rc;

	for (i = 0; i < 2; i++) {
		if ((st = lx_conn_stmt(c, sql, err)) == NULL)
			return (-1);
		sqlite3_bind_text(st, 1, purpose, -1, SQLITE_STATIC);
		sqlite3_bind_text(
		    st, 2, i == 0 ? email : address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, since);
		sqlite3_bind_int(st, 4, i);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			*(i == 0 ? n_email : n_addr) =
			    sqlite3_column_int(st, 0);
			*(i == 0 ? old_email : old_addr) =
			    sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW)
			return (lx_conn_error(c, rc, "count requests", err));
	}
	return (0);
}

static int
request_insert(struct lx_conn *c, const char *purpose, const char *email,
    const char *address, int64_t now, struct lx_err *err)
{
	static const char ins[] =
	    "INSERT INTO email_requests (purpose, email, address, created_at) "
	    "VALUES (?1, ?2, ?3, ?4)";
	static const char prune[] =
	    "DELETE FROM email_requests WHERE created_at < ?1";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, ins, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	if (lx_conn_step_done(c, st, "record a request", err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, prune, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(
	    st, 1, now - auth_config()->throttle_window_s * 1000 * 2);
	return (lx_conn_step_done(c, st, "prune requests", err));
}

/* --- tokens and mail --- */

int
auth_email_token_send(struct lx_conn *c, const struct auth_user *u,
    enum auth_email_purpose purpose, struct lx_err *err)
{
	const struct auth_config *cfg = auth_config();
	unsigned char raw[TOKEN_BYTES];
	char *tok = NULL, hash[65];
	struct lx_buf text;
	int64_t now = lx_now_ms(), ttl;
	int ret = -1;

	lx_buf_init(&text);
	ttl =
	    purpose == AUTH_EMAIL_VERIFY ? cfg->verify_ttl_s : cfg->reset_ttl_s;
	if ((tok = sodium_malloc(TOKEN_TEXT)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(tok, TOKEN_TEXT, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_sha256_hex(tok, hash);
	if (token_insert(c, u->id, purpose_db(purpose), hash, u->email, now,
	        now + ttl * 1000, err)
	    == -1)
		goto out;
	if (purpose == AUTH_EMAIL_VERIFY)
		lx_buf_addf(&text,
		    "Confirm your email address by opening this link:\n\n"
		    "%s/verify-email?token=%s\n\n"
		    "or by sending this token to POST /auth/verify-email:\n"
		    "%s\n\n",
		    site_url(), tok, tok);
	else
		lx_buf_addf(&text,
		    "Someone asked to reset the password of your account. "
		    "To choose a new password, open this link:\n\n"
		    "%s/reset-password?token=%s\n\n"
		    "or send this token with the new password to "
		    "POST /auth/password/reset:\n%s\n\n"
		    "If you did not ask, ignore this message: your password "
		    "stays as it is.\n\n",
		    site_url(), tok, tok);
	if (ttl >= 7200)
		lx_buf_addf(&text, "The link works once, for %lld hours.\n",
		    (long long)(ttl / 3600));
	else
		lx_buf_addf(&text, "The link works once, for %lld minutes.\n",
		    (long long)((ttl + 59) / 60));
	if (mail_outbox_enqueue(c, u->email,
	        purpose == AUTH_EMAIL_VERIFY ? "Confirm your email address"
	                                     : "Reset your password",
	        text.data,
	        purpose == AUTH_EMAIL_VERIFY ? "auth.verify_email"
	                                     : "auth.password_reset",
	        NULL, err)
	    == -1)
		goto out;
	ret = 0;
out:
	if (text.data != NULL)
		sodium_memzero(text.data, text.len);
	lx_buf_cleanup(&text);
	if (tok != NULL)
		sodium_free(tok);
	return (ret);
}

/* 429 when address or email asked for purpose too often; *quiet set when
 * only email is over (the caller answers as usual, sends nothing). */
static int
req_throttled(struct lx_conn *c, const char *purpose, const char *email,
    const char *address, int *quiet, int64_t *retry_after_s, struct lx_err *err)
{
	const struct auth_config *cfg = auth_config();
	int64_t now = lx_now_ms(), win = cfg->throttle_window_s * 1000;
	int64_t oe = 0, oa = 0;
	int ne = 0, na = 0;

	*quiet = 0;
	if (requests_count(
	        c, purpose, email, address, now - win, &ne, &oe, &na, &oa, err)
	    == -1)
		return (-1);
	/* Per address the budget is larger: a few people behind one NAT. */
	if (na >= cfg->email_throttle_max * 4) {
		if (retry_after_s != NULL)
			*retry_after_s = (oa + win - now + 999) / 1000;
		return (lx_err_set(err, 429, "too_many_requests",
		    "too many requests; try again later"));
	}
	*quiet = ne >= cfg->email_throttle_max;
	if (*quiet && retry_after_s != NULL)
		*retry_after_s = (oe + win - now + 999) / 1000;
	return (0);
}

int
auth_email_verify_request(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, int64_t *retry_after_s, struct lx_err *err)
{
	struct auth_user u;
	const char *addr = cl != NULL && cl->address ? cl->address : "";
	int quiet = 0, ret = -1;

	if (auth_user_get(c, id->user_id, &u, err) == -1)
		return (-1);
	if (u.email_confirmed_at > 0)
		return (lx_err_set(err, 409, "already_verified",
		    "the email address is verified already"));
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (req_throttled(
	        c, "verify", u.email, addr, &quiet, retry_after_s, err)
	    == -1)
		goto out;
	if (quiet) {
		lx_err_set(err, 429, "too_many_requests",
		    "too many verification mails; try again later");
		goto out;
	}
	if (request_insert(c, "verify", u.email, addr, lx_now_ms(), err) == -1
	    || auth_email_token_send(c, &u, AUTH_EMAIL_VERIFY, err) == -1
	    || auth_audit(
	           c, cl, u.id, "auth.email.verify_request", u.id, NULL, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		lx_conn_rollback(c);
	return (ret);
}

/* Finds a live token of purpose: 400 "invalid_token" otherwise. */
static int
token_live(struct lx_conn *c, const char *token, const char *purpose,
    struct token_row *t, struct lx_err *err)
{
	char hash[65];
	int found = 0;

	if (token == NULL || strlen(token) > AUTH_EMAIL_TOKEN_MAX)
		return (lx_err_set(
		    err, 400, "invalid_token", "the token is not valid"));
	auth_sha256_hex(token, hash);
	if (token_get(c, hash, purpose, t, &found, err) == -1)
		return (-1);
	if (!found)
		return (lx_err_set(
		    err, 400, "invalid_token", "the token is not valid"));
	if (t->used)
		return (lx_err_set(err, 400, "invalid_token",
		    "the token was used already; ask for a new one"));
	if (t->expires_at <= lx_now_ms())
		return (lx_err_set(err, 400, "invalid_token",
		    "the token has expired; ask for a new one"));
	return (0);
}

/* Spends t (in c's transaction) after checking its user still has the
 * email it was sent to; fills *u. */
static int
token_take(struct lx_conn *c, const struct token_row *t, const char *purpose,
    struct auth_user *u, struct lx_err *err)
{
	int found = 0, changed = 0;

	if (auth_store_user_by_id(c, t->user_id, u, NULL, &found, err) == -1)
		return (-1);
	if (!found || strcmp(u->email, t->email) != 0)
		return (lx_err_set(
		    err, 400, "invalid_token", "the token is not valid"));
	if (token_spend(
	        c, t->id, t->user_id, purpose, lx_now_ms(), &changed, err)
	    == -1)
		return (-1);
	if (!changed)
		return (lx_err_set(err, 400, "invalid_token",
		    "the token was used already; ask for a new one"));
	return (0);
}

int
auth_email_verify(struct lx_conn *c, const struct auth_client *cl,
    const char *token, struct auth_user *out, struct lx_err *err)
{
	struct token_row t;
	int64_t now = lx_now_ms();
	int ret = -1;

	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (token_live(c, token, "confirm_signup", &t, err) == -1
	    || token_take(c, &t, "confirm_signup", out, err) == -1
	    || confirm_email(c, out->id, now, err) == -1
	    || auth_audit(
	           c, cl, out->id, "auth.email.verify", out->id, NULL, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	if (out->email_confirmed_at == 0)
		out->email_confirmed_at = now;
	ret = 0;
out:
	if (ret == -1)
		lx_conn_rollback(c);
	return (ret);
}

int
auth_password_forgot(struct lx_conn *c, const struct auth_client *cl,
    const char *email, int64_t *retry_after_s, struct lx_err *err)
{
	struct auth_user u;
	char norm[AUTH_EMAIL_MAX + 1], detail[64];
	const char *addr = cl != NULL && cl->address ? cl->address : "";
	int found = 0, quiet = 0, sent = 0, ret = -1;

	if (auth_email_normalize(email, norm, sizeof(norm), err) == -1)
		return (-1);
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (req_throttled(c, "reset", norm, addr, &quiet, retry_after_s, err)
	    == -1)
		goto out;
	if (request_insert(c, "reset", norm, addr, lx_now_ms(), err) == -1
	    || auth_store_user_by_email(c, norm, &u, NULL, &found, err) == -1)
		goto out;
	if (found && !quiet) {
		if (auth_email_token_send(c, &u, AUTH_EMAIL_RESET, err) == -1)
			goto out;
		sent = 1;
	}
	snprintf(detail, sizeof(detail), "{\"sent\":%s,\"throttled\":%s}",
	    sent ? "true" : "false", quiet ? "true" : "false");
	if (auth_audit(c, cl, found ? u.id : NULL, "auth.password.forgot",
	        found ? u.id : NULL, detail, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		lx_conn_rollback(c);
	return (ret);
}

int
auth_password_reset(struct lx_conn *c, const struct auth_client *cl,
    const char *token, const char *new_password, unsigned *weak,
    struct lx_err *err)
{
	const struct auth_config *cfg = auth_config();
	struct auth_revoked rv;
	struct token_row t;
	struct auth_user u;
	char *hash = NULL, detail[64];
	int64_t now = lx_now_ms();
	unsigned w;
	int found = 0, n, ret = -1;

	memset(&rv, 0, sizeof(rv));
	if (weak != NULL)
		*weak = 0;
	/* Check the token and the policy before the slow hash. */
	if (token_live(c, token, "recovery", &t, err) == -1)
		goto out;
	if (auth_store_user_by_id(c, t.user_id, &u, NULL, &found, err) == -1)
		goto out;
	if (!found) {
		lx_err_set(err, 400, "invalid_token", "the token is not valid");
		goto out;
	}
	if ((w = auth_password_policy(u.email, new_password)) != 0) {
		if (weak != NULL)
			*weak = w;
		lx_err_set(err, 422, "weak_password",
		    "the new password does not meet the policy");
		goto out;
	}
	if ((hash = sodium_malloc(crypto_pwhash_STRBYTES)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	if (auth_password_hash(new_password, cfg->argon2_memlimit_kib,
	        cfg->argon2_opslimit, hash, crypto_pwhash_STRBYTES, err)
	    == -1)
		goto out;
	if (lx_conn_begin(c, err) == -1)
		goto out;
	/* Again inside the write lock: another reset may have won. */
	if (token_live(c, token, "recovery", &t, err) == -1
	    || token_take(c, &t, "recovery", &u, err) == -1
	    || auth_store_cred_update(c, u.id, hash, cfg->argon2_memlimit_kib,
	           cfg->argon2_opslimit, err)
	        == -1
	    || confirm_email(c, u.id, now, err) == -1
	    || auth_store_attempts_clear(c, u.email, err) == -1
	    || (n = auth_store_sessions_revoke(c, u.id, NULL, NULL,
	            "password_reset", now, auth_revoked_collect, &rv, err))
	        == -1)
		goto out;
	snprintf(detail, sizeof(detail), "{\"sessions_revoked\":%d}", n);
	if (auth_audit(c, cl, u.id, "auth.password.reset", u.id, detail, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	auth_revoked_publish(&rv);
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	lx_free(rv.ids);
	if (hash != NULL)
		sodium_free(hash);
	return (ret);
}
