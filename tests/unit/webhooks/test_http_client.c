/*
 * Unit tests for the HTTP/1.1 client of modules/webhooks/webhooks_deliver.c
 * (webhooks_http_request, and webhooks_post on top of it) and for the
 * edge functions' http.fetch built on it (functions_host_fetch in
 * modules/functions/functions_fetch.c), against a tiny loopback server in
 * a thread that answers one connection per case with scripted bytes:
 * Content-Length, chunked (several chunks, extensions, trailers, split
 * anywhere), read-until-close and binary bodies, bodies over the limit, a
 * server that never answers (the deadline), a 301 (not followed), 1xx
 * interim heads, HEAD, refused connections and destination rules; then
 * http.fetch's request checks, allow-list, JSON answer (lower-case
 * headers, repeats joined, control bytes escaped, invalid UTF-8 as
 * U+FFFD) and error codes. The allow-list is a stub here (see
 * __wrap_functions_http_allowed below).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "functions.h"
#include "lxtest.h"
#include "webhooks.h"

#define MS 1000000LL /* ns */
#define SLACK_MS 1500 /* timing slack (sanitizers, loaded machines) */

/* One piece of a scripted answer. */
struct piece {
	const char *p;
	size_t n;
	int delay_ms; /* sleep before sending it */
};
#define P(s) \
	{ \
		s, sizeof(s) - 1, 0 \
	}
#define PD(s, ms) \
	{ \
		s, sizeof(s) - 1, ms \
	}

/* What the server does with its one connection, and what it saw. */
struct script {
	const struct piece *pieces; /* sent in order, then ... */
	int npieces;
	int hold_ms; /* ... the connection is held open this long (or
		      * until the client closes it) and closed */
	int no_read; /* 1: answer at once, without reading a request */
	char req[65536]; /* the request received */
	size_t reqlen;
	int accepted; /* 1: a client connected */
};

/* Sets s up to answer pieces[0..n), then hold the connection hold_ms. */
static void
script(struct script *s, const struct piece *pieces, int n, int hold_ms)
{
	memset(s, 0, sizeof(*s));
	s->pieces = pieces;
	s->npieces = n;
	s->hold_ms = hold_ms;
}

static int lfd = -1; /* the listening socket */
static int lport; /* its port */

/* The allow-list of http.fetch: functions_fetch.c's calls to
 * functions_http_allowed (functions_pool.c, which reads the server's
 * config) reach this stub instead (linked with
 * -Wl,--wrap=functions_http_allowed). */
static char allow_host[64];
static int allow_port;

int __wrap_functions_http_allowed(const char *host, int port);

int
__wrap_functions_http_allowed(const char *host, int port)
{
	return (strcmp(host, allow_host) == 0 && port == allow_port);
}

static void
listen_start(void)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0
	    || listen(lfd, 16) != 0
	    || getsockname(lfd, (struct sockaddr *)&a, &n) != 0)
		abort();
	lport = ntohs(a.sin_port);
}

/* 1 if a connection waits on the listening socket. */
static int
pending(void)
{
	struct pollfd pfd = { lfd, POLLIN, 0 };

	return (poll(&pfd, 1, 0) == 1);
}

/* Reads the request: its head, then Content-Length bytes. */
static void
read_request(int fd, struct script *s)
{
	const char *e, *cl;
	size_t want = 0;
	ssize_t k;

	for (;;) {
		k = read(
		    fd, s->req + s->reqlen, sizeof(s->req) - 1 - s->reqlen);
		if (k <= 0)
			return;
		s->reqlen += (size_t)k;
		s->req[s->reqlen] = '\0';
		if ((e = strstr(s->req, "\r\n\r\n")) == NULL)
			continue;
		want = (size_t)(e + 4 - s->req);
		if ((cl = strstr(s->req, "\r\nContent-Length: ")) != NULL
		    && cl < e)
			want += (size_t)atol(cl + 18);
		if (s->reqlen >= want)
			return;
	}
}

static void *
serve(void *arg)
{
	struct script *s = arg;
	struct pollfd pfd = { lfd, POLLIN, 0 };
	int64_t until;
	char junk[4096];
	int fd, i, ms;

	if (poll(&pfd, 1, 5000) != 1 || (fd = accept(lfd, NULL, NULL)) == -1)
		return (NULL);
	s->accepted = 1;
	if (!s->no_read)
		read_request(fd, s);
	for (i = 0; i < s->npieces; i++) {
		if (s->pieces[i].delay_ms > 0)
			usleep((useconds_t)s->pieces[i].delay_ms * 1000);
		if (send(fd, s->pieces[i].p, s->pieces[i].n, MSG_NOSIGNAL)
		    != (ssize_t)s->pieces[i].n)
			break;
	}
	until = lx_mono_ns() + s->hold_ms * MS;
	while ((ms = (int)((until - lx_mono_ns()) / MS)) > 0) {
		pfd.fd = fd;
		if (poll(&pfd, 1, ms) == 1 && read(fd, junk, sizeof(junk)) <= 0)
			break;
	}
	close(fd);
	return (NULL);
}

/* The options most cases use: any loopback port, 5 s. */
static void
opts(struct webhooks_http_opts *o, int deadline_ms)
{
	memset(o, 0, sizeof(*o));
	o->dest = WEBHOOKS_HTTP_DEST_LISTED;
	o->user_agent = "test/1";
	o->who = "the test";
	o->deadline_ns = lx_mono_ns() + deadline_ms * MS;
}

/* Runs method path against the server playing s. */
static int
run(struct script *s, const struct webhooks_http_opts *o, const char *method,
    const char *path, const char *hdrs, const char *body, size_t max,
    struct webhooks_http_resp *r, struct lx_err *err)
{
	pthread_t t;
	char url[256];
	int rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", lport, path);
	if (pthread_create(&t, NULL, serve, s) != 0)
		abort();
	lx_err_clear(err);
	rc = webhooks_http_request(o, method, url, hdrs, body,
	    body != NULL ? strlen(body) : 0, max, r, err);
	pthread_join(t, NULL);
	return (rc);
}

static void
test_content_length(void)
{
	static const struct piece p[] = { P("HTTP/1.1 200 OK\r\n"
		                            "Content-Length: 5\r\n"
		                            "X-A: 1\r\n\r\nhello") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, p, 1, 1000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "GET", "/path?q=1", "X-Mine: yes\r\n", NULL, 100, &r,
	          &err)
	    == 0);
	CHECK(r.status == 200);
	CHECK(r.body.len == 5 && memcmp(r.body.data, "hello", 5) == 0);
	CHECK(!r.partial);
	CHECK_STR(
	    r.head.data, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n");
	/* the request as sent */
	CHECK(strncmp(s.req, "GET /path?q=1 HTTP/1.1\r\n", 24) == 0);
	CHECK(strstr(s.req, "\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(s.req, "\r\nUser-Agent: test/1\r\n") != NULL);
	CHECK(strstr(s.req, "\r\nX-Mine: yes\r\n\r\n") != NULL);
	CHECK(strstr(s.req, "Content-Length") == NULL); /* GET, no body */
	{
		char host[64];

		snprintf(
		    host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", lport);
		CHECK(strstr(s.req, host) != NULL);
	}
	webhooks_http_resp_cleanup(&r);
}

static void
test_post_body(void)
{
	static const struct piece p[] = { P(
	    "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, p, 1, 1000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "POST", "/", NULL, "{\"a\":1}", 100, &r, &err) == 0);
	CHECK(r.status == 201 && r.body.len == 0);
	CHECK(strstr(s.req, "\r\nContent-Length: 7\r\n") != NULL);
	CHECK(
	    s.reqlen > 7 && memcmp(s.req + s.reqlen - 7, "{\"a\":1}", 7) == 0);
	webhooks_http_resp_cleanup(&r);
	/* POST without a body still says its length */
	script(&s, p, 1, 0);
	CHECK(run(&s, &o, "POST", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK(strstr(s.req, "\r\nContent-Length: 0\r\n") != NULL);
	webhooks_http_resp_cleanup(&r);
}

static void
test_chunked(void)
{
	static const struct piece p[] = {
		P("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e"),
		PD("xt=1\r\nhel", 30),
		PD("lo\r\n1\r\n \r\n6 ; foo=\"bar\"\r\nwor", 30),
		PD("ld!\r", 30),
		PD("\n0\r\nX-Trailer: t\r\n\r\n", 30),
	};
	static const struct piece lf[] = {
		/* bare LF line ends, upper-case hex, no trailer */
		P("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
		  "A\n0123456789\n0\n\n"),
	};
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, p, 5, 1000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK(r.status == 200);
	CHECK(r.body.len == 12 && memcmp(r.body.data, "hello world!", 12) == 0);
	CHECK(!r.partial);
	webhooks_http_resp_cleanup(&r);
	script(&s, lf, 1, 1000);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK(r.body.len == 10 && memcmp(r.body.data, "0123456789", 10) == 0);
	webhooks_http_resp_cleanup(&r);
}

static void
test_chunked_bad(void)
{
	static const struct piece bad[] = { P(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\nhello\r\n0\r\n\r\n") };
	static const struct piece early[] = { P(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhel") };
	static const struct piece noend[] = { P(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhelloXX0\r\n\r\n") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, bad, 1, 1000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == -1);
	CHECK_STR(err.code, "http_failed");
	CHECK(strstr(err.detail, "malformed chunked") != NULL);
	CHECK(r.status == 200); /* the head came */
	webhooks_http_resp_cleanup(&r);
	script(&s, noend, 1, 1000);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == -1);
	CHECK_STR(err.code, "http_failed");
	webhooks_http_resp_cleanup(&r);
	/* closed in the middle of a chunk */
	script(&s, early, 1, 0);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == -1);
	CHECK_STR(err.code, "http_failed");
	CHECK(strstr(err.detail, "before the body was complete") != NULL);
	webhooks_http_resp_cleanup(&r);
	/* the same, kept as far as it went */
	script(&s, early, 1, 0);
	o.partial_ok = 1;
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK(r.partial && r.body.len == 3);
	webhooks_http_resp_cleanup(&r);
}

static void
test_until_close(void)
{
	static const struct piece p[] = {
		P("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc"),
		PD("def", 50),
	};
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, p, 2, 0);

	opts(&o, 5000);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK(r.status == 200);
	CHECK(r.body.len == 6 && memcmp(r.body.data, "abcdef", 6) == 0);
	webhooks_http_resp_cleanup(&r);
}

static void
test_too_large(void)
{
	static const struct piece cl[] = { P(
	    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789") };
	static const struct piece ch[] = { P(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "6\r\n012345\r\n6\r\n6789ab\r\n0\r\n\r\n") };
	static const struct piece uc[] = { P(
	    "HTTP/1.1 200 OK\r\n\r\n0123456789ab") };
	static const struct piece exact[] = { P(
	    "HTTP/1.1 200 OK\r\n\r\n0123456789") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;
	const struct piece *cases[] = { cl, ch, uc };
	int i;

	opts(&o, 5000);
	for (i = 0; i < 3; i++) {
		script(&s, cases[i], 1, 2000);
		CHECK(run(&s, &o, "GET", "/", NULL, NULL, 10, &r, &err) == -1);
		CHECK_STR(err.code, "http_too_large");
		CHECK(err.status == 502);
		CHECK(strstr(err.detail, "over 10 bytes") != NULL);
		webhooks_http_resp_cleanup(&r);
	}
	/* partial_ok keeps the first max bytes */
	o.partial_ok = 1;
	for (i = 0; i < 3; i++) {
		script(&s, cases[i], 1, 2000);
		CHECK(run(&s, &o, "GET", "/", NULL, NULL, 10, &r, &err) == 0);
		CHECK(r.partial && r.body.len == 10);
		CHECK(r.body.len == 10
		    && memcmp(r.body.data, "0123456789", 10) == 0);
		webhooks_http_resp_cleanup(&r);
	}
	/* exactly max bytes is not over */
	o.partial_ok = 0;
	script(&s, exact, 1, 0);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 10, &r, &err) == 0);
	CHECK(!r.partial && r.body.len == 10);
	webhooks_http_resp_cleanup(&r);
}

static void
test_never_answers(void)
{
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;
	int64_t t0 = lx_mono_ns(), ms;

	script(&s, NULL, 0, 3000);

	opts(&o, 300);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == -1);
	ms = (lx_mono_ns() - t0) / MS;
	CHECK_STR(err.code, "http_timeout");
	CHECK(err.status == 504);
	CHECK(strstr(err.detail, "no response from 127.0.0.1:") != NULL);
	CHECK(ms >= 290 && ms < 300 + SLACK_MS);
	CHECK(r.status == 0);
	webhooks_http_resp_cleanup(&r);
}

static void
test_slow_body(void)
{
	static const struct piece p[] = { P(
	    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;
	int64_t t0 = lx_mono_ns(), ms;

	script(&s, p, 1, 3000);

	opts(&o, 400);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == -1);
	ms = (lx_mono_ns() - t0) / MS;
	CHECK_STR(err.code, "http_timeout");
	CHECK(ms >= 390 && ms < 400 + SLACK_MS);
	CHECK(r.status == 200);
	webhooks_http_resp_cleanup(&r);
	/* body_wait_ms shortens the wait after the head */
	script(&s, p, 1, 3000);
	opts(&o, 5000);
	o.body_wait_ms = 200;
	o.partial_ok = 1;
	t0 = lx_mono_ns();
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == 0);
	ms = (lx_mono_ns() - t0) / MS;
	CHECK(r.partial && r.body.len == 5);
	CHECK(ms >= 190 && ms < 200 + SLACK_MS);
	webhooks_http_resp_cleanup(&r);
}

static void
test_redirect_not_followed(void)
{
	static const struct piece p[] = { P(
	    "HTTP/1.1 301 Moved Permanently\r\n"
	    "Location: http://127.0.0.1:1/elsewhere\r\n"
	    "Content-Length: 4\r\n\r\nmove") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, p, 1, 1000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "GET", "/old", NULL, NULL, 100, &r, &err) == 0);
	CHECK(r.status == 301);
	CHECK(strstr(r.head.data, "\r\nLocation: http://127.0.0.1:1/elsewhere")
	    != NULL);
	CHECK(r.body.len == 4);
	CHECK(!pending());
	webhooks_http_resp_cleanup(&r);
}

static void
test_binary_body(void)
{
	static const struct piece p[] = { P("HTTP/1.1 200 OK\r\n"
		                            "Content-Length: 8\r\n\r\n"
		                            "\0\1\377\376\r\n\0z") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;

	script(&s, p, 1, 1000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "GET", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK(r.body.len == 8
	    && memcmp(r.body.data, "\0\1\377\376\r\n\0z", 8) == 0);
	webhooks_http_resp_cleanup(&r);
}

static void
test_head_and_interim(void)
{
	static const struct piece head[] = { P(
	    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n") };
	static const struct piece interim[] = { P(
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
	    "Link: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nX-B: 2\r\n\r\n") };
	struct script s;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;
	int64_t t0 = lx_mono_ns();

	script(&s, head, 1, 3000);

	opts(&o, 5000);
	CHECK(run(&s, &o, "HEAD", "/", NULL, NULL, 100, &r, &err) == 0);
	CHECK((lx_mono_ns() - t0) / MS < 1000); /* no body awaited */
	CHECK(r.status == 200 && r.body.len == 0);
	CHECK(strncmp(s.req, "HEAD / HTTP/1.1\r\n", 17) == 0);
	webhooks_http_resp_cleanup(&r);
	script(&s, interim, 1, 3000);
	t0 = lx_mono_ns();
	CHECK(run(&s, &o, "DELETE", "/x", NULL, NULL, 100, &r, &err) == 0);
	CHECK((lx_mono_ns() - t0) / MS < 1000);
	CHECK(r.status == 204);
	CHECK_STR(r.head.data, "HTTP/1.1 204 No Content\r\nX-B: 2\r\n");
	webhooks_http_resp_cleanup(&r);
}

static void
test_refusals(void)
{
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct lx_err err;
	struct sockaddr_in a;
	socklen_t n = sizeof(a);
	char url[128];
	int fd, port;

	/* a closed port */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
	    || getsockname(fd, (struct sockaddr *)&a, &n) != 0)
		abort();
	port = ntohs(a.sin_port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	opts(&o, 5000);
	CHECK(webhooks_http_request(&o, "GET", url, NULL, NULL, 0, 10, &r, &err)
	    == -1);
	CHECK_STR(err.code, "http_failed");
	CHECK(strstr(err.detail, "cannot connect to 127.0.0.1:") != NULL);
	webhooks_http_resp_cleanup(&r);
	/* forbidden classes, even for a listed host; nothing is tried */
	CHECK(webhooks_http_request(&o, "GET", "http://169.254.169.254/latest",
	          NULL, NULL, 0, 10, &r, &err)
	    == -1);
	CHECK_STR(err.code, "destination_refused");
	CHECK(err.status == 403);
	CHECK(strstr(err.detail, "the test may not reach") != NULL);
	webhooks_http_resp_cleanup(&r);
	CHECK(webhooks_http_request(&o, "GET", "http://[ff02::1]:80/", NULL,
	          NULL, 0, 10, &r, &err)
	    == -1);
	CHECK_STR(err.code, "destination_refused");
	webhooks_http_resp_cleanup(&r);
	/* the webhook rule without private addresses */
	o.dest = WEBHOOKS_HTTP_DEST_WEBHOOK;
	o.allow_private = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", lport);
	CHECK(webhooks_http_request(&o, "GET", url, NULL, NULL, 0, 10, &r, &err)
	    == -1);
	CHECK_STR(err.code, "destination_refused");
	CHECK(strstr(err.detail, "webhooks.allow_private") != NULL);
	CHECK(!pending());
	webhooks_http_resp_cleanup(&r);
	/* a deadline already gone */
	opts(&o, 0);
	o.deadline_ns -= 1000;
	CHECK(webhooks_http_request(&o, "GET", url, NULL, NULL, 0, 10, &r, &err)
	    == -1);
	CHECK_STR(err.code, "http_timeout");
	CHECK(!pending());
	webhooks_http_resp_cleanup(&r);
	/* bad URLs and methods */
	opts(&o, 5000);
	CHECK(webhooks_http_request(
	          &o, "GET", "ftp://x/", NULL, NULL, 0, 10, &r, &err)
	    == -1);
	CHECK_STR(err.code, "invalid_url");
	webhooks_http_resp_cleanup(&r);
	CHECK(webhooks_http_request(&o, "get", url, NULL, NULL, 0, 10, &r, &err)
	    == -1);
	webhooks_http_resp_cleanup(&r);
	/* not HTTP at all */
	{
		static const struct piece p[] = { P("SSH-2.0-OpenSSH\r\n") };
		struct script s;

		script(&s, p, 1, 1000);
		CHECK(run(&s, &o, "GET", "/", NULL, NULL, 10, &r, &err) == -1);
		CHECK_STR(err.code, "http_failed");
		CHECK(strstr(err.detail, "did not answer in HTTP/1.x") != NULL);
		webhooks_http_resp_cleanup(&r);
	}
}

static void
test_webhooks_post(void)
{
	static const struct piece ok[] = { P(
	    "HTTP/1.1 204 No Content\r\n\r\n") };
	static const struct piece fail[] = { P(
	    "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "9\r\nreceiver \r\n8\r\nsays no\n\r\n0\r\n\r\n") };
	struct webhooks_config cfg;
	struct webhooks_result res;
	struct script s;
	pthread_t t;
	char url[128];

	script(&s, ok, 1, 1000);

	memset(&cfg, 0, sizeof(cfg));
	cfg.timeout_ms = 2000;
	cfg.allow_private = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", lport);
	pthread_create(&t, NULL, serve, &s);
	CHECK(webhooks_post(&cfg, url, "webhook-id: msg_1\r\n", "{}", 2, &res)
	    == 0);
	pthread_join(t, NULL);
	CHECK(res.status == 204);
	CHECK(strncmp(s.req, "POST /hook HTTP/1.1\r\n", 21) == 0);
	CHECK(strstr(s.req, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(s.req, "\r\nwebhook-id: msg_1\r\n") != NULL);
	CHECK(strstr(s.req, "\r\nUser-Agent: Luxima-Webhooks/") != NULL);
	CHECK(strstr(s.req, "\r\nContent-Length: 2\r\n") != NULL);
	lx_buf_cleanup(&res.error);
	script(&s, fail, 1, 1000);
	pthread_create(&t, NULL, serve, &s);
	CHECK(webhooks_post(&cfg, url, NULL, "{}", 2, &res) == -1);
	pthread_join(t, NULL);
	CHECK(res.status == 500);
	CHECK_STR(res.error.data, "HTTP 500: receiver says no");
	lx_buf_cleanup(&res.error);
	/* the registration rule first */
	cfg.allow_private = 0;
	CHECK(webhooks_post(&cfg, url, NULL, "{}", 2, &res) == -1);
	CHECK(res.status == 0);
	CHECK(strstr(res.error.data, "webhooks.allow_private") != NULL);
	lx_buf_cleanup(&res.error);
}

/* --- http.fetch --- */

/* Calls http.fetch with req (a printf format given the server's port)
 * against the server playing s (NULL: none). */
static int
fetch(struct script *s, const char *req_fmt, int deadline_ms, char **out,
    struct lx_err *err)
{
	pthread_t t;
	char *req = lx_asprintf(req_fmt, lport);
	int rc;

	if (s != NULL && pthread_create(&t, NULL, serve, s) != 0)
		abort();
	lx_err_clear(err);
	rc = functions_host_fetch(
	    NULL, req, lx_mono_ns() + deadline_ms * MS, out, err);
	if (s != NULL)
		pthread_join(t, NULL);
	lx_free(req);
	return (rc);
}

static void
test_fetch_refused_requests(void)
{
	static const char *bad[] = {
		"not json",
		"[1]",
		"{}",
		"{\"url\": 5}",
		"{\"url\": \"ftp://127.0.0.1:%d/\"}",
		"{\"url\": \"http://127.0.0.1:%d/a b\"}",
		"{\"url\": \"http://u:p@127.0.0.1:%d/\"}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"method\": \"TRACE\"}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"method\": \"GETX\"}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"timeout\": 5}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": [1]}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"body\": {}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {\"Host\": "
		"\"evil\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": "
		"{\"content-length\": \"1\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": "
		"{\"Transfer-Encoding\": \"chunked\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": "
		"{\"CONNECTION\": "
		"\"keep-alive\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {\"X-A\": "
		"\"1\\r\\nX-B: 2\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {\"X-A\": "
		"\"1\\n\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {\"X A\": "
		"\"1\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {\"\": "
		"\"1\"}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {\"X-A\": "
		"1}}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"body\": \"a\\u0000b\"}",
		"{\"url\": \"http://127.0.0.1:%d/\", \"method\": \"OPTIONS\"}",
	};
	struct lx_err err;
	struct lx_buf many;
	char *out = NULL, *big;
	size_t i;

	snprintf(allow_host, sizeof(allow_host), "127.0.0.1");
	allow_port = lport;
	for (i = 0; i < LX_NELEM(bad); i++) {
		CHECK(fetch(NULL, bad[i], 5000, &out, &err) == -1);
		CHECK(out == NULL);
		CHECK(err.status == 400);
		if (strcmp(err.code, "invalid_request") != 0)
			fprintf(stderr, "case %zu: %s\n", i, err.code);
		CHECK_STR(err.code, "invalid_request");
	}
	/* 33 headers */
	lx_buf_init(&many);
	lx_buf_adds(
	    &many, "{\"url\": \"http://127.0.0.1:%d/\", \"headers\": {");
	for (i = 0; i < 33; i++)
		lx_buf_addf(&many, "%s\"X-%zu\": \"v\"", i ? "," : "", i);
	lx_buf_adds(&many, "}}");
	CHECK(fetch(NULL, many.data, 5000, &out, &err) == -1);
	CHECK_STR(err.code, "invalid_request");
	CHECK(strstr(err.detail, "32 headers") != NULL);
	lx_buf_cleanup(&many);
	/* a body over 1 MiB */
	big = lx_malloc((1 << 20) + 100);
	i = (size_t)snprintf(
	    big, 100, "{\"url\": \"http://127.0.0.1:%%d/\", \"body\": \"");
	memset(big + i, 'a', (1 << 20) + 1);
	memcpy(big + i + (1 << 20) + 1, "\"}", 3);
	CHECK(fetch(NULL, big, 5000, &out, &err) == -1);
	CHECK_STR(err.code, "invalid_request");
	CHECK(strstr(err.detail, "1 MiB") != NULL);
	lx_free(big);
	CHECK(!pending()); /* none of them connected */
}

static void
test_fetch_allow_list(void)
{
	struct lx_err err;
	char *out = NULL;

	snprintf(allow_host, sizeof(allow_host), "127.0.0.1");
	allow_port = lport + 1; /* another port */
	CHECK(
	    fetch(NULL, "{\"url\": \"http://127.0.0.1:%d/\"}", 5000, &out, &err)
	    == -1);
	CHECK(err.status == 403);
	CHECK_STR(err.code, "host_not_allowed");
	CHECK(strstr(err.detail, "127.0.0.1:") != NULL);
	CHECK(!pending());
	/* a name not listed is refused before any lookup */
	CHECK(fetch(NULL, "{\"url\": \"https://no-such-host.invalid/%d\"}",
	          5000, &out, &err)
	    == -1);
	CHECK_STR(err.code, "host_not_allowed");
	CHECK(strstr(err.detail, "no-such-host.invalid:443") != NULL);
	/* listed, but a forbidden class (cloud metadata) */
	snprintf(allow_host, sizeof(allow_host), "169.254.169.254");
	allow_port = 80;
	CHECK(fetch(NULL, "{\"url\": \"http://169.254.169.254/latest?%d\"}",
	          5000, &out, &err)
	    == -1);
	CHECK_STR(err.code, "host_not_allowed");
	CHECK(strstr(err.detail, "link-local") != NULL);
	/* listed, but does not resolve */
	snprintf(allow_host, sizeof(allow_host), "no-such-host.invalid");
	allow_port = 443;
	CHECK(fetch(NULL, "{\"url\": \"https://no-such-host.invalid/%d\"}",
	          5000, &out, &err)
	    == -1);
	CHECK(err.status == 502 || err.status == 504);
	CHECK(strcmp(err.code, "fetch_failed") == 0
	    || strcmp(err.code, "fetch_timeout") == 0);
}

static void
test_fetch_response(void)
{
	static const struct piece p[] = { P("HTTP/1.1 200 OK\r\n"
		                            "Content-Type: text/plain\r\n"
		                            "X-Dup: one\r\n"
		                            "Set-Cookie: a=1\r\n"
		                            "x-dup:  two \r\n"
		                            "Bad Name: skipped\r\n"
		                            "X-Latin: caf\351\r\n"
		                            "Content-Length: 21\r\n\r\n"
		                            "a\0\1\"\\\n\t\377\342\202b\303\251"
		                            "\355\240\200\360\237\230\200!") };
	struct script s;
	struct lx_err err;
	cJSON *j, *h;
	char *out = NULL;
	const char *body;

	/* the body: a, NUL, 1, ", \, LF, TAB, 0xff, a cut 3-byte sequence,
	 * b, é, an encoded surrogate, 😀, ! */
	script(&s, p, 1, 1000);
	snprintf(allow_host, sizeof(allow_host), "127.0.0.1");
	allow_port = lport;
	CHECK(
	    fetch(&s,
	        "{\"url\": \"http://127.0.0.1:%d/r?x=1#frag\", \"method\": "
	        "\"post\", \"headers\": {\"X-Api-Key\": \"k\", \"User-Agent\": "
	        "\"mine/2\"}, \"body\": \"hi\", \"extra\": null}",
	        5000, &out, &err)
	    == 0);
	CHECK(out != NULL);
	if (out == NULL)
		return;
	/* the request */
	CHECK(strncmp(s.req, "POST /r?x=1 HTTP/1.1\r\n", 22) == 0);
	CHECK(strstr(s.req, "\r\nX-Api-Key: k\r\n") != NULL);
	CHECK(strstr(s.req, "\r\nUser-Agent: mine/2\r\n") != NULL);
	CHECK(strstr(s.req, "Luxima-Functions") == NULL);
	CHECK(strstr(s.req, "\r\nContent-Length: 2\r\n") != NULL);
	CHECK(s.reqlen > 2 && memcmp(s.req + s.reqlen - 2, "hi", 2) == 0);
	/* the JSON, exactly */
	body = strstr(out, ",\"body\":");
	CHECK(body != NULL
	    && strcmp(body,
	           ",\"body\":\"a\\u0000\\u0001\\\"\\\\\\n\\t\357\277\275"
	           "\357\277\275b\303\251\357\277\275\357\277\275\357\277\275"
	           "\360\237\230\200!\"}")
	        == 0);
	CHECK(strncmp(out, "{\"status\":200,\"headers\":{", 25) == 0);
	CHECK(strstr(out, "\"x-dup\":\"one, two\"") != NULL);
	CHECK(strstr(out, "\"x-latin\":\"caf\357\277\275\"") != NULL);
	CHECK(strstr(out, "bad name") == NULL);
	j = cJSON_Parse(out);
	CHECK(j != NULL);
	h = cJSON_GetObjectItemCaseSensitive(j, "headers");
	CHECK(
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "status"))
	    == 200);
	CHECK_STR(cJSON_GetStringValue(
	              cJSON_GetObjectItemCaseSensitive(h, "content-type")),
	    "text/plain");
	CHECK_STR(cJSON_GetStringValue(
	              cJSON_GetObjectItemCaseSensitive(h, "set-cookie")),
	    "a=1");
	CHECK_STR(cJSON_GetStringValue(
	              cJSON_GetObjectItemCaseSensitive(h, "content-length")),
	    "21");
	cJSON_Delete(j);
	lx_free(out);
}

static void
test_fetch_statuses_and_errors(void)
{
	static const struct piece redirect[] = { P(
	    "HTTP/1.1 302 Found\r\nLocation: /there\r\n"
	    "Content-Length: 0\r\n\r\n") };
	static const struct piece head[] = { P(
	    "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n") };
	static const struct piece huge[] = { P(
	    "HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\nxx") };
	struct script s;
	struct lx_err err;
	char *out = NULL;
	int64_t t0;

	snprintf(allow_host, sizeof(allow_host), "127.0.0.1");
	allow_port = lport;
	script(&s, redirect, 1, 1000);
	CHECK(fetch(&s, "{\"url\": \"http://127.0.0.1:%d/here\"}", 5000, &out,
	          &err)
	    == 0);
	CHECK_STR(out,
	    "{\"status\":302,\"headers\":{\"location\":\"/there\","
	    "\"content-length\":\"0\"},\"body\":\"\"}");
	CHECK(strncmp(s.req, "GET /here HTTP/1.1\r\n", 20) == 0);
	CHECK(strstr(s.req, "\r\nUser-Agent: Luxima-Functions/") != NULL);
	lx_free(out);
	out = NULL;
	/* an escaped backslash before "u0000" is no NUL */
	script(&s, redirect, 1, 1000);
	CHECK(fetch(&s,
	          "{\"url\": \"http://127.0.0.1:%d/\", \"method\": \"PUT\", "
	          "\"body\": \"x\\\\u0000y\"}",
	          5000, &out, &err)
	    == 0);
	CHECK(
	    s.reqlen > 8 && memcmp(s.req + s.reqlen - 8, "x\\u0000y", 8) == 0);
	lx_free(out);
	out = NULL;
	/* HEAD */
	script(&s, head, 1, 3000);
	CHECK(fetch(&s,
	          "{\"url\": \"http://127.0.0.1:%d/\", \"method\": \"HEAD\"}",
	          5000, &out, &err)
	    == 0);
	CHECK(out != NULL && strstr(out, ",\"body\":\"\"}") != NULL);
	lx_free(out);
	out = NULL;
	/* over 1 MiB */
	script(&s, huge, 1, 3000);
	CHECK(fetch(&s, "{\"url\": \"http://127.0.0.1:%d/\"}", 5000, &out, &err)
	    == -1);
	CHECK(out == NULL);
	CHECK(err.status == 502);
	CHECK_STR(err.code, "fetch_too_large");
	/* the deadline */
	script(&s, NULL, 0, 3000);
	t0 = lx_mono_ns();
	CHECK(fetch(&s, "{\"url\": \"http://127.0.0.1:%d/\"}", 250, &out, &err)
	    == -1);
	CHECK(err.status == 504);
	CHECK_STR(err.code, "fetch_timeout");
	CHECK((lx_mono_ns() - t0) / MS < 250 + SLACK_MS);
	/* a deadline already gone: nothing is tried */
	CHECK(fetch(NULL, "{\"url\": \"http://127.0.0.1:%d/\"}", -1, &out, &err)
	    == -1);
	CHECK_STR(err.code, "fetch_timeout");
	CHECK(!pending());
	/* refused connection */
	allow_port = 1;
	CHECK(fetch(NULL, "{\"url\": \"http://127.0.0.1:1/%d\"}", 5000, &out,
	          &err)
	    == -1);
	CHECK(err.status == 502);
	CHECK_STR(err.code, "fetch_failed");
	CHECK(strstr(err.detail, "cannot connect to 127.0.0.1:1") != NULL);
	/* TLS to a plain server */
	allow_port = lport;
	script(&s, redirect, 1, 1000);
	s.no_read = 1; /* answers the ClientHello in plain text */
	CHECK(
	    fetch(&s, "{\"url\": \"https://127.0.0.1:%d/\"}", 5000, &out, &err)
	    == -1);
	CHECK_STR(err.code, "fetch_failed");
}

int
main(void)
{
	listen_start();
	RUN(test_content_length);
	RUN(test_post_body);
	RUN(test_chunked);
	RUN(test_chunked_bad);
	RUN(test_until_close);
	RUN(test_too_large);
	RUN(test_never_answers);
	RUN(test_slow_body);
	RUN(test_redirect_not_followed);
	RUN(test_binary_body);
	RUN(test_head_and_interim);
	RUN(test_refusals);
	RUN(test_webhooks_post);
	RUN(test_fetch_refused_requests);
	RUN(test_fetch_allow_list);
	RUN(test_fetch_response);
	RUN(test_fetch_statuses_and_errors);
	close(lfd);
	return (lxtest_done());
}
