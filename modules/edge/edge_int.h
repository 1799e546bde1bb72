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

enum limit { LIM_NONE, LIM_MEMORY, LIM_INSTRUCTIONS, LIM_WALL, LIM_STACK };

struct edge_chunk {
	struct edge_chunk *next; /* hash chain */
	uint64_t hash; /* FNV-1a of name and source */
	char *name; /* name given to edge_compile */
	char *src; /* copy of the source, compared on a hit */
	size_t len; /* bytes in src */
	int ref; /* registry reference to the compiled function */
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

#endif
