/*
 * Unit tests for the rules of modules/webhooks/webhooks.c: the Standard
 * Webhooks signature against the test vector of the specification's
 * reference libraries (secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,
 * msg_p5jXN8AQM9LWM0D4loKWxJek, 1614265330, {"test": 2432232314}), new
 * secrets, ids, the URL and destination rules, event types and patterns,
 * the event body, the HTTP response head parser and the body excerpt.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "lxtest.h"
#include "webhooks.h"

static void
test_sign_vector(void)
{
	static const char body[] = "{\"test\": 2432232314}";
	char sig[WEBHOOKS_SIG_SIZE];
	struct lx_err err;

	CHECK(webhooks_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	          "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
	          strlen(body), sig, &err)
	    == 0);
	CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* the prefix is optional, as in the reference libraries */
	CHECK(webhooks_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	          "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
	          strlen(body), sig, &err)
	    == 0);
	CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* any change of id, time or body changes it */
	CHECK(webhooks_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	          "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
	          strlen(body), sig, &err)
	    == 0);
	CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	    != 0);
	CHECK(webhooks_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	          "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
	          strlen(body) - 1, sig, &err)
	    == 0);
	CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	    != 0);
	/* secrets that do not decode */
	CHECK(webhooks_sign("whsec_", "m", 1, "", 0, sig, &err) == -1);
	CHECK_STR(err.code, "invalid_secret");
	CHECK(webhooks_sign("whsec_!!!!", "m", 1, "", 0, sig, &err) == -1);
	CHECK(webhooks_sign(
	          "whsec_"
	          "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
	          "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
	          "m", 1, "", 0, sig, &err)
	    == -1); /* 84 bytes: over 64 */
}

static void
test_secret_and_ids(void)
{
	char a[WEBHOOKS_SECRET_SIZE], b[WEBHOOKS_SECRET_SIZE];
	unsigned char raw[64];
	char m1[WEBHOOKS_MSG_ID_SIZE], m2[WEBHOOKS_MSG_ID_SIZE];
	char u1[WEBHOOKS_ID_SIZE], u2[WEBHOOKS_ID_SIZE];
	size_t n = 0, i;

	webhooks_secret_new(a);
	webhooks_secret_new(b);
	CHECK(strncmp(a, "whsec_", 6) == 0);
	CHECK(strlen(a) == 6 + 44);
	CHECK(strcmp(a, b) != 0);
	CHECK(sodium_base642bin(raw, sizeof(raw), a + 6, strlen(a + 6), NULL,
	          &n, NULL, sodium_base64_VARIANT_ORIGINAL)
	    == 0);
	CHECK(n == WEBHOOKS_SECRET_RAW);

	webhooks_msg_id(m1);
	webhooks_msg_id(m2);
	CHECK(strncmp(m1, "msg_", 4) == 0 && strlen(m1) == 30);
	CHECK(strcmp(m1, m2) != 0);
	for (i = 4; i < strlen(m1); i++)
		CHECK(
		    strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", m1[i]) != NULL);
	CHECK(strchr(m1, '.') == NULL); /* the signed content's delimiter */

	webhooks_uuid7(u1);
	usleep(2000);
	webhooks_uuid7(u2);
	CHECK(strlen(u1) == 36 && u1[8] == '-' && u1[14] == '7');
	CHECK(strchr("89ab", u1[19]) != NULL);
	CHECK(strcmp(u1, u2) < 0); /* sorted by creation */
}

static void
test_url_parse(void)
{
	static const char *const bad[] = {
		"",
		"ftp://h.example/",
		"//h.example/",
		"https://",
		"https:///x",
		"https://u@h.example/",
		"https://u:p@h.example/",
		"https://h.example:0/",
		"https://h.example:65536/",
		"https://h.example:/",
		"https://h.example:8a/",
		"https://h.example:-1/",
		"https://h ex.example/",
		"https://h.example/a b",
		"https://h.example/\x01",
		"https://h.example/#f",
		"https://h\xc3\xa9.example/",
		"https://[::1/",
		"https://[::1]x/",
		"https://[nope]/",
		"https://a..b/",
		"https://.a/",
		"https://h.example\\x/",
		NULL,
	};
	struct webhooks_url u;
	struct lx_err err;
	char longurl[WEBHOOKS_URL_MAX + 20];
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		lx_err_clear(&err);
		if (webhooks_url_parse(bad[i], &u, &err) != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(err.status == 422);
		CHECK_STR(err.code, "invalid_url");
	}
	CHECK(webhooks_url_parse(NULL, &u, &err) == -1);
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "https://h.example/", 18);
	longurl[WEBHOOKS_URL_MAX + 1] = '\0';
	CHECK(webhooks_url_parse(longurl, &u, &err) == -1);
	longurl[WEBHOOKS_URL_MAX] = '\0';
	CHECK(webhooks_url_parse(longurl, &u, &err) == 0);

	CHECK(webhooks_url_parse("HTTPS://Hooks.Example.COM/Path?A=B", &u, &err)
	    == 0);
	CHECK(u.https == 1 && u.port == 443 && !u.port_explicit);
	CHECK_STR(u.host, "hooks.example.com");
	CHECK_STR(u.target, "/Path?A=B");
	CHECK(u.host_ip == 0);
	CHECK(webhooks_url_parse("http://127.0.0.1:8080", &u, &err) == 0);
	CHECK(!u.https && u.port == 8080 && u.port_explicit && u.host_ip == 4);
	CHECK_STR(u.target, "/");
	CHECK(webhooks_url_parse("http://[::1]:9?x=1", &u, &err) == 0);
	CHECK(u.host_ip == 6 && u.port == 9);
	CHECK_STR(u.host, "::1");
	CHECK_STR(u.target, "/?x=1");
	CHECK(webhooks_url_parse("https://[2001:db8::1]/h", &u, &err) == 0);
	CHECK_STR(u.host, "2001:db8::1");
	CHECK(
	    webhooks_url_parse("https://under_score.example./", &u, &err) == 0);
}

#define HTTP 1 /* webhooks.allow_http on */
#define NOPRIV 2 /* webhooks.allow_private off */

/* webhooks_url_allowed of url with the settings in flags; -2 if the URL
 * does not parse. */
static int
allowed(const char *url, int flags)
{
	struct webhooks_url u;
	struct lx_err err;

	if (webhooks_url_parse(url, &u, &err) == -1)
		return (-2);
	return (webhooks_url_allowed(
	    &u, (flags & HTTP) != 0, (flags & NOPRIV) == 0, &err));
}

static void
test_destinations(void)
{
	unsigned char a4[4], a6[16];

	CHECK(allowed("https://hooks.example.com/", 0) == 0);
	CHECK(allowed("https://8.8.8.8/", 0) == 0);
	CHECK(allowed("https://10.1.2.3/", 0) == 0);
	CHECK(allowed("http://127.0.0.1:9/", 0) == 0);
	CHECK(allowed("http://10.0.0.1/", 0) == 0);
	CHECK(allowed("http://172.16.0.1/", 0) == 0);
	CHECK(allowed("http://172.31.255.255/", 0) == 0);
	CHECK(allowed("http://192.168.1.1/", 0) == 0);
	CHECK(allowed("http://100.64.0.1/", 0) == 0);
	CHECK(allowed("http://[::1]/", 0) == 0);
	CHECK(allowed("http://[fd00::1]/", 0) == 0);
	CHECK(allowed("http://localhost:8080/", 0) == 0);
	CHECK(allowed("http://api.localhost/", 0) == 0);
	CHECK(allowed("http://172.32.0.1/", 0) == -1);
	CHECK(allowed("http://8.8.8.8/", 0) == -1);
	CHECK(allowed("http://hooks.example.com/", 0) == -1);
	CHECK(allowed("http://localhost.example.com/", 0) == -1);
	CHECK(allowed("http://hooks.example.com/", HTTP) == 0);
	CHECK(allowed("http://8.8.8.8/", HTTP) == 0);
	/* never, whatever the scheme or setting */
	CHECK(allowed("http://169.254.169.254/", HTTP) == -1);
	CHECK(allowed("https://169.254.169.254/", 0) == -1);
	CHECK(allowed("https://0.0.0.0/", HTTP) == -1);
	CHECK(allowed("https://224.0.0.251/", HTTP) == -1);
	CHECK(allowed("https://255.255.255.255/", HTTP) == -1);
	CHECK(allowed("https://[::]/", HTTP) == -1);
	CHECK(allowed("https://[fe80::1]/", HTTP) == -1);
	CHECK(allowed("https://[ff02::1]/", HTTP) == -1);
	CHECK(allowed("https://[::ffff:169.254.169.254]/", HTTP) == -1);
	/* IPv4-mapped addresses count as their IPv4 address */
	CHECK(allowed("http://[::ffff:127.0.0.1]/", 0) == 0);
	CHECK(allowed("http://[::ffff:8.8.8.8]/", 0) == -1);

	/* no private destinations at all */
	CHECK(allowed("https://10.1.2.3/", NOPRIV) == -1);
	CHECK(allowed("https://localhost/", NOPRIV) == -1);
	CHECK(allowed("http://127.0.0.1/", NOPRIV | HTTP) == -1);
	CHECK(allowed("https://[fd00::1]/", NOPRIV) == -1);
	CHECK(allowed("https://hooks.example.com/", NOPRIV) == 0);
	CHECK(allowed("http://hooks.example.com/", NOPRIV | HTTP) == 0);
	CHECK(allowed("http://hooks.example.com/", NOPRIV) == -1);
	CHECK(webhooks_dest_refused(WEBHOOKS_DEST_PUBLIC, 1, 0, 0) == NULL);
	CHECK(webhooks_dest_refused(WEBHOOKS_DEST_PRIVATE, 0, 0, 1) == NULL);
	CHECK(webhooks_dest_refused(WEBHOOKS_DEST_PRIVATE, 1, 1, 0) != NULL);
	CHECK(webhooks_dest_refused(WEBHOOKS_DEST_PUBLIC, 0, 0, 1) != NULL);
	CHECK(webhooks_dest_refused(WEBHOOKS_DEST_FORBIDDEN, 1, 1, 1) != NULL);

	memcpy(a4, "\x7f\x00\x00\x01", 4);
	CHECK(webhooks_addr_class(4, a4) == WEBHOOKS_DEST_PRIVATE);
	memcpy(a4, "\x01\x01\x01\x01", 4);
	CHECK(webhooks_addr_class(4, a4) == WEBHOOKS_DEST_PUBLIC);
	memcpy(a4, "\xa9\xfe\x01\x01", 4);
	CHECK(webhooks_addr_class(4, a4) == WEBHOOKS_DEST_FORBIDDEN);
	memset(a6, 0, sizeof(a6));
	a6[0] = 0x20;
	a6[1] = 0x01;
	CHECK(webhooks_addr_class(6, a6) == WEBHOOKS_DEST_PUBLIC);
}

/* The event_types of a JSON text through webhooks_types_normalize: the
 * normalised text into out (or the error code). */
static int
normalize(const char *json, char *out, size_t n)
{
	struct lx_buf b;
	struct lx_err err;
	cJSON *a = cJSON_Parse(json);
	int rc;

	lx_buf_init(&b);
	rc = webhooks_types_normalize(a, &b, &err);
	snprintf(out, n, "%s", rc == 0 ? b.data : err.code);
	lx_buf_cleanup(&b);
	cJSON_Delete(a);
	return (rc);
}

static void
test_event_types(void)
{
	char out[512];

	CHECK(webhooks_type_known("invoice.paid"));
	CHECK(webhooks_type_known("subscription.canceled"));
	CHECK(webhooks_type_known("webhook.test"));
	CHECK(!webhooks_type_known("invoice.*"));
	CHECK(!webhooks_type_known("invoice.refunded"));
	CHECK(!webhooks_type_known(NULL));
	CHECK(webhooks_pattern_valid("*"));
	CHECK(webhooks_pattern_valid("invoice.*"));
	CHECK(webhooks_pattern_valid("subscription.*"));
	CHECK(webhooks_pattern_valid("invoice.voided"));
	CHECK(!webhooks_pattern_valid("webhook.*"));
	CHECK(!webhooks_pattern_valid("invoice"));
	CHECK(!webhooks_pattern_valid("invoice.**"));
	CHECK(!webhooks_pattern_valid(""));

	CHECK(webhooks_pattern_match("*", "invoice.paid"));
	CHECK(webhooks_pattern_match("invoice.*", "invoice.paid"));
	CHECK(!webhooks_pattern_match("invoice.*", "subscription.updated"));
	CHECK(!webhooks_pattern_match("invoice.*", "invoicex.paid"));
	CHECK(webhooks_pattern_match("invoice.paid", "invoice.paid"));
	CHECK(!webhooks_pattern_match("invoice.paid", "invoice.paid2"));

	CHECK(webhooks_types_match("[\"invoice.*\"]", "invoice.voided"));
	CHECK(webhooks_types_match(
	    "[\"subscription.updated\",\"*\"]", "invoice.voided"));
	CHECK(!webhooks_types_match(
	    "[\"subscription.updated\"]", "subscription.created"));
	CHECK(!webhooks_types_match("not json", "invoice.paid"));
	CHECK(!webhooks_types_match(NULL, "invoice.paid"));

	CHECK(normalize("[\"invoice.*\",\"*\",\"invoice.*\"]", out, sizeof(out))
	    == 0);
	CHECK_STR(out, "[\"invoice.*\",\"*\"]");
	CHECK(normalize("[]", out, sizeof(out)) == -1);
	CHECK_STR(out, "invalid_event_types");
	CHECK(normalize("[1]", out, sizeof(out)) == -1);
	CHECK_STR(out, "invalid_event_types");
	CHECK(normalize("{}", out, sizeof(out)) == -1);
	CHECK(normalize("[\"invoice.paid\",\"nope\"]", out, sizeof(out)) == -1);
	CHECK_STR(out, "unknown_event_type");
	CHECK(
	    normalize("[\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\","
	              "\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\"]",
	        out, sizeof(out))
	    == -1); /* 17 entries */
}

static void
test_body(void)
{
	struct lx_buf b;
	struct lx_err err;
	cJSON *j;

	lx_buf_init(&b);
	CHECK(webhooks_body("invoice.paid", 1700000000123LL,
	          "{ \"id\" : \"in_1\", \"total\": 1200 }", &b, &err)
	    == 0);
	CHECK_STR(b.data,
	    "{\"type\":\"invoice.paid\",\"timestamp\":"
	    "\"2023-11-14T22:13:20.123Z\",\"data\":{\"id\":\"in_1\","
	    "\"total\":1200}}");
	j = cJSON_Parse(b.data);
	CHECK(j != NULL);
	cJSON_Delete(j);
	lx_buf_reset(&b);
	CHECK(webhooks_body("invoice.paid", 1, "[1]", &b, &err) == -1);
	CHECK_STR(err.code, "invalid_event_data");
	CHECK(webhooks_body("invoice.paid", 1, "{", &b, &err) == -1);
	CHECK(webhooks_body("invoice.paid", 1, NULL, &b, &err) == -1);
	lx_buf_cleanup(&b);
}

static int
head(const char *s, struct webhooks_resp_head *h)
{
	return (webhooks_resp_head(s, strlen(s), h));
}

static void
test_resp_head(void)
{
	struct webhooks_resp_head h;
	const char *full = "HTTP/1.1 201 Created\r\nContent-Length: 12\r\n"
	                   "X-A: b\r\n\r\nhello";

	CHECK(head(full, &h) == 1);
	CHECK(h.status == 201 && h.content_length == 12 && !h.chunked);
	CHECK(h.head_len == strlen(full) - 5);
	CHECK(head("HTTP/1.0 500\n\n", &h) == 1 && h.status == 500);
	CHECK(
	    head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	        &h)
	    == 1);
	CHECK(h.chunked && h.content_length == -1);
	CHECK(head("HTTP/1.1 200 OK\r\ncontent-length:  7 \r\n\r\n", &h) == 1);
	CHECK(h.content_length == 7);
	/* more bytes needed */
	CHECK(head("", &h) == 0);
	CHECK(head("HTTP/1.", &h) == 0);
	CHECK(head("HTTP/1.1 20", &h) == 0);
	CHECK(head("HTTP/1.1 200 OK\r\n", &h) == 0);
	CHECK(head("HTTP/1.1 200 OK\r\nA: b\r\n", &h) == 0);
	/* not HTTP/1.x */
	CHECK(head("SSH-2.0-OpenSSH\r\n", &h) == -1);
	CHECK(head("HTTP/2 200\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 99 x\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 600 x\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 2000 x\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", &h) == -1);
	CHECK(head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: "
	           "2\r\n\r\n",
	          &h)
	    == -1);
	CHECK(
	    head("HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999\r\n\r\n",
	        &h)
	    == -1);
}

static void
test_excerpt(void)
{
	static const char chunked[] =
	    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
	struct lx_buf b;

	lx_buf_init(&b);
	webhooks_excerpt("bad\r\nthing\x01\n", 13, 0, 100, &b);
	CHECK_STR(b.data, "bad  thing");
	lx_buf_reset(&b);
	webhooks_excerpt(chunked, strlen(chunked), 1, 100, &b);
	CHECK_STR(b.data, "hello, world");
	lx_buf_reset(&b);
	webhooks_excerpt("abcdef", 6, 0, 4, &b);
	CHECK_STR(b.data, "abcd");
	lx_buf_reset(&b);
	webhooks_excerpt("caf\xc3\xa9 \xff!", 8, 0, 100, &b);
	CHECK_STR(b.data, "caf\xc3\xa9 ?!");
	lx_buf_reset(&b);
	/* a multi-byte character that does not fit is left out whole */
	webhooks_excerpt("ab\xc3\xa9", 4, 0, 3, &b);
	CHECK_STR(b.data, "ab");
	lx_buf_reset(&b);
	webhooks_excerpt("zz\r\nabc", 7, 1, 100, &b);
	CHECK(b.len == 0);
	lx_buf_reset(&b);
	webhooks_excerpt("ffffffffffffffffffffffff\r\nabc", 29, 1, 100, &b);
	CHECK_STR(b.data, "abc");
	lx_buf_cleanup(&b);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	RUN(test_sign_vector);
	RUN(test_secret_and_ids);
	RUN(test_url_parse);
	RUN(test_destinations);
	RUN(test_event_types);
	RUN(test_body);
	RUN(test_resp_head);
	RUN(test_excerpt);
	return (lxtest_done());
}
