/*
 * Unit tests for edge_lua.c, the script API of edge functions: json
 * round trips and errors, crypto vectors, log lines and truncation, every
 * host function with and without its permission (a denial ends the call
 * even under pcall), op errors and the sticky quota, argument checks,
 * read-only tables, and the memory and instruction limits over json.
 * The host is a test double: C callbacks over in-memory arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "edge.h"
#include "lxtest.h"

#define NDOCS 32

/* The test host: documents, one secret, the last request of each kind. */
struct th {
	struct {
		char coll[132]; /* collection */
		char key[132]; /* key */
		char *json; /* document, lx_malloc'd */
	} docs[NDOCS];
	int ndocs; /* documents stored */
	int fail_status; /* != 0: every op fails with this status */
	char fail_code[48]; /* and this code */
	char fetched[1024]; /* last http.fetch request */
	int64_t deadline; /* its deadline */
	char job[512]; /* last "kind payload" enqueued */
	char event[512]; /* last "type data" emitted */
};

static struct th th;
static struct edge_state *st;
static struct lx_buf logbuf;

static int
injected(struct lx_err *err)
{
	if (th.fail_status == 0)
		return (0);
	lx_err_set(err, th.fail_status, th.fail_code, "injected");
	return (1);
}

static int
find_doc(const char *coll, const char *key)
{
	int i;

	for (i = 0; i < th.ndocs; i++)
		if (strcmp(th.docs[i].coll, coll) == 0
		    && strcmp(th.docs[i].key, key) == 0)
			return (i);
	return (-1);
}

static int
t_secret_get(
    void *ud, const char *name, char **val, size_t *len, struct lx_err *err)
{
	(void)ud;
	*val = NULL;
	if (injected(err))
		return (-1);
	if (strcmp(name, "API_KEY") == 0) {
		*val = lx_strndup("s3\0cret", 7);
		*len = 7;
	}
	return (0);
}

static int
t_doc_get(void *ud, const char *coll, const char *key, char **json,
    struct lx_err *err)
{
	int i;

	(void)ud;
	*json = NULL;
	if (injected(err))
		return (-1);
	if ((i = find_doc(coll, key)) != -1)
		*json = lx_strdup(th.docs[i].json);
	return (0);
}

static int
t_doc_put(void *ud, const char *coll, const char *key, const char *json,
    size_t len, struct lx_err *err)
{
	int i;

	(void)ud;
	if (injected(err))
		return (-1);
	if ((i = find_doc(coll, key)) == -1) {
		if (th.ndocs == NDOCS)
			return (lx_err_set(err, 507, "full", "no room"));
		i = th.ndocs++;
		snprintf(th.docs[i].coll, sizeof(th.docs[i].coll), "%s", coll);
		snprintf(th.docs[i].key, sizeof(th.docs[i].key), "%s", key);
	}
	lx_free(th.docs[i].json);
	th.docs[i].json = lx_strndup(json, len);
	return (0);
}

static int
t_doc_delete(void *ud, const char *coll, const char *key, int *deleted,
    struct lx_err *err)
{
	int i;

	(void)ud;
	*deleted = 0;
	if (injected(err))
		return (-1);
	if ((i = find_doc(coll, key)) != -1) {
		lx_free(th.docs[i].json);
		th.docs[i] = th.docs[--th.ndocs];
		th.docs[th.ndocs].json = NULL;
		*deleted = 1;
	}
	return (0);
}

static int
by_key(const void *a, const void *b)
{
	return (
	    strcmp(th.docs[*(const int *)a].key, th.docs[*(const int *)b].key));
}

static int
t_doc_query(void *ud, const char *coll, const char *prefix, const char *after,
    int limit, char **json, struct lx_err *err)
{
	struct lx_buf b;
	int idx[NDOCS], i, n = 0, out = 0;

	(void)ud;
	*json = NULL;
	if (injected(err))
		return (-1);
	for (i = 0; i < th.ndocs; i++)
		if (strcmp(th.docs[i].coll, coll) == 0
		    && strncmp(th.docs[i].key, prefix, strlen(prefix)) == 0
		    && strcmp(th.docs[i].key, after) > 0)
			idx[n++] = i;
	qsort(idx, (size_t)n, sizeof(idx[0]), by_key);
	lx_buf_init(&b);
	lx_buf_adds(&b, "[");
	for (i = 0; i < n && out < limit; i++, out++)
		lx_buf_addf(&b,
		    "%s{\"key\":\"%s\",\"value\":%s,\"updated_at\":"
		    "1700000000000}",
		    out > 0 ? "," : "", th.docs[idx[i]].key,
		    th.docs[idx[i]].json);
	lx_buf_adds(&b, "]");
	*json = lx_buf_take(&b);
	return (0);
}

static int
t_http_fetch(void *ud, const char *req_json, int64_t deadline_ns,
    char **resp_json, struct lx_err *err)
{
	(void)ud;
	*resp_json = NULL;
	if (injected(err))
		return (-1);
	snprintf(th.fetched, sizeof(th.fetched), "%s", req_json);
	th.deadline = deadline_ns;
	*resp_json = lx_strdup("{\"status\":201,\"headers\":{\"content-type\":"
	                       "\"text/plain\"},\"body\":\"pong\"}");
	return (0);
}

static int
t_job_enqueue(void *ud, const char *kind, const char *payload_json,
    char **job_id, struct lx_err *err)
{
	(void)ud;
	*job_id = NULL;
	if (injected(err))
		return (-1);
	snprintf(th.job, sizeof(th.job), "%s %s", kind, payload_json);
	*job_id = lx_strdup("job-1");
	return (0);
}

static int
t_event_emit(
    void *ud, const char *type, const char *data_json, struct lx_err *err)
{
	(void)ud;
	if (injected(err))
		return (-1);
	snprintf(th.event, sizeof(th.event), "%s %s", type, data_json);
	return (0);
}

static const struct edge_host_ops ops = { t_secret_get, t_doc_get, t_doc_put,
	t_doc_delete, t_doc_query, t_http_fetch, t_job_enqueue, t_event_emit };

static void
th_reset(void)
{
	int i;

	for (i = 0; i < th.ndocs; i++)
		lx_free(th.docs[i].json);
	memset(&th, 0, sizeof(th));
	lx_buf_reset(&logbuf);
}

/* A host with every op and perms. */
static struct edge_host
host_with(unsigned perms)
{
	struct edge_host h;

	memset(&h, 0, sizeof(h));
	h.ops = &ops;
	h.perms = perms;
	h.log = &logbuf;
	h.log_max = 1 << 16;
	return (h);
}

/* Runs "return function(req) <body> end" on st with host h. */
static int
run(const char *body, const char *req, const struct edge_host *h,
    struct edge_result *res, struct lx_err *err)
{
	struct edge_chunk *c;
	char src[8192];

	snprintf(src, sizeof(src), "return function(req) %s\nend", body);
	memset(res, 0, sizeof(*res));
	lx_err_clear(err);
	if (edge_compile(st, "t", src, strlen(src), &c, err) == -1)
		return (-1);
	return (edge_call(st, c, req, h, res, err));
}

/* Expects the Lua expression expr to be true under host h. */
static void
expect_true_req(const char *expr, const char *req, const struct edge_host *h)
{
	struct edge_result res;
	struct lx_err err;
	char body[6144];
	int rc;

	snprintf(body, sizeof(body), "return {json={ok=(%s)}}", expr);
	rc = run(body, req, h, &res, &err);
	CHECK(rc == 0 && strcmp(res.body, "{\"ok\":true}") == 0);
	if (rc != 0 || strcmp(res.body, "{\"ok\":true}") != 0)
		fprintf(stderr, "   for %s: %s %s %s\n", expr,
		    rc == 0 ? res.body : "", err.code, err.detail);
	edge_result_cleanup(&res);
}

static void
expect_true(const char *expr, const struct edge_host *h)
{
	expect_true_req(expr, NULL, h);
}

/* Expects the handler body to fail with status and code, and the detail
 * to contain detail (if not NULL). */
static void
expect_fail(const char *body, const struct edge_host *h, int status,
    const char *code, const char *detail)
{
	struct edge_result res;
	struct lx_err err;

	CHECK(run(body, NULL, h, &res, &err) == -1);
	CHECK(err.status == status);
	CHECK_STR(err.code, code);
	if (detail != NULL)
		CHECK(strstr(err.detail, detail) != NULL);
	if (err.status != status || strcmp(err.code, code) != 0
	    || (detail != NULL && strstr(err.detail, detail) == NULL))
		fprintf(stderr, "   for %s: %d %s %s\n", body, err.status,
		    err.code, err.detail);
	edge_result_cleanup(&res);
}

/* The same state still works normally (with and without a host). */
static void
check_still_ok(void)
{
	struct edge_host h = host_with(EDGE_PERM_ALL);

	expect_true("json.encode({a=1}) == '{\"a\":1}'", NULL);
	expect_true("secrets.get('API_KEY') == 's3\\0cret'", &h);
}

static void
test_json(void)
{
	expect_true("json.encode({a=1}) == '{\"a\":1}' and "
	            "json.encode({1, 2, 3}) == '[1,2,3]' and "
	            "json.encode({}) == '{}' and json.encode(nil) == 'null'",
	    NULL);
	expect_true("json.encode(json.null) == 'null' and "
	            "json.encode({a=json.null}) == '{\"a\":null}' and "
	            "json.encode({1, json.null, 3}) == '[1,null,3]'",
	    NULL);
	expect_true("json.encode('a\"\\\\\\n\\1/') == "
	            "'\"a\\\\\"\\\\\\\\\\\\u000a\\\\u0001/\"'",
	    NULL);
	expect_true("json.encode(1.5) == '1.5' and json.encode(3) == '3' and "
	            "json.encode(0.1) == '0.1' and json.encode(-7) == '-7' and "
	            "json.encode(1e300) == '1e+300' and "
	            "json.encode(true) == 'true'",
	    NULL);
	expect_true(
	    "math.type(json.decode('3')) == 'integer' and "
	    "math.type(json.decode('1.5')) == 'float' and "
	    "json.decode('-0.25') == -0.25 and json.decode('1e2') == 100",
	    NULL);
	/* Unicode: escapes (with a surrogate pair) in, UTF-8 out as is. */
	expect_true("json.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"') == "
	            "'\\u{e9}\\u{1f600}' and "
	            "json.encode('\\u{e9}') == '\"\\u{e9}\"' and "
	            "json.decode(json.encode('\\u{1f600}x')) == '\\u{1f600}x'",
	    NULL);
	expect_true("(function() local v = {a={b={1, 2, {c='x', d={}}}}, "
	            "s='t', f=false} local w = json.decode(json.encode(v)) "
	            "return w.a.b[3].c == 'x' and #w.a.b == 3 and w.s == 't' "
	            "and w.f == false and next(w.a.b[3].d) == nil end)()",
	    NULL);
	expect_true("json.decode('null') == json.null and "
	            "json.decode('[1,null,3]')[2] == json.null and "
	            "#json.decode('[1,null,3]') == 3 and "
	            "json.decode('{\"a\":null}').a == json.null and "
	            "next(json.decode('{}')) == nil and "
	            "type(json.null) == 'userdata'",
	    NULL);
}

static void
test_json_errors(void)
{
	struct edge_result res;
	struct lx_err err;

	/* Encoding errors. */
	expect_true("select(2, pcall(json.encode, {f=print or function() end}))"
	            ":find('json.encode: a function value cannot be encoded', "
	            "1, true) ~= nil",
	    NULL);
	expect_true("(function() local t = {} t.t = t local ok, e = "
	            "pcall(json.encode, t) return not ok and "
	            "e:find('nested too deeply', 1, true) ~= nil end)()",
	    NULL);
	expect_true("select(2, pcall(json.encode, {0/0})):find('NaN') and "
	            "not pcall(json.encode, math.huge) and "
	            "not pcall(json.encode, {1, x=2}) and "
	            "not pcall(json.encode, {[true]=1}) and "
	            "not pcall(json.encode, coroutine.create(print or "
	            "function() end))",
	    NULL);
	/* Decoding errors. */
	expect_true("select(2, pcall(json.decode, '{')):find("
	            "'json.decode: invalid JSON at byte', 1, true) ~= nil and "
	            "not pcall(json.decode, '') and "
	            "not pcall(json.decode, '[1,]') and "
	            "not pcall(json.decode, '1 2') and "
	            "not pcall(json.decode, \"{'a':1}\") and "
	            "select(2, pcall(json.decode, 5)):find("
	            "\"bad argument 'text'\", 1, true) ~= nil and "
	            "select(2, pcall(json.decode, '1\\0')):find('NUL') ~= nil",
	    NULL);
	/* Depth: 64 levels decode and encode, 65 do not. */
	expect_true("json.decode(('['):rep(64) .. (']'):rep(64)) ~= nil and "
	            "select(2, pcall(json.decode, ('['):rep(65) .. "
	            "(']'):rep(65))):find('nested deeper than 64') ~= nil",
	    NULL);
	expect_true("(function() local t = {} for i = 1, 63 do t = {t} end "
	            "local ok = pcall(json.encode, t) "
	            "return ok and not pcall(json.encode, {t}) end)()",
	    NULL);
	/* The response encoder is the same one. */
	CHECK(run("return {json={a=json.null, b={}, c={1}}}", NULL, NULL, &res,
	          &err)
	    == 0);
	CHECK(res.body != NULL && strstr(res.body, "\"a\":null") != NULL
	    && strstr(res.body, "\"b\":{}") != NULL
	    && strstr(res.body, "\"c\":[1]") != NULL);
	edge_result_cleanup(&res);
	expect_fail("return {json={f=function() end}}", NULL, 500,
	    "invalid_response", "json: a function value");
	/* The request keeps null members as nil. */
	expect_true_req("req.a == nil and req.b[2] == nil and req.b[3] == 3",
	    "{\"a\":null,\"b\":[1,null,3]}", NULL);
}

static void
test_crypto(void)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	char req[512], hpk[2 * sizeof(pk) + 1], hsig[2 * sizeof(sig) + 1];

	expect_true("crypto.hex(crypto.sha256('abc')) == 'ba7816bf8f01cfea4141"
	            "40de5dae2223b00361a396177a9cb410ff61f20015ad'",
	    NULL);
	/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
	expect_true("crypto.hex(crypto.hmac_sha256(('\\x0b'):rep(20), "
	            "'Hi There')) == 'b0344c61d8db38535ca8afceaf0bf12b881dc200"
	            "c9833da726e9376c2e32cff7'",
	    NULL);
	expect_true("crypto.hex(crypto.hmac_sha256('Jefe', "
	            "'what do ya want for nothing?')) == '5bdcc146bf60754e6a04"
	            "2426089575c75a003f089d2739839dec58b964ec3843'",
	    NULL);
	expect_true("crypto.hex(crypto.hmac_sha256(('\\xaa'):rep(131), "
	            "'Test Using Larger Than Block-Size Key - Hash Key First'))"
	            " == '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546"
	            "040f0ee37f54'",
	    NULL);
	expect_true("crypto.equal('abc', 'abc') and "
	            "not crypto.equal('abc', 'abd') and "
	            "not crypto.equal('abc', 'abcd') and crypto.equal('', '') "
	            "and not pcall(crypto.equal, 'a')",
	    NULL);

	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, (const unsigned char *)"hello", 5, sk);
	sodium_bin2hex(hpk, sizeof(hpk), pk, sizeof(pk));
	sodium_bin2hex(hsig, sizeof(hsig), sig, sizeof(sig));
	snprintf(req, sizeof(req), "{\"pk\":\"%s\",\"sig\":\"%s\"}", hpk, hsig);
	expect_true_req(
	    "(function() local pk, sig = crypto.unhex(req.pk), "
	    "crypto.unhex(req.sig) local bad = sig:sub(1, 10) .. "
	    "string.char(sig:byte(11) ~ 1) .. sig:sub(12) "
	    "return crypto.ed25519_verify(pk, 'hello', sig) == true and "
	    "crypto.ed25519_verify(pk, 'hellO', sig) == false and "
	    "crypto.ed25519_verify(pk, 'hello', bad) == false and "
	    "crypto.ed25519_verify(pk, 'hello', sig:sub(2)) == false and "
	    "select(2, pcall(crypto.ed25519_verify, pk:sub(2), 'hello', sig))"
	    ":find(\"bad argument 'pk'\", 1, true) ~= nil end)()",
	    req, NULL);
	sodium_memzero(sk, sizeof(sk));
}

static void
test_crypto_encodings(void)
{
	expect_true("crypto.base64('') == '' and crypto.base64('f') == 'Zg==' "
	            "and crypto.base64('fo') == 'Zm8=' and "
	            "crypto.base64('foo') == 'Zm9v' and "
	            "crypto.base64('foobar') == 'Zm9vYmFy' and "
	            "crypto.unbase64('Zm9vYmFy') == 'foobar' and "
	            "crypto.unbase64('Zg==') == 'f' and "
	            "crypto.unbase64('') == ''",
	    NULL);
	expect_true("crypto.base64('\\xfb\\xff', 'url') == '-_8' and "
	            "crypto.base64('\\xfb\\xff') == '+/8=' and "
	            "crypto.unbase64('-_8', 'url') == '\\xfb\\xff' and "
	            "crypto.unbase64('-_8=', 'url') == '\\xfb\\xff' and "
	            "crypto.unbase64('+/8=') == '\\xfb\\xff' and "
	            "not pcall(crypto.unbase64, '-_8=') and "
	            "not pcall(crypto.unbase64, 'Zg') and "
	            "not pcall(crypto.unbase64, 'Zm9v!') and "
	            "not pcall(crypto.unbase64, '+/8=', 'url') and "
	            "select(2, pcall(crypto.base64, 'x', 'URL'))"
	            ":find(\"bad argument 'variant'\", 1, true) ~= nil",
	    NULL);
	expect_true("(function() local s = crypto.random(200) return "
	            "crypto.unbase64(crypto.base64(s)) == s and "
	            "crypto.unbase64(crypto.base64(s, 'url'), 'url') == s and "
	            "crypto.unhex(crypto.hex(s)) == s end)()",
	    NULL);
	expect_true(
	    "crypto.hex('\\0\\255') == '00ff' and "
	    "crypto.unhex('00FF') == '\\0\\255' and "
	    "crypto.unhex('') == '' and "
	    "select(2, pcall(crypto.unhex, '0')):find('not hexadecimal') "
	    "and not pcall(crypto.unhex, 'zz') and "
	    "not pcall(crypto.unhex, '0 0') and not pcall(crypto.hex, 1)",
	    NULL);
	expect_true("#crypto.random(16) == 16 and #crypto.random(1024) == 1024 "
	            "and crypto.random(16) ~= crypto.random(16) and "
	            "not pcall(crypto.random, 0) and "
	            "not pcall(crypto.random, 1025) and "
	            "not pcall(crypto.random, 'x')",
	    NULL);
	expect_true("crypto.uuid():match('^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x"
	            "%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$') ~= nil and "
	            "crypto.uuid() ~= crypto.uuid()",
	    NULL);
}

static void
test_log(void)
{
	struct edge_host h = host_with(0);
	struct edge_result res;
	struct lx_err err;
	const char *p;
	int lines = 0;

	th_reset();
	CHECK(run("log.info('hello', 1, 1.5, true, nil, {}, "
	          "setmetatable({}, {__tostring = function() error('no') "
	          "end})) log.debug('d') log.warn('w\"\\n') log.error() "
	          "return {status=204}",
	          NULL, &h, &res, &err)
	    == 0);
	edge_result_cleanup(&res);
	CHECK_STR(logbuf.data,
	    "{\"level\":\"info\",\"msg\":\"hello 1 1.5 true nil table "
	    "table\"}\n"
	    "{\"level\":\"debug\",\"msg\":\"d\"}\n"
	    "{\"level\":\"warn\",\"msg\":\"w\\\"\\u000a\"}\n"
	    "{\"level\":\"error\",\"msg\":\"\"}\n");

	/* One message holds at most 4096 bytes, cut on a UTF-8 boundary. */
	lx_buf_reset(&logbuf);
	CHECK(run("log.info(('x'):rep(4095) .. '\\u{e9}', 'more') "
	          "return {status=204}",
	          NULL, &h, &res, &err)
	    == 0);
	edge_result_cleanup(&res);
	CHECK(
	    logbuf.len == strlen("{\"level\":\"info\",\"msg\":\"\"}\n") + 4095);

	/* Past log_max, lines are dropped and counted in a last line. */
	lx_buf_reset(&logbuf);
	h.log_max = 400;
	CHECK(run("for i = 1, 20 do log.info('line', i) end "
	          "return {status=204}",
	          NULL, &h, &res, &err)
	    == 0);
	edge_result_cleanup(&res);
	CHECK(logbuf.len <= 400);
	for (p = logbuf.data; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	p = logbuf.data != NULL ? strstr(logbuf.data, "log truncated: ") : NULL;
	CHECK(p != NULL && atoi(p + 15) == 20 - (lines - 1));
	CHECK(p != NULL && strstr(p, " lines dropped\"}\n") != NULL
	    && p[strlen(p) - 1] == '\n' && strchr(p, '\n')[1] == '\0');
	fprintf(
	    stderr, "   log of %zu bytes, %d lines kept\n", logbuf.len, lines);
	/* The next call logs again (the caller resets the buffer). */
	lx_buf_reset(&logbuf);
	CHECK(run("log.info('again') return {status=204}", NULL, &h, &res, &err)
	    == 0);
	edge_result_cleanup(&res);
	CHECK_STR(logbuf.data, "{\"level\":\"info\",\"msg\":\"again\"}\n");

	/* No host, or no log buffer: dropped silently. */
	expect_true("log.info('x') == nil", NULL);
	h.log = NULL;
	expect_true("log.info('x') == nil", &h);
}

struct perm_case {
	const char *call; /* a Lua call */
	unsigned perm; /* the permission it needs */
	const char *name; /* the permission's name */
	const char *ok; /* expression true after the call, as r */
};

static const struct perm_case perm_cases[] = {
	{ "secrets.get('API_KEY')", EDGE_PERM_SECRETS_READ, "secrets.read",
	    "r == 's3\\0cret'" },
	{ "docs.get('c', 'k')", EDGE_PERM_DOCS_READ, "docs.read", "r == nil" },
	{ "docs.query('c')", EDGE_PERM_DOCS_READ, "docs.read",
	    "type(r) == 'table' and #r == 0" },
	{ "docs.put('c', 'k', {a=1})", EDGE_PERM_DOCS_WRITE, "docs.write",
	    "r == nil" },
	{ "docs.delete('c', 'none')", EDGE_PERM_DOCS_WRITE, "docs.write",
	    "r == false" },
	{ "http.fetch('https://x.test/')", EDGE_PERM_HTTP_FETCH, "http.fetch",
	    "r.status == 201 and r.body == 'pong'" },
	{ "jobs.enqueue('mail', {to='a'})", EDGE_PERM_JOBS_ENQUEUE,
	    "jobs.enqueue", "r == 'job-1'" },
	{ "events.emit('order.paid', {id=1})", EDGE_PERM_EVENTS_EMIT,
	    "events.emit", "r == nil" },
};

static void
test_perms(void)
{
	struct edge_host h;
	char body[512], detail[128];
	size_t i;

	for (i = 0; i < LX_NELEM(perm_cases); i++) {
		th_reset();
		h = host_with(perm_cases[i].perm);
		snprintf(body, sizeof(body),
		    "(function() local r = %s return %s end)()",
		    perm_cases[i].call, perm_cases[i].ok);
		expect_true(body, &h);
		h = host_with(EDGE_PERM_ALL & ~perm_cases[i].perm);
		snprintf(detail, sizeof(detail),
		    "permission %s is not granted to this function",
		    perm_cases[i].name);
		snprintf(body, sizeof(body),
		    "local ok = pcall(function() return %s end) "
		    "return {status=200}",
		    perm_cases[i].call);
		expect_fail(body, &h, 403, "permission_denied", detail);
		check_still_ok();
	}
	h = host_with(0);
	/* Caught in a loop, a coroutine, a tail call, an xpcall handler. */
	expect_fail("while true do pcall(secrets.get, 'x') end", &h, 403,
	    "permission_denied", "secrets.read");
	expect_fail("coroutine.wrap(function() pcall(secrets.get, 'x') end)() "
	            "for i = 1, 1e6 do end return {status=200}",
	    &h, 403, "permission_denied", NULL);
	expect_fail("return pcall(secrets.get, 'x')", &h, 403,
	    "permission_denied", NULL);
	expect_fail("xpcall(secrets.get, function() log.info('h') "
	            "return 1 end, 'x') return {status=200}",
	    &h, 403, "permission_denied", NULL);
	/* Checked before the arguments. */
	expect_fail("pcall(docs.get, 1, 2) return {status=200}", &h, 403,
	    "permission_denied", "docs.read");
	check_still_ok();
}

static void
test_docs(void)
{
	struct edge_host h = host_with(EDGE_PERM_ALL);
	char key129[160];

	th_reset();
	expect_true("(function() docs.put('notes', 'a:1', {t='x', n={1, 2}, "
	            "z=json.null}) local d = docs.get('notes', 'a:1') "
	            "return d.t == 'x' and d.n[2] == 2 and d.z == json.null "
	            "and docs.get('notes', 'nope') == nil "
	            "and docs.get('other', 'a:1') == nil end)()",
	    &h);
	expect_true("docs.get('notes', 'a:1').t == 'x'", &h);
	expect_true("docs.delete('notes', 'a:1') == true and "
	            "docs.delete('notes', 'a:1') == false and "
	            "docs.get('notes', 'a:1') == nil",
	    &h);
	expect_true(
	    "(function() for _, k in ipairs({'b2', 'a2', 'a1', 'a3'}) "
	    "do docs.put('c', k, {k=k}) end "
	    "local r = docs.query('c', {prefix='a', after='a1', limit=1}) "
	    "local all = docs.query('c') "
	    "return #r == 1 and r[1].key == 'a2' and r[1].value.k == 'a2' "
	    "and r[1].updated_at == 1700000000000 and #all == 4 "
	    "and all[4].key == 'b2' and "
	    "#docs.query('c', {prefix='a'}) == 3 and "
	    "#docs.query('c', {limit=100}) == 4 end)()",
	    &h);
	/* Arguments, checked before the host is called. */
	memset(key129, 'k', 129);
	key129[129] = '\0';
	expect_true("select(2, pcall(docs.get, 'a/b', 'k')):find("
	            "\"docs.get: bad argument 'coll'\", 1, true) ~= nil and "
	            "select(2, pcall(docs.get, 'c', '')):find("
	            "\"bad argument 'key'\", 1, true) ~= nil and "
	            "select(2, pcall(docs.put, 'c', 'k', 'v')):find("
	            "\"docs.put: bad argument 'value': table expected, got "
	            "string\", 1, true) ~= nil and "
	            "not pcall(docs.get, 'c', nil) and "
	            "not pcall(docs.get, 'c', 'a\\0b') and "
	            "not pcall(docs.delete, 'c', 'a b') and "
	            "select(2, pcall(docs.query, 'c', {limit=0})):find("
	            "\"bad argument 'limit'\", 1, true) ~= nil and "
	            "not pcall(docs.query, 'c', {limit=101}) and "
	            "not pcall(docs.query, 'c', {limit=1.5}) and "
	            "not pcall(docs.query, 'c', {prefix='a/'}) and "
	            "not pcall(docs.query, 'c', 5) and "
	            "select(2, pcall(docs.query, 'c', {lmit=1})):find("
	            "\"unknown option 'lmit'\", 1, true) ~= nil and "
	            "not pcall(docs.query, 'c', {1})",
	    &h);
	{
		char expr[512];

		snprintf(expr, sizeof(expr),
		    "not pcall(docs.get, 'c', '%s') and "
		    "pcall(docs.get, 'c', '%.128s')",
		    key129, key129);
		expect_true(expr, &h);
	}
}

static void
test_http_jobs_events(void)
{
	struct edge_host h = host_with(EDGE_PERM_ALL);
	int64_t before = lx_mono_ns();

	th_reset();
	expect_true("(function() local r = http.fetch('https://x.test/a?b=1', "
	            "{method='POST', headers={['X-A']='1'}, body='hi\\n'}) "
	            "return r.status == 201 and r.body == 'pong' and "
	            "r.headers['content-type'] == 'text/plain' end)()",
	    &h);
	CHECK_STR(th.fetched,
	    "{\"url\":\"https://x.test/a?b=1\",\"method\":\"POST\","
	    "\"headers\":{\"X-A\":\"1\"},\"body\":\"hi\\u000a\"}");
	CHECK(th.deadline > before && th.deadline <= lx_mono_ns() + 2000000000);
	expect_true("http.fetch('https://x.test/').status == 201", &h);
	CHECK_STR(th.fetched,
	    "{\"url\":\"https://x.test/\",\"method\":\"GET\","
	    "\"headers\":{},\"body\":null}");
	expect_true("select(2, pcall(http.fetch, 'https://x.test/', "
	            "{method='get'})):find(\"bad argument 'method'\", 1, true) "
	            "and not pcall(http.fetch, 'https://x .test/') and "
	            "not pcall(http.fetch, '') and not pcall(http.fetch) and "
	            "not pcall(http.fetch, 'https://x.test/', "
	            "{headers={['Bad Name']='1'}}) and "
	            "not pcall(http.fetch, 'https://x.test/', "
	            "{headers={A='1\\r\\nB: 2'}}) and "
	            "not pcall(http.fetch, 'https://x.test/', {headers={A=1}}) "
	            "and not pcall(http.fetch, 'https://x.test/', {timeout=1}) "
	            "and not pcall(http.fetch, 'https://x.test/', {body={}})",
	    &h);
	expect_true(
	    "jobs.enqueue('mail.send', {to='a@b.c', n={1}}) == 'job-1'", &h);
	CHECK(strncmp(th.job, "mail.send {", 11) == 0
	    && strstr(th.job, "\"to\":\"a@b.c\"") != NULL
	    && strstr(th.job, "\"n\":[1]") != NULL);
	expect_true("not pcall(jobs.enqueue, 'mail', 'x') and "
	            "not pcall(jobs.enqueue, 'bad kind', {}) and "
	            "not pcall(jobs.enqueue, 'mail', {f=function() end})",
	    &h);
	expect_true("events.emit('order.paid', {id=7}) == nil", &h);
	CHECK_STR(th.event, "order.paid {\"id\":7}");
	expect_true("not pcall(events.emit, 'x') and "
	            "not pcall(events.emit, '', {})",
	    &h);
}

static void
test_op_errors(void)
{
	struct edge_host h = host_with(EDGE_PERM_ALL);

	th_reset();
	th.fail_status = 500;
	snprintf(th.fail_code, sizeof(th.fail_code), "boom");
	expect_true("(function() local ok, e = pcall(docs.get, 'c', 'k') "
	            "return not ok and e:find('docs.get: boom: injected', 1, "
	            "true) ~= nil end)()",
	    &h);
	expect_true("select(2, pcall(secrets.get, 'x')):find("
	            "'secrets.get: boom: injected', 1, true) and "
	            "not pcall(docs.put, 'c', 'k', {}) and "
	            "not pcall(docs.delete, 'c', 'k') and "
	            "not pcall(docs.query, 'c') and "
	            "not pcall(http.fetch, 'https://x.test/') and "
	            "not pcall(jobs.enqueue, 'k', {}) and "
	            "not pcall(events.emit, 't', {})",
	    &h);
	expect_fail("docs.get('c', 'k')", &h, 422, "function_error",
	    "docs.get: boom: injected");
	/* A 403 that is not the quota stays catchable. */
	th.fail_status = 403;
	snprintf(th.fail_code, sizeof(th.fail_code), "forbidden_host");
	expect_true("not pcall(http.fetch, 'https://x.test/')", &h);
	/* The quota ends the call, pcall or not, with the op's err. */
	th.fail_status = 402;
	snprintf(th.fail_code, sizeof(th.fail_code), "quota_exceeded");
	expect_fail("pcall(docs.put, 'c', 'k', {}) return {status=200}", &h,
	    402, "quota_exceeded", "injected");
	th.fail_status = 403;
	expect_fail("for i = 1, 3 do pcall(jobs.enqueue, 'k', {}) end "
	            "return {status=200}",
	    &h, 403, "quota_exceeded", "injected");
	th.fail_status = 0;
	check_still_ok();
}

static int
no_secret(
    void *ud, const char *name, char **val, size_t *len, struct lx_err *err)
{
	(void)ud;
	(void)name;
	(void)len;
	(void)err;
	*val = NULL;
	return (0);
}

static void
test_unavailable(void)
{
	struct edge_host_ops few;
	struct edge_host h = host_with(EDGE_PERM_ALL);

	expect_true("select(2, pcall(secrets.get, 'x')):find("
	            "'secrets.get: not available here', 1, true) ~= nil and "
	            "select(2, pcall(docs.query, 'c')):find("
	            "'docs.query: not available here', 1, true) and "
	            "not pcall(http.fetch, 'https://x.test/') and "
	            "not pcall(events.emit, 't', {})",
	    NULL);
	memset(&few, 0, sizeof(few));
	few.secret_get = no_secret;
	h.ops = &few;
	expect_true("secrets.get('API_KEY') == nil and "
	            "select(2, pcall(docs.get, 'c', 'k')):find("
	            "'docs.get: not available here', 1, true) and "
	            "not pcall(jobs.enqueue, 'k', {})",
	    &h);
	h.ops = NULL;
	expect_true("select(2, pcall(secrets.get, 'x')):find("
	            "'not available here', 1, true) ~= nil",
	    &h);
	expect_fail("docs.get('c', 'k')", NULL, 422, "function_error",
	    "docs.get: not available here");
}

static void
test_readonly(void)
{
	static const char *const areas[] = { "json", "crypto", "log", "secrets",
		"docs", "http", "jobs", "events" };
	char expr[512];
	size_t i;

	for (i = 0; i < LX_NELEM(areas); i++) {
		snprintf(expr, sizeof(expr),
		    "not pcall(function() %s.x = 1 end) and "
		    "not pcall(rawset, %s, 'x', 1) and "
		    "getmetatable(%s) == false and %s.x == nil",
		    areas[i], areas[i], areas[i], areas[i]);
		expect_true(expr, NULL);
	}
	expect_fail(
	    "json.encode = nil", NULL, 422, "function_error", "read-only");
	/* A global shadowing a table lives only in its call. */
	expect_true("(function() json = {encode = function() return 'x' end} "
	            "crypto = nil return json.encode({}) == 'x' end)()",
	    NULL);
	expect_true(
	    "json.encode({}) == '{}' and crypto.hex('a') == '61'", NULL);
}

/* Stores a document of n strings of len bytes each in the test host. */
static void
put_big_doc(const char *key, int n, size_t len)
{
	struct lx_buf b;
	char *x;
	int i;

	x = lx_malloc(len + 1);
	memset(x, 'x', len);
	x[len] = '\0';
	lx_buf_init(&b);
	lx_buf_adds(&b, "[");
	for (i = 0; i < n; i++)
		lx_buf_addf(&b, "%s\"%s\"", i > 0 ? "," : "", x);
	lx_buf_adds(&b, "]");
	lx_free(x);
	snprintf(th.docs[th.ndocs].coll, sizeof(th.docs[0].coll), "c");
	snprintf(th.docs[th.ndocs].key, sizeof(th.docs[0].key), "%s", key);
	th.docs[th.ndocs++].json = lx_buf_take(&b);
}

static void
test_limits(void)
{
	struct edge_host h = host_with(EDGE_PERM_ALL);
	struct edge_limits lim;
	size_t before, after;

	edge_state_free(st);
	edge_limits_default(&lim);
	lim.mem_bytes = (size_t)1 << 20;
	st = edge_state_create(&lim);
	check_still_ok();
	before = edge_state_memory(st);
	/* 600 KB of text fits, the values it holds do not. */
	expect_fail("local s = '[' .. ('0,'):rep(300000) .. '0]' "
	            "local t = json.decode(s)",
	    NULL, 422, "function_limit_exceeded", "limit memory");
	expect_fail("local s = '[' .. ('\"abcdefgh\",'):rep(60000) .. '0]' "
	            "local t = json.decode(s)",
	    NULL, 422, "function_limit_exceeded", "limit memory");
	expect_fail("local t = {} for i = 1, 30000 do t[i] = ('x'):rep(40) end "
	            "local s = json.encode({t, t})",
	    NULL, 422, "function_limit_exceeded", "limit memory");
	expect_fail("local t = {} for i = 1, 30000 do t[i] = ('x'):rep(40) end "
	            "return {json={t, t}}",
	    NULL, 422, "function_limit_exceeded", "limit memory");
	/* Documents from the host: refused before parsing, or while their
	 * parsed tree (counted) is pushed; nothing leaks either way. */
	th_reset();
	put_big_doc("big2", 2, 600000);
	put_big_doc("big3", 3, 300000);
	expect_fail("local d = docs.get('c', 'big2')", &h, 422,
	    "function_limit_exceeded", "limit memory");
	expect_fail("local d = docs.get('c', 'big3')", &h, 422,
	    "function_limit_exceeded", "limit memory");
	expect_true("select(2, pcall(docs.get, 'c', 'big3')):find("
	            "'not enough memory') ~= nil",
	    &h);
	th_reset();
	expect_true("#json.encode({1, 2}) == 5", NULL);
	after = edge_state_memory(st);
	fprintf(stderr, "   heap %zu -> %zu bytes\n", before, after);
	CHECK(after < before + ((size_t)256 << 10));
	check_still_ok();

	/* Decoding is charged to the instruction budget. */
	edge_state_free(st);
	edge_limits_default(&lim);
	lim.instructions = 200000;
	st = edge_state_create(&lim);
	expect_fail("local s = '[' .. ('0,'):rep(2000000) .. '0]' "
	            "local t = json.decode(s)",
	    NULL, 422, "function_limit_exceeded", "limit instructions");
	expect_fail("local s = ('x'):rep(8000000) "
	            "local t = crypto.sha256(s)",
	    NULL, 422, "function_limit_exceeded", "limit instructions");
	check_still_ok();
	edge_state_free(st);
	st = edge_state_create(NULL);
}

static void
bench_host_call(void)
{
	static const char src[] =
	    "return function(req) return {status=200, json={name=req.name}} "
	    "end";
	struct edge_host h = host_with(EDGE_PERM_ALL);
	struct edge_chunk *c;
	struct edge_result res;
	struct lx_err err;
	int64_t t0, t1;
	int i, n = 10000, ok = 0;

	CHECK(edge_compile(st, "bench", src, strlen(src), &c, &err) == 0);
	t0 = lx_mono_ns();
	for (i = 0; i < n; i++) {
		if (edge_call(st, c, "{\"name\":\"b\"}", &h, &res, &err) == 0)
			ok++;
		edge_result_cleanup(&res);
	}
	t1 = lx_mono_ns();
	CHECK(ok == n);
	fprintf(stderr, "   trivial call with a host: %.2f us average\n",
	    (double)(t1 - t0) / 1000.0 / n);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	lx_buf_init(&logbuf);
	st = edge_state_create(NULL);
	RUN(test_json);
	RUN(test_json_errors);
	RUN(test_crypto);
	RUN(test_crypto_encodings);
	RUN(test_log);
	RUN(test_perms);
	RUN(test_docs);
	RUN(test_http_jobs_events);
	RUN(test_op_errors);
	RUN(test_unavailable);
	RUN(test_readonly);
	RUN(test_limits);
	RUN(bench_host_call);
	th_reset();
	edge_state_free(st);
	lx_buf_cleanup(&logbuf);
	return (lxtest_done());
}
