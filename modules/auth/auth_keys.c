/*
 * Signing keys, EdDSA (Ed25519) or ES256 (ECDSA P-256) as auth.signing_alg
 * says: the first is generated into the encrypted store on first start;
 * `luxima keys rotate` adds a new active key and leaves the old one
 * verifying until the tokens it signed have expired, after which
 * it is retired. The keys live in memory as an immutable snapshot behind
 * an atomic pointer, so verification reads them without a lock; a reload
 * publishes a new snapshot and keeps the old ones until auth_keys_free
 * (rotations are rare, a few hundred bytes each). The active private key
 * sits in sodium_malloc memory and is wiped when freed. Keys of both algs
 * verify side by side, so switching the setting and rotating keeps the
 * tokens of the old alg valid until they expire.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "auth.h"

#define MAX_KEYS 16 /* verifying keys kept in memory */
#define RECHECK_MS 5000 /* how often signing paths look for rotations */

struct keyset {
	struct keyset *older; /* earlier snapshots, freed at the end */
	int n; /* verifying keys */
	struct auth_jwk jwk[MAX_KEYS];
	char active_kid[AUTH_KID_SIZE]; /* "" if none */
	unsigned char *sk; /* active secret key (sodium_malloc), or NULL */
	enum auth_alg active_alg; /* the alg of sk */
	int64_t stamp; /* auth_store_keys_stamp when loaded */
};

static _Atomic(struct keyset *) current;
static pthread_mutex_t reload_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int64_t last_check_ms;

static void
keyset_free(struct keyset *ks)
{
	struct keyset *next;

	for (; ks != NULL; ks = next) {
		next = ks->older;
		if (ks->sk != NULL)
			sodium_free(ks->sk);
		lx_free(ks);
	}
}

/* Collects verifying keys (and the active secret) into a snapshot. */
static int
collect(const struct auth_key_info *k, const unsigned char *pk,
    const unsigned char *sk, void *arg)
{
	struct keyset *ks = arg;
	struct auth_jwk *j;

	if (strcmp(k->state, "retired") == 0 || ks->n == MAX_KEYS)
		return (0);
	j = &ks->jwk[ks->n++];
	snprintf(j->kid, sizeof(j->kid), "%s", k->kid);
	j->alg = k->alg;
	memcpy(j->pk, pk, auth_alg_pk_len(k->alg));
	j->not_after = k->retire_at > 0 ? k->retire_at / 1000 : 0;
	if (strcmp(k->state, "active") == 0 && sk != NULL && ks->sk == NULL) {
		ks->sk = sodium_malloc(AUTH_SK_MAX);
		if (ks->sk == NULL)
			return (-1);
		memcpy(ks->sk, sk, auth_alg_sk_len(k->alg));
		ks->active_alg = k->alg;
		snprintf(ks->active_kid, sizeof(ks->active_kid), "%s", k->kid);
	}
	return (0);
}

/* A new random key id: 16 bytes, base64url. */
static void
new_kid(char kid[AUTH_KID_SIZE])
{
	unsigned char raw[16];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(kid, AUTH_KID_SIZE, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Generates a key pair of alg and stores it as the active key (in c's
 * open transaction). */
static int
generate(struct lx_conn *c, enum auth_alg alg, char kid[AUTH_KID_SIZE],
    struct lx_err *err)
{
	unsigned char pk[AUTH_PK_MAX], *sk;
	int ret = -1;

	if ((sk = sodium_malloc(AUTH_SK_MAX)) == NULL)
		return (lx_err_set(err, 503, "out_of_memory",
		    "cannot allocate secure memory for a signing key"));
	if (auth_jwt_keypair(alg, pk, sk, err) == -1)
		goto out;
	new_kid(kid);
	if (auth_store_key_insert(c, kid, alg, pk, sk, lx_now_ms(), err) == -1)
		goto out;
	ret = 0;
out:
	sodium_free(sk);
	return (ret);
}

/* Reads the stored keys into a new snapshot and publishes it. */
static int
publish(struct lx_conn *c, struct lx_err *err)
{
	struct keyset *ks, *old;
	int ret = -1;

	ks = lx_calloc(1, sizeof(*ks));
	if (auth_store_keys_stamp(c, &ks->stamp, err) == -1
	    || auth_store_keys_each(c, collect, ks, err) == -1)
		goto out;
	if (ks->sk == NULL) {
		lx_err_set(err, 500, "no_signing_key",
		    "the store holds no active signing key");
		goto out;
	}
	pthread_mutex_lock(&reload_mu);
	old = atomic_load(&current);
	ks->older = old;
	atomic_store(&current, ks);
	pthread_mutex_unlock(&reload_mu);
	atomic_store(&last_check_ms, lx_now_ms());
	ks = NULL;
	ret = 0;
out:
	keyset_free(ks);
	return (ret);
}

int
auth_keys_load(struct lx_conn *c, struct lx_err *err)
{
	struct keyset probe;
	struct audit_entry ae;
	char kid[AUTH_KID_SIZE], detail[96];
	enum auth_alg want = auth_config()->signing_alg;
	int nretired = 0, ret = -1;

	memset(&probe, 0, sizeof(probe));
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (auth_store_keys_retire(c, lx_now_ms(), &nretired, err) == -1
	    || auth_store_keys_each(c, collect, &probe, err) == -1)
		goto out;
	if (probe.sk == NULL) {
		if (generate(c, want, kid, err) == -1)
			goto out;
		snprintf(detail, sizeof(detail),
		    "{\"kid\":\"%s\",\"alg\":\"%s\"}", kid,
		    auth_alg_name(want));
		memset(&ae, 0, sizeof(ae));
		ae.actor = "system";
		ae.action = "auth.keys.generate";
		ae.target = kid;
		ae.detail_json = detail;
		if (audit_record(c, &ae, err) == -1)
			goto out;
	} else if (probe.active_alg != want)
		lx_log(LX_LOG_WARN,
		    "auth: the active signing key %s is %s but "
		    "auth.signing_alg "
		    "is %s: run `luxima keys rotate` to sign with %s",
		    probe.active_kid, auth_alg_name(probe.active_alg),
		    auth_alg_name(want), auth_alg_name(want));
	if (lx_conn_commit(c, err) == -1)
		goto out;
	ret = publish(c, err);
out:
	if (probe.sk != NULL)
		sodium_free(probe.sk);
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	return (ret);
}

int
auth_keys_refresh(struct lx_conn *c, struct lx_err *err)
{
	struct keyset *ks = atomic_load(&current);
	int64_t now = lx_now_ms(), stamp;

	if (ks != NULL && now - atomic_load(&last_check_ms) < RECHECK_MS)
		return (0);
	atomic_store(&last_check_ms, now);
	if (auth_store_keys_stamp(c, &stamp, err) == -1)
		return (-1);
	if (ks != NULL && stamp == ks->stamp)
		return (0);
	return (publish(c, err));
}

int
auth_keys_rotate(struct lx_conn *c, int64_t retire_after_s,
    char kid[AUTH_KID_SIZE], struct lx_err *err)
{
	struct audit_entry ae;
	struct keyset *ks;
	char detail[192];
	enum auth_alg alg = auth_config()->signing_alg;
	int64_t now = lx_now_ms();
	int nretired = 0, ret = -1;

	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (auth_store_keys_retire(c, now, &nretired, err) == -1
	    || auth_store_keys_demote(c, now + retire_after_s * 1000, err) == -1
	    || generate(c, alg, kid, err) == -1)
		goto out;
	ks = atomic_load(&current);
	snprintf(detail, sizeof(detail),
	    "{\"kid\":\"%s\",\"alg\":\"%s\",\"previous\":\"%s\","
	    "\"retire_after_s\":%lld}",
	    kid, auth_alg_name(alg), ks != NULL ? ks->active_kid : "",
	    (long long)retire_after_s);
	memset(&ae, 0, sizeof(ae));
	ae.actor = "system";
	ae.action = "auth.keys.rotate";
	ae.target = kid;
	ae.detail_json = detail;
	if (audit_record(c, &ae, err) == -1)
		goto out;
	if (lx_conn_commit(c, err) == -1)
		goto out;
	ret = publish(c, err);
out:
	if (lx_conn_in_tx(c))
		lx_conn_rollback(c);
	return (ret);
}

/* Collects key metadata for auth_keys_list. */
struct listing {
	struct auth_key_info *v;
	int n, cap;
};

static int
list_one(const struct auth_key_info *k, const unsigned char *pk,
    const unsigned char *sk, void *arg)
{
	struct listing *l = arg;

	(void)pk;
	(void)sk;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = lx_realloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *k;
	return (0);
}

int
auth_keys_list(
    struct lx_conn *c, struct auth_key_info **out, int *n, struct lx_err *err)
{
	struct listing l;

	memset(&l, 0, sizeof(l));
	*out = NULL;
	*n = 0;
	if (auth_store_keys_each(c, list_one, &l, err) == -1) {
		lx_free(l.v);
		return (-1);
	}
	*out = l.v;
	*n = l.n;
	return (0);
}

int
auth_keys_sign(const char *payload_json, char **out, struct lx_err *err)
{
	struct keyset *ks = atomic_load(&current);

	*out = NULL;
	if (ks == NULL || ks->sk == NULL)
		return (lx_err_set(err, 500, "no_signing_key",
		    "the signing keys are not loaded"));
	return (auth_jwt_sign(
	    ks->active_kid, ks->active_alg, ks->sk, payload_json, out, err));
}

const struct auth_jwk *
auth_keys_verifiers(int *n)
{
	struct keyset *ks = atomic_load(&current);

	*n = ks != NULL ? ks->n : 0;
	return (ks != NULL ? ks->jwk : NULL);
}

void
auth_keys_jwks(struct lx_buf *b)
{
	const struct auth_jwk *k;
	int i, n, m = 0;
	int64_t now = lx_now_ms() / 1000;

	k = auth_keys_verifiers(&n);
	lx_buf_adds(b, "{\"keys\":[");
	for (i = 0; i < n; i++) {
		if (k[i].not_after != 0 && now > k[i].not_after)
			continue;
		if (k[i].alg == AUTH_ALG_ES256) {
			/* pk is 04||x||y */
			lx_buf_addf(b,
			    "%s{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"",
			    m++ ? "," : "");
			auth_b64url_encode(k[i].pk + 1, 32, b);
			lx_buf_adds(b, "\",\"y\":\"");
			auth_b64url_encode(k[i].pk + 33, 32, b);
		} else {
			lx_buf_addf(b,
			    "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"",
			    m++ ? "," : "");
			auth_b64url_encode(k[i].pk, 32, b);
		}
		lx_buf_addf(b,
		    "\",\"kid\":\"%s\",\"alg\":\"%s\",\"use\":\"sig\"}",
		    k[i].kid, auth_alg_name(k[i].alg));
	}
	lx_buf_adds(b, "]}");
}

void
auth_keys_free(void)
{
	struct keyset *ks;

	pthread_mutex_lock(&reload_mu);
	ks = atomic_exchange(&current, NULL);
	pthread_mutex_unlock(&reload_mu);
	keyset_free(ks);
}
