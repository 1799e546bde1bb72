/*
 * Edge functions: the sandboxed Lua 5.4 runtime (issue #6). A function's
 * source is a Lua chunk that returns its handler:
 *
 *	return function(req) return { status = 200, json = { ok = true } } end
 *
 * One edge_state (one lua_State) per worker thread; chunks are compiled
 * once per state (text only, cached by content) and every call runs in a
 * fresh environment with a memory cap, an instruction budget and a
 * wall-clock deadline. No HTTP and no database here: see edge_runtime.c.
 *
 * Besides the safe Lua libraries a script sees these read-only tables
 * (edge_lua.c); the last five reach the platform through the edge_host
 * given to edge_call:
 *
 *	json.encode(v) -> text		json.decode(text) -> v	json.null
 *	crypto.random(n)  crypto.sha256(s)  crypto.hmac_sha256(key, msg)
 *	crypto.equal(a, b)  crypto.ed25519_verify(pk, msg, sig)
 *	crypto.hex/unhex(s)  crypto.base64/unbase64(s [, "url"])  crypto.uuid()
 *	log.debug/info/warn/error(...)
 *	secrets.get(name) -> string|nil			(secrets.read)
 *	docs.get(coll, key) -> value|nil			(docs.read)
 *	docs.query(coll, {prefix=, after=, limit=}) -> {{key=, value=,
 *	    updated_at=}, ...}				(docs.read)
 *	docs.put(coll, key, table)  docs.delete(coll, key) -> bool (docs.write)
 *	http.fetch(url, {method=, headers=, body=}) -> {status=, headers=,
 *	    body=}					(http.fetch)
 *	jobs.enqueue(kind, table) -> id			(jobs.enqueue)
 *	events.emit(type, table)			(events.emit)
 *
 * Names (coll, key, secret, kind, type) are 1..128 of [A-Za-z0-9_.:-].
 * Bad arguments, a missing op ("<area>.<op>: not available here") and an
 * op's error ("<area>.<op>: <code>: <detail>") are catchable Lua errors;
 * a missing permission or a quota error ends the whole call.
 *
 * Thread use: a state and the chunks it returned belong to one thread at a
 * time; different states may be used concurrently by different threads.
 *
 * Limits are checked between VM instructions (the hook), in the allocator,
 * and inside the C loops a script can make long: the pattern matcher of
 * string.find/match/gmatch/gsub (edge_pattern.c), table.move, the JSON
 * codec, all charging their work to the instruction budget.
 */
#ifndef EDGE_H
#define EDGE_H

#include <stddef.h>
#include <stdint.h>

#include "lx.h"

#define EDGE_MEM_DEFAULT ((size_t)16 << 20) /* 16 MiB per call */
#define EDGE_INSTRUCTIONS_DEFAULT ((int64_t)10000000)
#define EDGE_WALL_MS_DEFAULT ((int64_t)1000)

/* Per-call limits. Exceeding one ends that call with 422
 * "function_limit_exceeded" and the detail "limit <name>: ...". */
struct edge_limits {
	size_t mem_bytes; /* bytes a call may grow the Lua heap by */
	int64_t instructions; /* Lua VM instructions per call */
	int64_t wall_ms; /* wall-clock milliseconds per call */
};

struct edge_state; /* a sandboxed lua_State and its chunk cache */
struct edge_chunk; /* a compiled chunk, owned by its state */

/* What a handler returned. Embedded; release with edge_result_cleanup(). */
struct edge_result {
	int status; /* HTTP status, 100..599; 200 when the handler gave none */
	char *headers_json; /* JSON object of the other headers ("{}") */
	char *body; /* body bytes, NUL-terminated; "" when none */
	size_t body_len; /* bytes in body, without the NUL */
	char *content_type; /* Content-Type: the handler's, else by kind */
};

/*
 * What a call's script may do beyond computing: one bit per permission a
 * plugin manifest declares (names as in edge_perm_name). User functions
 * get EDGE_PERM_ALL for their own tenant; plugins get what they declared.
 */
enum edge_perm {
	EDGE_PERM_DOCS_READ = 1u << 0, /* "docs.read": docs.get, docs.query */
	EDGE_PERM_DOCS_WRITE = 1u << 1, /* "docs.write": docs.put, delete */
	EDGE_PERM_SECRETS_READ = 1u << 2, /* "secrets.read": secrets.get */
	EDGE_PERM_HTTP_FETCH = 1u << 3, /* "http.fetch" (allow-listed hosts) */
	EDGE_PERM_JOBS_ENQUEUE = 1u << 4, /* "jobs.enqueue" */
	EDGE_PERM_EVENTS_EMIT = 1u << 5, /* "events.emit": webhook events */
};
#define EDGE_PERM_ALL 0x3fu

/* The name of one permission bit ("docs.read"), or NULL. */
const char *edge_perm_name(unsigned bit);
/* The bit of the permission named name, or 0 if there is none. */
unsigned edge_perm_by_name(const char *name);

/*
 * The platform services a script reaches through its host API tables
 * (secrets, docs, http, jobs, events), given by the caller of edge_call.
 * Each op runs on the calling thread, inside the call; JSON travels as
 * text. An op that fails returns -1 with err, which the binding raises as
 * a catchable Lua error "<area>.<op>: <code>: <detail>". Strings passed in
 * are NUL-terminated; strings returned are lx_malloc'd (caller frees).
 */
struct edge_host_ops {
	/* *val (len bytes) = the secret's value, NULL when not set. */
	int (*secret_get)(void *ud, const char *name, char **val, size_t *len,
	    struct lx_err *err);
	/* *json = the document (JSON text), NULL when absent. */
	int (*doc_get)(void *ud, const char *coll, const char *key, char **json,
	    struct lx_err *err);
	/* Creates or replaces the document (JSON text, len bytes). */
	int (*doc_put)(void *ud, const char *coll, const char *key,
	    const char *json, size_t len, struct lx_err *err);
	/* *deleted = 1 if a document was removed. */
	int (*doc_delete)(void *ud, const char *coll, const char *key,
	    int *deleted, struct lx_err *err);
	/* *json = [{"key":..,"value":..,"updated_at":..}] of keys starting
	 * with prefix ("" all) and greater than after ("" none), in key
	 * order, at most limit. */
	int (*doc_query)(void *ud, const char *coll, const char *prefix,
	    const char *after, int limit, char **json, struct lx_err *err);
	/* req_json = {"url","method","headers":{},"body"} (body null when
	 * the script gave none); *resp_json = {"status","headers":{},
	 * "body"}; must end by deadline_ns (lx_mono_ns clock), the call's
	 * wall-clock deadline. */
	int (*http_fetch)(void *ud, const char *req_json, int64_t deadline_ns,
	    char **resp_json, struct lx_err *err);
	/* Enqueues a job of kind with payload (JSON); *job_id its id. */
	int (*job_enqueue)(void *ud, const char *kind, const char *payload_json,
	    char **job_id, struct lx_err *err);
	/* Emits a platform event (webhooks) of type with data (JSON). */
	int (*event_emit)(void *ud, const char *type, const char *data_json,
	    struct lx_err *err);
};

/* What one call may reach; NULL host: json and crypto only (log lines
 * are dropped). Borrowed by edge_call for the call only. */
struct edge_host {
	const struct edge_host_ops *ops; /* NULL: no platform services */
	void *ud; /* passed to each op */
	unsigned perms; /* enum edge_perm bits the script may use */
	struct lx_buf *log; /* log.* lines, one JSON object per line
			     * {"level","msg"}; NULL: dropped */
	size_t log_max; /* bytes log may hold; once a line would pass it,
			 * it and later lines are dropped and a final
			 * "log truncated: N lines dropped" warn line is
			 * appended (room kept for it) */
};

/* Fills lim with the defaults above. */
void edge_limits_default(struct edge_limits *lim);

/* Creates a state with only the safe libraries opened: base (without
 * print, dofile, loadfile, require, warn; load refuses bytecode;
 * collectgarbage only answers "count"; setmetatable refuses __gc; rawset
 * refuses the shared library tables), string (without dump), table, math
 * (without randomseed), utf8, coroutine, and os as {time, date, clock}.
 * Library tables are read-only and the string metatable is hidden. lim
 * may be NULL for the defaults. Free with edge_state_free(). Aborts on
 * allocation failure. The state belongs to the calling thread. */
struct edge_state *edge_state_create(const struct edge_limits *lim);

/* Frees s and every chunk compiled in it. Accepts NULL. */
void edge_state_free(struct edge_state *s);

/* Compiles source (len bytes, text only: a binary chunk is refused) under
 * the name used in error messages. A source already compiled in s under
 * the same name is not compiled again. On success returns 0 and sets *out
 * (owned by s; valid until the next edge_compile on s or edge_state_free);
 * on failure returns -1 and fills err: 400 "syntax_error" ("line N: ..."),
 * 422 "function_limit_exceeded" (limit memory) for a source too large. */
int edge_compile(struct edge_state *s, const char *name, const char *source,
    size_t len, struct edge_chunk **out, struct lx_err *err);

/* The chunk compiled in s under name, or NULL: for callers whose names
 * identify an immutable source (a stored version's id), so a warm call
 * need not fetch the source to compare it. Same lifetime as edge_compile's
 * result. */
struct edge_chunk *edge_chunk_find(struct edge_state *s, const char *name);

/* Runs chunk (from edge_compile on s) in a fresh environment, calls the
 * handler it returns with the request table built from req_json (a JSON
 * object; NULL gives an empty table; null members become nil) and fills
 * *out (release with edge_result_cleanup(), also after a failure). host
 * (may be NULL; borrowed, not kept after the call) is what the script's
 * secrets/docs/http/jobs/events/log tables reach; its ops run on this
 * thread during the call. On failure returns -1 and fills err:
 * 400 "invalid_request" (req_json), 422 "function_error" (the script's
 * error message, no traceback), 422 "function_limit_exceeded" (detail
 * "limit memory|instructions|wall_clock|stack: ..."), 500
 * "invalid_response" (what the handler returned cannot be a response),
 * 403 "permission_denied" (detail "permission <name> is not granted to
 * this function": a host function without its bit in host->perms), or
 * an op's own err when it was 402/403 "quota_exceeded". The last two
 * end the call even when the script catches them with pcall. s stays
 * usable after any failure. */
int edge_call(struct edge_state *s, struct edge_chunk *chunk,
    const char *req_json, const struct edge_host *host, struct edge_result *out,
    struct lx_err *err);

/* Frees the fields of r and zeroes it. Accepts a zeroed r. */
void edge_result_cleanup(struct edge_result *r);

/* The limit that ended the last edge_call on s ("memory", "instructions",
 * "wall_clock", "stack"), or NULL if none did. Static string. */
const char *edge_state_last_limit(const struct edge_state *s);

/* Bytes the Lua heap of s holds now (for metrics and tests). */
size_t edge_state_memory(const struct edge_state *s);

#endif
