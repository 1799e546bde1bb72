/*
 * JSON Web Tokens, compact form, EdDSA (Ed25519, libsodium) and ES256
 * (ECDSA P-256 with SHA-256, mbedTLS's mbedcrypto): key pairs, signing,
 * and a verifier that refuses everything it was not built for (alg
 * "none", HMAC, an alg other than its kid's key, unknown kids, oversize
 * input) before spending a signature check. ES256 signatures are JWS's
 * raw r||s, 32 big-endian bytes each; no DER is read or written. No
 * database, no civetweb: the fuzz target links this file alone.
 */
#include <string.h>

#include <cJSON.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <sodium.h>

#include "auth.h"

#define MAX_HEADER 512 /* decoded header bytes */
#define ES256_HALF 32 /* bytes of r, s, x, y and the scalar d */

const char *
auth_alg_name(enum auth_alg alg)
{
	return (alg == AUTH_ALG_ES256 ? "ES256" : "EdDSA");
}

int
auth_alg_parse(const char *name, enum auth_alg *alg)
{
	if (strcmp(name, "EdDSA") == 0)
		*alg = AUTH_ALG_EDDSA;
	else if (strcmp(name, "ES256") == 0)
		*alg = AUTH_ALG_ES256;
	else
		return (-1);
	return (0);
}

size_t
auth_alg_pk_len(enum auth_alg alg)
{
	return (alg == AUTH_ALG_ES256 ? 1 + 2 * ES256_HALF
	                              : crypto_sign_PUBLICKEYBYTES);
}

size_t
auth_alg_sk_len(enum auth_alg alg)
{
	return (
	    alg == AUTH_ALG_ES256 ? ES256_HALF : crypto_sign_SECRETKEYBYTES);
}

/* mbedTLS's random source: libsodium's. */
static int
es256_rng(void *ctx, unsigned char *out, size_t n)
{
	(void)ctx;
	randombytes_buf(out, n);
	return (0);
}

/* A P-256 key pair: the scalar into sk (32 bytes), the uncompressed point
 * into pk (65). */
static int
es256_keypair(unsigned char *pk, unsigned char *sk)
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi d;
	size_t olen = 0;
	int ret = -1;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&d);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0
	    || mbedtls_ecp_gen_keypair(&grp, &d, &q, es256_rng, NULL) != 0
	    || mbedtls_mpi_write_binary(&d, sk, ES256_HALF) != 0
	    || mbedtls_ecp_point_write_binary(&grp, &q,
	           MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pk, 1 + 2 * ES256_HALF)
	        != 0
	    || olen != 1 + 2 * ES256_HALF)
		goto out;
	ret = 0;
out:
	mbedtls_mpi_free(&d); /* wipes the limbs */
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return (ret);
}

int
auth_jwt_keypair(
    enum auth_alg alg, unsigned char *pk, unsigned char *sk, struct lx_err *err)
{
	if (alg == AUTH_ALG_EDDSA) {
		crypto_sign_keypair(pk, sk);
		return (0);
	}
	if (es256_keypair(pk, sk) == -1) {
		sodium_memzero(sk, ES256_HALF);
		return (lx_err_set(err, 503, "keygen_failed",
		    "cannot generate an ES256 signing key"));
	}
	return (0);
}

/* Signs the SHA-256 of msg with the P-256 scalar sk: r||s into sig (64
 * bytes), each fixed 32 bytes big-endian. Deterministic (RFC 6979), with
 * random blinding. */
static int
es256_sign(const unsigned char *sk, const unsigned char *msg, size_t n,
    unsigned char sig[2 * ES256_HALF])
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	mbedtls_ecp_group grp;
	mbedtls_mpi d, r, s;
	int ret = -1;

	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	crypto_hash_sha256(hash, msg, n);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0
	    || mbedtls_mpi_read_binary(&d, sk, ES256_HALF) != 0
	    || mbedtls_ecp_check_privkey(&grp, &d) != 0
	    || mbedtls_ecdsa_sign_det_ext(&grp, &r, &s, &d, hash, sizeof(hash),
	           MBEDTLS_MD_SHA256, es256_rng, NULL)
	        != 0
	    || mbedtls_mpi_write_binary(&r, sig, ES256_HALF) != 0
	    || mbedtls_mpi_write_binary(&s, sig + ES256_HALF, ES256_HALF) != 0)
		goto out;
	ret = 0;
out:
	mbedtls_mpi_free(&d);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	mbedtls_ecp_group_free(&grp);
	return (ret);
}

/* 0 if sig (exactly 64 bytes r||s) is a valid ES256 signature of msg
 * under the uncompressed P-256 point pk (65 bytes). */
static int
es256_verify(const unsigned char *pk, const unsigned char *msg, size_t n,
    const unsigned char *sig, size_t siglen)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	int ret = -1;

	if (siglen != 2 * ES256_HALF)
		return (-1);
	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	crypto_hash_sha256(hash, msg, n);
	/* mbedtls_ecdsa_verify refuses r or s outside 1..n-1. */
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0
	    || mbedtls_ecp_point_read_binary(&grp, &q, pk, 1 + 2 * ES256_HALF)
	        != 0
	    || mbedtls_ecp_check_pubkey(&grp, &q) != 0
	    || mbedtls_mpi_read_binary(&r, sig, ES256_HALF) != 0
	    || mbedtls_mpi_read_binary(&s, sig + ES256_HALF, ES256_HALF) != 0
	    || mbedtls_ecdsa_verify(&grp, hash, sizeof(hash), &q, &r, &s) != 0)
		goto out;
	ret = 0;
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return (ret);
}

void
auth_b64url_encode(const unsigned char *p, size_t n, struct lx_buf *b)
{
	size_t need = sodium_base64_ENCODED_LEN(
	    n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char small[512], *tmp;

	tmp = need <= sizeof(small) ? small : lx_malloc(need);
	sodium_bin2base64(
	    tmp, need, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	lx_buf_adds(b, tmp);
	if (tmp != small)
		lx_free(tmp);
}

int
auth_b64url_decode(
    const char *s, size_t len, unsigned char *out, size_t outsz, size_t *outlen)
{
	const char *end = NULL;

	if (sodium_base642bin(out, outsz, s, len, NULL, outlen, &end,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING)
	    != 0)
		return (-1);
	return (end == s + len ? 0 : -1);
}

int
auth_jwt_sign(const char *kid, enum auth_alg alg, const unsigned char *sk,
    const char *payload_json, char **out, struct lx_err *err)
{
	struct lx_buf b, h;
	unsigned char sig[crypto_sign_BYTES]; /* 64 for both algs */
	size_t siglen = crypto_sign_BYTES;
	int ret = -1;

	*out = NULL;
	lx_buf_init(&b);
	lx_buf_init(&h);
	lx_buf_addf(
	    &h, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":", auth_alg_name(alg));
	lx_buf_add_json_str(&h, kid);
	lx_buf_adds(&h, "}");
	auth_b64url_encode((const unsigned char *)h.data, h.len, &b);
	lx_buf_adds(&b, ".");
	auth_b64url_encode(
	    (const unsigned char *)payload_json, strlen(payload_json), &b);
	if (alg == AUTH_ALG_ES256) {
		siglen = 2 * ES256_HALF;
		if (es256_sign(sk, (const unsigned char *)b.data, b.len, sig)
		    == -1) {
			lx_err_set(err, 500, "sign_failed",
			    "cannot sign the token with the ES256 key");
			goto out;
		}
	} else
		crypto_sign_detached(
		    sig, NULL, (const unsigned char *)b.data, b.len, sk);
	lx_buf_adds(&b, ".");
	auth_b64url_encode(sig, siglen, &b);
	*out = lx_buf_take(&b);
	ret = 0;
out:
	lx_buf_cleanup(&h);
	lx_buf_cleanup(&b);
	return (ret);
}

/* Decodes one base64url part and parses it as a JSON object. */
static cJSON *
decode_json(const char *s, size_t len, size_t max)
{
	unsigned char *raw;
	size_t n;
	cJSON *j = NULL;

	if (len == 0 || len > max * 4 / 3 + 4)
		return (NULL);
	raw = lx_malloc(len + 1);
	if (auth_b64url_decode(s, len, raw, len, &n) == 0
	    && memchr(raw, '\0', n) == NULL) {
		raw[n] = '\0'; /* cJSON wants the NUL inside the length */
		j = cJSON_ParseWithLengthOpts(
		    (const char *)raw, n + 1, NULL, 1);
		if (j != NULL && !cJSON_IsObject(j)) {
			cJSON_Delete(j);
			j = NULL;
		}
	}
	lx_free(raw);
	return (j);
}

/* 1 if the aud claim is aud or an array holding it. */
static int
aud_ok(const cJSON *claim, const char *aud)
{
	const cJSON *e;

	if (cJSON_IsString(claim))
		return (strcmp(claim->valuestring, aud) == 0);
	if (!cJSON_IsArray(claim))
		return (0);
	cJSON_ArrayForEach(e, claim)
	{
		if (cJSON_IsString(e) && strcmp(e->valuestring, aud) == 0)
			return (1);
	}
	return (0);
}

int
auth_jwt_verify(const char *token, size_t len, const struct auth_jwk *keys,
    int nkeys, const char *iss, const char *aud, int64_t now_s,
    struct cJSON **claims, struct lx_err *err)
{
	const struct auth_jwk *key = NULL;
	const char *dot1, *dot2;
	const cJSON *alg, *kid, *typ, *exp, *nbf, *ci, *ca;
	unsigned char sig[crypto_sign_BYTES + 1]; /* one more: too long */
	cJSON *hdr = NULL, *body = NULL;
	enum auth_alg want = AUTH_ALG_EDDSA;
	size_t siglen, signed_len;
	int i, ret = -1;

	*claims = NULL;
	if (len > AUTH_TOKEN_MAX) {
		lx_err_set(err, 401, "invalid_token",
		    "the access token is longer than %d bytes", AUTH_TOKEN_MAX);
		goto out;
	}
	if (len == 0 || (dot1 = memchr(token, '.', len)) == NULL
	    || (dot2 = memchr(dot1 + 1, '.', len - (dot1 + 1 - token))) == NULL
	    || memchr(dot2 + 1, '.', len - (dot2 + 1 - token)) != NULL) {
		lx_err_set(err, 401, "invalid_token",
		    "the access token is not a compact JWT");
		goto out;
	}
	if ((hdr = decode_json(token, (size_t)(dot1 - token), MAX_HEADER))
	    == NULL) {
		lx_err_set(err, 401, "invalid_token",
		    "the token header is not base64url JSON");
		goto out;
	}
	alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	typ = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
	if (!cJSON_IsString(alg)
	    || auth_alg_parse(alg->valuestring, &want) == -1) {
		lx_err_set(err, 401, "invalid_token",
		    "the token algorithm must be EdDSA or ES256");
		goto out;
	}
	if (typ != NULL
	    && (!cJSON_IsString(typ) || strcmp(typ->valuestring, "JWT") != 0)) {
		lx_err_set(
		    err, 401, "invalid_token", "the token type is not JWT");
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL) {
		lx_err_set(err, 401, "invalid_token",
		    "the token has critical header parameters");
		goto out;
	}
	if (cJSON_IsString(kid))
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i].kid, kid->valuestring) == 0) {
				key = &keys[i];
				break;
			}
	if (key == NULL || (key->not_after != 0 && now_s > key->not_after)) {
		lx_err_set(err, 401, "invalid_token",
		    "the token was not signed by a current key");
		goto out;
	}
	/* The key decides the algorithm; the header only has to agree. */
	if (key->alg != want) {
		lx_err_set(err, 401, "invalid_token",
		    "the token algorithm is not its key's");
		goto out;
	}
	signed_len = (size_t)(dot2 - token);
	if (auth_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig,
	        sizeof(sig), &siglen)
	        == -1
	    || (key->alg == AUTH_ALG_ES256
	            ? es256_verify(key->pk, (const unsigned char *)token,
	                  signed_len, sig, siglen)
	                != 0
	            : siglen != crypto_sign_BYTES
	                || crypto_sign_verify_detached(sig,
	                       (const unsigned char *)token, signed_len,
	                       key->pk)
	                    != 0)) {
		lx_err_set(err, 401, "invalid_token",
		    "the token signature does not verify");
		goto out;
	}
	if ((body = decode_json(
	         dot1 + 1, (size_t)(dot2 - dot1 - 1), AUTH_TOKEN_MAX))
	    == NULL) {
		lx_err_set(err, 401, "invalid_token",
		    "the token payload is not a JSON object");
		goto out;
	}
	exp = cJSON_GetObjectItemCaseSensitive(body, "exp");
	nbf = cJSON_GetObjectItemCaseSensitive(body, "nbf");
	ci = cJSON_GetObjectItemCaseSensitive(body, "iss");
	ca = cJSON_GetObjectItemCaseSensitive(body, "aud");
	if (!cJSON_IsNumber(exp) || exp->valuedouble <= (double)now_s) {
		lx_err_set(err, 401, "invalid_token", "the token has expired");
		goto out;
	}
	if (nbf != NULL
	    && (!cJSON_IsNumber(nbf) || nbf->valuedouble > (double)now_s)) {
		lx_err_set(
		    err, 401, "invalid_token", "the token is not valid yet");
		goto out;
	}
	if (!cJSON_IsString(ci) || strcmp(ci->valuestring, iss) != 0) {
		lx_err_set(
		    err, 401, "invalid_token", "the token issuer is wrong");
		goto out;
	}
	if (!aud_ok(ca, aud)) {
		lx_err_set(
		    err, 401, "invalid_token", "the token audience is wrong");
		goto out;
	}
	*claims = body;
	body = NULL;
	ret = 0;
out:
	cJSON_Delete(hdr);
	cJSON_Delete(body);
	return (ret);
}

/* Copies string member name of o into out (size n); 0 if present. */
static int
copy_str(const cJSON *o, const char *name, char *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return (-1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return (0);
}

int
auth_jwt_identity(
    const struct cJSON *claims, struct lx_identity *out, struct lx_err *err)
{
	const cJSON *exp, *am, *pa;

	out->platform_admin = 0;
	out->email[0] = out->role[0] = out->aal[0] = '\0';
	if (copy_str(claims, "sub", out->user_id, sizeof(out->user_id)) == -1
	    || (copy_str(claims, "session_id", out->session_id,
	            sizeof(out->session_id))
	            == -1
	        && copy_str(
	               claims, "sid", out->session_id, sizeof(out->session_id))
	            == -1))
		return (lx_err_set(err, 401, "invalid_token",
		    "the token names no user or session"));
	(void)copy_str(claims, "email", out->email, sizeof(out->email));
	(void)copy_str(claims, "role", out->role, sizeof(out->role));
	(void)copy_str(claims, "aal", out->aal, sizeof(out->aal));
	exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	out->exp = 0;
	if (cJSON_IsNumber(exp) && exp->valuedouble > 0)
		out->exp = exp->valuedouble < 1e15 ? (int64_t)exp->valuedouble
		                                   : (int64_t)1e15;
	am = cJSON_GetObjectItemCaseSensitive(claims, "app_metadata");
	pa = cJSON_IsObject(am)
	    ? cJSON_GetObjectItemCaseSensitive(am, "platform_admin")
	    : NULL;
	out->platform_admin = cJSON_IsTrue(pa);
	return (0);
}
