/*
 * Internals of the edge runtime shared by its files (edge_runtime.c, the
 * step-limited pattern matcher, the script API bindings); not for other
 * modules, which use edge.h.
 */
#ifndef EDGE_INT_H
#define EDGE_INT_H

#include <lua.h>

#include "edge.h"

#define CHUNK_BUCKETS 64 /* hash buckets of the chunk cache */
#define JSON_DEPTH_MAX 64 /* nesting of requests, responses, json.* */

struct cJSON;

/* LIM_HOST is no limit: the script API stopped the call (permission
 * denied, quota exceeded), sticky like the limits; api.stop says why. */
enum limit {
	LIM_NONE,
	LIM_MEMORY,
	LIM_INSTRUCTIONS,
	LIM_WALL,
	LIM_STACK,
	LIM_HOST
};

struct edge_chunk {
	struct edge_chunk *next; /* hash chain */
	uint64_t hash; /* FNV-1a of name and source */
	char *name; /* name given to edge_compile */
	char *src; /* copy of the source, compared on a hit */
	size_t len; /* bytes in src */
	int ref; /* registry reference to the compiled function */
};

/* The script API's part of a call (edge_lua.c). */
struct edge_api {
	const struct edge_host *host; /* the call's host; NULL between calls */
	struct lx_err stop; /* why the call was stopped (LIM_HOST) */
	size_t log_dropped; /* log lines dropped in this call */
	char *str; /* an op's result until pushed (lx_malloc'd) */
	size_t str_len; /* its length, to wipe it */
	int str_secret; /* 1: wipe str before freeing it */
	struct cJSON *tree; /* JSON parsed but not yet pushed */
	size_t tree_bytes; /* its estimated size, counted in used */
	struct lx_buf enc; /* JSON encoded for an op or json.encode */
};

struct edge_state {
	lua_State *L; /* the sandboxed state */
	struct edge_limits lim; /* per-call limits */
	size_t used; /* bytes the Lua allocator holds now */
	size_t cap; /* growth beyond this is refused; SIZE_MAX when idle */
	int mem_refused; /* the allocator refused growth during this call */
	enum limit hit; /* instruction/wall limit that ended this call */
	enum limit last; /* limit that ended the last call */
	int64_t budget; /* instructions left in this call */
	int64_t deadline_ns; /* lx_mono_ns() deadline of this call */
	int every; /* hook interval in instructions */
	int env_mt_ref; /* metatable of each fresh _ENV */
	int idle_env_ref; /* empty table held as _ENV between calls */
	struct edge_chunk *buckets[CHUNK_BUCKETS]; /* the chunk cache */
	int nchunks; /* chunks in the cache */
	struct edge_api api; /* the script API's state in this call */
};

/* A Lua value being encoded as JSON (the response's json=, json.encode,
 * the host API's payloads). Zero it, then set b, max and what. */
struct edge_enc {
	struct lx_buf *b; /* output */
	size_t max; /* b may not grow beyond this (limit memory) */
	const char *what; /* prefix of error messages: "json.encode" */
	int too_big; /* 1: the output outgrew max */
	char why[200]; /* why a value cannot be encoded; "" if none */
	lua_Unsigned work; /* work not yet charged to the budget */
};

/* Names of enum limit values (index LIM_NONE is NULL). */
extern const char *const edge_limit_names[];

/* The edge_state that owns L (any thread of it). */
struct edge_state *edge_state_of(lua_State *L);

/*
 * Charges n units of work done inside a C library loop to the call's
 * instruction budget (table.move of nils, pattern matching: loops that run
 * no VM instruction). Raises "function_limit_exceeded" once the budget or
 * an earlier limit is spent; checks the wall clock too.
 */
void edge_charge(lua_State *L, lua_Unsigned n);

/* Replaces the table at the top with a read-only proxy of it, registered
 * so that rawset refuses it too (edge_runtime.c). */
void edge_make_proxy(lua_State *L);

/*
 * edge_lua.c: the script API tables and the JSON conversions.
 *
 * edge_lua_open installs json, crypto, log, secrets, docs, http, jobs and
 * events (read-only proxies) into the table at g0; run once per state,
 * protected. edge_lua_begin gives the call its host (may be NULL);
 * edge_lua_end appends the log truncation line, frees what the API still
 * holds and forgets the host: call it after every call that began.
 */
void edge_lua_open(lua_State *L, int g0);
void edge_lua_begin(struct edge_state *s, const struct edge_host *host);
void edge_lua_end(struct edge_state *s);

/* Appends p (n bytes) as a JSON string literal. */
void edge_json_add_str(struct lx_buf *b, const char *p, size_t n);
/* Appends the value at idx as JSON to e->b: a table with keys exactly
 * 1..n is an array, any other table an object with string keys ({} when
 * empty); nil and json.null are null. Raises "<what>: <why>" (e->why set)
 * on a value that cannot be encoded, "<what>: not enough memory"
 * (e->too_big, mem_refused set) beyond e->max; charges the budget. */
void edge_json_encode(lua_State *L, struct edge_enc *e, int idx);
/* 1 if no value of j is nested deeper than JSON_DEPTH_MAX - depth. */
int edge_json_depth_ok(const struct cJSON *j, int depth);
/* Pushes j as a Lua value; null is json.null if nulls, else nil. */
void edge_json_push(lua_State *L, const struct cJSON *j, int nulls);
/* 1 if p (n bytes) is an HTTP header name (an RFC 7230 token). */
int edge_header_name_ok(const char *p, size_t n);

/*
 * Replaces find, match, gmatch and gsub in the table at stack index
 * strtab (the real string library table, also the strings' __index) with
 * the step-limited versions of edge_pattern.c: Lua 5.4 semantics and error
 * messages, work charged through edge_charge(), so the functions may only
 * run inside an edge_call on a state of this runtime. Leaves the stack as
 * it was; raises a Lua error only on allocation failure.
 */
void edge_pattern_install(lua_State *L, int strtab);

#endif
