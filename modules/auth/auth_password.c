/*
 * Passwords and emails: Argon2id hashing through libsodium (parameters
 * from the settings, never below OWASP's floor), the password policy
 * (length, a compiled-in list of the most common passwords, not built from
 * the email) and email normalisation. No SQL, no HTTP.
 */
#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth.h"

/* The most common passwords (public breach corpora), lower-case; compared
 * case-insensitively. Most are shorter than the minimum length anyway. */
static const char *const common_passwords[] = {
	"000000",
	"0000000000",
	"0123456789",
	"1111",
	"111111",
	"11111111",
	"1111111111",
	"112233",
	"11223344",
	"1122334455",
	"121212",
	"1212121212",
	"123123",
	"123123123",
	"123321",
	"123321123",
	"1234",
	"12341234",
	"12344321",
	"12345",
	"123454321",
	"1234554321",
	"123456",
	"1234567",
	"12345678",
	"123456789",
	"1234567890",
	"1234567891",
	"12345678910",
	"123456789a",
	"123456789q",
	"123qwe",
	"131313",
	"147258369",
	"159357456",
	"159753",
	"1q2w3e",
	"1q2w3e4r",
	"1q2w3e4r5t",
	"1q2w3e4r5t6y",
	"1q2w3e4r5t6y7u",
	"1qa2ws3ed",
	"1qaz2wsx",
	"1qaz2wsx3edc",
	"1qaz2wsx3edc4rfv",
	"1qazxsw2",
	"2000",
	"555555",
	"654321",
	"666666",
	"696969",
	"777777",
	"7777777",
	"987654321",
	"9876543210",
	"a1b2c3d4",
	"a1b2c3d4e5",
	"aa123456",
	"aaaaaa",
	"aaaaaaaaaa",
	"abc123",
	"abc12345",
	"abcd1234",
	"abcdef",
	"abcdefg",
	"abcdefg123",
	"abcdefgh",
	"abcdefghij",
	"access",
	"admin",
	"admin123",
	"admin1234",
	"administrator",
	"administrator1",
	"amanda",
	"america",
	"america1",
	"andrew",
	"andrew123",
	"angel",
	"angel1",
	"angel123",
	"angels",
	"apple123",
	"arsenal",
	"arsenal123",
	"asd123",
	"asdasd",
	"asdasd123",
	"asdf1234",
	"asdfgh",
	"asdfghjkl",
	"asdfghjkl123",
	"ashley",
	"ashley123",
	"august",
	"austin",
	"autumn",
	"avengers",
	"baby",
	"babyboy",
	"babygirl",
	"banana",
	"barcelona",
	"baseball",
	"baseball1",
	"baseball123",
	"batman",
	"batman123",
	"biteme",
	"blessed",
	"blessing",
	"brother",
	"buster",
	"butterfly",
	"captain",
	"changeme",
	"changeme123",
	"charlie",
	"charlie1",
	"charlie123",
	"cheese",
	"cheese1",
	"chelsea",
	"chelsea1",
	"chocolate",
	"cisco123",
	"coffee",
	"coffee123",
	"computer",
	"computer1",
	"computer123",
	"contraseña",
	"cookie",
	"cookies",
	"dallas",
	"daniel",
	"daniel123",
	"darling",
	"database",
	"database1",
	"debian",
	"december",
	"default",
	"dragon",
	"dragon123",
	"dragonball",
	"facebook",
	"facebook1",
	"faith",
	"family",
	"family1",
	"father",
	"february",
	"firewall",
	"flower",
	"flowers",
	"football",
	"football1",
	"football123",
	"fortnite",
	"freedom",
	"freedom1",
	"freedom123",
	"friday",
	"friend",
	"friends",
	"frodo",
	"gandalf",
	"george",
	"ginger",
	"goku",
	"goodbye",
	"goodluck",
	"google",
	"google123",
	"grace",
	"guest",
	"harley",
	"harrypotter",
	"haslo",
	"heaven",
	"hello",
	"hello1",
	"hello123",
	"hellokitty",
	"helloworld",
	"hockey",
	"hogwarts",
	"holiday",
	"honey",
	"hunter",
	"hunter123",
	"hunter2",
	"ilovegod",
	"iloveu",
	"iloveyou",
	"iloveyou!",
	"iloveyou1",
	"iloveyou123",
	"iloveyou2",
	"instagram",
	"internet",
	"internet1",
	"iphone",
	"ironman",
	"january",
	"jennifer",
	"jennifer1",
	"jessica",
	"jessica1",
	"jesus",
	"jesus1",
	"jesus123",
	"jesuschrist",
	"jordan",
	"jordan123",
	"jordan23",
	"joshua",
	"juventus",
	"killer",
	"klaster",
	"letmein",
	"letmein1",
	"letmein123",
	"liberty",
	"linkedin",
	"linux123",
	"liverpool",
	"liverpool1",
	"love",
	"lovelove",
	"lovely",
	"loveme",
	"lover",
	"lovers",
	"loveyou123",
	"maggie",
	"manchester",
	"manutd",
	"marvel1",
	"master",
	"master123",
	"matrix",
	"matrix123",
	"matthew",
	"messi10",
	"michael",
	"michael1",
	"michael123",
	"michelle",
	"microsoft",
	"minecraft",
	"minecraft123",
	"mobilemail",
	"mom",
	"monday",
	"monitor",
	"monitoring",
	"monkey",
	"monkey123",
	"montana",
	"moon",
	"moscow",
	"motdepasse",
	"mother",
	"mustang",
	"mypassword",
	"mypassword1",
	"mysecret",
	"mysql",
	"naruto",
	"naruto123",
	"network",
	"network1",
	"nicole",
	"nicole123",
	"nothing",
	"november",
	"october",
	"onepiece",
	"oracle",
	"orange",
	"p@ssw0rd",
	"p@ssword",
	"pa55word",
	"paradise",
	"parola",
	"pass",
	"passpass",
	"passw0rd",
	"password",
	"password1",
	"password12",
	"password123",
	"password1234",
	"password12345",
	"passwort",
	"passwort1",
	"pepper",
	"pepper1",
	"pikachu",
	"pizza",
	"pizza123",
	"pokemon",
	"pokemon123",
	"postgres",
	"princess",
	"princess1",
	"princess123",
	"purple",
	"q1w2e3r4",
	"q1w2e3r4t5",
	"q1w2e3r4t5y6",
	"qazwsx",
	"qazwsxedc",
	"qazwsxedcrfv",
	"qwe123",
	"qwe123qwe",
	"qweasd",
	"qweasdzxc",
	"qweqwe",
	"qwer1234",
	"qwerty",
	"qwerty123",
	"qwerty1234",
	"qwerty12345",
	"qwerty123456",
	"qwertyu",
	"qwertyui",
	"qwertyuiop",
	"qwertyuiop123",
	"rainbow",
	"ranger",
	"realmadrid",
	"robert",
	"roblox",
	"roblox123",
	"ronaldo",
	"ronaldo7",
	"root",
	"router",
	"salasana",
	"samsung",
	"samsung123",
	"sasuke",
	"secret",
	"secret123",
	"security",
	"security1",
	"senha",
	"senha123",
	"september",
	"server",
	"server123",
	"shadow",
	"shadow123",
	"sister",
	"soccer",
	"spiderman",
	"spring",
	"starwars",
	"starwars1",
	"starwars123",
	"summer",
	"summer1",
	"summer123",
	"sunday",
	"sunflower",
	"sunshine",
	"sunshine1",
	"sunshine123",
	"superman",
	"superman123",
	"supersecret",
	"sweetheart",
	"sweety",
	"system",
	"system123",
	"taylor",
	"test",
	"test123",
	"test1234",
	"testing",
	"testing123",
	"thomas",
	"thunder",
	"tigger",
	"toor",
	"trinity",
	"trustme",
	"trustno1",
	"trustno1!",
	"twitter",
	"ubuntu",
	"vacation",
	"wachtwoord",
	"welcome",
	"welcome1",
	"welcome123",
	"welcome1234",
	"whatever",
	"whatever1",
	"wifi123",
	"windows",
	"windows10",
	"winter",
	"winter123",
	"wireless",
	"yankees",
	"yellow",
	"youtube",
	"zaq12wsx",
	"zaq12wsxcde3",
	"zaq1zaq1",
	"zxc123",
	"zxcv1234",
	"zxcvbn",
	"zxcvbnm",
	"zxcvbnm123",
	"zxczxc",
};

static pthread_mutex_t dummy_mu = PTHREAD_MUTEX_INITIALIZER;
static char dummy_hash[crypto_pwhash_STRBYTES];
static uint64_t dummy_mem, dummy_ops;

/* 1 if c may appear in the local part of an address we accept. */
static int
local_char(unsigned char c)
{
	return (isalnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~.-", c)));
}

/* 1 if s[0..n) is a domain: two or more labels of [a-z0-9-], each 1-63
 * long, not starting or ending with '-'; the last not all digits. */
static int
domain_ok(const char *s, size_t n)
{
	size_t i, start = 0, labels = 0;
	int digits = 1;

	if (n == 0 || n > 253)
		return (0);
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (i == start || i - start > 63 || s[start] == '-'
			    || s[i - 1] == '-')
				return (0);
			labels++;
			if (i < n)
				digits = 1;
			start = i + 1;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return (0);
		if (!isdigit((unsigned char)s[i]))
			digits = 0;
	}
	return (labels >= 2 && !digits);
}

int
auth_email_normalize(
    const char *in, char *out, size_t outsz, struct lx_err *err)
{
	const char *s, *e, *at;
	size_t n, i, local;

	if (in == NULL)
		goto bad;
	for (s = in; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'; s++)
		;
	e = s + strlen(s);
	while (e > s
	    && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'
	        || e[-1] == '\n'))
		e--;
	n = (size_t)(e - s);
	if (n < 3 || n > AUTH_EMAIL_MAX || n + 1 > outsz)
		goto bad;
	if ((at = memchr(s, '@', n)) == NULL || memchr(at + 1, '@', e - at - 1))
		goto bad;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
		goto bad;
	for (i = 0; i < local; i++)
		if (!local_char((unsigned char)s[i])
		    || (s[i] == '.' && s[i + 1] == '.'))
			goto bad;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	if (!domain_ok(out + local + 1, n - local - 1))
		goto bad;
	return (0);
bad:
	if (outsz > 0)
		out[0] = '\0';
	return (lx_err_set(err, 422, "invalid_email",
	    "email must be an address like name@example.com, at most %d "
	    "bytes",
	    AUTH_EMAIL_MAX));
}

int
auth_password_common(const char *password)
{
	size_t i;

	for (i = 0; i < LX_NELEM(common_passwords); i++)
		if (strcasecmp(common_passwords[i], password) == 0)
			return (1);
	return (0);
}

/* 1 if hay contains needle, ASCII case-insensitively. */
static int
contains_ci(const char *hay, const char *needle, size_t nlen)
{
	size_t i, hlen = strlen(hay);

	for (i = 0; nlen > 0 && i + nlen <= hlen; i++)
		if (strncasecmp(hay + i, needle, nlen) == 0)
			return (1);
	return (0);
}

unsigned
auth_password_policy(const char *email, const char *password)
{
	const char *at;
	size_t i, chars = 0, len;
	unsigned weak = 0;

	len = strlen(password);
	for (i = 0; i < len; i++)
		if (((unsigned char)password[i] & 0xc0) != 0x80)
			chars++; /* UTF-8: count characters, not bytes */
	if (chars < AUTH_PASSWORD_MIN)
		weak |= AUTH_WEAK_SHORT;
	if (len > AUTH_PASSWORD_MAX)
		weak |= AUTH_WEAK_LONG;
	if (auth_password_common(password))
		weak |= AUTH_WEAK_COMMON;
	if (email != NULL && (at = strchr(email, '@')) != NULL) {
		/* The local part, when long enough to mean something, or the
		 * whole address. */
		if ((at - email >= 3
		        && contains_ci(password, email, (size_t)(at - email)))
		    || strcasecmp(password, email) == 0)
			weak |= AUTH_WEAK_EMAIL;
	}
	return (weak);
}

void
auth_weak_json(unsigned weak, struct lx_buf *b)
{
	static const struct {
		unsigned bit;
		const char *name;
	} rules[] = {
		{ AUTH_WEAK_SHORT, "too_short" },
		{ AUTH_WEAK_LONG, "too_long" },
		{ AUTH_WEAK_COMMON, "too_common" },
		{ AUTH_WEAK_EMAIL, "contains_email" },
	};
	size_t i;
	int n = 0;

	lx_buf_adds(b, "[");
	for (i = 0; i < LX_NELEM(rules); i++)
		if (weak & rules[i].bit)
			lx_buf_addf(
			    b, "%s\"%s\"", n++ ? "," : "", rules[i].name);
	lx_buf_adds(b, "]");
}

int
auth_password_hash(const char *password, uint64_t memlimit_kib,
    uint64_t opslimit, char *out, size_t outsz, struct lx_err *err)
{
	if (outsz < crypto_pwhash_STRBYTES)
		return (lx_err_set(err, 500, "internal_error",
		    "password hash buffer too small"));
	if (crypto_pwhash_str_alg(out, password, strlen(password), opslimit,
	        (size_t)memlimit_kib * 1024, crypto_pwhash_ALG_ARGON2ID13)
	    != 0)
		return (lx_err_set(err, 503, "hash_failed",
		    "not enough memory to hash the password; try again"));
	return (0);
}

int
auth_password_check(const char *hash, const char *password)
{
	if (hash == NULL || strncmp(hash, "$argon2id$", 10) != 0)
		return (0);
	return (
	    crypto_pwhash_str_verify(hash, password, strlen(password)) == 0);
}

int
auth_password_needs_rehash(
    const char *hash, uint64_t memlimit_kib, uint64_t opslimit)
{
	return (crypto_pwhash_str_needs_rehash(
	            hash, opslimit, (size_t)memlimit_kib * 1024)
	    != 0);
}

const char *
auth_password_dummy(uint64_t memlimit_kib, uint64_t opslimit)
{
	unsigned char pw[24];
	char b64[48];

	pthread_mutex_lock(&dummy_mu);
	if (dummy_hash[0] == '\0' || dummy_mem != memlimit_kib
	    || dummy_ops != opslimit) {
		randombytes_buf(pw, sizeof(pw));
		sodium_bin2base64(b64, sizeof(b64), pw, sizeof(pw),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		if (auth_password_hash(b64, memlimit_kib, opslimit, dummy_hash,
		        sizeof(dummy_hash), NULL)
		    == 0) {
			dummy_mem = memlimit_kib;
			dummy_ops = opslimit;
		} else
			dummy_hash[0] = '\0';
		sodium_memzero(pw, sizeof(pw));
		sodium_memzero(b64, sizeof(b64));
	}
	pthread_mutex_unlock(&dummy_mu);
	return (dummy_hash);
}
