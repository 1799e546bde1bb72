/*
 * The auth rules: settings, registration, the two-step password login
 * with throttling and uniform failures, sessions and their rotating
 * refresh tokens (reuse revokes the family), logout, password change,
 * platform administrators, and the in-memory verification of access
 * tokens with a per-thread cache. Every change writes its audit record in
 * the same transaction. No SQL (auth_store.c), no HTTP (auth_http.c).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cJSON.h>
#include <sodium.h>

#include "audit.h"
#include "auth.h"

#define REVOKE_SKEW_S 60 /* revoked ids outlive the token ttl by this */
#define CACHE_SLOTS 128 /* verified tokens cached per thread */
#define REFRESH_BYTES 32 /* random bytes in a refresh token */

static struct auth_config cfg;
static struct auth_policy policy; /* hooks; members NULL: allow */

/* --- small helpers --- */

void
auth_uuid(char out[AUTH_ID_SIZE])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* variant 10 */
	snprintf(out, AUTH_ID_SIZE,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

void
auth_sha256_hex(const char *s, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* Records an audit entry for cl in c's transaction. */
static int
audit(struct lx_conn *c, const struct auth_client *cl, const char *actor,
    const char *action, const char *target, const char *detail,
    struct lx_err *err)
{
	struct audit_entry ae;

	memset(&ae, 0, sizeof(ae));
	ae.actor = actor != NULL ? actor : "anonymous";
	ae.action = action;
	ae.target = target;
	ae.request_id = cl != NULL ? cl->request_id : NULL;
	ae.address = cl != NULL ? cl->address : NULL;
	ae.detail_json = detail;
	return (audit_record(c, &ae, err));
}

/* A JSON object {"email": email}, for audit details. */
static char *
email_detail(const char *email, const char *extra)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"email\":");
	lx_buf_add_json_str(&b, email);
	if (extra != NULL)
		lx_buf_addf(&b, ",%s", extra);
	lx_buf_adds(&b, "}");
	return (lx_buf_take(&b));
}

/* --- settings --- */

/* The value of key: environment, config file, settings table. */
static const char *
setting(struct lx_conn *c, auth_conf_fn conf, const char *key, char *buf,
    size_t bufsz, struct lx_err *err, int *failed)
{
	char env[96];
	const char *v;
	size_t i;
	int found = 0;

	snprintf(env, sizeof(env), "LUXIMA_%s", key);
	for (i = 0; env[i] != '\0'; i++)
		env[i] =
		    env[i] == '.' ? '_' : (char)toupper((unsigned char)env[i]);
	if ((v = getenv(env)) != NULL && *v != '\0')
		return (v);
	if (conf != NULL && (v = conf(key)) != NULL)
		return (v);
	if (c != NULL) {
		if (auth_store_setting(c, key, buf, bufsz, &found, err) == -1) {
			*failed = 1;
			return (NULL);
		}
		if (found)
			return (buf);
	}
	return (NULL);
}

/* Parses an integer setting within [min, max]. */
static int
int_setting(struct lx_conn *c, auth_conf_fn conf, const char *key, int64_t min,
    int64_t max, int64_t *out, struct lx_err *err)
{
	char buf[128], *end;
	const char *v;
	long long n;
	int failed = 0;

	if ((v = setting(c, conf, key, buf, sizeof(buf), err, &failed)) == NULL)
		return (failed ? -1 : 0);
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return (lx_err_set(err, 422, "bad_setting",
		    "setting %s: '%.60s' is not a number from %lld to %lld",
		    key, v, (long long)min, (long long)max));
	*out = n;
	return (0);
}

static int
bool_setting(struct lx_conn *c, auth_conf_fn conf, const char *key, int *out,
    struct lx_err *err)
{
	char buf[128];
	const char *v;
	int failed = 0;

	if ((v = setting(c, conf, key, buf, sizeof(buf), err, &failed)) == NULL)
		return (failed ? -1 : 0);
	if (strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0
	    || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0)
		*out = 1;
	else if (strcasecmp(v, "0") == 0 || strcasecmp(v, "false") == 0
	    || strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0)
		*out = 0;
	else
		return (lx_err_set(err, 422, "bad_setting",
		    "setting %s: '%.60s' is not on or off", key, v));
	return (0);
}

int
auth_config_load(struct auth_config *out, struct lx_conn *c, auth_conf_fn conf,
    struct lx_err *err)
{
	int64_t v;
	char buf[512];
	const char *s;
	int failed = 0;

	memset(out, 0, sizeof(*out));
	out->argon2_memlimit_kib = AUTH_ARGON2_MIN_MEM_KIB;
	out->argon2_opslimit = AUTH_ARGON2_MIN_OPS;
	out->access_ttl_s = 900;
	out->refresh_ttl_s = 30 * 24 * 3600;
	snprintf(out->issuer, sizeof(out->issuer), "luxima");
	out->throttle_account_max = 5;
	out->throttle_address_max = 20;
	out->throttle_window_s = 900;
	out->verify_ttl_s = 24 * 3600;
	out->reset_ttl_s = 3600;
	out->email_throttle_max = 3;
	out->mfa_token_ttl_s = 300;
	out->signing_alg = AUTH_ALG_EDDSA;

	v = (int64_t)out->argon2_memlimit_kib;
	if (int_setting(c, conf, "auth.argon2_memlimit_kib",
	        AUTH_ARGON2_MIN_MEM_KIB, 4 * 1024 * 1024, &v, err)
	    == -1)
		return (-1);
	out->argon2_memlimit_kib = (uint64_t)v;
	v = (int64_t)out->argon2_opslimit;
	if (int_setting(c, conf, "auth.argon2_opslimit", AUTH_ARGON2_MIN_OPS,
	        64, &v, err)
	    == -1)
		return (-1);
	out->argon2_opslimit = (uint64_t)v;
	if (int_setting(c, conf, "auth.access_token_ttl_s", 5, 86400,
	        &out->access_ttl_s, err)
	        == -1
	    || int_setting(c, conf, "auth.refresh_token_ttl_s", 60,
	           366LL * 86400, &out->refresh_ttl_s, err)
	        == -1
	    || int_setting(c, conf, "auth.throttle_window_s", 1, 86400,
	           &out->throttle_window_s, err)
	        == -1)
		return (-1);
	v = out->throttle_account_max;
	if (int_setting(
	        c, conf, "auth.throttle_account_max", 1, 1000000, &v, err)
	    == -1)
		return (-1);
	out->throttle_account_max = (int)v;
	v = out->throttle_address_max;
	if (int_setting(
	        c, conf, "auth.throttle_address_max", 1, 1000000, &v, err)
	    == -1)
		return (-1);
	out->throttle_address_max = (int)v;
	if (int_setting(c, conf, "auth.email_verify_ttl_s", 1, 30LL * 86400,
	        &out->verify_ttl_s, err)
	        == -1
	    || int_setting(c, conf, "auth.password_reset_ttl_s", 1, 7LL * 86400,
	           &out->reset_ttl_s, err)
	        == -1
	    || int_setting(c, conf, "auth.mfa_token_ttl_s", 10, 3600,
	           &out->mfa_token_ttl_s, err)
	        == -1)
		return (-1);
	v = out->email_throttle_max;
	if (int_setting(c, conf, "auth.email_throttle_max", 1, 1000000, &v, err)
	    == -1)
		return (-1);
	out->email_throttle_max = (int)v;
	if ((s = setting(
	         c, conf, "auth.site_url", buf, sizeof(buf), err, &failed))
	    != NULL) {
		if ((strncmp(s, "http://", 7) != 0
		        && strncmp(s, "https://", 8) != 0)
		    || strlen(s) >= sizeof(out->site_url)
		    || strpbrk(s, " \t\r\n\"<>") != NULL)
			return (lx_err_set(err, 422, "bad_setting",
			    "setting auth.site_url must be an http(s) URL of "
			    "at most %zu bytes",
			    sizeof(out->site_url) - 1));
		snprintf(out->site_url, sizeof(out->site_url), "%s", s);
		while (out->site_url[0] != '\0'
		    && out->site_url[strlen(out->site_url) - 1] == '/')
			out->site_url[strlen(out->site_url) - 1] = '\0';
	} else if (failed)
		return (-1);
	/* The profile sets defaults: production requires confirmed emails
	 * (the embedded default and demos log in at once). */
	if ((s = setting(c, conf, "profile", buf, sizeof(buf), err, &failed))
	    != NULL) {
		if (strcmp(s, "production") == 0)
			out->require_email_confirmation = 1;
		else if (strcmp(s, "development") != 0
		    && strcmp(s, "demo") != 0)
			return (lx_err_set(err, 422, "bad_setting",
			    "setting profile must be development, demo or "
			    "production, not '%.40s'",
			    s));
	} else if (failed)
		return (-1);
	if (bool_setting(c, conf, "auth.require_email_confirmation",
	        &out->require_email_confirmation, err)
	        == -1
	    || bool_setting(c, conf, "auth.reveal_existing_email",
	           &out->reveal_existing_email, err)
	        == -1)
		return (-1);
	if ((s = setting(
	         c, conf, "auth.signing_alg", buf, sizeof(buf), err, &failed))
	    != NULL) {
		if (auth_alg_parse(s, &out->signing_alg) == -1)
			return (lx_err_set(err, 422, "bad_setting",
			    "setting auth.signing_alg must be EdDSA or ES256, "
			    "not '%.40s'",
			    s));
	} else if (failed)
		return (-1);
	if ((s = setting(
	         c, conf, "auth.issuer", buf, sizeof(buf), err, &failed))
	    != NULL) {
		if (*s == '\0' || strlen(s) >= sizeof(out->issuer))
			return (lx_err_set(err, 422, "bad_setting",
			    "setting auth.issuer must be 1 to %zu bytes",
			    sizeof(out->issuer) - 1));
		snprintf(out->issuer, sizeof(out->issuer), "%s", s);
	} else if (failed)
		return (-1);
	if ((s = setting(c, conf, "auth.allowed_email_domains", buf,
	         sizeof(buf), err, &failed))
	    != NULL)
		snprintf(out->allowed_email_domains,
		    sizeof(out->allowed_email_domains), "%s", s);
	else if (failed)
		return (-1);
	return (0);
}

void
auth_policy_set(const struct auth_policy *p)
{
	if (p != NULL)
		policy = *p;
	else
		memset(&policy, 0, sizeof(policy));
}

const struct auth_config *
auth_config(void)
{
	return (&cfg);
}

/* --- the per-thread cache of verified tokens --- */

struct cache_entry {
	unsigned char key[16]; /* keyed BLAKE2b of the token; zero: empty */
	struct lx_identity id; /* claims_json points to claims */
	char *claims; /* the payload JSON (lx_malloc) */
};

struct tcache {
	struct cache_entry e[CACHE_SLOTS];
};

static pthread_key_t cache_key;
static int cache_key_made;
static unsigned char cache_hash_key[crypto_generichash_KEYBYTES];

static void
tcache_free(void *p)
{
	struct tcache *tc = p;
	int i;

	if (tc == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		lx_free(tc->e[i].claims);
	sodium_memzero(tc, sizeof(*tc));
	lx_free(tc);
}

static struct tcache *
tcache_get(void)
{
	struct tcache *tc;

	if (!cache_key_made)
		return (NULL);
	if ((tc = pthread_getspecific(cache_key)) == NULL) {
		tc = lx_calloc(1, sizeof(*tc));
		pthread_setspecific(cache_key, tc);
	}
	return (tc);
}

/* The checks that run on every verification, cached or not. */
static int
still_valid(const struct lx_identity *id, struct lx_err *err)
{
	if (id->exp <= lx_now_ms() / 1000)
		return (lx_err_set(
		    err, 401, "invalid_token", "the token has expired"));
	if (auth_revoke_has(id->session_id))
		return (lx_err_set(
		    err, 401, "invalid_token", "%s", AUTH_REVOKED_DETAIL));
	return (0);
}

int
auth_verify_token(
    const char *token, size_t len, struct lx_identity *out, struct lx_err *err)
{
	const struct auth_jwk *keys;
	struct cache_entry *e = NULL, tmp;
	struct tcache *tc;
	unsigned char key[16];
	cJSON *claims = NULL;
	char *text;
	int nkeys, ret = -1;

	memset(out, 0, sizeof(*out));
	if (len > AUTH_TOKEN_MAX)
		return (lx_err_set(err, 401, "invalid_token",
		    "the access token is longer than %d bytes",
		    AUTH_TOKEN_MAX));
	if ((tc = tcache_get()) != NULL) {
		crypto_generichash(key, sizeof(key),
		    (const unsigned char *)token, len, cache_hash_key,
		    sizeof(cache_hash_key));
		key[0] |= 1; /* never all zero */
		e = &tc->e[(key[1] | key[2] << 8) % CACHE_SLOTS];
		if (sodium_memcmp(e->key, key, sizeof(key)) == 0) {
			if (still_valid(&e->id, err) == -1)
				return (-1);
			*out = e->id;
			return (0);
		}
	}
	keys = auth_keys_verifiers(&nkeys);
	memset(&tmp, 0, sizeof(tmp));
	if (auth_jwt_verify(token, len, keys, nkeys, cfg.issuer,
	        "authenticated", lx_now_ms() / 1000, &claims, err)
	        == -1
	    || auth_jwt_identity(claims, &tmp.id, err) == -1
	    || still_valid(&tmp.id, err) == -1)
		goto out;
	if ((text = cJSON_PrintUnformatted(claims)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of memory");
		goto out;
	}
	tmp.claims = lx_strdup(text);
	cJSON_free(text);
	tmp.id.claims_json = tmp.claims;
	tmp.id.authenticated = 1;
	if (e != NULL) {
		lx_free(e->claims);
		*e = tmp;
		memcpy(e->key, key, sizeof(key));
		*out = e->id;
	} else {
		/* No cache (not initialised): the caller gets no claims
		 * text it would have to free. */
		lx_free(tmp.claims);
		tmp.id.claims_json = NULL;
		*out = tmp.id;
	}
	ret = 0;
out:
	cJSON_Delete(claims);
	return (ret);
}

/* --- lifecycle --- */

static void
load_revoked(const char *id, int64_t revoked_at, void *arg)
{
	(void)arg;
	auth_revoke_add(
	    id, revoked_at / 1000 + cfg.access_ttl_s + REVOKE_SKEW_S);
}

int
auth_init(struct lx_conn *c, auth_conf_fn conf, struct lx_err *err)
{
	int64_t since;

	if (sodium_init() < 0)
		return (lx_err_set(
		    err, 500, "sodium_init", "libsodium failed to initialise"));
	if (auth_config_load(&cfg, c, conf, err) == -1)
		return (-1);
	if (!cache_key_made) {
		if (pthread_key_create(&cache_key, tcache_free) != 0)
			return (lx_err_set(err, 500, "internal_error",
			    "cannot create the token cache"));
		cache_key_made = 1;
		randombytes_buf(cache_hash_key, sizeof(cache_hash_key));
	}
	if (auth_keys_load(c, err) == -1)
		return (-1);
	/* The dummy hash now, so the first login for an unknown email does
	 * not take twice as long. */
	(void)auth_password_dummy(cfg.argon2_memlimit_kib, cfg.argon2_opslimit);
	auth_revoke_clear();
	since = lx_now_ms() - (cfg.access_ttl_s + REVOKE_SKEW_S) * 1000;
	if (auth_store_sessions_revoked_since(c, since, load_revoked, NULL, err)
	    == -1)
		return (-1);
	return (0);
}

void
auth_shutdown(void)
{
	if (cache_key_made) {
		tcache_free(pthread_getspecific(cache_key));
		pthread_setspecific(cache_key, NULL);
		pthread_key_delete(cache_key);
		cache_key_made = 0;
	}
	auth_keys_free();
	auth_revoke_clear();
}

/* --- JSON --- */

void
auth_user_json(const struct auth_user *u, struct lx_buf *b)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, u->id);
	lx_buf_adds(b, ",\"email\":");
	lx_buf_add_json_str(b, u->email);
	lx_buf_adds(b, ",\"name\":");
	if (u->has_name)
		lx_buf_add_json_str(b, u->name);
	else
		lx_buf_adds(b, "null");
	lx_buf_addf(b, ",\"email_verified\":%s,\"platform_admin\":%s",
	    u->email_confirmed_at > 0 ? "true" : "false",
	    u->platform_admin ? "true" : "false");
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, u->created_at);
	lx_buf_adds(b, ",\"last_sign_in_at\":");
	lx_buf_add_time_json(b, u->last_sign_in_at);
	lx_buf_adds(b, "}");
}

void
auth_tokens_json(const struct auth_tokens *t, struct lx_buf *b)
{
	lx_buf_adds(b, "{\"access_token\":");
	lx_buf_add_json_str(b, t->access_token);
	lx_buf_adds(b, ",\"refresh_token\":");
	lx_buf_add_json_str(b, t->refresh_token);
	lx_buf_addf(b,
	    ",\"token_type\":\"bearer\",\"expires_in\":%lld,"
	    "\"expires_at\":%lld,\"user\":",
	    (long long)t->expires_in, (long long)t->expires_at);
	auth_user_json(&t->user, b);
	lx_buf_adds(b, "}");
}

void
auth_tokens_cleanup(struct auth_tokens *t)
{
	if (t == NULL)
		return;
	if (t->access_token != NULL)
		sodium_free(t->access_token);
	if (t->refresh_token != NULL)
		sodium_free(t->refresh_token);
	t->access_token = t->refresh_token = NULL;
}

/* Copies s into new sodium_malloc memory. */
static char *
secret_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if ((p = sodium_malloc(n)) != NULL)
		memcpy(p, s, n);
	return (p);
}

/* --- tokens --- */

/* Mints the access token for session sid of u into out. */
static int
mint_access(const struct auth_user *u, const char *sid, const char *aal,
    const char *amr_json, struct auth_tokens *out, struct lx_err *err)
{
	struct lx_buf b;
	char *tok = NULL;
	int64_t now = lx_now_ms() / 1000;
	int ret = -1;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"iss\":");
	lx_buf_add_json_str(&b, cfg.issuer);
	lx_buf_adds(&b, ",\"aud\":\"authenticated\",\"sub\":");
	lx_buf_add_json_str(&b, u->id);
	lx_buf_addf(
	    &b, ",\"sid\":\"%s\",\"session_id\":\"%s\",\"email\":", sid, sid);
	lx_buf_add_json_str(&b, u->email);
	lx_buf_addf(&b,
	    ",\"phone\":\"\",\"role\":\"authenticated\",\"iat\":%lld,"
	    "\"exp\":%lld,\"aal\":\"%s\",\"amr\":%s,",
	    (long long)now, (long long)(now + cfg.access_ttl_s), aal, amr_json);
	lx_buf_adds(&b,
	    "\"app_metadata\":{\"provider\":\"email\","
	    "\"providers\":[\"email\"]");
	if (u->platform_admin)
		lx_buf_adds(&b, ",\"platform_admin\":true");
	lx_buf_adds(&b, "},\"user_metadata\":{");
	if (u->has_name) {
		lx_buf_adds(&b, "\"name\":");
		lx_buf_add_json_str(&b, u->name);
	}
	lx_buf_adds(&b, "},\"is_anonymous\":false}");
	if (auth_keys_sign(b.data, &tok, err) == -1)
		goto out;
	if ((out->access_token = secret_dup(tok)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	out->expires_in = cfg.access_ttl_s;
	out->expires_at = now + cfg.access_ttl_s;
	ret = 0;
out:
	if (tok != NULL) {
		sodium_memzero(tok, strlen(tok));
		lx_free(tok);
	}
	lx_buf_cleanup(&b);
	return (ret);
}

/* A new refresh token into out->refresh_token; its hash into hash. */
static int
new_refresh(struct auth_tokens *out, char hash[65], struct lx_err *err)
{
	unsigned char raw[REFRESH_BYTES];
	size_t n = sodium_base64_ENCODED_LEN(
	    sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);

	if ((out->refresh_token = sodium_malloc(n)) == NULL)
		return (lx_err_set(
		    err, 503, "out_of_memory", "out of secure memory"));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out->refresh_token, n, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_sha256_hex(out->refresh_token, hash);
	return (0);
}

void
auth_revoked_collect(const char *id, void *arg)
{
	struct auth_revoked *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->ids = lx_realloc(r->ids, (size_t)r->cap * sizeof(*r->ids));
	}
	snprintf(r->ids[r->n++], AUTH_ID_SIZE, "%s", id);
}

void
auth_revoked_publish(struct auth_revoked *r)
{
	int64_t until = lx_now_ms() / 1000 + cfg.access_ttl_s + REVOKE_SKEW_S;
	int i;

	for (i = 0; i < r->n; i++)
		auth_revoke_add(r->ids[i], until);
	lx_free(r->ids);
	memset(r, 0, sizeof(*r));
}

/* --- registration --- */

/* Hashes password with the configured limits into a sodium buffer. */
static char *
hash_new(const char *password, struct lx_err *err)
{
	char *h;

	if ((h = sodium_malloc(crypto_pwhash_STRBYTES)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		return (NULL);
	}
	if (auth_password_hash(password, cfg.argon2_memlimit_kib,
	        cfg.argon2_opslimit, h, crypto_pwhash_STRBYTES, err)
	    == -1) {
		sodium_free(h);
		return (NULL);
	}
	return (h);
}

/* Normalises email and applies the policy to password. */
static int
check_new(const char *email, const char *password, char norm[], size_t nsz,
    unsigned *weak, struct lx_err *err)
{
	unsigned w;

	if (weak != NULL)
		*weak = 0;
	if (auth_email_normalize(email, norm, nsz, err) == -1)
		return (-1);
	if ((w = auth_password_policy(norm, password)) != 0) {
		if (weak != NULL)
			*weak = w;
		return (lx_err_set(err, 422, "weak_password",
		    "the password does not meet the policy: at least %d "
		    "characters, not a common password, not containing the "
		    "email",
		    AUTH_PASSWORD_MIN));
	}
	return (0);
}

/* Inserts a new user u with password (audit action) in one transaction;
 * *dup is set when the email was taken meanwhile. */
static int
insert_user(struct lx_conn *c, const struct auth_client *cl,
    const struct auth_user *u, const char *hash, const char *action, int *dup,
    struct lx_err *err)
{
	char *detail = NULL;
	int ret = -1;

	*dup = 0;
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (auth_store_user_insert(
	        c, u, hash, cfg.argon2_memlimit_kib, cfg.argon2_opslimit, err)
	    == -1) {
		if (err != NULL && err->status == 409)
			*dup = 1;
		goto out;
	}
	detail = email_detail(u->email, NULL);
	if (audit(c, cl, strcmp(action, "admin.create") == 0 ? "system" : u->id,
	        action, u->id, detail, err)
	    == -1)
		goto out;
	/* The confirmation mail commits with the account (auth_email.c). */
	if (u->email_confirmed_at == 0
	    && auth_email_token_send(c, u, AUTH_EMAIL_VERIFY, err) == -1)
		goto out;
	if (lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	lx_free(detail);
	if (ret == -1)
		lx_conn_rollback(c);
	return (ret);
}

int
auth_register(struct lx_conn *c, const struct auth_client *cl,
    const char *email, const char *password, const char *name,
    struct auth_user *out, unsigned *weak, struct lx_err *err)
{
	struct auth_user u, existing;
	char norm[AUTH_EMAIL_MAX + 1], *hash = NULL, *detail = NULL;
	int found = 0, dup = 0, ret = -1;

	memset(&u, 0, sizeof(u));
	if (check_new(email, password, norm, sizeof(norm), weak, err) == -1)
		goto out;
	if (name != NULL && strlen(name) > AUTH_NAME_MAX) {
		lx_err_set(err, 422, "too_long", "name is longer than %d bytes",
		    AUTH_NAME_MAX);
		goto out;
	}
	/* The deployment's rules, before anything is looked up: a refusal
	 * says nothing about whether the email is taken. */
	if (policy.before_register != NULL
	    && policy.before_register(cl, norm, err) == -1)
		goto out;
	if (auth_store_user_by_email(c, norm, &existing, NULL, &found, err)
	    == -1)
		goto out;
	if (found && cfg.reveal_existing_email) {
		lx_err_set(err, 409, "email_taken",
		    "an account with this email exists");
		goto out;
	}
	/* Hash either way, so a taken email costs the same time. */
	if ((hash = hash_new(password, err)) == NULL)
		goto out;
	auth_uuid(u.id);
	snprintf(u.email, sizeof(u.email), "%s", norm);
	if (name != NULL) {
		u.has_name = 1;
		snprintf(u.name, sizeof(u.name), "%s", name);
	}
	u.created_at = u.updated_at = lx_now_ms();
	if (!cfg.require_email_confirmation)
		u.email_confirmed_at = u.created_at;
	if (!found
	    && insert_user(c, cl, &u, hash, "auth.register", &dup, err) == -1
	    && !dup)
		goto out;
	if (found || dup) {
		if (dup && cfg.reveal_existing_email) {
			lx_err_set(err, 409, "email_taken",
			    "an account with this email exists");
			goto out;
		}
		/* The caller sees a new-looking user; nothing was written
		 * but the audit record. */
		detail = email_detail(norm, NULL);
		if (audit(c, cl, NULL, "auth.register.duplicate",
		        found ? existing.id : NULL, detail, err)
		    == -1)
			goto out;
	}
	*out = u;
	ret = 0;
out:
	lx_free(detail);
	if (hash != NULL)
		sodium_free(hash);
	return (ret);
}

int
auth_admin_create(struct lx_conn *c, const char *email, const char *name,
    const char *password, struct auth_user *out, unsigned *weak,
    struct lx_err *err)
{
	struct auth_user u, existing;
	char norm[AUTH_EMAIL_MAX + 1], *hash = NULL;
	int found = 0, dup = 0, ret = -1;

	memset(&u, 0, sizeof(u));
	if (check_new(email, password, norm, sizeof(norm), weak, err) == -1)
		goto out;
	if (auth_store_user_by_email(c, norm, &existing, NULL, &found, err)
	    == -1)
		goto out;
	if (found) {
		lx_err_set(err, 409, "email_taken",
		    "an account with this email exists");
		goto out;
	}
	if ((hash = hash_new(password, err)) == NULL)
		goto out;
	auth_uuid(u.id);
	snprintf(u.email, sizeof(u.email), "%s", norm);
	if (name != NULL && *name != '\0') {
		u.has_name = 1;
		snprintf(u.name, sizeof(u.name), "%s", name);
	}
	u.platform_admin = 1;
	u.created_at = u.updated_at = u.email_confirmed_at = lx_now_ms();
	if (insert_user(c, NULL, &u, hash, "admin.create", &dup, err) == -1) {
		if (dup)
			lx_err_set(err, 409, "email_taken",
			    "an account with this email exists");
		goto out;
	}
	*out = u;
	ret = 0;
out:
	if (hash != NULL)
		sodium_free(hash);
	return (ret);
}

int
auth_user_get(struct lx_conn *c, const char *user_id, struct auth_user *out,
    struct lx_err *err)
{
	int found = 0;

	if (auth_store_user_by_id(c, user_id, out, NULL, &found, err) == -1)
		return (-1);
	if (!found)
		return (lx_err_set(err, 404, "not_found", "no such user"));
	return (0);
}

/* --- login --- */

/* 429 when the account or address failed too often in the window. */
static int
throttled(struct lx_conn *c, const char *email, const char *address,
    int64_t *retry_after_s, struct lx_err *err)
{
	int64_t now = lx_now_ms(), win = cfg.throttle_window_s * 1000;
	int64_t oe, oa, until = 0;
	int ne, na;

	if (auth_store_attempts(
	        c, email, address, now - win, &ne, &oe, &na, &oa, err)
	    == -1)
		return (-1);
	if (ne >= cfg.throttle_account_max)
		until = oe + win;
	if (na >= cfg.throttle_address_max && oa + win > until)
		until = oa + win;
	if (until == 0)
		return (0);
	if (retry_after_s != NULL)
		*retry_after_s = (until - now + 999) / 1000;
	return (lx_err_set(err, 429, "too_many_attempts",
	    "too many failed logins; try again later"));
}

/* Records a failed login (attempt + audit) in its own transaction. */
static int
record_failure(struct lx_conn *c, const struct auth_client *cl,
    const char *email, const char *user_id, struct lx_err *err)
{
	struct lx_err e2;
	char *detail;
	int64_t now = lx_now_ms();
	int ret = -1;

	lx_err_clear(&e2);
	detail = email_detail(email, "\"reason\":\"invalid_credentials\"");
	if (lx_conn_begin(c, &e2) == -1
	    || auth_store_attempt_insert(c, email,
	           cl != NULL ? cl->address : NULL, now,
	           now - cfg.throttle_window_s * 1000, &e2)
	        == -1
	    || audit(c, cl, user_id, "auth.login.failure", user_id, detail, &e2)
	        == -1
	    || lx_conn_commit(c, &e2) == -1) {
		lx_conn_rollback(c);
		if (err != NULL)
			*err = e2;
		goto out;
	}
	ret = 0;
out:
	lx_free(detail);
	return (ret);
}

int
auth_throttle_check(struct lx_conn *c, const char *email, const char *address,
    int64_t *retry_after_s, struct lx_err *err)
{
	return (throttled(c, email, address, retry_after_s, err));
}

int
auth_audit(struct lx_conn *c, const struct auth_client *cl, const char *actor,
    const char *action, const char *target, const char *detail,
    struct lx_err *err)
{
	return (audit(c, cl, actor, action, target, detail, err));
}

int
auth_login_password(struct lx_conn *c, const struct auth_client *cl,
    const char *email, const char *password, struct auth_user *out,
    int64_t *retry_after_s, struct lx_err *err)
{
	struct auth_user u;
	struct auth_cred cred;
	struct lx_err ignore;
	char norm[AUTH_EMAIL_MAX + 1], *hash = NULL;
	int valid, found = 0, ok, ret = -1;

	memset(&cred, 0, sizeof(cred));
	valid = auth_email_normalize(email, norm, sizeof(norm), NULL) == 0;
	if (!valid)
		snprintf(norm, sizeof(norm), "%.*s", AUTH_EMAIL_MAX, email);
	if (throttled(
	        c, norm, cl != NULL ? cl->address : NULL, retry_after_s, err)
	    == -1)
		goto out;
	if (valid
	    && auth_store_user_by_email(c, norm, &u, &cred, &found, err) == -1)
		goto out;
	if (found && cred.has_password)
		ok = auth_password_check(cred.hash, password);
	else {
		(void)auth_password_check(
		    auth_password_dummy(
		        cfg.argon2_memlimit_kib, cfg.argon2_opslimit),
		    password);
		ok = 0;
	}
	if (!ok) {
		if (record_failure(c, cl, norm, found ? u.id : NULL, err) == -1)
			goto out;
		lx_err_set(err, 401, "invalid_credentials",
		    "the email or password is wrong");
		goto out;
	}
	if (cfg.require_email_confirmation && u.email_confirmed_at == 0) {
		lx_err_set(err, 403, "email_not_confirmed",
		    "confirm the email address before signing in");
		goto out;
	}
	/* Upgrade a hash made with weaker parameters (outside the write
	 * lock: hashing is slow). */
	if (auth_password_needs_rehash(
	        cred.hash, cfg.argon2_memlimit_kib, cfg.argon2_opslimit)
	    && (hash = hash_new(password, &ignore)) == NULL)
		lx_log(LX_LOG_WARN, "auth: cannot rehash a password: %s",
		    ignore.detail);
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if ((hash != NULL
	        && auth_store_cred_update(c, u.id, hash,
	               cfg.argon2_memlimit_kib, cfg.argon2_opslimit, err)
	            == -1)
	    || auth_store_attempts_clear(c, norm, err) == -1
	    || (hash != NULL
	        && audit(c, cl, u.id, "auth.password.rehash", u.id, NULL, err)
	            == -1)
	    || lx_conn_commit(c, err) == -1) {
		lx_conn_rollback(c);
		goto out;
	}
	*out = u;
	ret = 0;
out:
	sodium_memzero(&cred, sizeof(cred));
	if (hash != NULL)
		sodium_free(hash);
	return (ret);
}

int
auth_session_issue(struct lx_conn *c, const struct auth_client *cl,
    const struct auth_user *u, const char *method, const char *aal,
    struct auth_tokens *out, struct lx_err *err)
{
	struct lx_buf amr, detail;
	char rid[AUTH_ID_SIZE], hash[65];
	int64_t now = lx_now_ms();
	int ret = -1;

	memset(out, 0, sizeof(*out));
	lx_buf_init(&amr);
	lx_buf_init(&detail);
	lx_buf_adds(&amr, "[{\"method\":");
	lx_buf_add_json_str(&amr, method);
	lx_buf_addf(&amr, ",\"timestamp\":%lld}]", (long long)(now / 1000));
	lx_buf_adds(&detail, "{\"method\":");
	lx_buf_add_json_str(&detail, method);
	lx_buf_addf(&detail, ",\"aal\":\"%s\",\"session_id\":", aal);
	auth_uuid(out->session_id);
	lx_buf_add_json_str(&detail, out->session_id);
	lx_buf_adds(&detail, "}");
	auth_uuid(rid);
	if ((policy.before_session != NULL
	        && policy.before_session(cl, u, method, aal, err) == -1)
	    || auth_keys_refresh(c, err) == -1
	    || new_refresh(out, hash, err) == -1)
		goto out;
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (auth_store_session_insert(c, out->session_id, u->id, aal, amr.data,
	        cl, now, now + cfg.refresh_ttl_s * 1000, err)
	        == -1
	    || auth_store_refresh_insert(c, rid, hash, out->session_id, u->id,
	           out->session_id, NULL, now, now + cfg.refresh_ttl_s * 1000,
	           err)
	        == -1
	    || auth_store_user_signed_in(c, u->id, now, err) == -1
	    || audit(c, cl, u->id, "auth.login", out->session_id, detail.data,
	           err)
	        == -1
	    || lx_conn_commit(c, err) == -1) {
		lx_conn_rollback(c);
		goto out;
	}
	out->user = *u;
	out->user.last_sign_in_at = now;
	if (mint_access(&out->user, out->session_id, aal, amr.data, out, err)
	    == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		auth_tokens_cleanup(out);
	lx_buf_cleanup(&amr);
	lx_buf_cleanup(&detail);
	return (ret);
}

int
auth_login(struct lx_conn *c, const struct auth_client *cl, const char *email,
    const char *password, struct auth_tokens *out, int64_t *retry_after_s,
    struct lx_err *err)
{
	struct auth_user u;
	int mfa = 0;

	memset(out, 0, sizeof(*out));
	if (auth_login_password(c, cl, email, password, &u, retry_after_s, err)
	    == -1)
		return (-1);
	/* A password alone never opens a session of a user with a second
	 * factor: such callers must go through auth_mfa_begin. */
	if (auth_mfa_active(c, u.id, &mfa, err) == -1)
		return (-1);
	if (mfa)
		return (lx_err_set(err, 403, "mfa_required",
		    "this account has a second factor: sign in with "
		    "POST /auth/login and POST /auth/login/mfa"));
	return (auth_session_issue(c, cl, &u, "password", "aal1", out, err));
}

/* --- refresh --- */

int
auth_refresh(struct lx_conn *c, const struct auth_client *cl,
    const char *refresh_token, struct auth_tokens *out, struct lx_err *err)
{
	struct auth_store_refresh r;
	struct auth_store_session s;
	struct auth_revoked rv;
	struct auth_cred cred;
	char hash[65], newhash[65], rid[AUTH_ID_SIZE], detail[160];
	int64_t now = lx_now_ms();
	int found = 0, changed = 0, reused = 0, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&rv, 0, sizeof(rv));
	auth_sha256_hex(refresh_token, hash);
	if (auth_keys_refresh(c, err) == -1)
		return (-1);
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (auth_store_refresh_get(c, hash, &r, &found, err) == -1)
		goto out;
	if (!found) {
		lx_err_set(err, 401, "invalid_refresh_token",
		    "the refresh token is not valid");
		goto out;
	}
	if (auth_store_session_get(c, r.session_id, &s, &found, err) == -1)
		goto out;
	if (!found || s.revoked) {
		lx_err_set(err, 401, "invalid_refresh_token",
		    "the refresh token is not valid");
		goto out;
	}
	if (r.spent) {
		/* Reuse: someone holds a copy. Revoke the family and its
		 * session; their access tokens fail from now on. */
		if (auth_store_sessions_revoke(c, r.user_id, r.session_id, NULL,
		        "refresh_token_reused", now, auth_revoked_collect, &rv,
		        err)
		        == -1
		    || auth_store_refresh_spend_family(c, r.family_id, now, err)
		        == -1)
			goto out;
		snprintf(detail, sizeof(detail),
		    "{\"session_id\":\"%s\",\"family_id\":\"%s\"}",
		    r.session_id, r.family_id);
		if (audit(c, cl, r.user_id, "auth.refresh.reuse", r.session_id,
		        detail, err)
		        == -1
		    || lx_conn_commit(c, err) == -1)
			goto out;
		auth_revoked_publish(&rv);
		reused = 1;
		lx_err_set(err, 401, "refresh_token_reused",
		    "the refresh token was already used; the session is "
		    "revoked");
		goto out;
	}
	if (s.not_after <= now || r.expires_at <= now) {
		lx_err_set(err, 401, "invalid_refresh_token",
		    "the refresh token is not valid");
		goto out;
	}
	if (auth_store_user_by_id(c, r.user_id, &out->user, &cred, &found, err)
	    == -1)
		goto out;
	sodium_memzero(&cred, sizeof(cred));
	if (!found) {
		lx_err_set(err, 401, "invalid_refresh_token",
		    "the refresh token is not valid");
		goto out;
	}
	if (auth_store_refresh_spend(c, r.id, now, &changed, err) == -1)
		goto out;
	if (!changed) {
		lx_err_set(err, 401, "invalid_refresh_token",
		    "the refresh token is not valid");
		goto out;
	}
	auth_uuid(rid);
	if (new_refresh(out, newhash, err) == -1
	    || auth_store_refresh_insert(c, rid, newhash, r.session_id,
	           r.user_id, r.family_id, r.id, now,
	           now + cfg.refresh_ttl_s * 1000, err)
	        == -1
	    || auth_store_session_refreshed(
	           c, r.session_id, now, now + cfg.refresh_ttl_s * 1000, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	snprintf(out->session_id, sizeof(out->session_id), "%s", r.session_id);
	if (mint_access(&out->user, r.session_id, s.aal, s.amr, out, err) == -1)
		goto out;
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	if (!reused)
		lx_free(rv.ids);
	if (ret == -1)
		auth_tokens_cleanup(out);
	return (ret);
}

/* --- logout, sessions, password change --- */

/* Revokes sessions of id's user in one transaction with an audit record;
 * sets *n to how many. */
static int
revoke(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *only, const char *except,
    const char *reason, const char *action, int *n, struct lx_err *err)
{
	struct auth_revoked rv;
	char detail[160];
	int count, ret = -1;

	memset(&rv, 0, sizeof(rv));
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if ((count = auth_store_sessions_revoke(c, id->user_id, only, except,
	         reason, lx_now_ms(), auth_revoked_collect, &rv, err))
	    == -1)
		goto out;
	*n = count;
	if (count == 0 && only != NULL) {
		lx_err_set(err, 404, "not_found", "no such session");
		goto out;
	}
	snprintf(detail, sizeof(detail),
	    "{\"reason\":\"%s\",\"sessions\":%d,\"session_id\":\"%s\"}", reason,
	    count, id->session_id);
	if (audit(c, cl, id->user_id, action, only ? only : id->user_id, detail,
	        err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	auth_revoked_publish(&rv);
	ret = 0;
out:
	if (ret == -1) {
		lx_conn_rollback(c);
		lx_free(rv.ids);
	}
	return (ret);
}

int
auth_logout(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, enum auth_scope scope, struct lx_err *err)
{
	int n = 0;

	switch (scope) {
	case AUTH_SCOPE_ALL:
		return (revoke(c, cl, id, NULL, NULL, "logout_all",
		    "auth.logout", &n, err));
	case AUTH_SCOPE_OTHERS:
		return (revoke(c, cl, id, NULL, id->session_id, "logout_others",
		    "auth.logout", &n, err));
	case AUTH_SCOPE_LOCAL:
		break;
	}
	if (revoke(c, cl, id, id->session_id, NULL, "logout", "auth.logout", &n,
	        err)
	    == -1) {
		/* Already revoked by a race: logging out twice is fine. */
		if (err != NULL && err->status == 404) {
			auth_revoke_add(id->session_id,
			    lx_now_ms() / 1000 + cfg.access_ttl_s);
			lx_err_clear(err);
			return (0);
		}
		return (-1);
	}
	return (0);
}

int
auth_sessions_list(struct lx_conn *c, const char *user_id,
    struct auth_session **out, int *n, struct lx_err *err)
{
	return (auth_store_sessions_list(c, user_id, lx_now_ms(), out, n, err));
}

int
auth_session_revoke(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *session_id, struct lx_err *err)
{
	int n = 0;

	return (revoke(c, cl, id, session_id, NULL, "revoked_by_user",
	    "auth.session.revoke", &n, err));
}

/*
 * Replaces the caller's password: checks current first when it is given
 * (the native route), otherwise refuses the current password as the new
 * one (GoTrue's PUT /user); applies the policy, revokes every other
 * session and audits, in one transaction.
 */
static int
password_replace(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *current, const char *new_password,
    unsigned *weak, struct lx_err *err)
{
	struct auth_user u;
	struct auth_cred cred;
	struct auth_revoked rv;
	char *hash = NULL, detail[160];
	unsigned w;
	int found = 0, n, ret = -1;

	memset(&rv, 0, sizeof(rv));
	memset(&cred, 0, sizeof(cred));
	if (weak != NULL)
		*weak = 0;
	if (auth_store_user_by_id(c, id->user_id, &u, &cred, &found, err) == -1)
		goto out;
	if (current != NULL
	    && (!found || !cred.has_password
	        || !auth_password_check(cred.hash, current))) {
		lx_err_set(err, 403, "invalid_credentials",
		    "the current password is wrong");
		goto out;
	}
	if (!found) {
		lx_err_set(err, 404, "not_found", "no such user");
		goto out;
	}
	if ((w = auth_password_policy(u.email, new_password)) != 0) {
		if (weak != NULL)
			*weak = w;
		lx_err_set(err, 422, "weak_password",
		    "the new password does not meet the policy");
		goto out;
	}
	if (current == NULL && cred.has_password
	    && auth_password_check(cred.hash, new_password)) {
		lx_err_set(err, 422, "same_password",
		    "the new password is the current one");
		goto out;
	}
	if ((hash = hash_new(new_password, err)) == NULL)
		goto out;
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (auth_store_cred_update(c, u.id, hash, cfg.argon2_memlimit_kib,
	        cfg.argon2_opslimit, err)
	        == -1
	    || (n = auth_store_sessions_revoke(c, u.id, NULL, id->session_id,
	            "password_change", lx_now_ms(), auth_revoked_collect, &rv,
	            err))
	        == -1)
		goto out;
	snprintf(detail, sizeof(detail),
	    "{\"sessions_revoked\":%d,\"session_id\":\"%s\","
	    "\"current_checked\":%s}",
	    n, id->session_id, current != NULL ? "true" : "false");
	if (audit(c, cl, u.id, "auth.password.change", u.id, detail, err) == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	auth_revoked_publish(&rv);
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	lx_free(rv.ids);
	sodium_memzero(&cred, sizeof(cred));
	if (hash != NULL)
		sodium_free(hash);
	return (ret);
}

int
auth_password_change(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *current, const char *new_password,
    unsigned *weak, struct lx_err *err)
{
	return (password_replace(c, cl, id, current, new_password, weak, err));
}

/* --- for the GoTrue-compatible surface (auth_gotrue.c) --- */

int
auth_password_set(struct lx_conn *c, const struct auth_client *cl,
    const struct lx_identity *id, const char *new_password, unsigned *weak,
    struct lx_err *err)
{
	return (password_replace(c, cl, id, NULL, new_password, weak, err));
}

int
auth_user_metadata(
    struct lx_conn *c, const char *user_id, char **out, struct lx_err *err)
{
	int found = 0;

	*out = NULL;
	if (auth_store_user_metadata(c, user_id, out, &found, err) == -1)
		return (-1);
	if (!found)
		return (lx_err_set(err, 404, "not_found", "no such user"));
	return (0);
}

int
auth_user_metadata_merge(struct lx_conn *c, const struct auth_client *cl,
    const char *user_id, const char *patch, struct lx_err *err)
{
	char *cur = NULL;
	int changed = 0, ret = -1;

	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (auth_user_metadata(c, user_id, &cur, err) == -1
	    || auth_store_user_metadata_merge(c, user_id, patch, lx_now_ms(),
	           AUTH_METADATA_MAX, &changed, err)
	        == -1)
		goto out;
	if (!changed) {
		lx_err_set(err, 422, "too_long",
		    "user_metadata would be longer than %d bytes",
		    AUTH_METADATA_MAX);
		goto out;
	}
	if (audit(c, cl, user_id, "auth.user.metadata", user_id, NULL, err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	lx_free(cur);
	return (ret);
}
