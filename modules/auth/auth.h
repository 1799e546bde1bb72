/*
 * Identity: accounts, passwords, sessions and the tokens that prove them.
 * Rules live in auth.c and take a connection plus inputs, so the native
 * /auth routes (auth_http.c), the GoTrue-compatible surface and the CLI
 * share them; none of them speaks HTTP. Access tokens are JWTs signed with
 * EdDSA (Ed25519, the default) or ES256 (ECDSA P-256, auth.signing_alg),
 * verified in memory (auth_jwt.c, auth_keys.c) against an in-memory
 * set of revoked sessions (auth_revoke.c); refresh tokens are opaque,
 * stored hashed, rotated on use, and a reused one revokes its family.
 *
 * Login is two steps so a second factor can slot in between:
 * auth_login_password() proves the password (throttled, uniform errors),
 * auth_session_issue() opens a session and mints its tokens with the
 * authentication methods (amr) and level (aal) it was given.
 *
 * Files: auth.c (rules), auth_store.c (statements), auth_http.c (routes),
 * auth_gotrue.c (the GoTrue-compatible /auth/v1 routes),
 * auth_jwt.c (JWT encode/decode/verify, no database: fuzzed),
 * auth_keys.c (signing keys), auth_password.c (Argon2id, policy, email
 * normalisation), auth_revoke.c (revoked sessions), auth_email.c (email
 * verification and password reset by single-use tokens sent through the
 * mail outbox), auth_mfa.c (TOTP second factor and recovery codes),
 * auth_hooks.c (the auth/register, auth/login and auth/verifyToken hook
 * scripts).
 */
#ifndef LX_AUTH_H
#define LX_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "storage.h"

struct cJSON;

#define AUTH_ID_SIZE 37 /* UUIDv4 text + NUL */
#define AUTH_EMAIL_MAX 254 /* bytes */
#define AUTH_PASSWORD_MAX 1024
#define AUTH_PASSWORD_MIN 10
#define AUTH_NAME_MAX 200
#define AUTH_TOKEN_MAX 8192 /* longest access token the verifier reads */
#define AUTH_KID_SIZE 24 /* key id text + NUL */
#define AUTH_METADATA_MAX 16384 /* bytes of a user's user_metadata JSON */
/* The detail of a token refused because its session was revoked (the
 * GoTrue surface answers it as "session_not_found"). */
#define AUTH_REVOKED_DETAIL "the session of this token was revoked"

/* The JWS algorithms of signing keys (auth_jwt.c). */
enum auth_alg {
	AUTH_ALG_EDDSA, /* "EdDSA": Ed25519; pk 32 bytes, sk 64 (libsodium) */
	AUTH_ALG_ES256, /* "ES256": ECDSA P-256 + SHA-256; pk 65 bytes
			 * (uncompressed point 04||x||y), sk 32 (scalar d,
			 * big-endian); signature r||s, 32 bytes each */
};
#define AUTH_PK_MAX 65 /* longest public key of any alg */
#define AUTH_SK_MAX 64 /* longest private key of any alg */

/* OWASP's floor for Argon2id: 19 MiB, 2 passes, 1 lane. */
#define AUTH_ARGON2_MIN_MEM_KIB 19456
#define AUTH_ARGON2_MIN_OPS 2

/* The module's settings. Each comes, first found, from the environment
 * (LUXIMA_AUTH_<KEY> upper-cased: LUXIMA_AUTH_ACCESS_TOKEN_TTL_S), the
 * config file ("auth.access_token_ttl_s = 600"), the settings table (same
 * key), else the default shown. */
struct auth_config {
	uint64_t argon2_memlimit_kib; /* auth.argon2_memlimit_kib, 19456 */
	uint64_t argon2_opslimit; /* auth.argon2_opslimit, 2 */
	int64_t access_ttl_s; /* auth.access_token_ttl_s, 900 */
	int64_t refresh_ttl_s; /* auth.refresh_token_ttl_s, 30 days */
	char issuer[128]; /* auth.issuer, "luxima" */
	int require_email_confirmation; /* auth.require_email_confirmation */
	int reveal_existing_email; /* auth.reveal_existing_email */
	int throttle_account_max; /* auth.throttle_account_max, 5 */
	int throttle_address_max; /* auth.throttle_address_max, 20 */
	int64_t throttle_window_s; /* auth.throttle_window_s, 900 */
	char site_url[512]; /* auth.site_url: base of links in mail;
			     * "" = the server's URL */
	int64_t verify_ttl_s; /* auth.email_verify_ttl_s, 24 h */
	int64_t reset_ttl_s; /* auth.password_reset_ttl_s, 1 h */
	int email_throttle_max; /* auth.email_throttle_max, 3: token mails
				 * per address and per email in the window */
	int64_t mfa_token_ttl_s; /* auth.mfa_token_ttl_s, 300 */
	enum auth_alg signing_alg; /* auth.signing_alg, "EdDSA": the alg of
				    * keys generated or rotated in */
	char allowed_email_domains[1024]; /* auth.allowed_email_domains:
					   * comma list given to the
					   * auth/register hook; "" */
};

/* Looks up a config-file value by key, or NULL (cli_conf, or the server's
 * lx_server_conf). */
typedef const char *(*auth_conf_fn)(const char *key);

/* Who is calling: for sessions, throttling and audit. Any may be NULL. */
struct auth_client {
	const char *address; /* client IP */
	const char *user_agent;
	const char *request_id;
};

/* An account, as rules and handlers see it (no secrets). */
struct auth_user {
	char id[AUTH_ID_SIZE];
	char email[AUTH_EMAIL_MAX + 1];
	char name[AUTH_NAME_MAX + 1]; /* "" when none */
	int has_name;
	int platform_admin;
	int64_t email_confirmed_at; /* ms; 0: not confirmed */
	int64_t last_sign_in_at; /* ms; 0: never */
	int64_t created_at; /* ms */
	int64_t updated_at; /* ms */
};

/* A freshly minted pair. The token strings are secrets in sodium_malloc
 * memory: release with auth_tokens_cleanup(), which wipes them. */
struct auth_tokens {
	char *access_token;
	char *refresh_token;
	int64_t expires_in; /* s */
	int64_t expires_at; /* s since epoch */
	char session_id[AUTH_ID_SIZE];
	struct auth_user user;
};

/* A session, as listed to its owner. */
struct auth_session {
	char id[AUTH_ID_SIZE];
	int64_t created_at; /* ms */
	int64_t refreshed_at; /* ms; 0: never refreshed */
	char user_agent[256];
	char ip[64];
	char aal[8];
};

/* Why a password was refused (bits of auth_password_policy's result). */
#define AUTH_WEAK_SHORT 0x01 /* "too_short": under AUTH_PASSWORD_MIN */
#define AUTH_WEAK_COMMON 0x02 /* "too_common": in the built-in list */
#define AUTH_WEAK_EMAIL 0x04 /* "contains_email": has the local part */
#define AUTH_WEAK_LONG 0x08 /* "too_long": over AUTH_PASSWORD_MAX */

enum auth_scope {
	AUTH_SCOPE_LOCAL, /* this session */
	AUTH_SCOPE_ALL, /* every session of the user */
	AUTH_SCOPE_OTHERS, /* every session but this one */
};

/* --- lifecycle (auth.c) --- */

/*
 * Loads the settings (conf may be NULL), the signing keys (generating the
 * first into the store) and the revoked-session set. Call once per process
 * before anything below (the server module does it at start; CLI commands
 * before their work). Not thread-safe.
 */
int auth_init(struct lx_conn *c, auth_conf_fn conf, struct lx_err *err);
/* Frees keys, revoked set and the calling thread's token cache. */
void auth_shutdown(void);
/* The settings loaded by auth_init. */
const struct auth_config *auth_config(void);
/*
 * Fills cfg from defaults, then the settings table (c, may be NULL), the
 * config file (conf, may be NULL) and the environment. A value that is not
 * a number where one is wanted, or Argon2id parameters below OWASP's
 * floor, fail with err (422 "bad_setting") naming the key.
 */
int auth_config_load(struct auth_config *cfg, struct lx_conn *c,
    auth_conf_fn conf, struct lx_err *err);

/*
 * Deployment policy the rules consult: the auth/register and auth/login
 * hook scripts (auth_hooks.c sets them in the server; the CLI has none).
 * Each member may be NULL (allow); each runs on the caller's thread with
 * no transaction open and returns 0 to allow, -1 with err to refuse.
 */
struct auth_policy {
	/* Before auth_register creates an account (or answers for a taken
	 * email): email is normalised and passed the shape, name and
	 * password checks. A refusal writes nothing. */
	int (*before_register)(const struct auth_client *cl, const char *email,
	    struct lx_err *err);
	/* Before auth_session_issue opens a session for u, by method
	 * ("password", "totp", "recovery") at aal: every sign-in path (the
	 * password and second-factor logins, GoTrue's password grant and
	 * signup). A refusal opens nothing. */
	int (*before_session)(const struct auth_client *cl,
	    const struct auth_user *u, const char *method, const char *aal,
	    struct lx_err *err);
};
/* Sets the policy (copied; NULL clears it). Call before serving; not
 * thread-safe. */
void auth_policy_set(const struct auth_policy *p);

/* --- rules (auth.c); each runs its own transaction on c --- */

/*
 * Creates an account. email is normalised; password must pass the policy
 * (else 422 "weak_password" with *weak set to the AUTH_WEAK_* bits; weak
 * may be NULL). An email already taken gives the same result as a new one
 * (out filled with a fresh random id, nothing written, audit
 * "auth.register.duplicate") unless auth.reveal_existing_email is on, then
 * 409 "email_taken". name may be NULL.
 */
int auth_register(struct lx_conn *c, const struct auth_client *cl,
    const char *email, const char *password, const char *name,
    struct auth_user *out, unsigned *weak, struct lx_err *err);
/*
 * Step one of a login: proves email and password. Refuses with 429
 * "too_many_attempts" (*retry_after_s set) when the account or address
 * failed too often within the window; with 401 "invalid_credentials" for
 * an unknown email or a wrong password alike (an unknown email is checked
 * against a dummy hash, so both take similar time); with 403
 * "email_not_confirmed" when confirmation is required and missing. Records
 * failures, clears the account's on success, upgrades a hash made with
 * weaker parameters. On success fills *out. retry_after_s may be NULL.
 */
int auth_login_password(struct lx_conn *c, const struct auth_client *cl,
    const char *email, const char *password, struct auth_user *out,
    int64_t *retry_after_s, struct lx_err *err);
/*
 * Step two: opens a session for u authenticated by method ("password")
 * at level aal ("aal1"), with its first refresh token and an access token,
 * and audits "auth.login". Fills *out (auth_tokens_cleanup).
 */
int auth_session_issue(struct lx_conn *c, const struct auth_client *cl,
    const struct auth_user *u, const char *method, const char *aal,
    struct auth_tokens *out, struct lx_err *err);
/* Both steps: the password login. A user with a verified second factor
 * gets 403 "mfa_required" and no session (use auth_mfa_begin). */
int auth_login(struct lx_conn *c, const struct auth_client *cl,
    const char *email, const char *password, struct auth_tokens *out,
    int64_t *retry_after_s, struct lx_err *err);
/*
 * Spends refresh_token and mints a new pair for its session. A spent token
 * presented again revokes its whole family and the session (audit
 * "auth.refresh.reuse") and fails with 401 "refresh_token_reused"; an
 * unknown, expired or revoked one gives 401 "invalid_refresh_token".
 */
int auth_refresh(struct lx_conn *c, const struct auth_client *cl,
    const char *refresh_token, struct auth_tokens *out, struct lx_err *err);
/* Revokes the caller's session, all of the user's sessions, or all others
 * (scope); their access tokens fail verification at once. */
int auth_logout(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, enum auth_scope scope, struct lx_err *err);
/* Lists user_id's live sessions, newest first. Sets *out (lx_free) and
 * *n. */
int auth_sessions_list(struct lx_conn *c, const char *user_id,
    struct auth_session **out, int *n, struct lx_err *err);
/* Revokes session_id if it is a live session of id's user; any other id
 * gives 404 "not_found" (never 403). */
int auth_session_revoke(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *session_id, struct lx_err *err);
/*
 * Changes id's password: current must match (403 "invalid_credentials"),
 * new_password must pass the policy (422 "weak_password", *weak). Revokes
 * every other session of the user; audit "auth.password.change".
 */
int auth_password_change(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *current, const char *new_password,
    unsigned *weak, struct lx_err *err);
/*
 * Sets id's password without asking for the current one, as GoTrue's
 * PUT /user does for a signed-in session (auth_gotrue.c): new_password
 * must pass the policy (422 "weak_password", *weak) and differ from the
 * current one (422 "same_password"). Revokes every other session of the
 * user; audit "auth.password.change" with "current_checked": false.
 */
int auth_password_set(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *new_password, unsigned *weak,
    struct lx_err *err);
/* The user's user_metadata, a JSON object text, into *out (lx_free); 404
 * "not_found" for an unknown user. */
int auth_user_metadata(
    struct lx_conn *c, const char *user_id, char **out, struct lx_err *err);
/*
 * Merges patch (a JSON object text; RFC 7396: a null member removes the
 * key) into user_id's user_metadata: 404 "not_found", 422 "too_long" past
 * AUTH_METADATA_MAX bytes. Audit "auth.user.metadata".
 */
int auth_user_metadata_merge(struct lx_conn *c, const struct auth_client *cl,
    const char *user_id, const char *patch, struct lx_err *err);
/* Creates a confirmed platform administrator (audit "admin.create"); an
 * existing email gives 409 "email_taken". */
int auth_admin_create(struct lx_conn *c, const char *email, const char *name,
    const char *password, struct auth_user *out, unsigned *weak,
    struct lx_err *err);
/* Looks a user up by id: 404 "not_found" when absent. */
int auth_user_get(struct lx_conn *c, const char *user_id, struct auth_user *out,
    struct lx_err *err);
/*
 * The hot path: verifies an access token (signature, alg, kid, iss, aud,
 * expiry; at most AUTH_TOKEN_MAX bytes) and that its session is not
 * revoked, without touching the database. A per-thread cache skips the
 * signature check for a token seen before; revocation and expiry are
 * checked every time. On success fills *out (out->claims_json stays valid
 * until this thread's next call); on failure 401 "invalid_token".
 * Thread-safe; takes no global mutex.
 */
int auth_verify_token(
    const char *token, size_t len, struct lx_identity *out, struct lx_err *err);

/* Writes a random UUIDv4 (libsodium randombytes) as text. */
void auth_uuid(char out[AUTH_ID_SIZE]);
/* SHA-256 of the string s as 64 lower-case hex digits (stored token
 * hashes). */
void auth_sha256_hex(const char *s, char out[65]);
/* The caller's address, user agent and request id, for the rules and
 * their audit records (auth_http.c; used by every auth route table). */
void auth_http_client(const struct lx_req *req, struct auth_client *cl);

/* Session ids revoked inside a transaction: auth_revoked_collect is the
 * callback for auth_store_sessions_revoke; once the transaction committed,
 * auth_revoked_publish adds them to the in-memory revoked set (for as long
 * as their access tokens live) and frees the list. Start zeroed. */
struct auth_revoked {
	char (*ids)[AUTH_ID_SIZE]; /* collected session ids */
	int n, cap;
};
void auth_revoked_collect(const char *id, void *arg);
void auth_revoked_publish(struct auth_revoked *r);

/* JSON for responses, appended to b (times through lx_buf_add_time_json). */
void auth_user_json(const struct auth_user *u, struct lx_buf *b);
void auth_tokens_json(const struct auth_tokens *t, struct lx_buf *b);
void auth_tokens_cleanup(struct auth_tokens *t);

/*
 * Refuses with 429 "too_many_attempts" (*retry_after_s set, may be NULL)
 * when email or address failed to log in too often within the window:
 * password and second-factor failures alike (login_attempts).
 */
int auth_throttle_check(struct lx_conn *c, const char *email,
    const char *address, int64_t *retry_after_s, struct lx_err *err);

/* --- email verification and password reset (auth_email.c) --- */

enum auth_email_purpose {
	AUTH_EMAIL_VERIFY, /* confirm the address (email_tokens confirm_signup) */
	AUTH_EMAIL_RESET, /* reset the password (email_tokens recovery) */
};

#define AUTH_EMAIL_TOKEN_MAX 128 /* longest token a client may send */

/* Sets fn, which gives the base of links in mail when auth.site_url is
 * not set (the server's URL, known once it listens); NULL: a localhost
 * default. Called by the module's init. Not thread-safe. */
void auth_email_default_url(const char *(*fn)(void));
/*
 * Inside c's open transaction: makes a single-use token of purpose for u
 * (32 random bytes, base64url to the user, SHA-256 stored, expiring after
 * auth.email_verify_ttl_s or auth.password_reset_ttl_s) and queues the
 * mail carrying its link (mail_outbox_enqueue). Writes no audit record.
 */
int auth_email_token_send(struct lx_conn *c, const struct auth_user *u,
    enum auth_email_purpose purpose, struct lx_err *err);
/*
 * Sends id's user a new verification mail: 409 "already_verified" when the
 * email is confirmed, 429 "too_many_requests" (*retry_after_s) past
 * auth.email_throttle_max mails in the window. Audit
 * "auth.email.verify_request".
 */
int auth_email_verify_request(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, int64_t *retry_after_s, struct lx_err *err);
/*
 * Spends a verification token and marks the email confirmed; fills *out.
 * An unknown, used or expired token gives 400 "invalid_token". Audit
 * "auth.email.verify".
 */
int auth_email_verify(struct lx_conn *c, const struct auth_client *cl,
    const char *token, struct auth_user *out, struct lx_err *err);
/*
 * Sends a reset link when email names an account; the same result either
 * way (no enumeration). 422 "invalid_email" for a malformed address; 429
 * "too_many_requests" (*retry_after_s) when the client address asked too
 * often; past the limit for one email nothing more is sent, silently.
 * Audit "auth.password.forgot".
 */
int auth_password_forgot(struct lx_conn *c, const struct auth_client *cl,
    const char *email, int64_t *retry_after_s, struct lx_err *err);
/*
 * Spends a reset token and sets new_password (policy: 422
 * "weak_password", *weak), confirms the email, revokes every session of
 * the user and clears the account's failed logins. Unknown, used or
 * expired token: 400 "invalid_token". Audit "auth.password.reset".
 */
int auth_password_reset(struct lx_conn *c, const struct auth_client *cl,
    const char *token, const char *new_password, unsigned *weak,
    struct lx_err *err);

/* --- TOTP second factor (auth_mfa.c) --- */

#define AUTH_TOTP_SECRET_BYTES 20 /* 160 bits, as RFC 4226 recommends */
#define AUTH_TOTP_PERIOD 30 /* s */
#define AUTH_TOTP_DIGITS 6
#define AUTH_RECOVERY_CODES 10
#define AUTH_RECOVERY_CODE_SIZE 12 /* "xxxxx-xxxxx" + NUL */
#define AUTH_MFA_TOKEN_MAX 128 /* longest mfa_token a client may send */

/* RFC 4226 HOTP with HMAC-SHA1 (mbedTLS): the digits-long code of
 * counter under key. */
int auth_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
    int digits, uint32_t *code, struct lx_err *err);
/* RFC 4648 base32 without padding: encode n bytes into out (outsz >=
 * (n * 8 + 4) / 5 + 1); decode s (case-insensitive, '=' and spaces
 * skipped) into out, setting *outlen; -1 if invalid or too long. */
int auth_base32_encode(
    const unsigned char *p, size_t n, char *out, size_t outsz);
int auth_base32_decode(
    const char *s, unsigned char *out, size_t outsz, size_t *outlen);
/*
 * Checks a TOTP code (AUTH_TOTP_DIGITS decimal digits) for key at now_s
 * within one step either side, accepting only steps after last_step (each
 * code once). Returns 1 and sets *step on a match, else 0. Constant time
 * per candidate.
 */
int auth_totp_check(const unsigned char *key, size_t keylen, const char *code,
    int64_t now_s, int64_t last_step, int64_t *step);

/* A new factor, shown once: the secret in base32 and its otpauth URI. */
struct auth_totp_enrollment {
	char factor_id[AUTH_ID_SIZE];
	char secret[40]; /* base32 of AUTH_TOTP_SECRET_BYTES */
	char uri[AUTH_EMAIL_MAX * 3 + 160]; /* otpauth://totp/... */
};
/* The one-time recovery codes, shown once. */
struct auth_recovery_codes {
	char code[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_SIZE];
};
/* A login waiting for its second factor. */
struct auth_mfa_challenge {
	char token[64]; /* opaque mfa_token (base64url); a secret */
	char factor_id[AUTH_ID_SIZE]; /* the verified TOTP factor */
	int64_t expires_in; /* s */
};

/*
 * Starts a TOTP enrolment for id's user: a fresh secret stored with an
 * unverified factor (replacing older unverified ones). 409
 * "mfa_already_enrolled" when a verified factor exists. Audit
 * "auth.mfa.enroll". *out holds the secret: wipe it (sodium_memzero).
 */
int auth_mfa_enroll(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, struct auth_totp_enrollment *out,
    struct lx_err *err);
/*
 * Confirms factor_id with a current code: the factor becomes verified and
 * AUTH_RECOVERY_CODES new recovery codes (stored hashed) are written to
 * *codes (wipe them). 404 "not_found" for another user's or an unknown
 * factor, 409 "mfa_already_verified", 400 "invalid_mfa_code" (counted as
 * a failed login). Audit "auth.mfa.confirm".
 */
int auth_mfa_confirm(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *factor_id, const char *code,
    struct auth_recovery_codes *codes, int64_t *retry_after_s,
    struct lx_err *err);
/*
 * Removes factor_id (and the recovery codes with the last verified one)
 * when code is a current TOTP code or password is the account password
 * (one of them, not NULL): else 403 "invalid_credentials" (counted). 404
 * "not_found". Audit "auth.mfa.disable".
 */
int auth_mfa_disable(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *factor_id, const char *code,
    const char *password, int64_t *retry_after_s, struct lx_err *err);
/* Sets *active to 1 if user_id has a verified TOTP factor, else 0. */
int auth_mfa_active(
    struct lx_conn *c, const char *user_id, int *active, struct lx_err *err);
/*
 * After a correct password: when u has a verified factor sets *required
 * and fills *out with a new challenge (auth.mfa_token_ttl_s); else
 * *required = 0 and nothing is written.
 */
int auth_mfa_begin(struct lx_conn *c, const struct auth_client *cl,
    const struct auth_user *u, int *required, struct auth_mfa_challenge *out,
    struct lx_err *err);
/*
 * Step two of an MFA login: mfa_token from auth_mfa_begin and a TOTP code
 * (each accepted once) or an unused recovery code. On success spends the
 * challenge and opens an aal2 session (amr "totp" or "recovery"), fills
 * *out (auth_tokens_cleanup). A bad, used or expired mfa_token gives 401
 * "invalid_mfa_token"; a wrong code 401 "invalid_mfa_code" and a failed
 * login that counts toward throttling (429 "too_many_attempts",
 * *retry_after_s). Audit "auth.mfa.login" / "auth.mfa.failure" /
 * "auth.mfa.recovery_used".
 */
int auth_mfa_login(struct lx_conn *c, const struct auth_client *cl,
    const char *mfa_token, const char *code, struct auth_tokens *out,
    int64_t *retry_after_s, struct lx_err *err);

/* Records an audit entry for cl in c's transaction (actor NULL:
 * "anonymous"); used by the files of the module. */
int auth_audit(struct lx_conn *c, const struct auth_client *cl,
    const char *actor, const char *action, const char *target,
    const char *detail, struct lx_err *err);

/* --- passwords, policy, emails (auth_password.c) --- */

/*
 * Normalises an email: trims spaces, lower-cases ASCII, and checks its
 * shape (local@domain.tld, at most AUTH_EMAIL_MAX bytes). On success
 * writes it into out (outsz >= AUTH_EMAIL_MAX + 1) and returns 0; else
 * 422 "invalid_email" with field "email".
 */
int auth_email_normalize(
    const char *in, char *out, size_t outsz, struct lx_err *err);
/* The AUTH_WEAK_* rules password breaks for email (may be NULL); 0: ok. */
unsigned auth_password_policy(const char *email, const char *password);
/* Appends the rule names of weak as a JSON array of strings. */
void auth_weak_json(unsigned weak, struct lx_buf *b);
/* 1 if password (case-insensitively) is in the built-in common list. */
int auth_password_common(const char *password);
/* Hashes password with Argon2id at the given limits into out (at least
 * crypto_pwhash_STRBYTES). 503 "hash_failed" when memory is short. */
int auth_password_hash(const char *password, uint64_t memlimit_kib,
    uint64_t opslimit, char *out, size_t outsz, struct lx_err *err);
/* 1 if password matches the encoded hash, else 0 (also for a bad hash). */
int auth_password_check(const char *hash, const char *password);
/* 1 if hash was made with other limits than these (upgrade it). */
int auth_password_needs_rehash(
    const char *hash, uint64_t memlimit_kib, uint64_t opslimit);
/* A hash of a random password at these limits, made once per process:
 * what a login for an unknown email is checked against. */
const char *auth_password_dummy(uint64_t memlimit_kib, uint64_t opslimit);

/* --- JWT (auth_jwt.c; no database, no civetweb: fuzzed) --- */

/* A public key the verifier accepts. */
struct auth_jwk {
	char kid[AUTH_KID_SIZE];
	enum auth_alg alg; /* the only alg a token of this kid may name */
	unsigned char pk[AUTH_PK_MAX]; /* auth_alg_pk_len(alg) bytes */
	int64_t not_after; /* s since epoch: refuse after; 0: no limit */
};

/* The JWS name of alg ("EdDSA", "ES256"). */
const char *auth_alg_name(enum auth_alg alg);
/* Sets *alg from its exact JWS name; -1 for any other. */
int auth_alg_parse(const char *name, enum auth_alg *alg);
/* Public and private key lengths of alg, in bytes. */
size_t auth_alg_pk_len(enum auth_alg alg);
size_t auth_alg_sk_len(enum auth_alg alg);
/*
 * Makes a key pair of alg: pk (AUTH_PK_MAX bytes) and sk (AUTH_SK_MAX
 * bytes, the caller's sodium_malloc memory; only auth_alg_sk_len bytes are
 * written). 503 "keygen_failed" if the library fails. The library's own
 * copies of an ES256 scalar are wiped before return.
 */
int auth_jwt_keypair(enum auth_alg alg, unsigned char *pk, unsigned char *sk,
    struct lx_err *err);
/*
 * Signs payload_json (a JSON object) with the secret key sk of alg (see
 * enum auth_alg) under header {"alg":<alg>,"typ":"JWT","kid":kid}. Sets
 * *out (lx_free) to the compact token; an ES256 signature is raw r||s
 * (64 bytes), never DER. 500 "sign_failed" if the library fails (a bad
 * ES256 scalar).
 */
int auth_jwt_sign(const char *kid, enum auth_alg alg, const unsigned char *sk,
    const char *payload_json, char **out, struct lx_err *err);
/*
 * Verifies a compact token: at most AUTH_TOKEN_MAX bytes, three base64url
 * parts, header alg "EdDSA" or "ES256" (nothing else, never "none") with a
 * kid among keys[0..nkeys) whose alg is that same alg (an ES256 header
 * naming an Ed25519 key is refused) and which is not past its not_after,
 * a valid signature (ES256: exactly 64 bytes r||s, each 1..n-1), a JSON
 * object payload whose exp is after now_s, whose nbf (if any) is not after
 * now_s, whose iss equals iss and whose aud is or contains aud. On success
 * sets *claims (cJSON_Delete) and returns 0; else 401 "invalid_token" with
 * the reason in detail.
 */
int auth_jwt_verify(const char *token, size_t len, const struct auth_jwk *keys,
    int nkeys, const char *iss, const char *aud, int64_t now_s,
    struct cJSON **claims, struct lx_err *err);
/* Fills out from verified claims: sub, sid/session_id, email, role,
 * aal, exp, app_metadata.platform_admin. 401 when sub or session id is
 * missing or not a string. Leaves out->claims_json alone. */
int auth_jwt_identity(
    const struct cJSON *claims, struct lx_identity *out, struct lx_err *err);
/* base64url without padding: encode n bytes; decode (-1 if invalid). */
void auth_b64url_encode(const unsigned char *p, size_t n, struct lx_buf *b);
int auth_b64url_decode(const char *s, size_t len, unsigned char *out,
    size_t outsz, size_t *outlen);

/* --- signing keys (auth_keys.c) --- */

/* Key metadata, for `luxima keys list`. */
struct auth_key_info {
	char kid[AUTH_KID_SIZE];
	char state[12]; /* active, retiring, retired */
	enum auth_alg alg; /* the key's algorithm */
	int64_t created_at; /* ms */
	int64_t retire_at; /* ms; 0 while active */
};

/* Loads the keys into memory, generating the first active key (of
 * auth.signing_alg) when there is none and retiring keys past retire_at.
 * An active key of another alg than auth.signing_alg stays active; a
 * warning asks the operator to run `luxima keys rotate`. */
int auth_keys_load(struct lx_conn *c, struct lx_err *err);
/* Reloads the keys if another process rotated them (checked at most every
 * few seconds; called on signing paths, which hold a connection). */
int auth_keys_refresh(struct lx_conn *c, struct lx_err *err);
/* Makes a new active key of auth.signing_alg; the old one (of whatever
 * alg) verifies for retire_after_s more seconds. Audits "auth.keys.rotate". Writes the new kid into kid. */
int auth_keys_rotate(struct lx_conn *c, int64_t retire_after_s,
    char kid[AUTH_KID_SIZE], struct lx_err *err);
/* Lists every key, newest first; sets *out (lx_free) and *n. */
int auth_keys_list(
    struct lx_conn *c, struct auth_key_info **out, int *n, struct lx_err *err);
/* Signs payload_json with the active key (see auth_jwt_sign). */
int auth_keys_sign(const char *payload_json, char **out, struct lx_err *err);
/* The keys that verify now; valid until auth_keys_free. Lock-free. */
const struct auth_jwk *auth_keys_verifiers(int *n);
/* Appends the JWKS document of the verifying keys. */
void auth_keys_jwks(struct lx_buf *b);
void auth_keys_free(void);

/* --- revoked sessions (auth_revoke.c) --- */

/* Marks session id revoked until until_s (s since epoch; after that its
 * tokens have expired anyway). Thread-safe (write lock). */
void auth_revoke_add(const char *id, int64_t until_s);
/* 1 if session id is revoked. Thread-safe (read lock, no mutex). */
int auth_revoke_has(const char *id);
/* Number of entries (tests). */
int auth_revoke_count(void);
void auth_revoke_clear(void);

/* --- statements (auth_store.c); internal to the module --- */

/* A user's password credential, as stored. */
struct auth_cred {
	char hash[160]; /* encoded Argon2id string */
	int has_password;
};

int auth_store_setting(struct lx_conn *c, const char *key, char *out,
    size_t outsz, int *found, struct lx_err *err);
int auth_store_user_by_email(struct lx_conn *c, const char *email,
    struct auth_user *u, struct auth_cred *cred, int *found,
    struct lx_err *err);
int auth_store_user_by_id(struct lx_conn *c, const char *id,
    struct auth_user *u, struct auth_cred *cred, int *found,
    struct lx_err *err);
int auth_store_user_insert(struct lx_conn *c, const struct auth_user *u,
    const char *hash, uint64_t memlimit_kib, uint64_t opslimit,
    struct lx_err *err);
int auth_store_user_signed_in(
    struct lx_conn *c, const char *user_id, int64_t now, struct lx_err *err);
int auth_store_cred_update(struct lx_conn *c, const char *user_id,
    const char *hash, uint64_t memlimit_kib, uint64_t opslimit,
    struct lx_err *err);
int auth_store_session_insert(struct lx_conn *c, const char *id,
    const char *user_id, const char *aal, const char *amr_json,
    const struct auth_client *cl, int64_t now, int64_t not_after,
    struct lx_err *err);
/* Session state: found, revoked (1 if revoked_at set), user and aal. */
struct auth_store_session {
	char user_id[AUTH_ID_SIZE];
	char aal[8];
	char amr[256];
	int revoked;
	int64_t not_after;
};
int auth_store_session_get(struct lx_conn *c, const char *id,
    struct auth_store_session *s, int *found, struct lx_err *err);
int auth_store_session_refreshed(struct lx_conn *c, const char *id, int64_t now,
    int64_t not_after, struct lx_err *err);
/* Revokes sessions of user_id (all, or only id, or all but except) that
 * are live; calls fn for each revoked id. Returns the count or -1. */
int auth_store_sessions_revoke(struct lx_conn *c, const char *user_id,
    const char *only, const char *except, const char *reason, int64_t now,
    void (*fn)(const char *id, void *arg), void *arg, struct lx_err *err);
int auth_store_sessions_list(struct lx_conn *c, const char *user_id,
    int64_t now, struct auth_session **out, int *n, struct lx_err *err);
/* Calls fn for every session revoked at or after since (ms). */
int auth_store_sessions_revoked_since(struct lx_conn *c, int64_t since,
    void (*fn)(const char *id, int64_t revoked_at, void *arg), void *arg,
    struct lx_err *err);
int auth_store_refresh_insert(struct lx_conn *c, const char *id,
    const char *hash_hex, const char *session_id, const char *user_id,
    const char *family_id, const char *parent_id, int64_t now,
    int64_t expires_at, struct lx_err *err);
/* A refresh token row by hash. */
struct auth_store_refresh {
	char id[AUTH_ID_SIZE];
	char session_id[AUTH_ID_SIZE];
	char user_id[AUTH_ID_SIZE];
	char family_id[AUTH_ID_SIZE];
	int spent;
	int64_t expires_at;
};
int auth_store_refresh_get(struct lx_conn *c, const char *hash_hex,
    struct auth_store_refresh *r, int *found, struct lx_err *err);
/* Marks id spent; *changed is 0 if it was spent already (a race). */
int auth_store_refresh_spend(struct lx_conn *c, const char *id, int64_t now,
    int *changed, struct lx_err *err);
int auth_store_refresh_spend_family(
    struct lx_conn *c, const char *family_id, int64_t now, struct lx_err *err);
/* Failed logins since since (ms) for email and for address; *oldest_*
 * are the oldest such failures (ms, 0 if none). */
int auth_store_attempts(struct lx_conn *c, const char *email,
    const char *address, int64_t since, int *n_email, int64_t *oldest_email,
    int *n_address, int64_t *oldest_address, struct lx_err *err);
int auth_store_attempt_insert(struct lx_conn *c, const char *email,
    const char *address, int64_t now, int64_t prune_before, struct lx_err *err);
/* Stops email's failures counting against the account (they still count
 * against their address). */
int auth_store_attempts_clear(
    struct lx_conn *c, const char *email, struct lx_err *err);
/* Keys: fn is called per stored key whose alg is known and whose key
 * lengths fit it (private key NULL unless active). */
int auth_store_keys_each(struct lx_conn *c,
    int (*fn)(const struct auth_key_info *k, const unsigned char *pk,
        const unsigned char *sk, void *arg),
    void *arg, struct lx_err *err);
/* Stores the active key kid of alg (pk and sk of its lengths). */
int auth_store_key_insert(struct lx_conn *c, const char *kid, enum auth_alg alg,
    const unsigned char *pk, const unsigned char *sk, int64_t now,
    struct lx_err *err);
/* Active keys become retiring with retire_at. */
int auth_store_keys_demote(
    struct lx_conn *c, int64_t retire_at, struct lx_err *err);
/* Retiring keys with retire_at <= now become retired; sets *n. */
int auth_store_keys_retire(
    struct lx_conn *c, int64_t now, int *n, struct lx_err *err);
/* A cheap fingerprint of the key table (count and latest change). */
int auth_store_keys_stamp(
    struct lx_conn *c, int64_t *stamp, struct lx_err *err);
/* user_metadata of id into *out (lx_free), *found 0 if no such user. */
int auth_store_user_metadata(struct lx_conn *c, const char *id, char **out,
    int *found, struct lx_err *err);
/* json_patch(user_metadata, patch) for id unless the result exceeds max
 * bytes; *changed 0 then (or for an unknown id). */
int auth_store_user_metadata_merge(struct lx_conn *c, const char *id,
    const char *patch, int64_t now, int64_t max, int *changed,
    struct lx_err *err);

/* --- hook scripts (auth_hooks.c; server only) --- */

/* Sets the auth policy (auth_policy_set) to the auth/register and
 * auth/login hooks. Called by the module's init. */
void auth_hooks_init(void);
/* Appends the JSON object the auth/verifyToken hook adds to the answer of
 * /auth/verify for id (the token's claims): its "extra" table, "{}" by
 * default and when the hook fails (it fails open). */
void auth_hooks_verify_extra(const struct lx_identity *id, struct lx_buf *b);

/* The module descriptor (modules/modules.c). */
extern const struct lx_module auth_module;
/* The GoTrue-compatible /auth/v1 routes (auth_gotrue.c); after auth_module
 * in lx_modules[]. */
extern const struct lx_module gotrue_module;

#endif
