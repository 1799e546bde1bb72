/*
 * Unit tests for auth_password.c and auth_revoke.c: email normalisation,
 * the password policy (length in characters, the common list, the email's
 * local part), Argon2id hashing, checking and rehash detection, and the
 * revoked-session set.
 */
#include <sodium.h>

#include "auth.h"
#include "lxtest.h"

static void
test_email(void)
{
	static const char *bad[] = { "", "a", "a@b", "@x.com", "a@", "a@@b.com",
		"a@b@c.com", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com",
		"a@x-.com", "a@x..com", "a b@x.com", "a@x.com.", "a@.x.com",
		"a@1.2", "a\"b@x.com", "a@x_y.com", "\xc3\xa9@x.com", NULL };
	char out[AUTH_EMAIL_MAX + 1], big[400];
	struct lx_err err;
	int i;

	CHECK(
	    auth_email_normalize(" Ann@Example.COM \t", out, sizeof(out), &err)
	    == 0);
	CHECK_STR(out, "ann@example.com");
	CHECK(auth_email_normalize(
	          "o'neil+tag@mail.example.co.uk", out, sizeof(out), &err)
	    == 0);
	CHECK_STR(out, "o'neil+tag@mail.example.co.uk");
	CHECK(auth_email_normalize(
	          "x@localhost.localdomain", out, sizeof(out), &err)
	    == 0);
	for (i = 0; bad[i] != NULL; i++) {
		lx_err_clear(&err);
		CHECK(
		    auth_email_normalize(bad[i], out, sizeof(out), &err) == -1);
		CHECK(err.status == 422);
		CHECK_STR(err.code, "invalid_email");
	}
	/* 254 bytes is the limit; 255 is over. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "aaaa@", 5);
	for (i = 5; i < 250; i += 50)
		big[i] = 'b', big[i + 49] = '.';
	memcpy(big + 250, "a.co", 4);
	big[254] = '\0';
	CHECK(auth_email_normalize(big, out, sizeof(out), &err) == 0);
	big[254] = 'x';
	big[255] = '\0';
	CHECK(auth_email_normalize(big, out, sizeof(out), &err) == -1);
	/* local part over 64 */
	memset(big, 'a', 65);
	snprintf(big + 65, 20, "@x.com");
	CHECK(auth_email_normalize(big, out, sizeof(out), &err) == -1);
}

static void
test_policy(void)
{
	CHECK(auth_password_policy("ann@x.com", "correct horse battery") == 0);
	CHECK(auth_password_policy("ann@x.com", "short") == AUTH_WEAK_SHORT);
	CHECK(auth_password_policy("ann@x.com", "123456789")
	    == (AUTH_WEAK_SHORT | AUTH_WEAK_COMMON));
	CHECK(auth_password_policy("ann@x.com", "password123")
	    == AUTH_WEAK_COMMON);
	CHECK(auth_password_policy("ann@x.com", "PassWord123")
	    == AUTH_WEAK_COMMON);
	CHECK(auth_password_policy("ann@x.com", "qwertyuiop")
	    == AUTH_WEAK_COMMON);
	CHECK(auth_password_policy("annsmith@x.com", "my-AnnSmith-pass")
	    == AUTH_WEAK_EMAIL);
	/* A local part under three characters is not a rule. */
	CHECK(auth_password_policy("al@x.com", "al-is-my-name-ok") == 0);
	CHECK(auth_password_policy("al@x.com", "al@x.com") != 0);
	/* Characters, not bytes: nine two-byte characters are too short. */
	CHECK(auth_password_policy(NULL,
	          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	          "\xc3\xa9\xc3\xa9")
	    == AUTH_WEAK_SHORT);
	CHECK(auth_password_common("iloveyou"));
	CHECK(!auth_password_common("unusual-phrase-42"));
	{
		struct lx_buf b;

		lx_buf_init(&b);
		auth_weak_json(AUTH_WEAK_SHORT | AUTH_WEAK_EMAIL, &b);
		CHECK_STR(b.data, "[\"too_short\",\"contains_email\"]");
		lx_buf_cleanup(&b);
	}
}

static void
test_hash(void)
{
	char h[crypto_pwhash_STRBYTES];
	struct lx_err err;
	const char *d1, *d2;

	CHECK(
	    auth_password_hash("correct horse battery", AUTH_ARGON2_MIN_MEM_KIB,
	        AUTH_ARGON2_MIN_OPS, h, sizeof(h), &err)
	    == 0);
	CHECK(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	CHECK(auth_password_check(h, "correct horse battery"));
	CHECK(!auth_password_check(h, "correct horse battery "));
	CHECK(!auth_password_check("", "x"));
	CHECK(!auth_password_check("$argon2i$garbage", "x"));
	CHECK(!auth_password_needs_rehash(
	    h, AUTH_ARGON2_MIN_MEM_KIB, AUTH_ARGON2_MIN_OPS));
	CHECK(auth_password_needs_rehash(h, 24576, AUTH_ARGON2_MIN_OPS));
	CHECK(auth_password_needs_rehash(h, AUTH_ARGON2_MIN_MEM_KIB, 3));
	d1 = auth_password_dummy(AUTH_ARGON2_MIN_MEM_KIB, AUTH_ARGON2_MIN_OPS);
	d2 = auth_password_dummy(AUTH_ARGON2_MIN_MEM_KIB, AUTH_ARGON2_MIN_OPS);
	CHECK(d1 == d2 && strncmp(d1, "$argon2id$", 10) == 0);
	CHECK(!auth_password_check(d1, ""));
}

static void
test_revoke(void)
{
	char id[AUTH_ID_SIZE];
	int i;

	auth_revoke_clear();
	CHECK(!auth_revoke_has("s1"));
	auth_revoke_add("s1", lx_now_ms() / 1000 + 60);
	CHECK(auth_revoke_has("s1"));
	CHECK(!auth_revoke_has("s2"));
	auth_revoke_add("s1", lx_now_ms() / 1000 + 60);
	CHECK(auth_revoke_count() == 1);
	for (i = 0; i < 1000; i++) {
		auth_uuid(id);
		auth_revoke_add(id, lx_now_ms() / 1000 + 60);
		CHECK(auth_revoke_has(id));
	}
	CHECK(auth_revoke_count() == 1001);
	CHECK(auth_revoke_has("s1"));
	/* Stale entries go when the table grows. */
	auth_revoke_clear();
	for (i = 0; i < 200; i++) {
		auth_uuid(id);
		auth_revoke_add(id, 1);
	}
	CHECK(auth_revoke_count() < 200);
	auth_revoke_clear();
	CHECK(auth_revoke_count() == 0);
	auth_uuid(id);
	CHECK(strlen(id) == 36 && id[14] == '4'
	    && strchr("89ab", id[19]) != NULL);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	RUN(test_email);
	RUN(test_policy);
	RUN(test_hash);
	RUN(test_revoke);
	return (lxtest_done());
}
