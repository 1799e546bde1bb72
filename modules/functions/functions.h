/*
 * Edge functions, the capability (issue #6): a tenant deploys named Lua
 * functions in semver versions, invokes them at ANY /functions/v1/{name}
 * (the path Supabase uses), reads their invocation log, rolls back, and
 * keeps secrets the scripts read. The sandboxed runtime itself is
 * modules/edge (library lx_edge); this module is its storage, its HTTP
 * routes, the platform services scripts reach (functions_host.c), the
 * per-thread runtime pool and the invocation log writer.
 *
 * Files: functions_store.c (statements through the policy views),
 * functions_http.c (route table, handlers), functions_invoke.c (the
 * invocation path), functions_host.c (secrets, documents, http.fetch,
 * jobs, events for scripts), functions_log.c (the batched invocation
 * log), functions_pool.c (one edge_state per thread, limits from config),
 * functions_hooks.c (the built-in hook scripts of lua_scripts/ and their
 * per-deployment overrides).
 */
#ifndef FUNCTIONS_H
#define FUNCTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "edge.h"

#define FUNCTIONS_NAME_MAX 64 /* bytes of a function name */
#define FUNCTIONS_VERSION_MAX 100 /* bytes of a version */
#define FUNCTIONS_SOURCE_MAX ((size_t)256 << 10) /* bytes of a source */
#define FUNCTIONS_SECRET_NAME_MAX 128
#define FUNCTIONS_SECRET_MAX 8192 /* bytes of a secret's value */
#define FUNCTIONS_DOC_MAX ((size_t)64 << 10) /* bytes of one document */
#define FUNCTIONS_LOG_MAX 8192 /* bytes of log kept per invocation */
#define FUNCTIONS_PAGE_DEFAULT 20
#define FUNCTIONS_PAGE_MAX 100
#define FUNCTIONS_ID_SIZE 40

extern const struct lx_module functions_module;

/* A function as the API shows it. */
struct functions_fn {
	char id[FUNCTIONS_ID_SIZE];
	char tenant_id[FUNCTIONS_ID_SIZE];
	char name[FUNCTIONS_NAME_MAX + 1];
	int public; /* 1: anonymous callers may invoke it */
	char active_version[FUNCTIONS_VERSION_MAX + 1];
	char created_by[48];
	int64_t created_at;
	int64_t updated_at;
	int nversions; /* stored versions */
};

/* A stored version (source only when asked for). */
struct functions_version {
	char id[FUNCTIONS_ID_SIZE];
	char version[FUNCTIONS_VERSION_MAX + 1];
	char sha256[65];
	int64_t size;
	char created_by[48];
	int64_t created_at;
	char *source; /* the text being stored (borrowed), else NULL */
};

/* The runs a log record is of: a function's (function_invocations) or
 * an installed plugin's (plugin_invocations). */
enum functions_log_kind {
	FUNCTIONS_LOG_FUNCTION = 0, /* an edge function's invocation */
	FUNCTIONS_LOG_PLUGIN_ROUTE, /* a plugin route's call */
	FUNCTIONS_LOG_PLUGIN_HOOK, /* a plugin hook's run */
	FUNCTIONS_LOG_PLUGIN_JOB, /* a plugin job's run (jobs.enqueue) */
};

/* One invocation log record. */
struct functions_invocation {
	int64_t id; /* 0 until written */
	enum functions_log_kind kind; /* which table the record goes to */
	char tenant_id[FUNCTIONS_ID_SIZE];
	char function_id[FUNCTIONS_ID_SIZE]; /* or a plugin run's plugin id */
	char version[128 + 1]; /* a function's (at most FUNCTIONS_VERSION_MAX
				* bytes) or a plugin's (at most 128) */
	char *target; /* a plugin run's route ("GET /hello"), event or job
		       * kind (lx_malloc'd); NULL for a function */
	int64_t started_at; /* ms */
	int64_t duration_us;
	int status; /* the HTTP status answered */
	int64_t memory; /* bytes the Lua heap grew by */
	char *error; /* "code: detail", or NULL */
	char *log; /* JSON lines, or NULL */
	char request_id[48];
	char actor[48];
};

/* --- rules (functions.c) --- */

/* 1 if name is a function name: [a-z][a-z0-9_-]{0,63}, not "v1". */
int functions_name_ok(const char *name);
/* A random UUIDv4 into out. */
void functions_uuid(char out[FUNCTIONS_ID_SIZE]);
/* The audit detail {"name", "version"?, "public"?} (lx_malloc'd);
 * version NULL and public -1 leave them out. */
char *functions_detail(const char *name, const char *version, int public);

/* What a deploy names. */
struct functions_deploy {
	struct lx_server *srv; /* for the plan's quota; NULL: none (CLI) */
	const char *tenant_id;
	const char *actor; /* audit actor and created_by */
	const char *request_id; /* or NULL */
	const char *address; /* or NULL */
	const char *name;
	const char *version;
	const char *source; /* NUL-terminated Lua text */
	int public; /* 1, 0, or -1: keep (new functions: private) */
};
/*
 * Deploys in->source as version in->version of the function in->name of
 * the tenant bound to c's context (through the policy views, which must
 * allow functions.write): the source must compile in the sandbox (400
 * syntax_error "line N: ..."); a new name needs room in the plan
 * (403 quota_exceeded); an existing function's new version must be above
 * every stored one (409 version_exists, version_not_newer,
 * too_many_versions). One transaction with its audit record
 * (function.deploy). Fills f (the function afterwards), v (the version,
 * source NULL) and *created (1: a new function). 0, or -1 with err.
 */
int functions_deploy(struct lx_conn *c, const struct functions_deploy *in,
    struct functions_fn *f, struct functions_version *v, int *created,
    struct lx_err *err);

/* --- routes (functions_http.c) --- */

/* The running server (background runs need it), or NULL when stopped. */
struct lx_server *functions_server(void);

/* --- statements (functions_store.c); request code, policy views --- */

/* Reads the function named name in the context's tenant into *out (its
 * version count included): 0, or -1 with err (404 "not_found"). */
int functions_store_get(struct lx_conn *c, const char *name,
    struct functions_fn *out, struct lx_err *err);
/* Up to limit functions in name order after after ("" from the start)
 * into rows[] (room for limit); *n gets the count. */
int functions_store_list(struct lx_conn *c, const char *after, int limit,
    struct functions_fn *rows, int *n, struct lx_err *err);
/* Inserts the function row f (a new name). */
int functions_store_insert(
    struct lx_conn *c, const struct functions_fn *f, struct lx_err *err);
/* Sets the function's active version, public flag and updated_at. */
int functions_store_update(
    struct lx_conn *c, const struct functions_fn *f, struct lx_err *err);
/* Inserts version v (with its source) of the function fn_id. */
int functions_store_version_insert(struct lx_conn *c, const char *tenant_id,
    const char *fn_id, const struct functions_version *v, struct lx_err *err);
/* Up to limit versions of fn_id, newest first, into rows[] (no source). */
int functions_store_versions(struct lx_conn *c, const char *fn_id,
    struct functions_version *rows, int limit, int *n, struct lx_err *err);
/* Deletes the function fn_id with its versions, log and documents (system
 * code, after the caller found it through the views). */
int functions_store_delete(struct lx_conn *c, const char *tenant_id,
    const char *fn_id, const char *name, struct lx_err *err);
/* Up to limit invocation records of fn_id with id below before (0: the
 * newest), newest first; error and log are lx_malloc'd. */
int functions_store_invocations(struct lx_conn *c, const char *fn_id,
    int64_t before, int limit, struct functions_invocation *rows, int *n,
    struct lx_err *err);
void functions_invocations_cleanup(struct functions_invocation *rows, int n);
/* Reads an invocation row whose first twelve columns are id, tenant_id,
 * function_id (or plugin_id), version, started_at, duration_us, status,
 * memory, error, log, request_id, actor into *r (error and log
 * lx_malloc'd). */
void functions_invocation_row(sqlite3_stmt *st, struct functions_invocation *r);

/* The invocation target (system code: the caller has settled the tenant):
 * the function's id, public flag, active version, the version's id and
 * SHA-256; source too when want_source (always read). Without the source,
 * a target this thread read less than a second ago is answered from
 * memory unless a function changed in this process since (see
 * functions_store_changed). 0, or -1 with err (404). */
struct functions_target {
	char fn_id[FUNCTIONS_ID_SIZE];
	int public;
	char version[FUNCTIONS_VERSION_MAX + 1];
	char version_id[FUNCTIONS_ID_SIZE];
	char *source; /* lx_malloc'd when asked for */
	size_t source_len;
};
int functions_store_target(struct lx_conn *c, const char *tenant_id,
    const char *name, int want_source, struct functions_target *out,
    struct lx_err *err);
/* The live tenant whose slug is slug (system code) into id: 0, or -1 with
 * err (404 "not_found"). */
/* Forgets every thread's remembered targets (a function was inserted,
 * changed or deleted); the function writers above call it. */
void functions_store_changed(void);
int functions_store_tenant_by_slug(struct lx_conn *c, const char *slug,
    char id[FUNCTIONS_ID_SIZE], struct lx_err *err);
/* As functions_store_tenant_by_slug for a slug or a tenant id (CLI). */
int functions_store_tenant(struct lx_conn *c, const char *ref,
    char id[FUNCTIONS_ID_SIZE], struct lx_err *err);

/* Secrets, through p_function_secrets. */
struct functions_secret {
	char name[FUNCTIONS_SECRET_NAME_MAX + 1];
	char digest[65]; /* SHA-256 of the value, hex */
	int64_t created_at;
	int64_t updated_at;
};
int functions_store_secrets(struct lx_conn *c, struct functions_secret *rows,
    int limit, int *n, struct lx_err *err);
/* Sets (creates or replaces) a secret; *created 1 if it was new. */
int functions_store_secret_set(struct lx_conn *c, const char *tenant_id,
    const char *name, const char *value, int *created, struct lx_err *err);
/* Deletes a secret (404 if there is none). */
int functions_store_secret_delete(
    struct lx_conn *c, const char *name, struct lx_err *err);
int functions_store_secret_count(struct lx_conn *c, int *n, struct lx_err *err);

/* --- the runtime pool (functions_pool.c) --- */

/* The setting key: LUXIMA_FUNCTIONS_<KEY> from the environment, else
 * functions.<key> from the config file, else NULL. */
const char *functions_setting(const char *key);

/* Reads the limits (functions.memory_mb, functions.instructions,
 * functions.timeout_ms) and the http.fetch allow-list
 * (functions.http_allow) from the environment and srv's config (srv NULL:
 * the environment only, for the CLI). */
int functions_pool_init(struct lx_server *srv, struct lx_err *err);
/* The calling thread's sandboxed state, made on first use and freed when
 * the thread exits. */
struct edge_state *functions_pool_state(void);
/* 1 if host[:port] is on the http.fetch allow-list. */
int functions_http_allowed(const char *host, int port);

/* --- the invocation path (functions_invoke.c) --- */

/* ANY /functions/v1/{name}. */
int functions_invoke(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/* A local invocation (`luxima fn invoke`). */
struct functions_local {
	const char *tenant_id;
	const char *name;
	const char *actor; /* invocation log actor ("cli") */
	const char *method; /* "GET", "POST", ... */
	const char *query; /* raw query string, or NULL */
	const char *body; /* body text, or NULL */
	int body_is_json; /* 1: body is valid JSON (req.json) */
};
/*
 * Runs the tenant's function in->name once on c (its context bound to the
 * tenant by the caller) in this thread's sandbox, without the plan's
 * meter, and queues its invocation record. Fills *out (release with
 * edge_result_cleanup) and returns 0, or -1 with err (404 not_found, the
 * call's error).
 */
int functions_call(struct lx_conn *c, const struct functions_local *in,
    struct edge_result *out, struct lx_err *err);
/* The "functions.background" job: runs a function for jobs.enqueue. */
int functions_job_run(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);
/* Shared with the plugin routes (modules/plugins/plugins_run.c): */
/* Appends the query string q (may be NULL) decoded as a JSON object of
 * strings; of a repeated key the last value wins, pairs that do not
 * decode are left out. */
void functions_params_json(struct lx_buf *b, const char *q);
/* Appends the request table a script gets for req (not closed: the
 * caller adds tenant, function or plugin and the closing brace): method,
 * path, route (when not NULL), query, params, headers (lower-case names,
 * Authorization and Cookie withheld), body and json, user, service_key. */
void functions_request_json(
    struct lx_buf *b, const struct lx_req *req, const char *route);
/* Makes resp the handler's answer r: status, content type (kept in this
 * thread's storage until its next call), headers and body (taken from r,
 * whose body is NULL afterwards). */
void functions_respond(struct edge_result *r, struct lx_resp *resp);

/* --- platform services for scripts (functions_host.c) --- */

/* What a call's host ops act for. */
struct functions_host_ctx {
	struct lx_server *srv;
	struct lx_conn *c; /* the caller's connection, context bound */
	const char *tenant_id;
	const char *ns; /* document namespace: "fn:<name>", "plugin:<name>" */
	const char *fn_name; /* background jobs run this function, or NULL */
	const char *plugin_job; /* a plugin's run: the start of its jobs'
				 * FUNCTIONS_PLUGIN_JOB payload, the JSON
				 * members {"tenant_id", "plugin",
				 * "version_id", "file"} without the closing
				 * brace; NULL for a function */
	const char *actor; /* for audit and events */
};
/* The job kind of a plugin's jobs.enqueue (modules/plugins runs it). */
#define FUNCTIONS_PLUGIN_JOB "plugins.job"
/* The host ops table (edge.h) over a struct functions_host_ctx. */
extern const struct edge_host_ops functions_host_ops;
/*
 * The http_fetch host op (functions_fetch.c): ud a struct
 * functions_host_ctx (may be NULL; only logged), req_json
 * {"url": http(s)://..., "method": GET|POST|PUT|PATCH|DELETE|HEAD (any
 * case, default GET), "headers": {name: value} (at most 32, token names,
 * no control characters in values, not Host, Content-Length,
 * Transfer-Encoding, Connection or another hop-by-hop header), "body":
 * text (at most 1 MiB, no NUL byte)}, null members as absent, the url's
 * fragment dropped. The host and port must pass functions_http_allowed
 * before any lookup or connection; forbidden address classes (link-local
 * metadata, multicast...) are refused even when listed; redirects are not
 * followed; all ends by deadline_ns (lx_mono_ns clock). On 0, *resp_json (lx_free) = {"status": N,
 * "headers": {lower-case name: value, repeats joined by ", "}, "body":
 * text} with invalid UTF-8 in the body as U+FFFD. On -1 (*resp_json NULL)
 * err (not NULL) says: 400 "invalid_request", 403 "host_not_allowed",
 * 504 "fetch_timeout", 502 "fetch_too_large" (a body over 1 MiB) or 502
 * "fetch_failed" (lookup, connection, TLS, protocol). Thread-safe.
 */
int functions_host_fetch(void *ud, const char *req_json, int64_t deadline_ns,
    char **resp_json, struct lx_err *err);

/* --- built-in hook scripts (functions_hooks.c) --- */

struct cJSON;

/*
 * Settles the script of each of the nine hooks (lua_scripts/README.md):
 * <data_dir>/lua_scripts/<hook>.lua when that file exists (an empty one
 * turns the hook off; one that cannot be read makes the hook fail), else
 * the built-in compiled from lua_scripts/, else none; data_dir may be
 * NULL (built-ins only). Overrides are read here only: a change needs a
 * restart. An override that does not compile is logged now and fails at
 * each call. Call before any thread runs a hook (the functions module's
 * init; `luxima billing renew`); not thread-safe. Returns 0.
 */
int functions_hooks_init(const char *data_dir, struct lx_err *err);
/*
 * Runs hook ("auth/register") on req_json (a JSON object) in the calling
 * thread's sandbox with the functions.* limits, no host (json, crypto and
 * log only; log lines go to the server log). On 0, *out is the object the
 * handler returned as json= (cJSON_Delete), or NULL: the hook has no
 * script, or it failed and fails open (logged); either way the caller
 * applies its default. On -1 err is 503 "hook_failed" (a fail-closed hook
 * whose script failed: logged with the reason) or 500 for an unknown
 * hook. Thread-safe after functions_hooks_init.
 */
int functions_hook(const char *hook, const char *req_json, struct cJSON **out,
    struct lx_err *err);
/* For a caller that found the answer of hook unusable (why): logs it;
 * 0 when the hook fails open (apply the default), else -1 with err 503
 * "hook_failed". */
int functions_hook_bad(const char *hook, const char *why, struct lx_err *err);
/* An allow/deny answer: {allow = bool, status = 403|422, code, reason}. */
struct functions_decision {
	int allow; /* 1: go on */
	int status; /* a refusal's HTTP status */
	char code[48]; /* a refusal's machine code, [a-z][a-z0-9_]* */
	char reason[301]; /* a refusal's sentence for the client */
};
/*
 * Reads out (a hook's answer) as a decision into *d: allow is required;
 * status (403 or 422), code and reason are optional (defaults: status,
 * code, "refused by the <hook> hook"); null members count as absent, any
 * other member makes the answer unusable. 0 with *d filled, or what
 * functions_hook_bad says for an unusable answer (0 with d->allow = 1 for
 * a fail-open hook).
 */
int functions_hook_decision(const char *hook, const struct cJSON *out,
    int status, const char *code, struct functions_decision *d,
    struct lx_err *err);
/* 1 if calling hook may do more than return *out = NULL: it has a script,
 * or a broken override (so a caller may skip building a request). */
int functions_hook_active(const char *hook);

/* --- the invocation log (functions_log.c) --- */

/* Starts the writer thread (batches every 200 ms). */
int functions_log_start(struct lx_db *db, struct lx_err *err);
/* Writes what is queued and stops the writer. */
void functions_log_stop(void);
/* Queues rec (taken: its strings are freed by the writer) for
 * function_invocations or, by rec->kind, plugin_invocations (function_id
 * then the plugin's id). Never blocks on the database; beyond a bounded
 * queue, records are counted and dropped. */
void functions_log_add(struct functions_invocation *rec);
/* Writes what is queued now (tests, GET .../invocations). */
void functions_log_flush(void);

#endif
