/*
 * Unit tests for edge_pattern.c: a differential test of string.find,
 * match, gmatch and gsub in the sandbox against the stock Lua 5.4 string
 * library in a plain lua_State (every result and every error message must
 * be the same), pathological patterns that must end with 422
 * "function_limit_exceeded" and leave the state usable, and a timing line
 * (informational) of the two matchers on an ordinary pattern.
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "edge.h"
#include "lxtest.h"

#define SRC_MAX 8192 /* bytes of one generated script */

/* Helpers both states run before a case: F, M, S are find, match, gsub;
 * G(s, p, init) lists what gmatch yields; ser() prints values (strings
 * with %q, numbers with their subtype) so results compare as text. */
static const char prelude[] =
    "local F, M, S = string.find, string.match, string.gsub "
    "local function one(v) local t = type(v) "
    "if t == 'string' then return string.format('%q', v) end "
    "if t == 'number' then return math.type(v) .. ':' .. tostring(v) end "
    "return tostring(v) end "
    "local function ser(...) local o = {} "
    "for i = 1, select('#', ...) do o[i] = one((select(i, ...))) end "
    "return table.concat(o, ' ') end "
    "local function G(s, p, init) local it, o = string.gmatch(s, p, init), {} "
    "for i = 1, 200 do local r = table.pack(it()) "
    "if r[1] == nil then break end "
    "o[i] = '{' .. ser(table.unpack(r, 1, r.n)) .. '}' end "
    "return table.concat(o) end ";

/* Lua expressions; each one's results (or error) must be the same in
 * both states. */
static const char *const cases[] = {
	/* classes and their complements */
	"F('abc123', '%a+')",
	"F('abc123', '%d+')",
	"M(' \\t\\n\\vx', '%s+')",
	"M('aB3_!', '%w+')",
	"M('aB3_!', '%p')",
	"M('\\1\\2\\127x', '%c+')",
	"M('abcDEF', '%l+')",
	"M('abcDEF', '%u+')",
	"M('0x1fZg', '%x+')",
	"M(' a b', '%g+')",
	"M('abc123', '%A+')",
	"M('abc123', '%D+')",
	"M('a b', '%S+%s%S')",
	"M('ab12!?', '%W+')",
	"M('abcDEF', '%L+')",
	"M('abcDEF', '%U+')",
	"M('xyz0', '%X+')",
	"M('ab!?cd', '%P+')",
	"M('\\1ab', '%C+')",
	"M(' \\1ab', '%G+')",
	"M('abc', '.')",
	"M('abc', '..$')",
	"M('', '.')",
	"M('a.b', '%.')",
	"M('100%', '%d+%%')",
	"M('a+b', 'a%+b')",
	"M('[x]', '%[(.)%]')",
	"M('a-b', '%-')",
	"M('z\\0', '%z')",
	"M('z\\0', '%Z+')",
	"M('a\\0b', '[%z]')",
	"G('a\\0b\\0', '[^%z]+')",
	"M('a$b', '%$b')",
	"M('q', '%q')",
	/* sets */
	"M('hello', '[aeiou]+')",
	"M('x-y', '[a-z]+')",
	"M('abc]', '[]]')",
	"M(']', '[]a]')",
	"M('^', '[%^]')",
	"M('a^', '[a^]+')",
	"M('-', '[a-]')",
	"M('-', '[-a]')",
	"M('b', '[^a]')",
	"M(']', '[^]]')",
	"M('a]', '[^]]')",
	"M('%', '[%%]')",
	"M('A1', '[%a%d]+')",
	"M('a1 b', '[^%s]+')",
	"M('[', '[[]')",
	"M('z-', '[a-]+')",
	"M('\\200\\201x', '[\\128-\\255]+')",
	"M('^]', '[]^]+')",
	"M('a-z', '[%a-z]+')",
	"M('c', '[a-c-e]')",
	"M('-', '[a-c-e]')",
	"M('d', '[a-c-e]')",
	"M('ABCabc', '[^%l]+')",
	"M('x]y', '[%]]')",
	"M('e', '[^a-d]')",
	/* quantifiers */
	"M('aaa', 'a-b')",
	"M('aaab', 'a-b')",
	"M('<a><b>', '<(.-)>')",
	"M('<a><b>', '<(.*)>')",
	"M('ab', 'a?b')",
	"M('b', 'a?b')",
	"M('', 'a*')",
	"M('aaa', 'a+')",
	"M('bbb', 'a+')",
	"M('aaa', '^a-$')",
	"M('abcabc', '.-c')",
	"M('abcabc', '.*c')",
	"M('a?', 'a%?')",
	"M('ab', 'a*?b')",
	"M('aab', 'a+-b')",
	"M('xyz', '[xyz]*')",
	"M('xx', 'x?\?')",
	"M(' ', '%s-$')",
	"F('', '')",
	"F('abc', '')",
	"F('abc', '', 10)",
	"F('abc', '', 4)",
	"F('abc', '', 3)",
	"F(('a'):rep(1000) .. 'b', 'a*b')",
	"M(('ab'):rep(50), '(ab)*$')",
	/* anchors */
	"F('abc', '^b')",
	"F('abc', '^a')",
	"F('abc', 'c$')",
	"F('abc', 'b$')",
	"F('a$c', 'a$c')",
	"F('ab^c', 'b^c')",
	"M('ab', '^(a)(b)$')",
	"F('aaa', '^a', 2)",
	"F('abc', '^$')",
	"F('', '^$')",
	"M('a$', 'a$$')",
	"M('^x', '^^x')",
	"S('aaa', '^a', 'b')",
	"S('hello', '^', '>')",
	"S('hello', '$', '<')",
	"S('aaa', '^a*', 'X')",
	"S('', '^', 'X')",
	"S('abc', '^$', 'x')",
	"G('^a^b', '^.')",
	/* captures */
	"M('key=val', '(%w+)=(%w+)')",
	"M('abc', '()b()')",
	"F('abc', '(b)')",
	"M('abc', '((a)(b))')",
	"M('abc', '(a(b(c)))')",
	"F('abc', '()')",
	"M('hello', '(h)(e)(l)(l)(o)')",
	"M(('a'):rep(32), ('(a)'):rep(32))",
	"M(('a'):rep(33), ('(a)'):rep(33))",
	"M('abc', '(a)()(c)')",
	"M('abc', '(a)(()c)')",
	"M('', '()')",
	"F('  x', '()x')",
	"M('date: 2024-01-15', '(%d+)-(%d+)-(%d+)')",
	/* back-references */
	"M('abab', '(ab)%1')",
	"M('xyzxyz', '(%w+)%1')",
	"F('abcabc', '(.-)%1$')",
	"M([[a\"b\"c]], [[([\"'])(.-)%1]])",
	"M('aa', '()%1')",
	"M('abcb', '(b)(c)%1')",
	"M('abcc', '(b)(c)%2')",
	"F('abc', '%1')",
	"F('abc', '(a)%2')",
	"F('abc', '(a%1)')",
	"M('abc', '%0')",
	"M('a', '(a)%9')",
	/* %b */
	"M('f(a(b)c)d', '%b()')",
	"M('((', '%b()')",
	"M('[[x]]', '%b[]')",
	"S('x(1) y(2(3))', '%b()', '')",
	"M('abc', '%b')",
	"M('abc', '%ba')",
	"M('\"a\"', '%b\"\"')",
	"M('xaxx', '%bxx')",
	"M('(a)(b)', '%b()%b()')",
	"M('(a', '%b()')",
	/* %f */
	"S('THE (quick) fox', '%f[%a]%a+', 'W')",
	"F('hello world', '%f[%w]%w+', 2)",
	"M('abc', '%f[%l]')",
	"F('THE END', '%f[%u]', 2)",
	"F('ab', '%f[%W]')",
	"F('ab', '%f[\\0]')",
	"F('x', '%f[^\\0]')",
	"S('hello world', '%f[%w]', '|')",
	"S('hello world', '%f[%W]', '|')",
	"F('a', '%f')",
	"F('a', '%fa')",
	"F('a', '%f[a')",
	/* init */
	"F('abcabc', 'b', 3)",
	"F('abcabc', 'b', -2)",
	"F('abcabc', 'b', -100)",
	"F('abc', 'b', 100)",
	"F('abc', 'b', 0)",
	"F('abc', 'c', 4)",
	"M('abc', '.', -1)",
	"F('', '', 1)",
	"F('', '', 2)",
	"F('abc', '$', 4)",
	"F('abc', 'b', math.mininteger)",
	"F('abc', 'b', math.maxinteger)",
	"F('abc', 'b', 2.0)",
	"F('abc', 'b', 2.5)",
	"F('abc', 'b', '2')",
	/* plain and the special-characters shortcut */
	"F('a.b', '.', 1, true)",
	"F('a.b', '.')",
	"F('a+b', '+', 1, true)",
	"F('(x)', '(x)', 1, true)",
	"F('abc', '', 2, true)",
	"F('abc', 'bc', -2, true)",
	"F('a%b', '%', 1, true)",
	"F('abc', 'abcd', 1, true)",
	"F('a)b', ')')",
	"F('a]b', ']')",
	"F('a\\0b', '\\0b')",
	"F('abc', 'b', 1, nil)",
	"F('abc', 'b', 1, 0)",
	"F('abab', 'ab', 2, 'yes')",
	"F('abc', 'x.)')",
	"F('xbc', 'x.)')",
	/* gmatch */
	"G('hello world from Lua', '%a+')",
	"G('k1=v1, k2=v2', '(%w+)=(%w+)')",
	"G('abc', '')",
	"G('abc', '%w*')",
	"G('abc', '.-')",
	"G('abc', 'x*')",
	"G('a,b,,c', '([^,]*)')",
	"G('abc', '()')",
	"G('abcabc', 'b', 3)",
	"G('abc', '.', -1)",
	"G('abc', '.', 10)",
	"G('abc', '.', 4)",
	"G('abc', '()', 4)",
	"G('aaa', 'a-')",
	"G('', '')",
	"G('abc', '%')",
	"G('one two', '(%a+)', 0)",
	"G('ab', '(a)(b)()')",
	"G('abc', '(')",
	"G('a1b2', '%d', -2)",
	/* gsub */
	"S('abc', '%w*', '-')",
	"S('abc', '', '-')",
	"S('hello world', 'o', '0')",
	"S('hello world', 'o', '0', 1)",
	"S('hello', 'l', 'L', 0)",
	"S('hello', 'l', 'L', -1)",
	"S('hello world', '(%w+)', '<%1>')",
	"S('hello world', '%w+', '%0 %0')",
	"S('abc', '%w', '%%')",
	"S('abc', '(b)', '%2')",
	"S('abc', 'b', '%2')",
	"S('abc', 'b', '%1')",
	"S('abc', 'b', '%x')",
	"S('abc', 'b', '%')",
	"S('abc', 'b', 'x%')",
	"S('abc', 'b', '%\\0')",
	"S('abc', '()', '%1')",
	"S('abc', '(a)()', '%2%1')",
	"S('abc', 'b', 5)",
	"S('a b', '%s', 1.5)",
	"S('abc', 'b', {b = 'B'})",
	"S('abc', '%w', {a = 1, b = true})",
	"S('abc', '%w', {a = false})",
	"S('abc', '(%w)(%w)', {ab = 'X', a = 'Y'})",
	"S('abc', '()', {[1] = 'one', [2] = 'two'})",
	"S('abc', '%w', function(c) return c:upper() end)",
	"S('abc', '%w', function() return nil end)",
	"S('abc', '%w', function() return {} end)",
	"S('abc', '%w', function() return 7 end)",
	"S('abc', '(%w)()', function(c, p) return c .. p end)",
	"S('abc', '.', function() error('boom', 0) end)",
	"S('abc', '.', function() error('boom') end)",
	"S('abc', '.', function(...) return select('#', ...) end)",
	"S('abc', '(', 'x')",
	"S('abc', '(', '%1')",
	"S('abc', '(', function(c) return 'x' end)",
	"S('abc', 'b')",
	"S('abc', 'b', true)",
	"S('abc', 'b', 'x', 'y')",
	"S('abc', 'b', 'x', 1.5)",
	"S('aaa', 'a', 'b', 2.0)",
	"S('', '', 'x')",
	"S('abc', '.-', '-')",
	"S('abc', 'x*', '-')",
	"S('a\\0b\\0c', '\\0', '|')",
	"S('hello', '', '.', 3)",
	"S('abc', '%f[%w]', '^')",
	"S(('x'):rep(100), 'x', 'yy')",
	"S('x = 1, y = 2', '(%w+) = (%w+)', '%2 = %1')",
	"S('abc', '.', setmetatable({}, {__index = function(t, k) "
	"return k:upper() end}))",
	/* argument errors, numbers as strings, methods */
	"F(nil, 'a')",
	"F('a')",
	"F('a', 'a', 'x')",
	"M({}, 'a')",
	"G(nil, 'a')",
	"G('a', nil)",
	"F(123, '2')",
	"M(12.5, '%d+%.%d')",
	"F(12345, 34)",
	"S(12321, 2, 9)",
	"('abc'):find('b')",
	"('k=v'):match('(%w)=(%w)')",
	"('x y'):gsub('%s', '_')",
	"select('#', ('abc'):gmatch('.')())",
	"pcall(string.find)",
	"pcall(string.gmatch, 'a', 'a', {})",
	/* UTF-8 bytes and embedded NULs */
	"M('h\\195\\169llo', '[\\128-\\255]+')",
	"S('na\\195\\175ve caf\\195\\169', '[\\192-\\255][\\128-\\191]*', '?')",
	"G('\\230\\151\\165\\230\\156\\172', "
	"'[\\0-\\127\\194-\\244][\\128-\\191]*')",
	"M('\\195\\169', '%a')",
	"G('\\195\\169t\\195\\169', '%w')",
	"F('a\\0b\\0', '\\0')",
	"F('a\\0b\\0', '\\0', 3)",
	"M('a\\0b', '(.)\\0')",
	"M('a\\0b', '[\\0]')",
	"M('x\\0y', '%c')",
	"G('a\\0b\\0c', '[^\\0]+')",
	"M('a\\0', 'a%\\0')",
	"M('\\0\\0x', '\\0*()')",
	"F('a\\0b', 'b', 1, true)",
	"S('\\0', '', '%0%0')",
	"M('(\\0)', '%b()')",
	"M('a\\0b', '%f[\\0]')",
	"M('a', '[\\0-\\255]')",
	/* malformed patterns, lazily found */
	"F('abc', '%')",
	"F('abc', '[a')",
	"F('abc', '[a%')",
	"F('abc', '[]')",
	"F('abc', '[^]')",
	"F('abc', '(a')",
	"M('abc', '(a')",
	"F('abc', 'a)')",
	"F('abc', '.)')",
	"F('abc', '%b')",
	"F('abc', '%bx')",
	"F('abc', '%f')",
	"F('abc', '%fx')",
	"F('abc', 'x[')",
	"F('xbc', 'x[')",
	"F('abc', 'y%')",
	"F('ybc', 'y%')",
	"M('abc', '[a-')",
	"M('abc', '[%a')",
	"M('abc', '[a%]')",
	"M('ab]', '[a%]]+')",
	"M('abc', ('('):rep(40))",
	"M('abc', ('()'):rep(33))",
	"F(('a'):rep(300), ('a?'):rep(199))",
	"F(('a'):rep(300), ('a?'):rep(200))",
	"F(('a'):rep(300), ('a*'):rep(199))",
	"F(('a'):rep(300), ('a*'):rep(200))",
	"F(('a'):rep(300), ('a-'):rep(200))",
	"F('b', ('a?'):rep(300) .. 'b')",
	"M(('a'):rep(10), ('(a)'):rep(10) .. '%0')",
	"M('abc', '(()')",
	"M('abc', '())')",
};

static lua_State *plain; /* the stock library, no sandbox */
static struct edge_state *st; /* the sandbox under test */

/* Runs chunk in the sandbox; the one place that calls edge_call. */
static int
call_chunk(struct edge_chunk *c, struct edge_result *res, struct lx_err *err)
{
	return (edge_call(st, c, NULL, NULL, res, err));
}

/* Compiles and runs src in the sandbox. */
static int
sandbox_run(const char *src, struct edge_result *res, struct lx_err *err)
{
	struct edge_chunk *c;

	memset(res, 0, sizeof(*res));
	lx_err_clear(err);
	if (edge_compile(st, "t", src, strlen(src), &c, err) == -1)
		return (-1);
	return (call_chunk(c, res, err));
}

/* Runs src in the stock state; returns its one result as a string. */
static const char *
stock_run(const char *src, size_t *len)
{
	lua_settop(plain, 0);
	if (luaL_loadbuffer(plain, src, strlen(src), "=t") != LUA_OK
	    || lua_pcall(plain, 0, 1, 0) != LUA_OK) {
		fprintf(
		    stderr, "   stock failed: %s\n", lua_tostring(plain, -1));
		return (NULL);
	}
	return (lua_tolstring(plain, -1, len));
}

/* Prints n bytes of p, escaping what is not printable. */
static void
show(const char *what, const char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "   %s: ", what);
	for (i = 0; i < n; i++)
		if (p[i] >= ' ' && p[i] < 127)
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\%d", (unsigned char)p[i]);
	fputc('\n', stderr);
}

/* Runs expr in both states; 1 if the results agree. */
static int
same(const char *expr)
{
	struct edge_result res;
	struct lx_err err;
	char src[SRC_MAX];
	const char *want;
	size_t wlen = 0;
	int ok;

	snprintf(src, sizeof(src),
	    "%sreturn ser(pcall(function() return %s end))", prelude, expr);
	want = stock_run(src, &wlen);
	snprintf(src, sizeof(src),
	    "%sreturn function() return {body = ser(pcall(function() "
	    "return %s end))} end",
	    prelude, expr);
	if (sandbox_run(src, &res, &err) == -1) {
		fprintf(stderr, "   %s: sandbox failed: %s: %s\n", expr,
		    err.code, err.detail);
		edge_result_cleanup(&res);
		return (0);
	}
	ok = want != NULL && res.body_len == wlen
	    && memcmp(res.body, want, wlen) == 0;
	if (!ok) {
		fprintf(stderr, "   differs: %s\n", expr);
		if (want != NULL)
			show("stock", want, wlen);
		show("edge ", res.body, res.body_len);
	}
	edge_result_cleanup(&res);
	return (ok);
}

static void
test_differential(void)
{
	size_t i, n = LX_NELEM(cases), failed = 0;

	for (i = 0; i < n; i++)
		if (!same(cases[i]))
			failed++;
	CHECK(n >= 150);
	CHECK(failed == 0);
	fprintf(stderr, "   %zu cases, %zu differ\n", n, failed);
}

/* The trivial handler still works on st. */
static void
check_still_ok(void)
{
	struct edge_result res;
	struct lx_err err;

	CHECK(sandbox_run("return function() return {body = "
	                  "('a=1'):gsub('(%w)=(%w)', '%2=%1')} end",
	          &res, &err)
	    == 0);
	CHECK_STR(res.body, "1=a");
	edge_result_cleanup(&res);
}

/* Runs code and expects it to end with limit (NULL: instructions or
 * wall_clock) within 3 s, then checks the state still works. */
static void
expect_limit(const char *code, const char *limit)
{
	struct edge_result res;
	struct lx_err err;
	const char *hit;
	char src[SRC_MAX];
	int64_t t0, ms;
	int rc;

	snprintf(src, sizeof(src),
	    "return function() %s\nreturn {status = 200} end", code);
	t0 = lx_mono_ns();
	rc = sandbox_run(src, &res, &err);
	ms = (lx_mono_ns() - t0) / 1000000;
	hit = edge_state_last_limit(st);
	CHECK(rc == -1);
	CHECK(err.status == 422);
	CHECK_STR(err.code, "function_limit_exceeded");
	if (limit != NULL)
		CHECK(hit != NULL && strcmp(hit, limit) == 0);
	else
		CHECK(hit != NULL
		    && (strcmp(hit, "instructions") == 0
		        || strcmp(hit, "wall_clock") == 0));
	CHECK(ms < 3000);
	fprintf(stderr, "   %lld ms, %s: %.60s\n", (long long)ms,
	    rc == -1 ? err.detail : "(no error)", code);
	edge_result_cleanup(&res);
	check_still_ok();
}

static void
test_pathological(void)
{
	struct edge_limits lim;

	expect_limit("local a = ('a'):rep(30000) "
	             "string.find(a, ('a*'):rep(30) .. 'b')",
	    NULL);
	expect_limit("local a = ('a'):rep(30000) "
	             "pcall(string.find, a, ('a*'):rep(30) .. 'b') "
	             "for i = 1, 1e9 do end",
	    NULL);
	expect_limit("(('a'):rep(50000) .. 'x'):find('(.-)%1$')", NULL);
	expect_limit("(('ab'):rep(30000)):match('(.-)%1$')", NULL);
	expect_limit("(('('):rep(100000)):find('%b()')", NULL);
	expect_limit("(('('):rep(30000)):gsub('%b()%b()', '')", NULL);
	expect_limit("local s = ('a'):rep(1e6) s:gsub('a*b', '')", NULL);
	expect_limit("local s = ('a '):rep(5e5) s:gsub('%s*%S*$', 'x')", NULL);
	expect_limit(
	    "for w in ('a'):rep(30000):gmatch('a*a*a*a*b') do end", NULL);
	expect_limit("local n = 0 for w in ('a'):rep(3e5):gmatch('a-b') "
	             "do n = n + 1 end",
	    NULL);
	expect_limit("local set = '[' .. ('b'):rep(1e6) .. 'a]' "
	             "(('a'):rep(1e5)):find(set .. '*x')",
	    NULL);
	expect_limit("(('a'):rep(1e5)):find('%f[a]' .. ('a?'):rep(150) .. "
	             "'b')",
	    NULL);
	expect_limit("local s = ('x'):rep(1e6) "
	             "for i = 1, 1e9 do s:find('y', 1, true) end",
	    NULL);
	expect_limit(
	    "(('a'):rep(2e4)):gsub('.-.-.-.-b', function() end)", NULL);

	/* With a budget too large to matter, the clock ends the matcher. */
	edge_state_free(st);
	edge_limits_default(&lim);
	lim.instructions = INT64_MAX / 2;
	lim.wall_ms = 100;
	st = edge_state_create(&lim);
	expect_limit("local a = ('a'):rep(30000) "
	             "string.find(a, ('a*'):rep(30) .. 'b')",
	    "wall_clock");
	expect_limit("(('('):rep(1e6)):gsub('%b()', '')", "wall_clock");
	edge_state_free(st);
	st = edge_state_create(NULL);
}

/* Scripts with heavy but ordinary pattern use finish. */
static void
test_ordinary_work(void)
{
	struct edge_result res;
	struct lx_err err;

	CHECK(sandbox_run(
	          "return function() local s = ('key=value; '):rep(20000) "
	          "local n = 0 for k, v in s:gmatch('(%w+)=(%w+)') do "
	          "n = n + 1 end local t, c = s:gsub('%s', '') "
	          "return {body = n .. ' ' .. c .. ' ' .. #t} end",
	          &res, &err)
	    == 0);
	CHECK_STR(res.body, "20000 20000 200000");
	if (res.body == NULL)
		fprintf(stderr, "   %s: %s\n", err.code, err.detail);
	edge_result_cleanup(&res);
	check_still_ok();
}

/* 100k finds of an ordinary pattern in each state (informational). */
static void
bench_find(void)
{
	static const char loop[] =
	    "local s, n = 'name=luxima', 0 for i = 1, 100000 do "
	    "if s:find('(%w+)=(%w+)') then n = n + 1 end end ";
	struct edge_result res;
	struct lx_err err;
	struct edge_chunk *c;
	char src[SRC_MAX];
	int64_t t0, t1, t2;
	size_t len;
	const char *got;

	snprintf(src, sizeof(src),
	    "return function() %s return {body = tostring(n)} end", loop);
	CHECK(edge_compile(st, "bench", src, strlen(src), &c, &err) == 0);
	t0 = lx_mono_ns();
	snprintf(src, sizeof(src), "%s return tostring(n)", loop);
	got = stock_run(src, &len);
	CHECK(got != NULL && strcmp(got, "100000") == 0);
	t1 = lx_mono_ns();
	CHECK(call_chunk(c, &res, &err) == 0);
	t2 = lx_mono_ns();
	CHECK_STR(res.body, "100000");
	edge_result_cleanup(&res);
	fprintf(stderr,
	    "   timing: 100k finds of \"(%%w+)=(%%w+)\": stock %.1f ms, "
	    "edge %.1f ms\n",
	    (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);
}

int
main(void)
{
	plain = luaL_newstate();
	luaL_openlibs(plain);
	st = edge_state_create(NULL);
	RUN(test_differential);
	RUN(test_pathological);
	RUN(test_ordinary_work);
	RUN(bench_find);
	edge_state_free(st);
	lua_close(plain);
	return (lxtest_done());
}
