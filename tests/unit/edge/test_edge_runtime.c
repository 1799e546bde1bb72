/*
 * Unit tests for edge_runtime.c: handlers returning json= and body=,
 * syntax errors, the sandbox (no io/os/debug/package/bytecode), the
 * memory, instruction, wall-clock and stack limits (also in coroutines
 * and under pcall), isolation between calls, and that the same state
 * keeps working after every failure.
 */
#include <stdio.h>
#include <string.h>

#include "edge.h"
#include "lxtest.h"

static const char trivial[] =
    "return function(req) return {status=200, json={name=req.name}} end";

static struct edge_state *st;

/* Compiles and runs src with req; returns edge_call's result, err and
 * res filled (res cleaned by the caller). */
static int
run(const char *src, const char *req, struct edge_result *res,
    struct lx_err *err)
{
	struct edge_chunk *c;

	memset(res, 0, sizeof(*res));
	lx_err_clear(err);
	if (edge_compile(st, "t", src, strlen(src), &c, err) == -1)
		return (-1);
	return (edge_call(st, c, req, NULL, res, err));
}

/* The trivial handler still works on the shared state. */
static void
check_still_ok(void)
{
	struct edge_result res;
	struct lx_err err;

	CHECK(run(trivial, "{\"name\":\"x\"}", &res, &err) == 0);
	CHECK(res.status == 200);
	CHECK_STR(res.body, "{\"name\":\"x\"}");
	edge_result_cleanup(&res);
}

/* Runs a handler whose body is `code` and expects a failure with code
 * and (if limit is not NULL) that limit. Returns the limit that ended
 * the call (NULL if none). */
static const char *
expect_fail(const char *code, const char *ecode, const char *limit)
{
	struct edge_result res;
	struct lx_err err;
	const char *hit;
	char src[2048];

	snprintf(src, sizeof(src),
	    "return function(req) %s\nreturn {status=200} end", code);
	CHECK(run(src, NULL, &res, &err) == -1);
	CHECK_STR(err.code, ecode);
	if (strcmp(err.code, ecode) != 0)
		fprintf(stderr, "   got %s: %s\n", err.code, err.detail);
	if (limit != NULL) {
		CHECK(edge_state_last_limit(st) != NULL
		    && strcmp(edge_state_last_limit(st), limit) == 0);
		CHECK(strncmp(err.detail, "limit ", 6) == 0
		    && strncmp(err.detail + 6, limit, strlen(limit)) == 0);
		if (strncmp(err.detail + 6, limit, strlen(limit)) != 0)
			fprintf(stderr, "   detail: %s\n", err.detail);
	}
	CHECK(err.status == 422);
	hit = edge_state_last_limit(st);
	edge_result_cleanup(&res);
	check_still_ok();
	return (hit);
}

/* Runs `code` and expects the handler to return {ok=true}. */
static void
expect_true(const char *code)
{
	struct edge_result res;
	struct lx_err err;
	char src[2048];

	snprintf(src, sizeof(src),
	    "return function(req) return {json={ok=(%s)}} end", code);
	CHECK(run(src, NULL, &res, &err) == 0);
	CHECK_STR(res.body, "{\"ok\":true}");
	if (res.body == NULL || strcmp(res.body, "{\"ok\":true}") != 0)
		fprintf(
		    stderr, "   for %s: %s %s\n", code, err.code, err.detail);
	edge_result_cleanup(&res);
}

static void
test_trivial(void)
{
	struct edge_result res;
	struct lx_err err;

	CHECK(run(trivial, "{\"name\":\"ada\"}", &res, &err) == 0);
	CHECK(res.status == 200);
	CHECK_STR(res.body, "{\"name\":\"ada\"}");
	CHECK(res.body_len == strlen(res.body));
	CHECK_STR(res.content_type, "application/json");
	CHECK_STR(res.headers_json, "{}");
	edge_result_cleanup(&res);

	CHECK(run("return function(req) return {status=201, "
	          "headers={['X-Id']='7', ['Content-Type']='text/csv'}, "
	          "body='a,b\\n'} end",
	          NULL, &res, &err)
	    == 0);
	CHECK(res.status == 201);
	CHECK_STR(res.body, "a,b\n");
	CHECK(res.body_len == 4);
	CHECK_STR(res.content_type, "text/csv");
	CHECK_STR(res.headers_json, "{\"X-Id\":\"7\"}");
	edge_result_cleanup(&res);

	CHECK(
	    run("return function(req) return {body='hi'} end", NULL, &res, &err)
	    == 0);
	CHECK(res.status == 200);
	CHECK_STR(res.content_type, "text/plain; charset=utf-8");
	edge_result_cleanup(&res);

	/* Request conversion: arrays, nested objects, numbers. */
	CHECK(run("return function(r) return {json={n=#r.a, s=r.o.s, "
	          "i=math.type(r.a[1]), f=r.f}} end",
	          "{\"a\":[1,2,3],\"o\":{\"s\":\"\\\"q\\\"\"},\"f\":1.5}", &res,
	          &err)
	    == 0);
	CHECK(res.body != NULL && strstr(res.body, "\"n\":3") != NULL);
	CHECK(res.body != NULL
	    && strstr(res.body, "\"s\":\"\\\"q\\\"\"") != NULL);
	CHECK(
	    res.body != NULL && strstr(res.body, "\"i\":\"integer\"") != NULL);
	CHECK(res.body != NULL && strstr(res.body, "\"f\":1.5") != NULL);
	edge_result_cleanup(&res);
	CHECK(run(trivial, "[1]", &res, &err) == -1);
	CHECK_STR(err.code, "invalid_request");
	edge_result_cleanup(&res);
}

static void
test_compile(void)
{
	struct edge_chunk *a, *b;
	struct lx_err err;
	struct edge_result res;
	const char bad[] =
	    "return function(req)\n  local x = \n  return 1 +\nend";
	const char bin[] = "\033Lua\x54\x00\x19\x93\r\n\x1a\n";

	CHECK(edge_compile(st, "fn", trivial, strlen(trivial), &a, &err) == 0);
	CHECK(edge_compile(st, "fn", trivial, strlen(trivial), &b, &err) == 0);
	CHECK(a == b);
	CHECK(
	    edge_compile(st, "other", trivial, strlen(trivial), &b, &err) == 0);
	CHECK(a != b);
	CHECK(edge_compile(st, "fn", bad, strlen(bad), &a, &err) == -1);
	CHECK(err.status == 400);
	CHECK_STR(err.code, "syntax_error");
	CHECK(strncmp(err.detail, "line ", 5) == 0);
	fprintf(stderr, "   syntax: %s\n", err.detail);
	CHECK(edge_compile(st, "fn", bin, sizeof(bin) - 1, &a, &err) == -1);
	CHECK_STR(err.code, "syntax_error");
	CHECK(strstr(err.detail, "binary") != NULL);
	/* A chunk that does not return a function. */
	CHECK(run("return 42", NULL, &res, &err) == -1);
	CHECK(err.status == 500);
	CHECK_STR(err.code, "invalid_response");
	edge_result_cleanup(&res);
	CHECK(run("return function() return 'x' end", NULL, &res, &err) == -1);
	CHECK_STR(err.code, "invalid_response");
	edge_result_cleanup(&res);
	CHECK(run("return function() return {status=42} end", NULL, &res, &err)
	    == -1);
	CHECK_STR(err.code, "invalid_response");
	edge_result_cleanup(&res);
	CHECK(run("return function() return {json={1, 2, {a={true}}, 'x'}} end",
	          NULL, &res, &err)
	    == 0);
	CHECK_STR(res.body, "[1,2,{\"a\":[true]},\"x\"]");
	edge_result_cleanup(&res);
	CHECK(run("return function() return {json={1, nil, 3, x=1}} end", NULL,
	          &res, &err)
	    == -1);
	CHECK_STR(err.code, "invalid_response");
	edge_result_cleanup(&res);
	CHECK(run("return function() local t = {} t.t = t return {json=t} end",
	          NULL, &res, &err)
	    == -1);
	CHECK_STR(err.code, "invalid_response");
	edge_result_cleanup(&res);
	CHECK(run("return function() return {headers={['X-A']='a\\r\\nB: c'}} "
	          "end",
	          NULL, &res, &err)
	    == -1);
	CHECK_STR(err.code, "invalid_response");
	edge_result_cleanup(&res);
	check_still_ok();
}

static void
test_sandbox(void)
{
	expect_true("string.dump == nil and ('').dump == nil");
	expect_true("load('\\27Lua') == nil and "
	            "load('\\27LuaT\\0', 'b', 'b') == nil");
	expect_true("select(2, load('\\27LuaT\\0')):find('binary') ~= nil");
	expect_true("load('return 1 + 1')() == 2");
	expect_true("io == nil and debug == nil and package == nil");
	expect_true("require == nil and dofile == nil and loadfile == nil");
	expect_true("os.execute == nil and os.getenv == nil and "
	            "os.remove == nil and os.exit == nil");
	expect_true("print == nil and warn == nil");
	expect_true("math.type(os.time()) == 'integer' and "
	            "type(os.date('%Y')) == 'string' and "
	            "type(os.clock()) == 'number'");
	expect_true("math.random(1, 6) >= 1 and math.randomseed == nil");
	expect_true("type(collectgarbage('count')) == 'number' and "
	            "not pcall(collectgarbage, 'stop') and "
	            "not pcall(collectgarbage)");
	expect_true(
	    "getmetatable('') == false and getmetatable(_ENV) == false");
	expect_true("not pcall(setmetatable, {}, {__gc = function() end})");
	expect_true("not pcall(rawset, string, 'upper', 1) and "
	            "not pcall(function() string.upper = nil end)");
	expect_true("coroutine.wrap(function() coroutine.yield(5) end)() == 5");
	expect_true(
	    "coroutine.wrap(function(a, b) return a + b end)(2, 3) == 5");
	expect_true("select(2, pcall(coroutine.wrap(function() error('boom') "
	            "end))):find('boom') ~= nil");
	expect_true(
	    "(function() local closed = false "
	    "pcall(coroutine.wrap(function() local x <close> = "
	    "setmetatable({}, {__close = function() closed = true end}) "
	    "error('e') end)) return closed end)()");
	expect_true("select(2, xpcall(error, function(m) return 'H:' .. m end, "
	            "'x', 0)) == 'H:x'");
	expect_true("_G == _ENV and utf8.char(72) == 'H' and "
	            "table.concat({1, 2}, ',') == '1,2'");
	expect_fail("os.execute('true')", "function_error", NULL);
	expect_fail("io.open('/etc/passwd')", "function_error", NULL);
	expect_fail("debug.getinfo(1)", "function_error", NULL);
	expect_fail("require('os')", "function_error", NULL);
	expect_fail(
	    "getmetatable('').__index.upper = nil", "function_error", NULL);
	expect_fail("string.upper = nil", "function_error", NULL);
	expect_fail("error({})", "function_error", NULL);
	check_still_ok();
}

static void
test_isolation(void)
{
	/* Globals written by one call are gone in the next. */
	expect_true("(function() leak = 1; _G.leak2 = 2; "
	            "rawset(_ENV, 'leak3', 3) return true end)()");
	expect_true("leak == nil and leak2 == nil and leak3 == nil");
	/* Libraries stay intact after attempts on them. */
	expect_fail(
	    "getmetatable('').__index.upper = nil", "function_error", NULL);
	expect_true("('x'):upper() == 'X' and string.upper('y') == 'Y'");
	/* load()'s default environment is the call's own. */
	expect_true("(function() load('leak4 = 4')() return leak4 == 4 end)()");
	expect_true("leak4 == nil");
}

static void
test_limits(void)
{
	struct edge_limits lim;
	const char *hit;

	expect_fail("local s = string.rep('x', 1e9)", "function_limit_exceeded",
	    "memory");
	expect_fail(
	    "local t = {} while true do t[#t + 1] = ('x'):rep(1000) end",
	    "function_limit_exceeded", "memory");
	expect_fail(
	    "while true do end", "function_limit_exceeded", "instructions");
	hit = expect_fail("local function f() return 1 + f() end f()",
	    "function_limit_exceeded", NULL);
	CHECK(hit != NULL
	    && (strcmp(hit, "stack") == 0 || strcmp(hit, "memory") == 0));
	fprintf(stderr, "   recursion ended by limit %s\n",
	    hit != NULL ? hit : "(none)");
	expect_fail("local t = setmetatable({}, {__index = function(t, k) "
	            "return t[k] end}) local x = t.x",
	    "function_limit_exceeded", "stack");
	expect_fail("coroutine.wrap(function() while true do end end)()",
	    "function_limit_exceeded", "instructions");
	expect_fail("local co = coroutine.create(function() while true do end "
	            "end) coroutine.resume(co) while true do end",
	    "function_limit_exceeded", "instructions");
	/* Catching the limit error does not let the script go on. */
	expect_fail("while true do pcall(function() while true do end end) end",
	    "function_limit_exceeded", "instructions");
	expect_fail(
	    "for i = 1, 10 do pcall(string.rep, 'x', 1e9) end "
	    "local t = {} while true do t[#t + 1] = ('x'):rep(1000) end",
	    "function_limit_exceeded", "memory");
	/* A limit error leaves hooks off until caught: no script code may
	 * run in between (message handlers, __close of dead coroutines). */
	expect_fail("xpcall(function() while true do end end, "
	            "function() while true do end end)",
	    "function_limit_exceeded", "instructions");
	expect_fail("local co = coroutine.create(function() local x <close> = "
	            "setmetatable({}, {__close = function() while true do end "
	            "end}) while true do end end) coroutine.resume(co) "
	            "coroutine.close(co)",
	    "function_limit_exceeded", "instructions");
	expect_fail("coroutine.wrap(function() local x <close> = "
	            "setmetatable({}, {__close = function() while true do end "
	            "end}) while true do end end)()",
	    "function_limit_exceeded", "instructions");
	expect_fail("local x <close> = setmetatable({}, {__close = function() "
	            "while true do end end}) while true do end",
	    "function_limit_exceeded", "instructions");
	/* C library loops that neither allocate nor run instructions. */
	expect_true("string.rep('', 1 << 60) == '' and "
	            "(''):rep(1 << 60, '') == ''");
	expect_fail("table.move({}, 1, 1 << 60, 2)", "function_limit_exceeded",
	    "instructions");
	expect_true("('ab'):rep(3, ',') == 'ab,ab,ab' and "
	            "table.move({1, 2, 3}, 1, 3, 2)[4] == 3");
	/* A response larger than the memory cap. */
	expect_fail("local s = ('x'):rep(1e6) local t = {} "
	            "for i = 1, 100 do t[i] = s end do return {json=t} end",
	    "function_limit_exceeded", "memory");

	/* Wall clock, with a budget too large to end the loop first. */
	edge_state_free(st);
	lim.mem_bytes = EDGE_MEM_DEFAULT;
	lim.instructions = INT64_MAX / 2;
	lim.wall_ms = 50;
	st = edge_state_create(&lim);
	expect_fail(
	    "while true do end", "function_limit_exceeded", "wall_clock");
	expect_fail("coroutine.wrap(function() while true do end end)()",
	    "function_limit_exceeded", "wall_clock");
	edge_state_free(st);
	st = edge_state_create(NULL);
}

static void
test_memory_stays_small(void)
{
	size_t before, after;
	int i;

	check_still_ok();
	before = edge_state_memory(st);
	for (i = 0; i < 200; i++)
		check_still_ok();
	expect_fail(
	    "local t = {} while true do t[#t + 1] = ('x'):rep(1000) end",
	    "function_limit_exceeded", "memory");
	after = edge_state_memory(st);
	fprintf(stderr, "   heap %zu -> %zu bytes\n", before, after);
	CHECK(after < before + ((size_t)1 << 20));
}

static void
bench_trivial(void)
{
	struct edge_chunk *c;
	struct edge_result res;
	struct lx_err err;
	int64_t t0, t1;
	int i, n = 10000, ok = 0;

	CHECK(
	    edge_compile(st, "bench", trivial, strlen(trivial), &c, &err) == 0);
	t0 = lx_mono_ns();
	for (i = 0; i < n; i++) {
		if (edge_call(st, c, "{\"name\":\"b\"}", NULL, &res, &err) == 0)
			ok++;
		edge_result_cleanup(&res);
	}
	t1 = lx_mono_ns();
	CHECK(ok == n);
	fprintf(stderr, "   trivial call: %.2f us average over %d calls\n",
	    (double)(t1 - t0) / 1000.0 / n, n);
}

int
main(void)
{
	st = edge_state_create(NULL);
	RUN(test_trivial);
	RUN(test_compile);
	RUN(test_sandbox);
	RUN(test_isolation);
	RUN(test_limits);
	RUN(test_memory_stays_small);
	RUN(bench_trivial);
	edge_state_free(st);
	return (lxtest_done());
}
