/*
 * The TOTP second factor (RFC 6238 over RFC 4226 HOTP with HMAC-SHA1 from
 * mbedTLS; libsodium has no SHA-1): enrolment with a random 160-bit secret
 * (stored in totp_factors, encrypted at rest by SQLCipher, held in sodium
 * memory while used), confirmation with a first code that yields ten
 * one-time recovery codes (stored hashed), the second step of a login
 * (an opaque mfa_token from a correct password, spent with a code; each
 * TOTP step is accepted once, each recovery code once), and removal.
 * Wrong codes are failed logins: they count toward the throttling of
 * auth_login_password. Statements over totp_factors, mfa_recovery_codes
 * and mfa_challenges live here with the rules, since no other file uses
 * them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <sodium.h>

#include "auth.h"

#define MFA_TOKEN_BYTES 32
#define RECOVERY_LEN 10 /* base32 characters, 50 bits */

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* --- codes (no database: unit-tested) --- */

int
auth_base32_encode(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	unsigned buf = 0;
	int bits = 0;

	if (outsz < (n * 8 + 4) / 5 + 1)
		return (-1);
	for (i = 0; i < n; i++) {
		buf = (buf << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(buf << (5 - bits)) & 31];
	out[o] = '\0';
	return (0);
}

int
auth_base32_decode(
    const char *s, unsigned char *out, size_t outsz, size_t *outlen)
{
	const char *q;
	unsigned buf = 0;
	size_t o = 0;
	int bits = 0, c;

	for (; *s != '\0'; s++) {
		if (*s == '=' || *s == ' ')
			continue;
		c = toupper((unsigned char)*s);
		if ((q = strchr(b32, c)) == NULL || c == '\0')
			return (-1);
		buf = (buf << 5) | (unsigned)(q - b32);
		bits += 5;
		if (bits >= 8) {
			if (o == outsz)
				return (-1);
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	*outlen = o;
	return (0);
}

int
auth_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits,
    uint32_t *code, struct lx_err *err)
{
	const mbedtls_md_info_t *md;
	unsigned char msg[8], mac[20];
	uint32_t bin, mod = 1;
	int i, off;

	if (digits < 6 || digits > 9)
		return (lx_err_set(
		    err, 500, "internal_error", "HOTP digits must be 6 to 9"));
	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1)) == NULL
	    || mbedtls_md_hmac(md, key, keylen, msg, sizeof(msg), mac) != 0)
		return (
		    lx_err_set(err, 500, "internal_error", "HMAC-SHA1 failed"));
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24)
	    | ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8)
	    | mac[off + 3];
	for (i = 0; i < digits; i++)
		mod *= 10;
	*code = bin % mod;
	sodium_memzero(mac, sizeof(mac));
	return (0);
}

int
auth_totp_check(const unsigned char *key, size_t keylen, const char *code,
    int64_t now_s, int64_t last_step, int64_t *step)
{
	char want[16];
	uint32_t v = 0;
	int64_t t = now_s / AUTH_TOTP_PERIOD, s;
	size_t i;
	int ok = 0;

	if (code == NULL || strlen(code) != AUTH_TOTP_DIGITS)
		return (0);
	for (i = 0; i < AUTH_TOTP_DIGITS; i++)
		if (!isdigit((unsigned char)code[i]))
			return (0);
	for (s = t - 1; s <= t + 1; s++) {
		if (s <= last_step || s < 0
		    || auth_hotp(
		           key, keylen, (uint64_t)s, AUTH_TOTP_DIGITS, &v, NULL)
		        == -1)
			continue;
		snprintf(
		    want, sizeof(want), "%0*u", AUTH_TOTP_DIGITS, (unsigned)v);
		if (sodium_memcmp(want, code, AUTH_TOTP_DIGITS) == 0 && !ok) {
			ok = 1;
			*step = s;
		}
	}
	sodium_memzero(want, sizeof(want));
	return (ok);
}

/* --- helpers --- */

/* A factor as stored; secret in sodium memory (factor_cleanup). */
struct factor {
	char id[AUTH_ID_SIZE];
	int verified;
	int64_t last_step; /* -1: never used */
	unsigned char *secret;
	size_t secretlen;
};

static void
factor_cleanup(struct factor *f)
{
	if (f->secret != NULL)
		sodium_free(f->secret);
	memset(f, 0, sizeof(*f));
}

/* Reads a factor of user_id: by id, or (id NULL) the verified one. */
static int
factor_get(struct lx_conn *c, const char *user_id, const char *id,
    struct factor *f, int *found, struct lx_err *err)
{
	static const char by_id[] =
	    "SELECT id, status = 'verified', coalesce(last_used_step, -1), "
	    "secret FROM totp_factors WHERE user_id = ?1 AND id = ?2";
	static const char verified[] =
	    "SELECT id, status = 'verified', coalesce(last_used_step, -1), "
	    "secret FROM totp_factors WHERE user_id = ?1 AND "
	    "status = 'verified' ORDER BY created_at LIMIT 1";
	sqlite3_stmt *st;
	const void *blob;
	int rc, n;

	*found = 0;
	memset(f, 0, sizeof(*f));
	if ((st = lx_conn_stmt(c, id != NULL ? by_id : verified, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	if (id != NULL)
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(f->id, sizeof(f->id), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		f->verified = sqlite3_column_int(st, 1);
		f->last_step = sqlite3_column_int64(st, 2);
		blob = sqlite3_column_blob(st, 3);
		n = sqlite3_column_bytes(st, 3);
		if (n > 0 && n <= 64
		    && (f->secret = sodium_malloc(n)) != NULL) {
			memcpy(f->secret, blob, (size_t)n);
			f->secretlen = (size_t)n;
			*found = 1;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "read a factor", err));
	if (rc == SQLITE_ROW && !*found)
		return (lx_err_set(
		    err, 503, "out_of_memory", "out of secure memory"));
	return (0);
}

/* Records the TOTP step used; *changed 0 when it (or a later one) was
 * used already: a replay. */
static int
factor_use_step(struct lx_conn *c, const char *id, int64_t step, int verify,
    int *changed, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE totp_factors SET last_used_step = ?2, updated_at = ?3, "
	    "status = CASE WHEN ?4 THEN 'verified' ELSE status END "
	    "WHERE id = ?1 AND coalesce(last_used_step, -1) < ?2";
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, step);
	sqlite3_bind_int64(st, 3, lx_now_ms());
	sqlite3_bind_int(st, 4, verify);
	if (lx_conn_step_done(c, st, "use a factor", err) == -1)
		return (-1);
	*changed = sqlite3_changes(lx_conn_sqlite(c)) == 1;
	return (0);
}

/* Runs sql with user_id (?1) and optionally text ?2. */
static int
exec_user(struct lx_conn *c, const char *sql, const char *user_id,
    const char *arg, const char *what, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	if (arg != NULL)
		sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
	return (lx_conn_step_done(c, st, what, err));
}

static const char sql_del_unverified[] =
    "DELETE FROM totp_factors WHERE user_id = ?1 AND status = 'unverified'";
static const char sql_del_factor[] =
    "DELETE FROM totp_factors WHERE user_id = ?1 AND id = ?2";
static const char sql_del_codes[] =
    "DELETE FROM mfa_recovery_codes WHERE user_id = ?1";
static const char sql_del_codes_if_none[] =
    "DELETE FROM mfa_recovery_codes WHERE user_id = ?1 AND NOT EXISTS "
    "(SELECT 1 FROM totp_factors WHERE user_id = ?1 AND "
    "status = 'verified')";

/* The client's address for throttling ("" when unknown). */
static const char *
addr_of(const struct auth_client *cl)
{
	return (cl != NULL && cl->address != NULL ? cl->address : "");
}

/* A wrong code: one failed login for email (and the address) with an
 * audit record, in its own transaction; then err is set to the refusal. */
static int
code_failed(struct lx_conn *c, const struct auth_client *cl,
    const char *user_id, const char *email, const char *action, int status,
    const char *code, const char *detail, struct lx_err *err)
{
	const struct auth_config *cfg = auth_config();
	int64_t now = lx_now_ms();

	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (auth_store_attempt_insert(c, email, addr_of(cl), now,
	        now - cfg->throttle_window_s * 1000, err)
	        == -1
	    || auth_audit(c, cl, user_id, action, user_id,
	           "{\"reason\":\"invalid_code\"}", err)
	        == -1
	    || lx_conn_commit(c, err) == -1) {
		lx_conn_rollback(c);
		return (-1);
	}
	return (lx_err_set(err, status, code, "%s", detail));
}

/* --- enrolment --- */

/* Appends s percent-encoded for an otpauth label. */
static void
label_escape(const char *s, struct lx_buf *b)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~@", *s) != NULL)
			lx_buf_add(b, s, 1);
		else
			lx_buf_addf(b, "%%%02X", (unsigned char)*s);
	}
}

int
auth_mfa_enroll(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, struct auth_totp_enrollment *out,
    struct lx_err *err)
{
	static const char ins[] =
	    "INSERT INTO totp_factors (id, user_id, friendly_name, secret, "
	    "created_at, updated_at) VALUES (?1, ?2, 'totp', ?3, ?4, ?4)";
	struct auth_user u;
	struct factor f;
	struct lx_buf uri;
	sqlite3_stmt *st;
	unsigned char *secret = NULL;
	int found = 0, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&f, 0, sizeof(f));
	lx_buf_init(&uri);
	if (auth_user_get(c, id->user_id, &u, err) == -1)
		goto out;
	if ((secret = sodium_malloc(AUTH_TOTP_SECRET_BYTES)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	randombytes_buf(secret, AUTH_TOTP_SECRET_BYTES);
	auth_uuid(out->factor_id);
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (factor_get(c, u.id, NULL, &f, &found, err) == -1)
		goto out;
	if (found) {
		lx_err_set(err, 409, "mfa_already_enrolled",
		    "a verified TOTP factor exists; remove it first");
		goto out;
	}
	if (exec_user(c, sql_del_unverified, u.id, NULL, "drop factors", err)
	    == -1)
		goto out;
	if ((st = lx_conn_stmt(c, ins, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, out->factor_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, u.id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, secret, AUTH_TOTP_SECRET_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, lx_now_ms());
	if (lx_conn_step_done(c, st, "insert a factor", err) == -1
	    || auth_audit(
	           c, cl, u.id, "auth.mfa.enroll", out->factor_id, NULL, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	auth_base32_encode(
	    secret, AUTH_TOTP_SECRET_BYTES, out->secret, sizeof(out->secret));
	lx_buf_adds(&uri, "otpauth://totp/Luxima:");
	label_escape(u.email, &uri);
	lx_buf_addf(&uri,
	    "?secret=%s&issuer=Luxima&algorithm=SHA1&digits=%d&period=%d",
	    out->secret, AUTH_TOTP_DIGITS, AUTH_TOTP_PERIOD);
	snprintf(out->uri, sizeof(out->uri), "%s", uri.data);
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	if (uri.data != NULL)
		sodium_memzero(uri.data, uri.len);
	lx_buf_cleanup(&uri);
	if (secret != NULL)
		sodium_free(secret);
	factor_cleanup(&f);
	if (ret == -1)
		sodium_memzero(out, sizeof(*out));
	return (ret);
}

/* Normalises a recovery code (drops '-' and spaces, lower-cases) into
 * out; -1 unless RECOVERY_LEN base32 characters remain. */
static int
recovery_norm(const char *in, char out[RECOVERY_LEN + 1])
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == '-' || *in == ' ')
			continue;
		if (n == RECOVERY_LEN
		    || strchr(b32, toupper((unsigned char)*in)) == NULL)
			return (-1);
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return (n == RECOVERY_LEN ? 0 : -1);
}

/* Writes AUTH_RECOVERY_CODES new codes for user_id (the old ones go). */
static int
recovery_new(struct lx_conn *c, const char *user_id,
    struct auth_recovery_codes *codes, struct lx_err *err)
{
	static const char ins[] =
	    "INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) "
	    "VALUES (?1, ?2, ?3)";
	unsigned char raw[8];
	char enc[16], norm[RECOVERY_LEN + 1], hash[65];
	sqlite3_stmt *st;
	int i, j, ret = -1;

	if (exec_user(c, sql_del_codes, user_id, NULL, "drop codes", err) == -1)
		return (-1);
	for (i = 0; i < AUTH_RECOVERY_CODES; i++) {
		randombytes_buf(raw, sizeof(raw));
		auth_base32_encode(raw, sizeof(raw), enc, sizeof(enc));
		for (j = 0; j < RECOVERY_LEN; j++)
			norm[j] = (char)tolower((unsigned char)enc[j]);
		norm[RECOVERY_LEN] = '\0';
		snprintf(codes->code[i], sizeof(codes->code[i]), "%.5s-%.5s",
		    norm, norm + 5);
		auth_sha256_hex(norm, hash);
		if ((st = lx_conn_stmt(c, ins, err)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, lx_now_ms());
		if (lx_conn_step_done(c, st, "insert a recovery code", err)
		    == -1)
			goto out;
	}
	ret = 0;
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(enc, sizeof(enc));
	sodium_memzero(norm, sizeof(norm));
	return (ret);
}

int
auth_mfa_confirm(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *factor_id, const char *code,
    struct auth_recovery_codes *codes, int64_t *retry_after_s,
    struct lx_err *err)
{
	struct auth_user u;
	struct factor f;
	int64_t step = 0;
	int found = 0, changed = 0, ret = -1;

	memset(codes, 0, sizeof(*codes));
	memset(&f, 0, sizeof(f));
	if (auth_user_get(c, id->user_id, &u, err) == -1)
		goto out;
	if (factor_get(c, u.id, factor_id, &f, &found, err) == -1)
		goto out;
	if (!found) {
		lx_err_set(err, 404, "not_found", "no such factor");
		goto out;
	}
	if (f.verified) {
		lx_err_set(err, 409, "mfa_already_verified",
		    "the factor is verified already");
		goto out;
	}
	if (auth_throttle_check(c, u.email, addr_of(cl), retry_after_s, err)
	    == -1)
		goto out;
	if (!auth_totp_check(f.secret, f.secretlen, code, lx_now_ms() / 1000,
	        f.last_step, &step)) {
		code_failed(c, cl, u.id, u.email, "auth.mfa.failure", 400,
		    "invalid_mfa_code", "the code is not valid", err);
		goto out;
	}
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (factor_use_step(c, f.id, step, 1, &changed, err) == -1)
		goto out;
	if (!changed) {
		lx_err_set(
		    err, 400, "invalid_mfa_code", "the code was used already");
		goto out;
	}
	if (recovery_new(c, u.id, codes, err) == -1
	    || auth_audit(c, cl, u.id, "auth.mfa.confirm", f.id, NULL, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	factor_cleanup(&f);
	if (ret == -1)
		sodium_memzero(codes, sizeof(*codes));
	return (ret);
}

int
auth_mfa_disable(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *factor_id, const char *code,
    const char *password, int64_t *retry_after_s, struct lx_err *err)
{
	struct auth_user u;
	struct auth_cred cred;
	struct factor f;
	int64_t step = 0;
	int found = 0, ok = 0, ret = -1;

	memset(&f, 0, sizeof(f));
	memset(&cred, 0, sizeof(cred));
	if ((code == NULL) == (password == NULL)) {
		lx_err_set(err, 422, "missing_field",
		    "give either a current code or the password");
		goto out;
	}
	if (auth_store_user_by_id(c, id->user_id, &u, &cred, &found, err) == -1)
		goto out;
	if (!found) {
		lx_err_set(err, 404, "not_found", "no such user");
		goto out;
	}
	if (factor_get(c, u.id, factor_id, &f, &found, err) == -1)
		goto out;
	if (!found) {
		lx_err_set(err, 404, "not_found", "no such factor");
		goto out;
	}
	if (auth_throttle_check(c, u.email, addr_of(cl), retry_after_s, err)
	    == -1)
		goto out;
	if (code != NULL)
		ok = auth_totp_check(f.secret, f.secretlen, code,
		    lx_now_ms() / 1000, f.last_step, &step);
	else
		ok = cred.has_password
		    && auth_password_check(cred.hash, password);
	if (!ok) {
		code_failed(c, cl, u.id, u.email, "auth.mfa.failure", 403,
		    "invalid_credentials", "the code or password is wrong",
		    err);
		goto out;
	}
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (exec_user(c, sql_del_factor, u.id, f.id, "drop a factor", err) == -1
	    || exec_user(
	           c, sql_del_codes_if_none, u.id, NULL, "drop codes", err)
	        == -1
	    || auth_audit(c, cl, u.id, "auth.mfa.disable", f.id,
	           code != NULL ? "{\"proof\":\"totp\"}"
	                        : "{\"proof\":\"password\"}",
	           err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	sodium_memzero(&cred, sizeof(cred));
	factor_cleanup(&f);
	return (ret);
}

/* --- login --- */

int
auth_mfa_active(
    struct lx_conn *c, const char *user_id, int *active, struct lx_err *err)
{
	struct factor f;
	int found = 0;

	*active = 0;
	if (factor_get(c, user_id, NULL, &f, &found, err) == -1)
		return (-1);
	factor_cleanup(&f);
	*active = found;
	return (0);
}

int
auth_mfa_begin(struct lx_conn *c, const struct auth_client *cl,
    const struct auth_user *u, int *required, struct auth_mfa_challenge *out,
    struct lx_err *err)
{
	static const char ins[] =
	    "INSERT INTO mfa_challenges (id, token_hash, user_id, created_at, "
	    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	const struct auth_config *cfg = auth_config();
	unsigned char raw[MFA_TOKEN_BYTES];
	char cid[AUTH_ID_SIZE], hash[65];
	struct factor f;
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();
	int found = 0, ret = -1;

	*required = 0;
	memset(out, 0, sizeof(*out));
	if (factor_get(c, u->id, NULL, &f, &found, err) == -1)
		return (-1);
	if (!found)
		return (0);
	*required = 1;
	snprintf(out->factor_id, sizeof(out->factor_id), "%s", f.id);
	factor_cleanup(&f);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out->token, sizeof(out->token), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_sha256_hex(out->token, hash);
	out->expires_in = cfg->mfa_token_ttl_s;
	auth_uuid(cid);
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if ((st = lx_conn_stmt(c, ins, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, u->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now + cfg->mfa_token_ttl_s * 1000);
	if (lx_conn_step_done(c, st, "insert a challenge", err) == -1
	    || auth_audit(c, cl, u->id, "auth.mfa.challenge", u->id, NULL, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		lx_conn_rollback(c);
		sodium_memzero(out, sizeof(*out));
	}
	return (ret);
}

/* A live challenge by its token: user id and challenge id. */
static int
challenge_get(struct lx_conn *c, const char *token, char user_id[], char cid[],
    struct lx_err *err)
{
	static const char sql[] =
	    "SELECT id, user_id FROM mfa_challenges WHERE token_hash = ?1 "
	    "AND used_at IS NULL AND expires_at > ?2";
	sqlite3_stmt *st;
	char hash[65];
	int rc;

	if (token == NULL || strlen(token) > AUTH_MFA_TOKEN_MAX)
		return (lx_err_set(err, 401, "invalid_mfa_token",
		    "the mfa_token is not valid; sign in again"));
	auth_sha256_hex(token, hash);
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lx_now_ms());
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(cid, AUTH_ID_SIZE, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(user_id, AUTH_ID_SIZE, "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 401, "invalid_mfa_token",
		    "the mfa_token is not valid; sign in again"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read a challenge", err));
	return (0);
}

/* Spends recovery code norm of user_id; *changed 0 if none matched. */
static int
recovery_use(struct lx_conn *c, const char *user_id, const char *norm,
    int *changed, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE mfa_recovery_codes SET used_at = ?3 WHERE id = (SELECT id "
	    "FROM mfa_recovery_codes WHERE user_id = ?1 AND code_hash = ?2 "
	    "AND used_at IS NULL LIMIT 1)";
	sqlite3_stmt *st;
	char hash[65];

	auth_sha256_hex(norm, hash);
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, lx_now_ms());
	if (lx_conn_step_done(c, st, "use a recovery code", err) == -1)
		return (-1);
	*changed = sqlite3_changes(lx_conn_sqlite(c)) == 1;
	return (0);
}

int
auth_mfa_login(struct lx_conn *c, const struct auth_client *cl,
    const char *mfa_token, const char *code, struct auth_tokens *out,
    int64_t *retry_after_s, struct lx_err *err)
{
	static const char spend[] = "UPDATE mfa_challenges SET used_at = ?2 "
	                            "WHERE id = ?1 AND used_at IS NULL";
	struct auth_user u;
	struct factor f;
	sqlite3_stmt *st;
	char uid[AUTH_ID_SIZE], cid[AUTH_ID_SIZE], norm[RECOVERY_LEN + 1];
	int64_t step = 0;
	int found = 0, changed = 0, totp, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&f, 0, sizeof(f));
	norm[0] = '\0';
	if (challenge_get(c, mfa_token, uid, cid, err) == -1)
		goto out;
	if (auth_user_get(c, uid, &u, err) == -1) {
		if (err->status == 404)
			lx_err_set(err, 401, "invalid_mfa_token",
			    "the mfa_token is not valid; sign in again");
		goto out;
	}
	if (auth_throttle_check(c, u.email, addr_of(cl), retry_after_s, err)
	    == -1)
		goto out;
	if (factor_get(c, u.id, NULL, &f, &found, err) == -1)
		goto out;
	totp = strlen(code) == AUTH_TOTP_DIGITS;
	if (!found
	    || (totp
	        && !auth_totp_check(f.secret, f.secretlen, code,
	            lx_now_ms() / 1000, f.last_step, &step))
	    || (!totp && recovery_norm(code, norm) == -1)) {
		code_failed(c, cl, u.id, u.email, "auth.mfa.failure", 401,
		    "invalid_mfa_code", "the code is not valid", err);
		goto out;
	}
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (totp) {
		if (factor_use_step(c, f.id, step, 0, &changed, err) == -1)
			goto out;
	} else if (recovery_use(c, u.id, norm, &changed, err) == -1)
		goto out;
	if (!changed) {
		/* A replayed code or an unknown/used recovery code. */
		lx_conn_rollback(c);
		code_failed(c, cl, u.id, u.email, "auth.mfa.failure", 401,
		    "invalid_mfa_code",
		    totp ? "the code was used already; wait for the next one"
		         : "the code is not valid",
		    err);
		goto out;
	}
	if ((st = lx_conn_stmt(c, spend, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lx_now_ms());
	if (lx_conn_step_done(c, st, "spend a challenge", err) == -1)
		goto out;
	if (sqlite3_changes(lx_conn_sqlite(c)) != 1) {
		lx_err_set(err, 401, "invalid_mfa_token",
		    "the mfa_token is not valid; sign in again");
		goto out;
	}
	if (auth_store_attempts_clear(c, u.email, err) == -1
	    || (!totp
	        && auth_audit(
	               c, cl, u.id, "auth.mfa.recovery_used", u.id, NULL, err)
	            == -1)
	    || auth_audit(c, cl, u.id, "auth.mfa.login", u.id,
	           totp ? "{\"method\":\"totp\"}" : "{\"method\":\"recovery\"}",
	           err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	if (auth_session_issue(
	        c, cl, &u, totp ? "totp" : "recovery", "aal2", out, err)
	    == -1)
		goto out;
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	sodium_memzero(norm, sizeof(norm));
	factor_cleanup(&f);
	return (ret);
}
