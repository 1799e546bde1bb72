/*
 * Unit tests for auth_jwt.c: signing and verifying EdDSA tokens, and every
 * way a token must be refused (alg none, HMAC with the public key as the
 * secret, a changed payload, wrong audience or issuer, expiry, unknown or
 * retired keys, garbage, oversize input), plus identity extraction.
 */
#include <cJSON.h>
#include <sodium.h>

#include "auth.h"
#include "lxtest.h"

#define NOW 1700000000LL

static unsigned char pk[32], sk[64];
static struct auth_jwk keys[1];

/* A payload with iss/aud/exp, extra members appended. */
static char *
payload(const char *iss, const char *aud, long long exp, const char *extra)
{
	return (lx_asprintf("{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"u1\","
	                    "\"sid\":\"s1\",\"session_id\":\"s1\","
	                    "\"email\":\"a@b.co\",\"role\":\"authenticated\","
	                    "\"exp\":%lld%s}",
	    iss, aud, exp, extra ? extra : ""));
}

static char *
sign(const char *p)
{
	char *tok = NULL;
	struct lx_err err;

	CHECK(auth_jwt_sign("k1", sk, p, &tok, &err) == 0);
	return (tok);
}

/* 0 if tok verifies now, else the HTTP status. */
static int
verify(const char *tok, size_t len)
{
	struct lx_err err;
	cJSON *claims = NULL;
	int rc;

	lx_err_clear(&err);
	rc = auth_jwt_verify(
	    tok, len, keys, 1, "luxima", "authenticated", NOW, &claims, &err);
	if (rc == 0) {
		CHECK(claims != NULL);
		cJSON_Delete(claims);
		return (0);
	}
	CHECK(claims == NULL);
	CHECK_STR(err.code, "invalid_token");
	return (err.status);
}

static int
verify_s(const char *tok)
{
	return (verify(tok, strlen(tok)));
}

/* Builds header.payload.signature from raw JSON parts and signature. */
static char *
forge(
    const char *hdr, const char *body, const unsigned char *sig, size_t siglen)
{
	struct lx_buf b;

	lx_buf_init(&b);
	auth_b64url_encode((const unsigned char *)hdr, strlen(hdr), &b);
	lx_buf_adds(&b, ".");
	auth_b64url_encode((const unsigned char *)body, strlen(body), &b);
	lx_buf_adds(&b, ".");
	if (sig != NULL)
		auth_b64url_encode(sig, siglen, &b);
	return (lx_buf_take(&b));
}

static void
test_roundtrip(void)
{
	struct lx_identity id;
	struct lx_err err;
	cJSON *claims = NULL;
	char *p, *tok;

	p = payload("luxima", "\"authenticated\"", NOW + 60,
	    ",\"app_metadata\":{\"platform_admin\":true},\"aal\":\"aal1\"");
	tok = sign(p);
	CHECK(strncmp(tok, "eyJ", 3) == 0);
	CHECK(auth_jwt_verify(tok, strlen(tok), keys, 1, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == 0);
	memset(&id, 0, sizeof(id));
	CHECK(auth_jwt_identity(claims, &id, &err) == 0);
	CHECK_STR(id.user_id, "u1");
	CHECK_STR(id.session_id, "s1");
	CHECK_STR(id.email, "a@b.co");
	CHECK_STR(id.aal, "aal1");
	CHECK(id.platform_admin == 1);
	CHECK(id.exp == NOW + 60);
	cJSON_Delete(claims);
	lx_free(tok);
	lx_free(p);
	/* aud as an array holding "authenticated" */
	p = payload("luxima", "[\"x\",\"authenticated\"]", NOW + 60, NULL);
	tok = sign(p);
	CHECK(verify_s(tok) == 0);
	lx_free(tok);
	lx_free(p);
}

static void
test_refused_claims(void)
{
	static const struct {
		const char *iss, *aud;
		long long exp;
		const char *extra;
	} bad[] = {
		{ "luxima", "\"anon\"", NOW + 60, NULL }, /* wrong aud */
		{ "luxima", "[\"anon\"]", NOW + 60, NULL },
		{ "luxima", "1", NOW + 60, NULL },
		{ "other", "\"authenticated\"", NOW + 60,
		    NULL }, /* wrong iss */
		{ "luxima", "\"authenticated\"", NOW, NULL }, /* expired */
		{ "luxima", "\"authenticated\"", NOW - 1, NULL },
		{ "luxima", "\"authenticated\"", NOW + 60,
		    ",\"nbf\":1800000000" }, /* not yet */
	};
	size_t i;
	char *p, *tok;

	for (i = 0; i < LX_NELEM(bad); i++) {
		p = payload(bad[i].iss, bad[i].aud, bad[i].exp, bad[i].extra);
		tok = sign(p);
		CHECK(verify_s(tok) == 401);
		lx_free(tok);
		lx_free(p);
	}
	/* No exp at all. */
	tok = sign("{\"iss\":\"luxima\",\"aud\":\"authenticated\"}");
	CHECK(verify_s(tok) == 401);
	lx_free(tok);
}

static void
test_refused_algorithms(void)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char *p, *tok, *dot;
	struct lx_buf si;

	p = payload("luxima", "\"authenticated\"", NOW + 60, NULL);
	/* alg none, with and without a signature */
	tok = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, 0);
	CHECK(verify_s(tok) == 401);
	lx_free(tok);
	tok = forge("{\"alg\":\"none\",\"kid\":\"k1\"}", p,
	    (const unsigned char *)"x", 1);
	CHECK(verify_s(tok) == 401);
	lx_free(tok);
	/* HS256 with the public key as the HMAC secret */
	tok = forge(
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", p, NULL, 0);
	lx_buf_init(&si);
	lx_buf_add(&si, tok, strlen(tok) - 1); /* without the last '.' */
	crypto_auth_hmacsha256(mac, (const unsigned char *)si.data, si.len, pk);
	lx_buf_adds(&si, ".");
	auth_b64url_encode(mac, sizeof(mac), &si);
	CHECK(verify(si.data, si.len) == 401);
	lx_buf_cleanup(&si);
	lx_free(tok);
	/* EdDSA header but an HMAC-sized signature */
	tok = forge("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", p, mac, sizeof(mac));
	CHECK(verify_s(tok) == 401);
	lx_free(tok);
	/* lower-case alg, unknown kid, no kid, crit */
	tok = forge("{\"alg\":\"eddsa\",\"kid\":\"k1\"}", p, NULL, 0);
	CHECK(verify_s(tok) == 401);
	lx_free(tok);
	lx_free(p);
	p = payload("luxima", "\"authenticated\"", NOW + 60, NULL);
	tok = sign(p);
	CHECK(verify_s(tok) == 0);
	dot = strchr(tok, '.');
	/* a changed payload keeps the old signature */
	{
		char *q =
		    payload("luxima", "\"authenticated\"", NOW + 6000, NULL);
		char *t2 = sign(q);
		char *d2 = strchr(t2, '.'), *s2 = strrchr(t2, '.');
		char *s1 = strrchr(tok, '.');
		struct lx_buf m;

		lx_buf_init(&m);
		lx_buf_add(&m, tok, (size_t)(dot - tok));
		lx_buf_add(&m, d2, (size_t)(s2 - d2));
		lx_buf_adds(&m, s1);
		CHECK(verify(m.data, m.len) == 401);
		lx_buf_cleanup(&m);
		lx_free(t2);
		lx_free(q);
	}
	/* a flipped signature bit */
	tok[strlen(tok) - 3] ^= 1;
	CHECK(verify_s(tok) == 401);
	lx_free(tok);
	lx_free(p);
}

static void
test_keys(void)
{
	struct auth_jwk other[2];
	struct lx_err err;
	cJSON *claims = NULL;
	char *p, *tok;

	p = payload("luxima", "\"authenticated\"", NOW + 60, NULL);
	tok = sign(p);
	/* unknown kid */
	memset(other, 0, sizeof(other));
	snprintf(other[0].kid, sizeof(other[0].kid), "k2");
	memcpy(other[0].pk, pk, 32);
	CHECK(auth_jwt_verify(tok, strlen(tok), other, 1, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == -1);
	/* right kid, wrong key */
	snprintf(other[0].kid, sizeof(other[0].kid), "k1");
	memset(other[0].pk, 7, 32);
	CHECK(auth_jwt_verify(tok, strlen(tok), other, 1, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == -1);
	/* a retired key (past not_after) */
	memcpy(other[0].pk, pk, 32);
	other[0].not_after = NOW - 1;
	CHECK(auth_jwt_verify(tok, strlen(tok), other, 1, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == -1);
	other[0].not_after = NOW + 1;
	CHECK(auth_jwt_verify(tok, strlen(tok), other, 1, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == 0);
	cJSON_Delete(claims);
	/* no keys at all */
	CHECK(auth_jwt_verify(tok, strlen(tok), NULL, 0, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == -1);
	lx_free(tok);
	lx_free(p);
}

static void
test_garbage(void)
{
	static const char *bad[] = { "", ".", "..", "...", "a.b.c", "abc",
		"eyJ.eyJ.", "eyJhbGciOiJFZERTQSJ9..", "a.b.c.d",
		"====.==.=", "e30.e30.", "bnVsbA.bnVsbA.AA", NULL };
	char *big;
	int i;

	for (i = 0; bad[i] != NULL; i++)
		CHECK(verify_s(bad[i]) == 401);
	/* A NUL inside the header */
	CHECK(verify("eyJhbGciOiJFZERTQSJ9\0.e30.AA", 27) == 401);
	/* Oversize: refused before any decoding. */
	big = lx_malloc(100 * 1024 + 1);
	memset(big, 'a', 100 * 1024);
	big[100 * 1024] = '\0';
	big[10] = big[20] = '.';
	CHECK(verify_s(big) == 401);
	lx_free(big);
}

static void
test_identity(void)
{
	struct lx_identity id;
	struct lx_err err;
	cJSON *c;

	c = cJSON_Parse("{\"sub\":\"u\",\"exp\":1e300}");
	CHECK(auth_jwt_identity(c, &id, &err) == -1); /* no session */
	cJSON_Delete(c);
	c = cJSON_Parse("{\"sub\":\"u\",\"sid\":\"s\",\"exp\":1e300,"
	                "\"app_metadata\":{\"platform_admin\":1}}");
	CHECK(auth_jwt_identity(c, &id, &err) == 0);
	CHECK_STR(id.session_id, "s");
	CHECK(id.platform_admin == 0); /* only true counts */
	CHECK(id.exp > 0);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"sub\":5,\"sid\":\"s\"}");
	CHECK(auth_jwt_identity(c, &id, &err) == -1);
	cJSON_Delete(c);
}

static void
test_b64url(void)
{
	unsigned char in[7] = { 0xfb, 0xff, 0x00, 1, 2, 3, 0xfe }, out[16];
	struct lx_buf b;
	size_t n;

	lx_buf_init(&b);
	auth_b64url_encode(in, sizeof(in), &b);
	CHECK(strchr(b.data, '=') == NULL && strchr(b.data, '+') == NULL
	    && strchr(b.data, '/') == NULL);
	CHECK(auth_b64url_decode(b.data, b.len, out, sizeof(out), &n) == 0);
	CHECK(n == sizeof(in) && memcmp(in, out, n) == 0);
	CHECK(auth_b64url_decode("a+b/", 4, out, sizeof(out), &n) == -1);
	CHECK(auth_b64url_decode("YQ==", 4, out, sizeof(out), &n) == -1);
	lx_buf_cleanup(&b);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	crypto_sign_keypair(pk, sk);
	snprintf(keys[0].kid, sizeof(keys[0].kid), "k1");
	memcpy(keys[0].pk, pk, 32);
	RUN(test_roundtrip);
	RUN(test_refused_claims);
	RUN(test_refused_algorithms);
	RUN(test_keys);
	RUN(test_garbage);
	RUN(test_identity);
	RUN(test_b64url);
	return (lxtest_done());
}
