/*
 * Unit tests for the TOTP helpers of auth_mfa.c: HOTP against RFC 4226
 * Appendix D, TOTP against RFC 6238 Appendix B (SHA-1, secret
 * "12345678901234567890", 8 digits), base32 against RFC 4648 section 10,
 * and auth_totp_check's window and replay rule.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "lxtest.h"

static const unsigned char key[] = "12345678901234567890";
#define KEYLEN 20

static void
test_hotp_rfc4226(void)
{
	static const uint32_t want[] = { 755224, 287082, 359152, 969429, 338314,
		254676, 287922, 162583, 399871, 520489 };
	struct lx_err err;
	uint32_t code;
	size_t i;

	for (i = 0; i < LX_NELEM(want); i++) {
		CHECK(auth_hotp(key, KEYLEN, i, 6, &code, &err) == 0);
		CHECK(code == want[i]);
	}
	CHECK(auth_hotp(key, KEYLEN, 0, 5, &code, &err) == -1);
}

static void
test_totp_rfc6238(void)
{
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {
		{ 59, 94287082 },
		{ 1111111109, 7081804 },
		{ 1111111111, 14050471 },
		{ 1234567890, 89005924 },
		{ 2000000000, 69279037 },
		{ 20000000000LL, 65353130 },
	};
	struct lx_err err;
	uint32_t code;
	size_t i;

	for (i = 0; i < LX_NELEM(v); i++) {
		CHECK(auth_hotp(
		          key, KEYLEN, (uint64_t)(v[i].t / 30), 8, &code, &err)
		    == 0);
		CHECK(code == v[i].code);
	}
}

static void
test_totp_check(void)
{
	int64_t step = 0, t = 1111111111; /* step 37037037 */
	char code[8];
	uint32_t v;

	/* The 6-digit code of t's step. */
	CHECK(auth_hotp(key, KEYLEN, (uint64_t)(t / 30), 6, &v, NULL) == 0);
	snprintf(code, sizeof(code), "%06u", (unsigned)v);
	CHECK(auth_totp_check(key, KEYLEN, code, t, -1, &step) == 1);
	CHECK(step == t / 30);
	/* One step either side is accepted, two are not. */
	CHECK(auth_totp_check(key, KEYLEN, code, t + 30, -1, &step) == 1);
	CHECK(auth_totp_check(key, KEYLEN, code, t - 30, -1, &step) == 1);
	CHECK(auth_totp_check(key, KEYLEN, code, t + 60, -1, &step) == 0);
	CHECK(auth_totp_check(key, KEYLEN, code, t - 60, -1, &step) == 0);
	/* Each step once: a step at or before last_step is refused. */
	CHECK(auth_totp_check(key, KEYLEN, code, t, t / 30, &step) == 0);
	CHECK(auth_totp_check(key, KEYLEN, code, t, t / 30 - 1, &step) == 1);
	/* Malformed codes. */
	CHECK(auth_totp_check(key, KEYLEN, "12345", t, -1, &step) == 0);
	CHECK(auth_totp_check(key, KEYLEN, "1234567", t, -1, &step) == 0);
	CHECK(auth_totp_check(key, KEYLEN, "12a456", t, -1, &step) == 0);
	CHECK(auth_totp_check(key, KEYLEN, NULL, t, -1, &step) == 0);
	/* The RFC 6238 vector at t = 59, last six digits. */
	CHECK(auth_totp_check(key, KEYLEN, "287082", 59, -1, &step) == 1);
	CHECK(step == 1);
}

static void
test_base32(void)
{
	static const char *in[] = { "", "f", "fo", "foo", "foob", "fooba",
		"foobar" };
	static const char *out[] = { "", "MY", "MZXQ", "MZXW6", "MZXW6YQ",
		"MZXW6YTB", "MZXW6YTBOI" };
	unsigned char dec[32];
	char enc[64];
	size_t i, n;

	for (i = 0; i < LX_NELEM(in); i++) {
		CHECK(auth_base32_encode((const unsigned char *)in[i],
		          strlen(in[i]), enc, sizeof(enc))
		    == 0);
		CHECK_STR(enc, out[i]);
		CHECK(auth_base32_decode(out[i], dec, sizeof(dec), &n) == 0);
		CHECK(n == strlen(in[i]) && memcmp(dec, in[i], n) == 0);
	}
	CHECK(auth_base32_encode(key, KEYLEN, enc, sizeof(enc)) == 0);
	CHECK_STR(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	/* Padding, spaces and lower case are accepted on input. */
	CHECK(auth_base32_decode("mzxw 6yq=", dec, sizeof(dec), &n) == 0);
	CHECK(n == 4 && memcmp(dec, "foob", 4) == 0);
	CHECK(auth_base32_decode("MZ1Q", dec, sizeof(dec), &n) == -1);
	CHECK(auth_base32_decode("MZXW6YTBOI", dec, 3, &n) == -1);
	CHECK(auth_base32_encode(key, KEYLEN, enc, 32) == -1);
}

int
main(void)
{
	RUN(test_hotp_rfc4226);
	RUN(test_totp_rfc6238);
	RUN(test_totp_check);
	RUN(test_base32);
	return (lxtest_done());
}
