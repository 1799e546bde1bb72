/*
 * The HTTP core: the module and route descriptors every module exports, the
 * request and response handed to handlers, and the server that alone talks
 * to civetweb. The core runs its checks in a fixed order before a handler:
 * route (404) -> method (405 + Allow) -> size (413) -> identity -> tenant
 * and permission (404/403, binding the policy context) -> content
 * type (415) -> JSON parse (400) -> schema validation (422) -> handler. Every
 * failure leaves as application/problem+json (RFC 9457).
 *
 * Files: core_route.c (path matching), core_json.c (body parsing and schema
 * validation) form lx_parse, the network parsers the fuzzers link; the rest
 * (core_server.c, core_problem.c, core_metrics.c, core_tls.c, core_http.c)
 * form lx_http.
 */
#ifndef LX_CORE_H
#define LX_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "lx.h"
#include "storage.h"

struct cJSON;

/* Methods, as a bit set in a route. HEAD is implied by GET and OPTIONS is
 * answered by the core for every route (CORS preflight, Allow). */
#define M_GET 0x01
#define M_HEAD 0x02
#define M_POST 0x04
#define M_PUT 0x08
#define M_PATCH 0x10
#define M_DELETE 0x20
#define M_OPTIONS 0x40

/*
 * What identity a route needs; the core checks it before the handler runs,
 * handlers never parse tokens or re-check roles. NEED_USER and above take
 * a bearer access token, checked by the authenticator a module registers
 * (lx_server_set_authenticator). A need is a kind in its low byte and, for
 * the tenant kinds, a permission (enum lx_perm) above it:
 *
 *   NEED_USER_CTX        NEED_USER; the request runs under a policy context
 *                        with the user and no tenant (GET /tenants)
 *   NEED_TENANT_PERM(p)  NEED_USER, the tenant is the {id} path parameter,
 *                        the caller is a member holding p (or a platform
 *                        admin); the request runs under that tenant's
 *                        context. Non-members and unknown or deleted
 *                        tenants get 404 "not_found", members without p
 *                        403 "forbidden".
 *
 *   NEED_TENANT_CTX_PERM(p)  as NEED_TENANT_PERM(p) for routes acting for
 *                        a tenant outside /tenants/{id}/...: the tenant is
 *                        a service key's own, else the X-Tenant-Id header,
 *                        else the tenant_id query parameter
 *                        (lx_tenant_pick); none is 400 "tenant_required".
 *
 *   NEED_TENANT_CTX_OPT_PERM(p)  as NEED_TENANT_CTX_PERM(p) when the
 *                        request carries an Authorization header; without
 *                        one the request passes anonymous, with no tenant
 *                        and no context bound (the handler decides what an
 *                        anonymous caller may do: invoking a public edge
 *                        function).
 *
 * A service key ("Authorization: Bearer lx_sk_...", resolved by the key
 * authenticator a module registers) passes only the tenant kinds, for its
 * own tenant (another tenant's ids are 404) and with its own permission
 * subset instead of a role; the user kinds answer it 403
 * "user_token_required".
 */
enum lx_need {
	NEED_ANON = 0, /* anyone */
	NEED_USER = 1, /* a valid access token (401 otherwise) */
	NEED_PLATFORM_ADMIN = 2, /* NEED_USER and platform_admin (else 403) */
	NEED_USER_CTX = 3, /* NEED_USER + a user-only policy context */
	NEED_TENANT = 4, /* kind of NEED_TENANT_PERM(p); use the macro */
	NEED_TENANT_CTX = 5, /* kind of NEED_TENANT_CTX_PERM(p) */
	NEED_TENANT_CTX_OPT = 6, /* kind of NEED_TENANT_CTX_OPT_PERM(p) */
};

/* Tenant permissions, as seeded in migrations/seeds/roles_default.sql. */
enum lx_perm {
	PERM_NONE = 0,
	PERM_TENANTS_READ,
	PERM_TENANTS_WRITE,
	PERM_MEMBERS_READ,
	PERM_MEMBERS_WRITE,
	PERM_BILLING_READ,
	PERM_BILLING_WRITE,
	PERM_PLUGINS_READ,
	PERM_PLUGINS_WRITE,
	PERM_FUNCTIONS_READ,
	PERM_FUNCTIONS_WRITE,
	PERM_AUDIT_READ,
	PERM_AUDIT_WRITE,
	PERM_SERVICE_KEYS_READ,
	PERM_SERVICE_KEYS_WRITE,
	PERM__COUNT
};

#define NEED_TENANT_PERM(p) ((enum lx_need)(NEED_TENANT | ((unsigned)(p) << 8)))
#define NEED_TENANT_CTX_PERM(p) \
	((enum lx_need)(NEED_TENANT_CTX | ((unsigned)(p) << 8)))
#define NEED_TENANT_CTX_OPT_PERM(p) \
	((enum lx_need)(NEED_TENANT_CTX_OPT | ((unsigned)(p) << 8)))
#define LX_NEED_KIND(n) ((unsigned)(n)&0xffu)
#define LX_NEED_PERM(n) ((enum lx_perm)(((unsigned)(n) >> 8) & 0xffu))
/* A tenant need whose route is not counted against the tenant's API
 * request quota (the meter): a tenant that spent it still reaches its
 * subscription and invoices to upgrade or pay. */
#define LX_UNMETERED(n) ((enum lx_need)((unsigned)(n) | 0x1000000u))
#define LX_NEED_METERED(n) (((unsigned)(n)&0x1000000u) == 0)

/* The permission's name ("members.write"), or NULL for PERM_NONE or an
 * unknown value. */
const char *lx_perm_name(enum lx_perm p);

/* The permission named name, or PERM_NONE if no permission has it. */
enum lx_perm lx_perm_by_name(const char *name);
/* A set of permissions: bit (1u << p) for each enum lx_perm p. */
typedef uint32_t lx_perm_set;
#define LX_PERM_BIT(p) ((lx_perm_set)1u << (unsigned)(p))

/* The tenant a request acts in (NEED_TENANT_PERM routes), set by the core
 * after the membership check; zero otherwise. */
struct lx_tenant_ctx {
	char id[40]; /* tenants.id, "" for none */
	char role[16]; /* the caller's tenant role, "" if none (an admin) */
	int platform_admin; /* 1: acting as platform admin */
};

/* Who made a request, filled by the core from the bearer token before the
 * handler runs (routes needing NEED_USER or more); zero for anonymous. */
struct lx_identity {
	int authenticated; /* 1: a verified access token */
	char user_id[40]; /* "sub" */
	char session_id[40]; /* "sid" / "session_id" */
	char email[256];
	char role[32]; /* "authenticated" */
	char aal[8]; /* "aal1", "aal2" */
	int platform_admin; /* app_metadata.platform_admin */
	int64_t exp; /* token expiry, s since epoch */
	const char *claims_json; /* the token's payload; valid during the
				  * request, owned by the authenticator */
	int service_key; /* 1: a service key, not a user token */
	char key_id[40]; /* service_keys.id */
	char key_tenant[40]; /* the only tenant the key acts in */
	lx_perm_set key_perms; /* the key's permission subset */
	char actor[48]; /* audit actor: user id or "service:<key id>" */
};

/* Bearer tokens starting with this are service keys (never a JWT, whose
 * text starts with "ey"). */
#define LX_SERVICE_KEY_PREFIX "lx_sk_"

/*
 * Resolves a service key (token[0..len), LX_SERVICE_KEY_PREFIX included,
 * not NUL-terminated) through c, which carries no policy context yet:
 * fills out's service_key, key_id, key_tenant and key_perms and returns
 * 0, or -1 with err (the core answers 401 "invalid_token" for a 4xx, and
 * err as is for a 5xx). Unknown, revoked, expired keys and keys of a
 * deleted tenant fail. Called on worker threads concurrently, reads the
 * database on every call (no cache, so a revocation applies at once).
 */
typedef int (*lx_key_authenticator)(struct lx_conn *c, const char *token,
    size_t len, struct lx_identity *out, struct lx_err *err);

/*
 * The tenant-context rule of NEED_TENANT_CTX routes, without the
 * membership check (the core does that next): a service key acts in its
 * own tenant (a header or parameter naming another one is 404
 * "not_found"); a user names it with header (X-Tenant-Id, may be NULL),
 * else with the tenant_id parameter of query (raw query string, may be
 * NULL). Writes the id into out (40 bytes) and returns 0, or -1 with err:
 * 400 "tenant_required" when nothing names a tenant, 404 "not_found" for an
 * id too long to exist. Pure; thread-safe.
 */
int lx_tenant_pick(const struct lx_identity *id, const char *header,
    const char *query, char out[40], struct lx_err *err);

/* A query parameter a route accepts, for lx_query_args. */
struct lx_qarg {
	const char *name; /* NULL ends the array */
	char *val; /* out: the decoded value, "" when absent or empty */
	size_t size; /* bytes of val, its NUL included */
	int seen; /* out: 1 if the query named it */
};

/*
 * Parses a raw query string (may be NULL) against the parameters a route
 * declares, so undeclared input never reaches a handler: every parameter
 * must be declared (else 400 "unknown_parameter" naming it) and given once
 * (400 "duplicate_parameter"); values are percent-decoded ('+' is a space)
 * and must hold no control character and fit val (400 "invalid_parameter").
 * Returns 0 or -1 with err. Pure; thread-safe.
 */
int lx_query_args(const char *query, struct lx_qarg *args, struct lx_err *err);

/* Decodes one query string key or value src[0..len) (percent escapes, '+'
 * as a space) into out (size bytes, NUL-terminated): 0, or -1 for a bad
 * escape, a control character or no room. Pure. */
int lx_query_decode(const char *src, size_t len, char *out, size_t size);

/*
 * Verifies a bearer token (token[0..len), not NUL-terminated) and fills
 * *out; returns 0, or -1 with err (the core answers 401 "invalid_token").
 * Called on worker threads concurrently; must not block on a global lock.
 */
typedef int (*lx_authenticator)(
    const char *token, size_t len, struct lx_identity *out, struct lx_err *err);

/*
 * Body schema: one entry per accepted field; unknown fields are refused,
 * unless the schema lists a field named LX_OTHER_FIELDS: then members it
 * does not declare pass unchecked and are removed from the body before the
 * handler runs (a wire protocol whose clients send extra fields), so
 * handlers still see declared fields only.
 */
#define LX_OTHER_FIELDS "*"
enum lx_ftype { F_STRING, F_INT, F_BOOL, F_OBJECT, F_ARRAY, F_NUMBER };
struct lx_field {
	const char *name;
	enum lx_ftype type;
	int required; /* 1: must be present and non-null; else null allowed */
	size_t max; /* strings: max bytes; 0: no limit */
};
struct lx_schema {
	const struct lx_field *fields; /* terminated by {NULL} */
};
/*
 * The schema of a route whose handler takes its body as bytes (a signed
 * webhook: the signature covers the exact bytes sent). The core checks the
 * size and the JSON content type and reads the body, but neither parses
 * nor validates it: req->body stays NULL, req->raw_body holds it, and the
 * handler parses it itself once it has checked it.
 */
extern const struct lx_schema lx_raw_body;
/* As lx_raw_body for a body of any content type (an edge function reads
 * JSON, forms or text itself); the Content-Type reaches the handler as a
 * request header. */
extern const struct lx_schema lx_any_body;

#define LX_MAX_PARAMS 8 /* {name} segments in one route path */
#define LX_JSON_MAX_DEPTH 32 /* nesting of arrays/objects in a body */

struct lx_server;

struct lx_req {
	unsigned method; /* one M_* bit */
	const char *method_name;
	const char *path; /* raw path (percent-encoded), without query */
	const char *query; /* raw query string or NULL */
	int nparams;
	const char *param_names[LX_MAX_PARAMS];
	char *param_values[LX_MAX_PARAMS]; /* from {name} segments, decoded */
	struct cJSON *body; /* validated JSON object or NULL */
	const char *raw_body; /* the body's bytes as received, NUL-terminated
			       * (routes with a schema), else NULL; valid
			       * during the request */
	size_t raw_len; /* bytes of raw_body */
	const char *request_id; /* X-Request-Id */
	const char *remote_addr;
	const struct lx_route *route;
	struct lx_identity ident; /* the caller, for NEED_USER and above */
	struct lx_tenant_ctx tenant; /* for NEED_TENANT_PERM routes */
	struct lx_conn *db; /* the worker thread's connection */
	struct lx_server *srv; /* the running server */
	void *mg; /* civetweb connection (core only) */
};

struct lx_resp {
	int status; /* 0: 200 */
	const char *content_type; /* NULL: application/json */
	struct lx_buf headers; /* extra "Name: value\r\n" lines */
	struct lx_buf body;
};

/* A handler fills resp and returns 0, or returns -1 with err filled; the
 * core then sends err as a problem (5xx details are logged, not shown). */
typedef int (*lx_handler)(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);

struct lx_route {
	const char *path; /* "/tenants/{id}/members" */
	unsigned methods; /* M_* bits (HEAD implied by GET) */
	enum lx_need need;
	const struct lx_schema *schema; /* POST/PUT/PATCH (and DELETE)
					 * body; NULL: none */
	lx_handler handler;
};

struct lx_module {
	const char *name;
	const struct lx_route *routes; /* terminated by {NULL} */
	int (*init)(struct lx_server *srv, struct lx_err *err); /* or NULL */
	void (*shutdown)(void); /* or NULL */
};

/* The one table of modules (modules/modules.c), terminated by NULL. */
extern const struct lx_module *const lx_modules[];
/* The core's own module: health, readiness, metrics, version, documents. */
extern const struct lx_module lx_core_module;
/* A module for tests only (POST /_test/echo, which validates and echoes a
 * JSON body): registered when LUXIMA_TEST_ROUTES=1 at start, never listed
 * in lx_modules[] nor in the OpenAPI document. */
extern const struct lx_module lx_test_module;

/* Server settings, filled by `luxima serve` from flags, environment and
 * the config file. */
struct lx_server_config {
	const char *listen; /* "127.0.0.1:8080", "[::1]:8080" */
	const char *tls_cert; /* PEM file, or NULL for plain HTTP */
	const char *tls_key; /* PEM file (unencrypted) */
	int threads; /* 0: 4 x cores, at least 8 */
	size_t max_body; /* bytes; 0: default 1 MiB */
	int request_timeout_ms; /* 0: 30000 */
	int idle_timeout_ms; /* keep-alive idle; 0: 5000 */
	const char *cors_origins; /* comma list, "*" or NULL (off) */
	const char *data_dir; /* the TLS key file, hook overrides */
	/* Config-file lookup for modules ("auth.issuer"), or NULL. */
	const char *(*conf)(const char *key);
};

/* --- the server (core_server.c) --- */

/*
 * Builds the route table from lx_modules[], initialises every module and
 * starts civetweb on cfg->listen. Does not print anything; on failure
 * returns -1 with one sentence in err (port in use, bad certificate,
 * duplicate route) and nothing left running. db must outlive the server.
 * On success sets *out (stop with lx_server_stop).
 */
int lx_server_start(const struct lx_server_config *cfg, struct lx_db *db,
    struct lx_server **out, struct lx_err *err);
/*
 * Graceful stop: new requests get 503 with Connection: close, requests in
 * flight run to completion (bounded by the request timeout), then civetweb
 * stops, every module's shutdown runs and srv is freed. NULL ok.
 */
void lx_server_stop(struct lx_server *srv);
/* "http://127.0.0.1:8080" or "https://...": the server's base URL. */
const char *lx_server_url(const struct lx_server *srv);
struct lx_db *lx_server_db(const struct lx_server *srv);
/* The config file's value for key (cfg->conf), or NULL. */
const char *lx_server_conf(const struct lx_server *srv, const char *key);
/* A module's setting key ("webhooks.timeout_ms"): the environment variable
 * LUXIMA_<KEY> (upper case, '.' as '_': LUXIMA_WEBHOOKS_TIMEOUT_MS), else
 * the config file's value (srv may be NULL: the environment only), else
 * NULL; an empty value counts as unset. */
const char *lx_server_setting(const struct lx_server *srv, const char *key);
/* The data folder the server was started on (cfg->data_dir, copied), or
 * NULL when none was given. Valid until lx_server_stop. */
const char *lx_server_data_dir(const struct lx_server *srv);
/* Sets the verifier of bearer tokens for NEED_USER routes; a module calls
 * it from its init. Without one, such routes answer 401. */
void lx_server_set_authenticator(struct lx_server *srv, lx_authenticator fn);
/* Sets the resolver of service keys (tokens starting with
 * LX_SERVICE_KEY_PREFIX); a module calls it from its init. Without one,
 * service keys answer 401. */
void lx_server_set_key_authenticator(
    struct lx_server *srv, lx_key_authenticator fn);
/*
 * Renders the failures of one module's routes in that module's wire format
 * instead of a problem document (a compatibility surface whose clients
 * parse another error shape). Called on the worker thread for every
 * failure once a route of the table matched (405, 413, identity, body,
 * handler); err is final (a 5xx already carries the generic "internal_error"
 * and the request id), field names the member a 422 was about ("" if
 * none). The renderer fills resp's status, content type, body and headers.
 */
typedef void (*lx_error_renderer)(const struct lx_req *req,
    const struct lx_err *err, const char *field, struct lx_resp *resp);
/*
 * Uses fn for the failures of routes (a table already given in a module
 * descriptor); a module calls it from its init. -1 with err when more
 * tables are registered than the core has room for.
 */
int lx_server_set_error_renderer(struct lx_server *srv,
    const struct lx_route *routes, lx_error_renderer fn, struct lx_err *err);
/*
 * Plan limits, registered by the billing module: fills *limit (-1: none)
 * and *used with the tenant's limit and current usage of metric (members,
 * service_keys, plugins, functions, function_invocations, api_requests).
 * Runs as system code on c, inside the caller's write transaction when
 * the caller checks before adding, so the count is exact under
 * concurrency. 0, or -1 with err.
 */
typedef int (*lx_quota_fn)(struct lx_conn *c, const char *tenant_id,
    const char *metric, int64_t *limit, int64_t *used, struct lx_err *err);
void lx_server_set_quota(struct lx_server *srv, lx_quota_fn fn);
/* The registered quota function's answer; no limit (-1) without one. */
int lx_server_quota(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, const char *metric, int64_t *limit, int64_t *used,
    struct lx_err *err);
/*
 * The usage meter, registered by the billing module: counts one unit of a
 * monthly counter metric ("api_requests", "function_invocations") for the
 * tenant, or refuses it (-1 with err: 403 "quota_exceeded" naming the
 * limit) when the plan's quota for the period is spent; exactly the quota
 * passes however many callers race. The core calls it with "api_requests"
 * for every request that passed the tenant check (NEED_TENANT and
 * NEED_TENANT_CTX routes not marked LX_UNMETERED, users and service keys
 * alike), before its body is read. Called on worker threads concurrently.
 */
typedef int (*lx_meter_fn)(struct lx_conn *c, const char *tenant_id,
    const char *metric, struct lx_err *err);
void lx_server_set_meter(struct lx_server *srv, lx_meter_fn fn);
/* Counts one unit of metric for the tenant through the registered meter;
 * 0 (always) without one. */
int lx_server_meter(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, const char *metric, struct lx_err *err);
/* Appends the Prometheus text for srv (job gauges read through c). */
void lx_server_metrics(
    struct lx_server *srv, struct lx_conn *c, struct lx_buf *out);

/* Response helpers for handlers. */
/* Sets status, application/json and a copy of the JSON text as body. */
void lx_resp_json(struct lx_resp *resp, int status, const char *json);
/* Appends "name: value"; both must be free of CR and LF. */
void lx_resp_header(struct lx_resp *resp, const char *name, const char *value);
/* Makes resp a problem document (status, code, detail) for request_id. */
void lx_resp_problem(struct lx_resp *resp, int status, const char *code,
    const char *detail, const char *request_id);
/* The value of request header name (case-insensitive), or NULL. */
const char *lx_req_header(const struct lx_req *req, const char *name);
/* The i-th request header (0..): 1 with *name and *value set (valid
 * during the request), 0 past the last one. */
int lx_req_header_at(
    const struct lx_req *req, int i, const char **name, const char **value);
/* The value of {name} in the matched path, or NULL. */
const char *lx_req_param(const struct lx_req *req, const char *name);
/* The validated body's string member name, or NULL (absent, null, or not
 * a string). */
const char *lx_req_body_str(const struct lx_req *req, const char *name);
/* Wipes the body's string member name in place (a password, once used). */
void lx_req_body_wipe(const struct lx_req *req, const char *name);

/* --- problems (core_problem.c) --- */

/* The reason phrase of an HTTP status ("Not Found"), "Error" if unknown. */
const char *lx_status_text(int status);
/* The default machine code for a status ("not_found"). */
const char *lx_status_code(int status);
/*
 * Appends an RFC 9457 problem document to b: type, title, status, detail,
 * code, request_id and, when field is not NULL, field. Strings are escaped.
 */
void lx_problem_json(struct lx_buf *b, int status, const char *code,
    const char *detail, const char *request_id, const char *field);

/* --- routing (core_route.c; no civetweb, fuzzed) --- */

struct lx_router;

/* A routing result. */
enum lx_match_rc {
	LX_MATCH_OK, /* route and method found */
	LX_MATCH_NOT_FOUND, /* no route has this path */
	LX_MATCH_METHOD, /* path known, method not: see allowed */
};

struct lx_match {
	const struct lx_route *route; /* matched route (also for METHOD) */
	int route_index; /* its index in the router, for metrics */
	unsigned allowed; /* methods of the path (HEAD/OPTIONS included) */
	int nparams;
	const char *param_names[LX_MAX_PARAMS];
	char *param_values[LX_MAX_PARAMS]; /* point into scratch */
};

/* Creates an empty router (free with lx_router_free). */
struct lx_router *lx_router_create(void);
void lx_router_free(struct lx_router *r);
/*
 * Adds a {NULL}-terminated route table. The paths must start with '/',
 * have at most LX_MAX_PARAMS "{name}" segments, and not repeat a path and
 * method already added (-1 with err otherwise). The tables are not copied
 * and must outlive the router. Not thread-safe; add before matching.
 */
int lx_router_add(
    struct lx_router *r, const struct lx_route *routes, struct lx_err *err);
/* Number of routes added; lx_router_route(r, i) is the i-th (0..n-1). */
int lx_router_count(const struct lx_router *r);
const struct lx_route *lx_router_route(const struct lx_router *r, int i);
/*
 * Matches a raw (percent-encoded) path against the routes for method (one
 * M_* bit; HEAD matches GET routes, OPTIONS matches every route). Decoded
 * parameter values are written into scratch (reset first), which must
 * stay alive while m is used. Thread-safe; allocates only to grow scratch.
 * A path with an invalid escape, a NUL or a '/' inside a decoded parameter
 * does not match.
 */
enum lx_match_rc lx_router_match(const struct lx_router *r, const char *path,
    unsigned method, struct lx_match *m, struct lx_buf *scratch);
/* The M_* bit for a method name, 0 if unknown. */
unsigned lx_method_bit(const char *name);
/* Writes "GET, HEAD, POST, OPTIONS" for methods into buf (NUL-terminated,
 * truncated to len). */
void lx_methods_format(unsigned methods, char *buf, size_t len);

/* --- JSON bodies (core_json.c; no civetweb, fuzzed) --- */

/*
 * Parses data[0..len) (UTF-8 JSON, at most LX_JSON_MAX_DEPTH deep) and
 * validates it against schema: the body must be an object, each member
 * declared once in schema with the right type, strings within max bytes,
 * required members present and non-null. On success sets *out (free with
 * cJSON_Delete) and returns 0. On failure returns -1 with err: 400
 * "invalid_json" for malformed text, 422 "unknown_field", "missing_field",
 * "wrong_type", "too_long" or "duplicate_field" with field (fieldsz bytes,
 * may be NULL) naming the member.
 */
int lx_json_body(const char *data, size_t len, const struct lx_schema *schema,
    struct cJSON **out, char *field, size_t fieldsz, struct lx_err *err);

/* --- metrics (core_metrics.c) --- */

struct lx_metrics;

/* Creates counters for nroutes routes (index nroutes: "unmatched"). */
struct lx_metrics *lx_metrics_create(int nroutes);
void lx_metrics_free(struct lx_metrics *m);
/* Counts one request; route_index -1 for unmatched. Lock-free. */
void lx_metrics_observe(
    struct lx_metrics *m, int route_index, int status, int64_t duration_ns);
/* In-flight gauge, +1 / -1. */
void lx_metrics_inflight(struct lx_metrics *m, int delta);
int64_t lx_metrics_inflight_now(const struct lx_metrics *m);
/* Appends the Prometheus text exposition (version 0.0.4): requests by route
 * template and status, latency histograms, in-flight, database and job
 * gauges (read through c and db), build info. */
void lx_metrics_render(struct lx_metrics *m, const struct lx_router *r,
    struct lx_db *db, struct lx_conn *c, struct lx_buf *out);

/* --- TLS (core_tls.c) --- */

/*
 * Checks that cert and key are readable PEM files holding a certificate
 * and its matching private key, and writes both into an anonymous
 * in-memory file for civetweb, which loads certificate and key from one
 * path. Sets *fd (close once the server started) and *path
 * ("/proc/self/fd/N", free with lx_free).
 */
int lx_tls_combined_pem(const char *cert, const char *key, int *fd, char **path,
    struct lx_err *err);

#endif
