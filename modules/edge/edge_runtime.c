/*
 * The edge-function runtime declared in edge.h: a sandboxed lua_State per
 * worker, a counting allocator (memory cap), a count hook (instruction
 * budget and wall-clock deadline, also inside coroutines, which inherit
 * the hook in Lua 5.4), a chunk cache keyed by name and source, and the
 * request and response of a call (their JSON code is in edge_lua.c, with
 * the script API tables).
 *
 * Isolation between calls: the scripts can reach only (a) the fresh _ENV
 * of the call, whose metatable (hidden) reads from the shared safe
 * globals, (b) read-only proxies of the library tables and (c) C
 * functions. The real library tables, the string metatable and the
 * registry are unreachable, so nothing written by one call is seen by the
 * next. Limits are checked between VM instructions and charged by the C
 * loops a script can make long (edge_charge: the pattern matcher of
 * edge_pattern.c, table.move, the JSON codec of edge_lua.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "edge.h"
#include "edge_int.h"

#define HOOK_EVERY 1000 /* instructions between two runs of the hook */
#define CHUNK_MAX 256 /* chunks cached per state before a flush */
#define GC_AFTER_GROWTH ((size_t)64 << 10) /* full GC when a call left more */

const char *const edge_limit_names[] = { NULL, "memory", "instructions",
	"wall_clock", "stack", "host" };

/* State of one edge_call, shared with its protected function. */
struct call_ctx {
	struct edge_state *s; /* the state */
	struct edge_chunk *chunk; /* the chunk to run */
	const cJSON *req; /* the request, or NULL */
	int invalid; /* 1: the response was refused (why says why) */
	int too_big; /* 1: the response outgrew lim.mem_bytes */
	char why[200]; /* reason of an invalid response */
	int status; /* response status */
	struct lx_buf headers; /* headers as a JSON object */
	struct lx_buf body; /* body bytes */
	struct edge_enc enc; /* encoding of json= into body */
	char *content_type; /* Content-Type, or NULL for the default */
	int is_json; /* body was made from json= */
};

/* --- memory, hook ----------------------------------------------------- */

static void *
edge_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct edge_state *s = ud;
	size_t old = ptr != NULL ? osize : 0;
	void *p;

	if (nsize == 0) {
		free(ptr);
		s->used -= old;
		return (NULL);
	}
	if (nsize > old
	    && (s->used > s->cap || nsize - old > s->cap - s->used)) {
		s->mem_refused = 1;
		return (NULL);
	}
	if ((p = realloc(ptr, nsize)) == NULL)
		return (NULL);
	s->used = s->used - old + nsize;
	return (p);
}

struct edge_state *
edge_state_of(lua_State *L)
{
	return (*(struct edge_state **)lua_getextraspace(L));
}

/* Counts instructions down and watches the clock. Once a limit is hit it
 * stays hit: the hook then runs on every instruction and raises again, so
 * a script catching the error with pcall cannot go on. */
static void
hook(lua_State *L, lua_Debug *ar)
{
	struct edge_state *s = edge_state_of(L);

	(void)ar;
	if (s->hit == LIM_NONE) {
		s->budget -= s->every;
		if (s->budget <= 0)
			s->hit = LIM_INSTRUCTIONS;
		else if (lx_mono_ns() >= s->deadline_ns)
			s->hit = LIM_WALL;
	}
	if (s->hit != LIM_NONE) {
		lua_sethook(L, hook, LUA_MASKCOUNT, 1);
		luaL_error(
		    L, "function_limit_exceeded: %s", edge_limit_names[s->hit]);
	}
}

/* --- the sandbox -------------------------------------------------------- */

static int
sb_readonly(lua_State *L)
{
	return (luaL_error(L, "attempt to modify a read-only table"));
}

static int
sb_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushvalue(L, 1);
	if (lua_rawget(L, LUA_REGISTRYINDEX) != LUA_TNIL)
		return (luaL_error(L, "attempt to modify a read-only table"));
	lua_pop(L, 1);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return (1);
}

static int
sb_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE && lua_pushliteral(L, "__gc") != NULL
	    && lua_rawget(L, 2) != LUA_TNIL)
		return (luaL_error(L, "__gc metamethods are not allowed"));
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return (1);
}

/* load() with the mode forced to text; without an env argument the chunk
 * gets the registry globals, which edge_call points at the call's _ENV. */
static int
sb_load(lua_State *L)
{
	if (lua_gettop(L) < 3)
		lua_settop(L, 3);
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return (lua_gettop(L));
}

/*
 * An error raised by the hook leaves hooks off on its thread until a
 * pcall catches it, so Lua code run in between would escape the limits:
 * xpcall's message handler and the __close handlers that coroutine.close
 * and coroutine.wrap run on a dead coroutine. Once a limit is hit these
 * wrappers run no script code.
 */
static int
limit_hit(lua_State *L)
{
	return (edge_state_of(L)->hit != LIM_NONE);
}

static int
sb_msgh(lua_State *L)
{
	if (limit_hit(L)) {
		lua_settop(L, 1);
		return (1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return (1);
}

static int
sb_cont(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	return (lua_gettop(L));
}

static int
sb_xpcall(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, sb_msgh, 1);
	lua_replace(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, sb_cont);
	return (lua_gettop(L));
}

static int
sb_coclose(lua_State *L)
{
	if (limit_hit(L))
		return (luaL_error(L, "function_limit_exceeded"));
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return (lua_gettop(L));
}

/* The function coroutine.wrap returns. Upvalues: the coroutine, the
 * original resume and close. */
static int
sb_wrapped(lua_State *L)
{
	lua_State *co = lua_tothread(L, lua_upvalueindex(1));
	int st;

	lua_pushvalue(L, lua_upvalueindex(2));
	lua_insert(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 2);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	if (lua_toboolean(L, 1)) {
		lua_remove(L, 1);
		return (lua_gettop(L));
	}
	st = lua_status(co);
	if (st != LUA_OK && st != LUA_YIELD && !limit_hit(L)) {
		/* Close its to-be-closed variables, like the original. */
		lua_settop(L, 0);
		lua_pushvalue(L, lua_upvalueindex(3));
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_call(L, 1, 2);
	}
	if (st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
		luaL_where(L, 1);
		lua_insert(L, -2);
		lua_concat(L, 2);
	}
	return (lua_error(L));
}

static int
sb_wrap(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 1, 1);
	lua_pushvalue(L, lua_upvalueindex(2));
	lua_pushvalue(L, lua_upvalueindex(3));
	lua_pushcclosure(L, sb_wrapped, 3);
	return (1);
}

void
edge_charge(lua_State *L, lua_Unsigned n)
{
	struct edge_state *s = edge_state_of(L);

	if (s->hit == LIM_NONE && n >= (lua_Unsigned)s->budget)
		s->hit = LIM_INSTRUCTIONS;
	else if (s->hit == LIM_NONE && lx_mono_ns() >= s->deadline_ns)
		s->hit = LIM_WALL;
	if (s->hit != LIM_NONE)
		luaL_error(
		    L, "function_limit_exceeded: %s", edge_limit_names[s->hit]);
	s->budget -= (int64_t)n;
}

/* Calls upvalue 1 with the arguments and returns all its results. */
static int
call_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return (lua_gettop(L));
}

/* string.rep: "" repeated with an empty separator is "", at once (the
 * library would loop n times without allocating). */
static int
sb_rep(lua_State *L)
{
	size_t l, lsep;

	luaL_checklstring(L, 1, &l);
	luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (l + lsep == 0) {
		lua_pushliteral(L, "");
		return (1);
	}
	return (call_original(L));
}

static int
sb_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);

	if (e >= f)
		edge_charge(L, (lua_Unsigned)e - (lua_Unsigned)f + 1);
	return (call_original(L));
}

static int
sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "collect");

	if (strcmp(opt, "count") != 0)
		return (
		    luaL_error(L, "collectgarbage: only \"count\" is allowed"));
	lua_pushnumber(L,
	    (lua_Number)lua_gc(L, LUA_GCCOUNT, 0)
	        + (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
	return (1);
}

void
edge_make_proxy(lua_State *L)
{
	lua_newtable(L); /* real proxy */
	lua_createtable(L, 0, 3); /* real proxy mt */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, sb_readonly);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_pushboolean(L, 1);
	lua_rawset(L, LUA_REGISTRYINDEX);
	lua_remove(L, -2);
}

static const char *const base_keep[] = { "assert", "error", "getmetatable",
	"ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
	"select", "tonumber", "tostring", "type", "_VERSION" };

static const char *const os_keep[] = { "time", "date", "clock" };

static const struct {
	const char *name; /* global name */
	lua_CFunction open; /* opener */
} libs[] = {
	{ LUA_STRLIBNAME, luaopen_string },
	{ LUA_TABLIBNAME, luaopen_table },
	{ LUA_MATHLIBNAME, luaopen_math },
	{ LUA_UTF8LIBNAME, luaopen_utf8 },
	{ LUA_COLIBNAME, luaopen_coroutine },
};

/* Protected: builds the safe globals G0 and the metatable of every fresh
 * _ENV ({__index = G0}), both kept in the registry. */
static int
sandbox_open(lua_State *L)
{
	struct edge_state *s = lua_touserdata(L, 1);
	size_t i;
	int g0, base;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 0);
	base = lua_gettop(L);
	lua_createtable(L, 0, 32);
	g0 = lua_gettop(L);
	for (i = 0; i < LX_NELEM(base_keep); i++) {
		lua_getfield(L, base, base_keep[i]);
		lua_setfield(L, g0, base_keep[i]);
	}
	lua_pushcfunction(L, sb_rawset);
	lua_setfield(L, g0, "rawset");
	lua_pushcfunction(L, sb_collectgarbage);
	lua_setfield(L, g0, "collectgarbage");
	lua_getfield(L, base, "setmetatable");
	lua_pushcclosure(L, sb_setmetatable, 1);
	lua_setfield(L, g0, "setmetatable");
	lua_getfield(L, base, "load");
	lua_pushcclosure(L, sb_load, 1);
	lua_setfield(L, g0, "load");
	lua_getfield(L, base, "xpcall");
	lua_pushcclosure(L, sb_xpcall, 1);
	lua_setfield(L, g0, "xpcall");
	/* The real coroutine table (behind its proxy): guarded wrap, close. */
	luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 0);
	lua_getfield(L, -1, "create");
	lua_getfield(L, -2, "resume");
	lua_getfield(L, -3, "close");
	lua_pushcclosure(L, sb_wrap, 3);
	lua_setfield(L, -2, "wrap");
	lua_getfield(L, -1, "close");
	lua_pushcclosure(L, sb_coclose, 1);
	lua_setfield(L, -2, "close");
	lua_pop(L, 1);

	for (i = 0; i < LX_NELEM(libs); i++) {
		luaL_requiref(L, libs[i].name, libs[i].open, 0);
		edge_make_proxy(L);
		lua_setfield(L, g0, libs[i].name);
	}
	/* The real string table is the strings' __index: drop dump there. */
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, sb_rep, 1);
	lua_setfield(L, -2, "rep");
	edge_pattern_install(L, lua_gettop(L));
	lua_pop(L, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
	lua_getfield(L, -1, "move");
	lua_pushcclosure(L, sb_move, 1);
	lua_setfield(L, -2, "move");
	lua_pop(L, 1);
	/* randomseed would let one call predict the next one's numbers. */
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
	lua_pushnil(L);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
	/* os: only the clocks. */
	luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
	lua_createtable(L, 0, 3);
	for (i = 0; i < LX_NELEM(os_keep); i++) {
		lua_getfield(L, -2, os_keep[i]);
		lua_setfield(L, -2, os_keep[i]);
	}
	edge_make_proxy(L);
	lua_setfield(L, g0, LUA_OSLIBNAME);
	lua_pop(L, 1);
	edge_lua_open(L, g0);
	/* getmetatable("") answers false; the metatable stays unreachable. */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	lua_createtable(L, 0, 2);
	lua_pushvalue(L, g0);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	s->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	s->idle_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return (0);
}

static const char *const perm_names[] = { "docs.read", "docs.write",
	"secrets.read", "http.fetch", "jobs.enqueue", "events.emit" };

const char *
edge_perm_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < LX_NELEM(perm_names); i++)
		if (bit == 1u << i)
			return (perm_names[i]);
	return (NULL);
}

unsigned
edge_perm_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < LX_NELEM(perm_names); i++)
		if (name != NULL && strcmp(name, perm_names[i]) == 0)
			return (1u << i);
	return (0);
}

void
edge_limits_default(struct edge_limits *lim)
{
	lim->mem_bytes = EDGE_MEM_DEFAULT;
	lim->instructions = EDGE_INSTRUCTIONS_DEFAULT;
	lim->wall_ms = EDGE_WALL_MS_DEFAULT;
}

struct edge_state *
edge_state_create(const struct edge_limits *lim)
{
	struct edge_state *s;

	s = lx_calloc(1, sizeof(*s));
	if (lim != NULL)
		s->lim = *lim;
	else
		edge_limits_default(&s->lim);
	s->cap = SIZE_MAX;
	s->env_mt_ref = s->idle_env_ref = LUA_NOREF;
	if ((s->L = lua_newstate(edge_alloc, s)) == NULL) {
		lx_log(LX_LOG_ERROR, "edge: cannot create a Lua state");
		abort();
	}
	*(struct edge_state **)lua_getextraspace(s->L) = s;
	lua_pushcfunction(s->L, sandbox_open);
	lua_pushlightuserdata(s->L, s);
	if (lua_pcall(s->L, 1, 0, 0) != LUA_OK) {
		lx_log(LX_LOG_ERROR, "edge: sandbox setup failed: %s",
		    lua_tostring(s->L, -1));
		abort();
	}
	lua_gc(s->L, LUA_GCCOLLECT);
	return (s);
}

static void
chunk_free(struct edge_state *s, struct edge_chunk *c)
{
	luaL_unref(s->L, LUA_REGISTRYINDEX, c->ref);
	lx_free(c->name);
	lx_free(c->src);
	lx_free(c);
}

static void
chunks_flush(struct edge_state *s)
{
	struct edge_chunk *c, *next;
	int i;

	for (i = 0; i < CHUNK_BUCKETS; i++) {
		for (c = s->buckets[i]; c != NULL; c = next) {
			next = c->next;
			chunk_free(s, c);
		}
		s->buckets[i] = NULL;
	}
	s->nchunks = 0;
}

void
edge_state_free(struct edge_state *s)
{
	if (s == NULL)
		return;
	chunks_flush(s);
	lua_close(s->L);
	lx_free(s);
}

const char *
edge_state_last_limit(const struct edge_state *s)
{
	return (edge_limit_names[s->last]);
}

size_t
edge_state_memory(const struct edge_state *s)
{
	return (s->used);
}

/* Arms the memory cap: the state may grow by lim.mem_bytes from now. */
static void
cap_arm(struct edge_state *s)
{
	s->cap = SIZE_MAX - s->used < s->lim.mem_bytes
	    ? SIZE_MAX
	    : s->used + s->lim.mem_bytes;
	s->mem_refused = 0;
}

/* --- compile -------------------------------------------------------------- */

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		h = (h ^ *b++) * 1099511628211ULL;
	return (h);
}

struct compile_ctx {
	const char *name; /* chunk name */
	const char *src; /* source */
	size_t len; /* bytes in src */
	int status; /* lua_load status */
	int ref; /* reference of the function */
};

static int
compile_p(lua_State *L)
{
	struct compile_ctx *cc = lua_touserdata(L, 1);
	char chunkname[80];

	snprintf(chunkname, sizeof(chunkname), "=%s", cc->name);
	cc->status = luaL_loadbufferx(L, cc->src, cc->len, chunkname, "t");
	if (cc->status != LUA_OK)
		return (lua_error(L));
	cc->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return (0);
}

/* Fills err from a load error "name:LINE: message". */
static void
syntax_err(const char *name, const char *msg, struct lx_err *err)
{
	size_t n = strlen(name);
	char *end;
	long line;

	if (strncmp(msg, name, n) == 0 && msg[n] == ':') {
		line = strtol(msg + n + 1, &end, 10);
		if (end != msg + n + 1 && *end == ':') {
			lx_err_set(err, 400, "syntax_error", "line %ld:%s",
			    line, end + 1);
			return;
		}
	}
	lx_err_set(err, 400, "syntax_error", "%s", msg);
}

int
edge_compile(struct edge_state *s, const char *name, const char *source,
    size_t len, struct edge_chunk **out, struct lx_err *err)
{
	struct compile_ctx cc;
	struct edge_chunk *c;
	uint64_t h;
	size_t nlen = strlen(name), b;
	int ret = -1, rc, top = lua_gettop(s->L);

	*out = NULL;
	h = fnv1a(14695981039346656037ULL, name, nlen + 1);
	b = h % CHUNK_BUCKETS; /* by name: edge_chunk_find */
	h = fnv1a(h, source, len);
	for (c = s->buckets[b]; c != NULL; c = c->next) {
		if (c->hash == h && c->len == len && strcmp(c->name, name) == 0
		    && memcmp(c->src, source, len) == 0) {
			*out = c;
			ret = 0;
			goto out;
		}
	}
	if (s->nchunks >= CHUNK_MAX)
		chunks_flush(s);
	cc.name = name;
	cc.src = source;
	cc.len = len;
	cc.status = LUA_OK;
	cc.ref = LUA_NOREF;
	cap_arm(s);
	lua_pushcfunction(s->L, compile_p);
	lua_pushlightuserdata(s->L, &cc);
	rc = lua_pcall(s->L, 1, 0, 0);
	s->cap = SIZE_MAX;
	if (rc == LUA_ERRMEM || cc.status == LUA_ERRMEM) {
		lx_err_set(err, 422, "function_limit_exceeded",
		    "limit memory: compiling needs more than %zu bytes",
		    s->lim.mem_bytes);
		goto out;
	}
	if (rc != LUA_OK) {
		syntax_err(name,
		    lua_type(s->L, -1) == LUA_TSTRING ? lua_tostring(s->L, -1)
		                                      : "cannot compile",
		    err);
		goto out;
	}
	c = lx_calloc(1, sizeof(*c));
	c->hash = h;
	c->name = lx_strdup(name);
	c->src = lx_strndup(source, len);
	c->len = len;
	c->ref = cc.ref;
	c->next = s->buckets[b];
	s->buckets[b] = c;
	s->nchunks++;
	*out = c;
	ret = 0;
out:
	lua_settop(s->L, top);
	return (ret);
}

struct edge_chunk *
edge_chunk_find(struct edge_state *s, const char *name)
{
	struct edge_chunk *c;
	uint64_t h = fnv1a(14695981039346656037ULL, name, strlen(name) + 1);

	for (c = s->buckets[h % CHUNK_BUCKETS]; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return (c);
	return (NULL);
}

/* --- response: Lua -> JSON and C strings -------------------------------- */

static int
invalid(lua_State *L, struct call_ctx *cx, const char *fmt, const char *arg)
{
	cx->invalid = 1;
	snprintf(cx->why, sizeof(cx->why), fmt, arg);
	return (luaL_error(L, "invalid response"));
}

static void
out_check(lua_State *L, struct call_ctx *cx, const struct lx_buf *b)
{
	if (b->len > cx->s->lim.mem_bytes) {
		cx->too_big = 1;
		luaL_error(L, "response too large");
	}
}

static void
take_headers(lua_State *L, struct call_ctx *cx, int idx)
{
	const char *k, *v;
	size_t klen, vlen;
	int first = 1;

	lx_buf_adds(&cx->headers, "{");
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING
		    || (lua_type(L, -1) != LUA_TSTRING
		        && lua_type(L, -1) != LUA_TNUMBER))
			invalid(
			    L, cx, "%s", "headers must map names to strings");
		k = lua_tolstring(L, -2, &klen);
		lua_pushvalue(L, -1); /* tolstring on a copy, not on next's */
		v = lua_tolstring(L, -1, &vlen);
		if (!edge_header_name_ok(k, klen))
			invalid(L, cx, "header name \"%.60s\" is invalid", k);
		if (strlen(v) != vlen || strpbrk(v, "\r\n") != NULL)
			invalid(L, cx,
			    "header \"%.60s\" has a control character", k);
		if (strcasecmp(k, "content-type") == 0) {
			lx_free(cx->content_type);
			cx->content_type = lx_strdup(v);
		} else {
			if (!first)
				lx_buf_adds(&cx->headers, ",");
			first = 0;
			edge_json_add_str(&cx->headers, k, klen);
			lx_buf_adds(&cx->headers, ":");
			edge_json_add_str(&cx->headers, v, vlen);
			out_check(L, cx, &cx->headers);
		}
		lua_pop(L, 2);
	}
	lx_buf_adds(&cx->headers, "}");
}

/* Reads the handler's return value at idx into cx. */
static void
take_response(lua_State *L, struct call_ctx *cx, int idx)
{
	lua_Integer st;
	const char *p;
	size_t len;
	int isnum, tj, tb;

	if (!lua_istable(L, idx))
		invalid(L, cx, "the handler returned %s, not a table",
		    luaL_typename(L, idx));
	cx->status = 200;
	if (lua_getfield(L, idx, "status") != LUA_TNIL) {
		st = lua_tointegerx(L, -1, &isnum);
		if (!isnum || st < 100 || st > 599)
			invalid(L, cx, "%s",
			    "status must be an integer from 100 to 599");
		cx->status = (int)st;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "headers") != LUA_TNIL) {
		if (!lua_istable(L, -1))
			invalid(L, cx, "%s", "headers must be a table");
		take_headers(L, cx, lua_gettop(L));
	} else
		lx_buf_adds(&cx->headers, "{}");
	lua_pop(L, 1);
	tj = lua_getfield(L, idx, "json");
	tb = lua_getfield(L, idx, "body");
	if (tj != LUA_TNIL && tb != LUA_TNIL)
		invalid(L, cx, "%s", "json= and body= cannot both be given");
	if (tb != LUA_TNIL) {
		if (tb != LUA_TSTRING)
			invalid(L, cx, "body must be a string, not %s",
			    luaL_typename(L, -1));
		p = lua_tolstring(L, -1, &len);
		lx_buf_add(&cx->body, p, len);
		out_check(L, cx, &cx->body);
	} else if (tj != LUA_TNIL) {
		cx->enc.b = &cx->body;
		cx->enc.max = cx->s->lim.mem_bytes;
		cx->enc.what = "json";
		edge_json_encode(L, &cx->enc, lua_gettop(L) - 1);
		cx->is_json = 1;
	}
	lua_pop(L, 2);
}

/* Protected: fresh _ENV, chunk -> handler, handler(req) -> response. */
static int
call_p(lua_State *L)
{
	struct call_ctx *cx = lua_touserdata(L, 1);

	lua_createtable(L, 0, 4); /* 2: the call's _ENV */
	lua_rawgeti(L, LUA_REGISTRYINDEX, cx->s->env_mt_ref);
	lua_setmetatable(L, 2);
	lua_pushvalue(L, 2);
	lua_setfield(L, 2, LUA_GNAME);
	lua_pushvalue(L, 2);
	lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	lua_rawgeti(L, LUA_REGISTRYINDEX, cx->chunk->ref); /* 3 */
	lua_pushvalue(L, 2);
	lua_setupvalue(L, 3, 1);
	lua_call(L, 0, 1);
	if (!lua_isfunction(L, 3))
		invalid(L, cx,
		    "the chunk returned %s, not its handler function",
		    luaL_typename(L, 3));
	if (cx->req != NULL)
		edge_json_push(L, cx->req, 0);
	else
		lua_newtable(L);
	lua_call(L, 1, 1);
	take_response(L, cx, 3);
	return (0);
}

/* Fills err after a failed call; returns the limit that ended it. */
static enum limit
call_err(struct edge_state *s, struct call_ctx *cx, int rc, struct lx_err *err)
{
	const char *msg = NULL;
	size_t n = 0;

	if (lua_type(s->L, -1) == LUA_TSTRING)
		msg = lua_tolstring(s->L, -1, &n);
	if (s->hit == LIM_HOST) { /* permission, quota: as the API set it */
		if (err != NULL)
			*err = s->api.stop;
		return (LIM_NONE);
	}
	if (cx->invalid || cx->enc.why[0] != '\0') {
		lx_err_set(err, 500, "invalid_response", "%s",
		    cx->invalid ? cx->why : cx->enc.why);
		return (LIM_NONE);
	}
	if (cx->too_big || cx->enc.too_big
	    || (s->hit == LIM_NONE
	        && (rc == LUA_ERRMEM
	            || (s->mem_refused && msg != NULL && n >= 17
	                && strcmp(msg + n - 17, "not enough memory") == 0)))) {
		lx_err_set(err, 422, "function_limit_exceeded",
		    "limit memory: the call needed more than %zu bytes%s",
		    s->lim.mem_bytes,
		    (cx->too_big || cx->enc.too_big) ? " for its response"
		                                     : "");
		return (LIM_MEMORY);
	}
	if (s->hit == LIM_INSTRUCTIONS) {
		lx_err_set(err, 422, "function_limit_exceeded",
		    "limit instructions: the call ran more than %lld "
		    "instructions",
		    (long long)s->lim.instructions);
		return (LIM_INSTRUCTIONS);
	}
	if (s->hit == LIM_WALL) {
		lx_err_set(err, 422, "function_limit_exceeded",
		    "limit wall_clock: the call ran longer than %lld ms",
		    (long long)s->lim.wall_ms);
		return (LIM_WALL);
	}
	if (rc == LUA_ERRERR
	    || (msg != NULL && strstr(msg, "stack overflow") != NULL)) {
		lx_err_set(err, 422, "function_limit_exceeded",
		    "limit stack: calls nested too deeply");
		return (LIM_STACK);
	}
	if (msg != NULL)
		lx_err_set(err, 422, "function_error", "%s", msg);
	else
		lx_err_set(err, 422, "function_error",
		    "the function raised a %s value", luaL_typename(s->L, -1));
	return (LIM_NONE);
}

int
edge_call(struct edge_state *s, struct edge_chunk *chunk, const char *req_json,
    const struct edge_host *host, struct edge_result *out, struct lx_err *err)
{
	struct call_ctx cx;
	cJSON *req = NULL;
	size_t start = 0;
	int ret = -1, rc, top = lua_gettop(s->L);

	memset(out, 0, sizeof(*out));
	memset(&cx, 0, sizeof(cx));
	lx_buf_init(&cx.headers);
	lx_buf_init(&cx.body);
	s->last = LIM_NONE;
	if (req_json != NULL) {
		if ((req = cJSON_Parse(req_json)) == NULL
		    || !cJSON_IsObject(req)) {
			lx_err_set(err, 400, "invalid_request",
			    "the request is not a JSON object");
			goto out;
		}
		if (!edge_json_depth_ok(req, 0)) {
			lx_err_set(err, 400, "invalid_request",
			    "the request is nested deeper than %d",
			    JSON_DEPTH_MAX);
			goto out;
		}
	}
	cx.s = s;
	cx.chunk = chunk;
	cx.req = req;
	start = s->used;
	cap_arm(s);
	s->hit = LIM_NONE;
	s->every = s->lim.instructions < HOOK_EVERY
	    ? (int)(s->lim.instructions > 0 ? s->lim.instructions : 1)
	    : HOOK_EVERY;
	s->budget = s->lim.instructions;
	s->deadline_ns = s->lim.wall_ms > INT64_MAX / 2000000
	    ? INT64_MAX
	    : lx_mono_ns() + s->lim.wall_ms * 1000000;
	edge_lua_begin(s, host);
	lua_sethook(s->L, hook, LUA_MASKCOUNT, s->every);
	lua_pushcfunction(s->L, call_p);
	lua_pushlightuserdata(s->L, &cx);
	rc = lua_pcall(s->L, 1, 0, 0);
	lua_sethook(s->L, NULL, 0, 0);
	s->cap = SIZE_MAX;
	if (rc == LUA_OK && s->hit != LIM_NONE) {
		/* A limit or stop caught by a pcall in a tail call. */
		lua_pushnil(s->L);
		rc = LUA_ERRRUN;
	}
	if (rc != LUA_OK) {
		s->last = call_err(s, &cx, rc, err);
		goto out;
	}
	out->status = cx.status;
	out->headers_json = lx_buf_take(&cx.headers);
	out->body_len = cx.body.len;
	out->body =
	    cx.body.data != NULL ? lx_buf_take(&cx.body) : lx_strdup("");
	out->content_type = cx.content_type != NULL
	    ? cx.content_type
	    : lx_strdup(
	        cx.is_json ? "application/json" : "text/plain; charset=utf-8");
	cx.content_type = NULL;
	ret = 0;
out:
	/* Drop the call's _ENV from the registry and the chunk's upvalue. */
	lua_settop(s->L, top);
	lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->idle_env_ref);
	lua_rawseti(s->L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	if (cx.s != NULL) {
		edge_lua_end(s);
		lua_rawgeti(s->L, LUA_REGISTRYINDEX, chunk->ref);
		lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->idle_env_ref);
		lua_setupvalue(s->L, -2, 1);
		lua_settop(s->L, top);
		if (ret == -1 || s->used > start + GC_AFTER_GROWTH)
			lua_gc(s->L, LUA_GCCOLLECT);
	}
	lx_buf_cleanup(&cx.headers);
	lx_buf_cleanup(&cx.body);
	lx_free(cx.content_type);
	cJSON_Delete(req);
	return (ret);
}

void
edge_result_cleanup(struct edge_result *r)
{
	lx_free(r->headers_json);
	lx_free(r->body);
	lx_free(r->content_type);
	memset(r, 0, sizeof(*r));
}
