/*
 * Unit tests for auth_jwt.c: signing and verifying EdDSA and ES256 tokens,
 * and every way a token must be refused (alg none, HMAC with the public
 * key as the secret, an alg other than its kid's key, a changed payload,
 * a DER or wrong-length ES256 signature, wrong audience or issuer, expiry,
 * unknown or retired keys, garbage, oversize input), plus identity
 * extraction. An ES256 token made by Python's cryptography package is
 * verified as a known answer.
 */
#include <cJSON.h>
#include <sodium.h>

#include "auth.h"
#include "lxtest.h"

#define NOW 1700000000LL

static unsigned char pk[32], sk[64];
static struct auth_jwk keys[1];
/* The ES256 key "e1" and, in eskeys, it with the Ed25519 "k1". */
static unsigned char es_pk[AUTH_PK_MAX], *es_sk;
static struct auth_jwk eskeys[2];

/* A P-256 public key (04||x||y) and an ES256 token signed with its private
 * key by an independent implementation (Python cryptography 48: sign with
 * ECDSA(SHA256), DER signature converted to r||s), kid "kat", exp
 * 1900000000; KAT_DER is the same signature left as DER. */
static const unsigned char kat_pk[65] = { 0x04, 0x03, 0x3e, 0x8f, 0x41, 0x16,
	0xf9, 0xf7, 0x85, 0x14, 0xa8, 0x0c, 0xc3, 0x78, 0x08, 0x10, 0x5c, 0xd6,
	0xb4, 0xce, 0x5d, 0x03, 0x51, 0x72, 0x4a, 0xec, 0xad, 0xda, 0xf7, 0x4b,
	0x10, 0x6d, 0x6a, 0xbd, 0x27, 0xba, 0xa4, 0xc6, 0x0d, 0x7b, 0x78, 0x2b,
	0x72, 0xa3, 0x93, 0x32, 0xa9, 0x42, 0x57, 0x4e, 0x74, 0xe9, 0x5d, 0x82,
	0x69, 0xa0, 0xbf, 0x0a, 0xda, 0x0f, 0xa0, 0xef, 0xaa, 0xc0, 0xa4 };
#define KAT_SIGNED \
	"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImthdCJ9." \
	"eyJpc3MiOiJsdXhpbWEiLCJhdWQiOiJhdXRoZW50aWNhdGVkIiwic3ViIjoidS1rY" \
	"XQiLCJzaWQiOiJzLWthdCIsImVtYWlsIjoia2F0QGV4YW1wbGUuY29tIiwiZXhwIj" \
	"oxOTAwMDAwMDAwfQ"
#define KAT_RAW \
	"RktyI2R4MmF1d8J0oDYQ6hwAYydpQ2-RWbAHIQDU5sxDUA0IK0pW1ghSjwdzgCNM1" \
	"zznSeW3pOTH3n9UFjx1tg"
#define KAT_DER \
	"MEQCIEZLciNkeDJhdXfCdKA2EOocAGMnaUNvkVmwByEA1ObMAiBDUA0IK0pW1ghSjw" \
	"dzgCNM1zznSeW3pOTH3n9UFjx1tg"

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

	CHECK(auth_jwt_sign("k1", AUTH_ALG_EDDSA, sk, p, &tok, &err) == 0);
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

/* 0 if tok verifies now against ks[0..n), else the HTTP status. */
static int
verify_with(const char *tok, const struct auth_jwk *ks, int n)
{
	struct lx_err err;
	cJSON *claims = NULL;
	int rc;

	lx_err_clear(&err);
	rc = auth_jwt_verify(tok, strlen(tok), ks, n, "luxima", "authenticated",
	    NOW, &claims, &err);
	cJSON_Delete(claims);
	if (rc == 0)
		return (0);
	CHECK_STR(err.code, "invalid_token");
	return (err.status);
}

/* tok with its signature part replaced by the raw bytes sig. */
static char *
resign(const char *tok, const unsigned char *sig, size_t n)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_add(&b, tok, (size_t)(strrchr(tok, '.') - tok) + 1);
	auth_b64url_encode(sig, n, &b);
	return (lx_buf_take(&b));
}

static void
test_es256(void)
{
	unsigned char raw[80];
	struct lx_identity id;
	struct lx_err err;
	cJSON *claims = NULL, *hdr;
	char *p, *q, *tok, *t2, *bad, *s1;
	size_t n;

	p = payload("luxima", "\"authenticated\"", NOW + 60, NULL);
	CHECK(auth_jwt_sign("e1", AUTH_ALG_ES256, es_sk, p, &tok, &err) == 0);
	/* the header names ES256 and the kid */
	CHECK(auth_b64url_decode(
	          tok, (size_t)(strchr(tok, '.') - tok), raw, sizeof(raw), &n)
	    == 0);
	hdr = cJSON_ParseWithLength((const char *)raw, n);
	CHECK(hdr != NULL);
	CHECK_STR(cJSON_GetObjectItem(hdr, "alg")->valuestring, "ES256");
	CHECK_STR(cJSON_GetObjectItem(hdr, "kid")->valuestring, "e1");
	cJSON_Delete(hdr);
	/* a raw 64-byte r||s signature */
	s1 = strrchr(tok, '.') + 1;
	CHECK(auth_b64url_decode(s1, strlen(s1), raw, sizeof(raw), &n) == 0);
	CHECK(n == 64);
	CHECK(auth_jwt_verify(tok, strlen(tok), eskeys, 2, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == 0);
	CHECK(auth_jwt_identity(claims, &id, &err) == 0);
	CHECK_STR(id.user_id, "u1");
	cJSON_Delete(claims);
	CHECK(verify_with(tok, eskeys, 1) == 0);
	/* a tampered payload under the old signature */
	q = payload("luxima", "\"authenticated\"", NOW + 6000, NULL);
	CHECK(auth_jwt_sign("e1", AUTH_ALG_ES256, es_sk, q, &t2, &err) == 0);
	{
		struct lx_buf m;

		lx_buf_init(&m);
		lx_buf_add(&m, tok, (size_t)(strchr(tok, '.') - tok));
		lx_buf_add(&m, strchr(t2, '.'),
		    (size_t)(strrchr(t2, '.') - strchr(t2, '.')));
		lx_buf_adds(&m, strrchr(tok, '.'));
		CHECK(verify_with(m.data, eskeys, 2) == 401);
		lx_buf_cleanup(&m);
	}
	lx_free(t2);
	lx_free(q);
	/* wrong lengths: 63, 65, 0 bytes; and r or s zero, or all ones */
	bad = resign(tok, raw, 63);
	CHECK(verify_with(bad, eskeys, 2) == 401);
	lx_free(bad);
	raw[64] = 0;
	bad = resign(tok, raw, 65);
	CHECK(verify_with(bad, eskeys, 2) == 401);
	lx_free(bad);
	bad = resign(tok, raw, 0);
	CHECK(verify_with(bad, eskeys, 2) == 401);
	lx_free(bad);
	{
		unsigned char z[64];

		memcpy(z, raw, 64);
		memset(z, 0, 32);
		bad = resign(tok, z, 64);
		CHECK(verify_with(bad, eskeys, 2) == 401);
		lx_free(bad);
		memset(z, 0xff, 64);
		bad = resign(tok, z, 64);
		CHECK(verify_with(bad, eskeys, 2) == 401);
		lx_free(bad);
		/* a flipped bit in s */
		memcpy(z, raw, 64);
		z[40] ^= 1;
		bad = resign(tok, z, 64);
		CHECK(verify_with(bad, eskeys, 2) == 401);
		lx_free(bad);
	}
	/* an Ed25519 key cannot check an ES256 header, and back */
	{
		struct auth_jwk mixed = eskeys[0];

		mixed.alg = AUTH_ALG_EDDSA;
		CHECK(verify_with(tok, &mixed, 1) == 401);
	}
	lx_free(tok);
	/* alg/kid mismatch: ES256 header naming the Ed25519 kid "k1",
	 * signed with the ES256 key; and EdDSA header naming "e1" */
	tok = forge(
	    "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", p, NULL, 0);
	tok[strlen(tok) - 1] = '\0';
	{
		unsigned char sig[64];
		struct lx_buf m;
		char *t3 = NULL;

		/* sign the exact input with the ES256 key via a kid-k1
		 * token: take its signature over our own header */
		CHECK(auth_jwt_sign("k1", AUTH_ALG_ES256, es_sk, p, &t3, &err)
		    == 0);
		CHECK(verify_with(t3, eskeys, 2) == 401); /* k1 is EdDSA */
		s1 = strrchr(t3, '.') + 1;
		CHECK(auth_b64url_decode(s1, strlen(s1), sig, sizeof(sig), &n)
		    == 0);
		lx_buf_init(&m);
		lx_buf_adds(&m, tok);
		lx_buf_adds(&m, ".");
		auth_b64url_encode(sig, n, &m);
		CHECK(verify_with(m.data, eskeys, 2) == 401);
		lx_buf_cleanup(&m);
		lx_free(t3);
		t3 = NULL;
		CHECK(
		    auth_jwt_sign("e1", AUTH_ALG_EDDSA, sk, p, &t3, &err) == 0);
		CHECK(verify_with(t3, eskeys, 2) == 401); /* e1 is ES256 */
		lx_free(t3);
	}
	lx_free(tok);
	/* The Ed25519 key still verifies beside the ES256 one. */
	tok = sign(p);
	CHECK(verify_with(tok, eskeys, 2) == 0);
	lx_free(tok);
	lx_free(p);
}

static void
test_es256_known_answer(void)
{
	struct auth_jwk k;
	struct lx_identity id;
	struct lx_err err;
	cJSON *claims = NULL;
	const char *tok = KAT_SIGNED "." KAT_RAW;

	memset(&k, 0, sizeof(k));
	snprintf(k.kid, sizeof(k.kid), "kat");
	k.alg = AUTH_ALG_ES256;
	memcpy(k.pk, kat_pk, sizeof(kat_pk));
	CHECK(auth_jwt_verify(tok, strlen(tok), &k, 1, "luxima",
	          "authenticated", NOW, &claims, &err)
	    == 0);
	CHECK(auth_jwt_identity(claims, &id, &err) == 0);
	CHECK_STR(id.user_id, "u-kat");
	CHECK_STR(id.email, "kat@example.com");
	cJSON_Delete(claims);
	/* the same signature as DER (70 bytes) is refused */
	CHECK(verify_with(KAT_SIGNED "." KAT_DER, &k, 1) == 401);
	/* as is the right token under an EdDSA key of the same kid */
	k.alg = AUTH_ALG_EDDSA;
	CHECK(verify_with(tok, &k, 1) == 401);
	/* and under another P-256 key */
	k.alg = AUTH_ALG_ES256;
	memcpy(k.pk, es_pk, sizeof(k.pk));
	CHECK(verify_with(tok, &k, 1) == 401);
	/* a public key that is not on the curve */
	memcpy(k.pk, kat_pk, sizeof(kat_pk));
	k.pk[64] ^= 1;
	CHECK(verify_with(tok, &k, 1) == 401);
}

static void
test_alg_names(void)
{
	enum auth_alg a;

	CHECK(auth_alg_parse("EdDSA", &a) == 0 && a == AUTH_ALG_EDDSA);
	CHECK(auth_alg_parse("ES256", &a) == 0 && a == AUTH_ALG_ES256);
	CHECK(auth_alg_parse("es256", &a) == -1);
	CHECK(auth_alg_parse("RS256", &a) == -1);
	CHECK(auth_alg_parse("none", &a) == -1);
	CHECK_STR(auth_alg_name(AUTH_ALG_ES256), "ES256");
	CHECK(auth_alg_pk_len(AUTH_ALG_ES256) == 65);
	CHECK(auth_alg_sk_len(AUTH_ALG_ES256) == 32);
	CHECK(auth_alg_pk_len(AUTH_ALG_EDDSA) == 32);
	CHECK(auth_alg_sk_len(AUTH_ALG_EDDSA) == 64);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	crypto_sign_keypair(pk, sk);
	snprintf(keys[0].kid, sizeof(keys[0].kid), "k1");
	memcpy(keys[0].pk, pk, 32);
	es_sk = sodium_malloc(AUTH_SK_MAX);
	CHECK(es_sk != NULL);
	{
		struct lx_err err;

		CHECK(
		    auth_jwt_keypair(AUTH_ALG_ES256, es_pk, es_sk, &err) == 0);
	}
	CHECK(es_pk[0] == 0x04);
	snprintf(eskeys[0].kid, sizeof(eskeys[0].kid), "e1");
	eskeys[0].alg = AUTH_ALG_ES256;
	memcpy(eskeys[0].pk, es_pk, sizeof(es_pk));
	eskeys[1] = keys[0];
	RUN(test_roundtrip);
	RUN(test_refused_claims);
	RUN(test_refused_algorithms);
	RUN(test_keys);
	RUN(test_garbage);
	RUN(test_identity);
	RUN(test_b64url);
	RUN(test_es256);
	RUN(test_es256_known_answer);
	RUN(test_alg_names);
	sodium_free(es_sk);
	return (lxtest_done());
}
