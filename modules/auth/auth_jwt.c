/*
 * JSON Web Tokens, compact form, EdDSA (Ed25519) only: signing, and a
 * verifier that refuses everything it was not built for (alg "none",
 * HMAC, unknown kids, oversize input) before spending a signature check.
 * No database, no civetweb: the fuzz target links this file alone.
 */
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "auth.h"

#define MAX_HEADER 512 /* decoded header bytes */

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
auth_jwt_sign(const char *kid, const unsigned char *sk,
    const char *payload_json, char **out, struct lx_err *err)
{
	struct lx_buf b, h;
	unsigned char sig[crypto_sign_BYTES];

	(void)err;
	lx_buf_init(&b);
	lx_buf_init(&h);
	lx_buf_adds(&h, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":");
	lx_buf_add_json_str(&h, kid);
	lx_buf_adds(&h, "}");
	auth_b64url_encode((const unsigned char *)h.data, h.len, &b);
	lx_buf_adds(&b, ".");
	auth_b64url_encode(
	    (const unsigned char *)payload_json, strlen(payload_json), &b);
	crypto_sign_detached(
	    sig, NULL, (const unsigned char *)b.data, b.len, sk);
	lx_buf_adds(&b, ".");
	auth_b64url_encode(sig, sizeof(sig), &b);
	lx_buf_cleanup(&h);
	*out = lx_buf_take(&b);
	return (0);
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
	unsigned char sig[crypto_sign_BYTES + 1];
	cJSON *hdr = NULL, *body = NULL;
	size_t siglen;
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
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "EdDSA") != 0) {
		lx_err_set(err, 401, "invalid_token",
		    "the token algorithm must be EdDSA");
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
	if (auth_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig,
	        sizeof(sig), &siglen)
	        == -1
	    || siglen != crypto_sign_BYTES
	    || crypto_sign_verify_detached(sig, (const unsigned char *)token,
	           (size_t)(dot2 - token), key->pk)
	        != 0) {
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
