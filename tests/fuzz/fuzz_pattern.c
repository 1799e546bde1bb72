/*
 * libFuzzer target for the sandbox's pattern functions (edge_pattern.c):
 * runs string.find, match, gmatch or gsub on a fuzzed subject, pattern
 * and replacement both in an edge sandbox (small instruction budget) and
 * with the stock Lua 5.4 string library in a plain lua_State, and aborts
 * when the results or error messages differ. An input our matcher cannot
 * finish within the budget is skipped: the stock matcher takes the same
 * steps, without any limit.
 *
 * Input: byte 0 the function (bits 0-2), plain (bit 3) and gsub's n
 * (bits 4-7, 15: none); byte 1 the init (signed, 127: none); byte 2 the
 * pattern length (mod 65); byte 3 the replacement length (mod 33); then
 * pattern, replacement and subject (at most SUBJECT_MAX bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "edge.h"

#define SUBJECT_MAX 200 /* bytes of subject used */
#define JSON_MAX 2048 /* bytes of the request */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run(op, s, p, r, init, plain, n): the results of one operation as
 * text; compiled in both states. */
#define RUNNER \
	"local function one(v) local t = type(v) " \
	"if t == 'string' then return string.format('%q', v) end " \
	"if t == 'number' then return math.type(v) .. ':' .. tostring(v) " \
	"end return tostring(v) end " \
	"local function ser(...) local o = {} " \
	"for i = 1, select('#', ...) do o[i] = one((select(i, ...))) end " \
	"return table.concat(o, ' ') end " \
	"local function gm(s, p, init) local it, o = string.gmatch(s, p, " \
	"init), {} for i = 1, 50 do local r = table.pack(it()) " \
	"if r[1] == nil then break end " \
	"o[i] = '{' .. ser(table.unpack(r, 1, r.n)) .. '}' end " \
	"return table.concat(o) end " \
	"local tab = {a = 'A', b = false, [''] = 'E', x = 1} " \
	"local function run(op, s, p, r, init, plain, n) " \
	"if op == 0 then return ser(pcall(string.find, s, p, init, plain)) " \
	"elseif op == 1 then return ser(pcall(string.match, s, p, init)) " \
	"elseif op == 2 then return ser(pcall(gm, s, p, init)) " \
	"elseif op == 3 then return ser(pcall(string.gsub, s, p, r, n)) " \
	"elseif op == 4 then return ser(pcall(string.gsub, s, p, " \
	"function(...) return ser(...) end, n)) " \
	"elseif op == 5 then return ser(pcall(string.gsub, s, p, tab, n)) " \
	"end return ser(pcall(function() return (s):find(p, init) end)) " \
	"end "

static const char stock_src[] = RUNNER "return run";

static const char edge_src[] = RUNNER
    "local function unhex(h) local t = {} for i = 1, #h, 2 do "
    "t[#t + 1] = string.char(tonumber(h:sub(i, i + 1), 16)) end "
    "return table.concat(t) end "
    "return function(q) return {body = run(q.op, unhex(q.s), unhex(q.p), "
    "unhex(q.r), q.init, q.plain, q.n)} end";

static lua_State *plain;
static struct edge_state *st;
static struct edge_chunk *chunk;

static void
setup(void)
{
	struct edge_limits lim;
	struct lx_err err;

	plain = luaL_newstate();
	luaL_openlibs(plain);
	if (luaL_loadbuffer(plain, stock_src, strlen(stock_src), "=fuzz")
	        != LUA_OK
	    || lua_pcall(plain, 0, 1, 0) != LUA_OK)
		abort();
	lua_setglobal(plain, "run");
	edge_limits_default(&lim);
	lim.instructions = 300000;
	lim.wall_ms = 5000;
	st = edge_state_create(&lim);
	if (edge_compile(st, "fuzz", edge_src, strlen(edge_src), &chunk, &err)
	    == -1) {
		fprintf(stderr, "%s: %s\n", err.code, err.detail);
		abort();
	}
}

static void
add_hex(char *out, size_t *at, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[(*at)++] = hex[p[i] >> 4];
		out[(*at)++] = hex[p[i] & 15];
	}
}

/* The request for the sandbox: the strings in hex. */
static void
make_request(char *out, int op, const uint8_t *s, size_t ls, const uint8_t *p,
    size_t lp, const uint8_t *r, size_t lr, int init, int plain_flag, int n)
{
	size_t at;

	at = (size_t)snprintf(out, JSON_MAX, "{\"op\":%d,\"plain\":%s,", op,
	    plain_flag ? "true" : "false");
	if (init != 127)
		at += (size_t)snprintf(out + at, 32, "\"init\":%d,", init);
	if (n != 15)
		at += (size_t)snprintf(out + at, 32, "\"n\":%d,", n - 1);
	memcpy(out + at, "\"s\":\"", 5);
	at += 5;
	add_hex(out, &at, s, ls);
	memcpy(out + at, "\",\"p\":\"", 7);
	at += 7;
	add_hex(out, &at, p, lp);
	memcpy(out + at, "\",\"r\":\"", 7);
	at += 7;
	add_hex(out, &at, r, lr);
	memcpy(out + at, "\"}", 3);
}

/* The stock library's answer (a string on the plain state's stack). */
static const char *
stock(int op, const uint8_t *s, size_t ls, const uint8_t *p, size_t lp,
    const uint8_t *r, size_t lr, int init, int plain_flag, int n, size_t *len)
{
	lua_settop(plain, 0);
	lua_getglobal(plain, "run");
	lua_pushinteger(plain, op);
	lua_pushlstring(plain, (const char *)s, ls);
	lua_pushlstring(plain, (const char *)p, lp);
	lua_pushlstring(plain, (const char *)r, lr);
	if (init != 127)
		lua_pushinteger(plain, init);
	else
		lua_pushnil(plain);
	lua_pushboolean(plain, plain_flag);
	if (n != 15)
		lua_pushinteger(plain, n - 1);
	else
		lua_pushnil(plain);
	if (lua_pcall(plain, 7, 1, 0) != LUA_OK)
		abort();
	return (lua_tolstring(plain, -1, len));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edge_result res;
	struct lx_err err;
	char req[JSON_MAX];
	const uint8_t *p, *r, *s;
	const char *want;
	size_t lp, lr, ls, wlen;
	int op, plain_flag, n, init;

	if (plain == NULL)
		setup();
	if (size < 4)
		return (0);
	op = data[0] & 7;
	plain_flag = (data[0] >> 3) & 1;
	n = data[0] >> 4;
	init = (int8_t)data[1];
	lp = data[2] % 65;
	lr = data[3] % 33;
	if (size < 4 + lp + lr)
		return (0);
	p = data + 4;
	r = p + lp;
	s = r + lr;
	ls = size - 4 - lp - lr;
	if (ls > SUBJECT_MAX)
		ls = SUBJECT_MAX;
	make_request(req, op, s, ls, p, lp, r, lr, init, plain_flag, n);
	memset(&res, 0, sizeof(res));
	if (edge_call(st, chunk, req, NULL, &res, &err) == -1) {
		edge_result_cleanup(&res);
		if (strcmp(err.code, "function_limit_exceeded") == 0
		    && strncmp(err.detail, "limit memory", 12) != 0)
			return (0); /* too slow for the stock library too */
		fprintf(
		    stderr, "edge call failed: %s: %s\n", err.code, err.detail);
		abort();
	}
	want = stock(op, s, ls, p, lp, r, lr, init, plain_flag, n, &wlen);
	if (want == NULL || wlen != res.body_len
	    || memcmp(want, res.body, wlen) != 0) {
		fprintf(stderr, "differs:\n stock: %.*s\n edge:  %.*s\n",
		    (int)wlen, want != NULL ? want : "", (int)res.body_len,
		    res.body);
		abort();
	}
	edge_result_cleanup(&res);
	return (0);
}
