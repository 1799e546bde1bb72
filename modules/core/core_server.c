/*
 * The HTTP server: the only file that talks to civetweb. civetweb parses
 * requests on a pool of worker threads and calls begin_request(), where the
 * core runs its checks in a fixed order (route, method, size, identity,
 * content type, JSON, schema), calls the handler and sends the response in
 * one write: status line, headers and body built in the worker's buffer
 * (civetweb's own helpers issue a send() per header). Every response carries
 * X-Request-Id, the security headers and, when the origin is allowed, CORS
 * headers; every request leaves one JSON access-log line on stderr.
 * Per-worker buffers are reused between requests, counters are atomics:
 * the request path takes no global lock.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <civetweb.h>
#include <sodium.h>

#include "core.h"

#define DEFAULT_MAX_BODY (1024 * 1024)
/* civetweb's limit on the request line plus headers (its default, 16 KiB,
 * answers 400 before the core sees a long Authorization header; the
 * authenticator refuses oversize tokens itself, fast). */
#define MAX_REQUEST_HEAD "131072"
#define MAX_ORIGINS 32

/* Security headers on every response; the CSP depends on the type. */
#define SECURITY_HEADERS \
	"X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"X-Frame-Options: DENY\r\n"
#define CSP_HTML \
	"default-src 'self'; script-src 'self'; style-src 'self' " \
	"'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
#define CSP_API "default-src 'none'; frame-ancestors 'none'"
/* The GoTrue-compatible routes (auth_gotrue.c) take the Supabase client's
 * apikey, X-Client-Info and X-Supabase-Api-Version headers, and it reads the
 * version echoed on errors. */
#define CORS_ALLOW_HEADERS \
	"Content-Type, Authorization, X-Request-Id, apikey, X-Client-Info, " \
	"X-Supabase-Api-Version"
#define CORS_EXPOSE_HEADERS "X-Request-Id, X-Supabase-Api-Version"
#define MAX_RENDERERS 8

struct lx_server {
	struct mg_context *mg; /* civetweb, NULL once stopped */
	struct lx_db *db;
	struct lx_router *router; /* every module's routes */
	struct lx_metrics *metrics;
	size_t max_body; /* bytes */
	int request_timeout_ms;
	int cors_any; /* "*" configured */
	int norigins;
	char *origins[MAX_ORIGINS]; /* allowed origins, exact match */
	int ninit; /* modules whose init ran */
	const struct lx_module *mods[64]; /* lx_modules[] (+ test module) */
	int nmods;
	atomic_int draining; /* 1: refuse new requests, finish in-flight */
	lx_authenticator auth; /* bearer token verifier, or NULL */
	lx_key_authenticator key_auth; /* service key resolver, or NULL */
	lx_quota_fn quota; /* plan limits, or NULL */
	lx_meter_fn meter; /* tenant request meter, or NULL */
	struct {
		const struct lx_route *routes; /* a module's table */
		lx_error_renderer fn;
	} renderers[MAX_RENDERERS]; /* failures not sent as problems */
	int nrenderers;
	const char *(*conf)(const char *key); /* config-file lookup, or NULL */
	char *data_dir; /* cfg->data_dir, copied; or NULL */
	char url[256];
};

/* One worker thread's reusable state (civetweb's thread pointer). */
struct worker {
	struct lx_buf out; /* the response being sent */
	struct lx_buf in; /* the request body */
	struct lx_buf scratch; /* decoded path parameters */
	struct lx_buf log; /* the access-log line */
	struct lx_resp resp; /* the handler's response */
	struct lx_conn *conn; /* this thread's database connection */
	unsigned char seed[32]; /* request ids: random key + counter */
	uint64_t nids; /* request ids made by this worker */
	time_t date_sec; /* second of the cached Date header */
	char date[40];
	time_t log_sec; /* second of the cached log time stamp */
	char log_when[32];
};

/* What one request produced, for the response and the log. */
struct outcome {
	int close; /* 1: Connection: close */
	int head; /* 1: HEAD, send no body */
	char request_id[65];
	char field[64]; /* field named by a 422 */
	const char *route; /* template, or NULL */
	int route_index;
	unsigned allowed; /* for Allow (405, OPTIONS) */
	int preflight; /* 1: CORS preflight answered */
	const char *www_auth; /* WWW-Authenticate for a 401, or NULL */
};

const char *
lx_server_url(const struct lx_server *srv)
{
	return (srv->url);
}

struct lx_db *
lx_server_db(const struct lx_server *srv)
{
	return (srv->db);
}

const char *
lx_server_conf(const struct lx_server *srv, const char *key)
{
	return (srv->conf != NULL ? srv->conf(key) : NULL);
}

const char *
lx_server_setting(const struct lx_server *srv, const char *key)
{
	char env[128];
	const char *v;
	size_t i;

	snprintf(env, sizeof(env), "LUXIMA_%s", key);
	for (i = 0; env[i] != '\0'; i++)
		env[i] =
		    env[i] == '.' ? '_' : (char)toupper((unsigned char)env[i]);
	if ((v = getenv(env)) != NULL && *v != '\0')
		return (v);
	v = srv != NULL ? lx_server_conf(srv, key) : NULL;
	return (v != NULL && *v != '\0' ? v : NULL);
}

const char *
lx_server_data_dir(const struct lx_server *srv)
{
	return (srv->data_dir);
}

void
lx_server_set_authenticator(struct lx_server *srv, lx_authenticator fn)
{
	srv->auth = fn;
}

void
lx_server_set_key_authenticator(struct lx_server *srv, lx_key_authenticator fn)
{
	srv->key_auth = fn;
}

void
lx_server_set_quota(struct lx_server *srv, lx_quota_fn fn)
{
	srv->quota = fn;
}

void
lx_server_set_meter(struct lx_server *srv, lx_meter_fn fn)
{
	srv->meter = fn;
}

int
lx_server_meter(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, const char *metric, struct lx_err *err)
{
	if (srv->meter == NULL)
		return (0);
	return (srv->meter(c, tenant_id, metric, err));
}

int
lx_server_quota(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, const char *metric, int64_t *limit, int64_t *used,
    struct lx_err *err)
{
	*limit = -1;
	*used = 0;
	if (srv->quota == NULL)
		return (0);
	return (srv->quota(c, tenant_id, metric, limit, used, err));
}

int
lx_server_set_error_renderer(struct lx_server *srv,
    const struct lx_route *routes, lx_error_renderer fn, struct lx_err *err)
{
	if (srv->nrenderers == MAX_RENDERERS)
		return (lx_err_set(err, 500, "internal_error",
		    "more than %d error renderers", MAX_RENDERERS));
	srv->renderers[srv->nrenderers].routes = routes;
	srv->renderers[srv->nrenderers].fn = fn;
	srv->nrenderers++;
	return (0);
}

/* The renderer registered for the table holding rt, or NULL. Runs only on
 * failures; the tables are short. */
static lx_error_renderer
renderer_of(const struct lx_server *srv, const struct lx_route *rt)
{
	const struct lx_route *r;
	int i;

	for (i = 0; rt != NULL && i < srv->nrenderers; i++)
		for (r = srv->renderers[i].routes; r->path != NULL; r++)
			if (r == rt)
				return (srv->renderers[i].fn);
	return (NULL);
}

void
lx_server_metrics(struct lx_server *srv, struct lx_conn *c, struct lx_buf *out)
{
	lx_metrics_render(srv->metrics, srv->router, srv->db, c, out);
}

/* --- response helpers for handlers --- */

void
lx_resp_json(struct lx_resp *resp, int status, const char *json)
{
	resp->status = status;
	resp->content_type = "application/json";
	lx_buf_reset(&resp->body);
	lx_buf_adds(&resp->body, json);
}

void
lx_resp_header(struct lx_resp *resp, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n") != NULL || strpbrk(value, "\r\n") != NULL)
		return; /* never split a header */
	lx_buf_addf(&resp->headers, "%s: %s\r\n", name, value);
}

void
lx_resp_problem(struct lx_resp *resp, int status, const char *code,
    const char *detail, const char *request_id)
{
	resp->status = status;
	resp->content_type = "application/problem+json";
	lx_buf_reset(&resp->body);
	lx_problem_json(&resp->body, status, code, detail, request_id, NULL);
}

const char *
lx_req_header(const struct lx_req *req, const char *name)
{
	return (req->mg != NULL ? mg_get_header(req->mg, name) : NULL);
}

int
lx_req_header_at(
    const struct lx_req *req, int i, const char **name, const char **value)
{
	const struct mg_request_info *ri;

	if (req->mg == NULL || (ri = mg_get_request_info(req->mg)) == NULL
	    || i < 0 || i >= ri->num_headers)
		return (0);
	*name = ri->http_headers[i].name;
	*value = ri->http_headers[i].value;
	return (1);
}

/* Never given to lx_json_body: dispatch hands the bytes over instead. */
static const struct lx_field raw_body_fields[] = { { NULL, 0, 0, 0 } };
const struct lx_schema lx_raw_body = { raw_body_fields };
static const struct lx_field any_body_fields[] = { { NULL, 0, 0, 0 } };
const struct lx_schema lx_any_body = { any_body_fields };

const char *
lx_req_body_str(const struct lx_req *req, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->body, name);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

void
lx_req_body_wipe(const struct lx_req *req, const char *name)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(req->body, name);

	if (cJSON_IsString(v))
		sodium_memzero(v->valuestring, strlen(v->valuestring));
}

/* --- small request helpers --- */

/* 1 if s is a request id we accept from a client: 1-64 of [A-Za-z0-9._-]. */
static int
request_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == 64
		    || !(isalnum((unsigned char)s[i]) || s[i] == '.'
		        || s[i] == '_' || s[i] == '-'))
			return (0);
	return (i > 0);
}

/* 16 random bytes in hex. A worker derives them from its own random seed
 * and a counter (ChaCha20, no system call per request); without a worker,
 * from the system's generator. */
static void
request_id_new(struct worker *w, char out[65])
{
	unsigned char raw[16];

	if (w != NULL) {
		w->nids++;
		memcpy(w->seed + 24, &w->nids, sizeof(w->nids));
		randombytes_buf_deterministic(raw, sizeof(raw), w->seed);
	} else
		randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, 65, raw, sizeof(raw));
}

/* 1 if the comma-separated header value has token (case-insensitive). */
static int
has_token(const char *value, const char *token)
{
	size_t len = strlen(token);
	const char *p = value;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, token, len) == 0
		    && (p[len] == '\0' || p[len] == ',' || p[len] == ' '
		        || p[len] == '\t'))
			return (1);
		while (*p != '\0' && *p != ',')
			p++;
	}
	return (0);
}

/* Whether the client keeps the connection (civetweb's rule). */
static int
client_keeps_alive(struct mg_connection *conn, const struct mg_request_info *ri)
{
	const char *h;

	if ((h = mg_get_header(conn, "Connection")) != NULL)
		return (has_token(h, "keep-alive"));
	return (
	    ri->http_version != NULL && strcmp(ri->http_version, "1.1") == 0);
}

/* 1 if the Content-Type is JSON in UTF-8. */
static int
content_type_json(const char *ct)
{
	const char *p;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return (0);
	p = ct + 16;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return (1);
	if (*p != ';')
		return (0);
	/* Parameters: only charset=utf-8 changes anything. */
	if ((p = strcasestr(p, "charset")) == NULL)
		return (1);
	p += 7;
	while (*p == ' ' || *p == '=' || *p == '"')
		p++;
	return (strncasecmp(p, "utf-8", 5) == 0);
}

/* The allowed origin to echo for this request, or NULL. */
static const char *
cors_origin(const struct lx_server *srv, struct mg_connection *conn)
{
	const char *origin;
	int i;

	if ((origin = mg_get_header(conn, "Origin")) == NULL)
		return (NULL);
	if (srv->cors_any)
		return ("*");
	for (i = 0; i < srv->norigins; i++)
		if (strcmp(srv->origins[i], origin) == 0)
			return (srv->origins[i]);
	return (NULL);
}

/* The cached Date header value for this second. */
static const char *
http_date(struct worker *w)
{
	struct tm tm;
	time_t now;

	now = time(NULL);
	if (now != w->date_sec) {
		gmtime_r(&now, &tm);
		strftime(
		    w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_sec = now;
	}
	return (w->date);
}

/* --- sending --- */

/* Builds status line, headers and body in w->out and writes it at once. */
static void
send_response(struct lx_server *srv, struct worker *w,
    struct mg_connection *conn, struct outcome *oc)
{
	struct lx_resp *resp = &w->resp;
	struct lx_buf *b = &w->out;
	const char *ct, *origin;
	char allow[96];
	int status, nobody;

	status = resp->status ? resp->status : 200;
	ct = resp->content_type ? resp->content_type : "application/json";
	nobody = status == 204 || status == 304;
	/* Plain appends, no printf: this runs for every response. */
	lx_buf_reset(b);
	lx_buf_adds(b, "HTTP/1.1 ");
	lx_buf_add_uint(b, (uint64_t)status);
	lx_buf_adds(b, " ");
	lx_buf_adds(b, lx_status_text(status));
	lx_buf_adds(b, "\r\nDate: ");
	lx_buf_adds(b, http_date(w));
	if (!nobody) {
		lx_buf_adds(b, "\r\nContent-Type: ");
		lx_buf_adds(b, ct);
		lx_buf_adds(b, "\r\nContent-Length: ");
		lx_buf_add_uint(b, resp->body.len);
	}
	lx_buf_adds(b,
	    oc->close ? "\r\nConnection: close\r\nX-Request-Id: "
	              : "\r\nConnection: keep-alive\r\nX-Request-Id: ");
	lx_buf_adds(b, oc->request_id);
	lx_buf_adds(b, "\r\n" SECURITY_HEADERS "Content-Security-Policy: ");
	lx_buf_adds(b, strncmp(ct, "text/html", 9) == 0 ? CSP_HTML : CSP_API);
	lx_buf_adds(b, "\r\n");
	if (status == 405
	    || (oc->allowed && oc->preflight == 0 && status == 204)) {
		lx_methods_format(oc->allowed, allow, sizeof(allow));
		lx_buf_addf(b, "Allow: %s\r\n", allow);
	}
	/* With a list of origins the answer depends on Origin: say so to
	 * caches whether or not this one was allowed. */
	if (srv->norigins > 0 && !srv->cors_any)
		lx_buf_adds(b, "Vary: Origin\r\n");
	if ((origin = cors_origin(srv, conn)) != NULL) {
		lx_buf_addf(b, "Access-Control-Allow-Origin: %s\r\n", origin);
		if (oc->preflight) {
			lx_methods_format(oc->allowed, allow, sizeof(allow));
			lx_buf_addf(b,
			    "Access-Control-Allow-Methods: %s\r\n"
			    "Access-Control-Allow-Headers: " CORS_ALLOW_HEADERS
			    "\r\n"
			    "Access-Control-Max-Age: 600\r\n",
			    allow);
		} else
			lx_buf_adds(b,
			    "Access-Control-Expose-Headers:"
			    " " CORS_EXPOSE_HEADERS "\r\n");
	}
	if (resp->headers.len > 0)
		lx_buf_add(b, resp->headers.data, resp->headers.len);
	lx_buf_add(b, "\r\n", 2);
	if (!oc->head && !nobody && resp->body.len > 0)
		lx_buf_add(b, resp->body.data, resp->body.len);
	if (oc->close)
		mg_disable_connection_keep_alive(conn);
	(void)mg_write(conn, b->data, b->len);
}

/* Appends one JSON access-log line and writes it to stderr. */
static void
access_log(struct worker *w, const struct mg_request_info *ri,
    const struct outcome *oc, int status, size_t bytes, int64_t dur_ns)
{
	struct lx_buf *b = &w->log;
	struct timespec ts;
	struct tm tm;
	char ms[4];
	ssize_t n;
	size_t off;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != w->log_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(
		    w->log_when, sizeof(w->log_when), "%Y-%m-%dT%H:%M:%S", &tm);
		w->log_sec = ts.tv_sec;
	}
	ms[0] = (char)('0' + ts.tv_nsec / 100000000);
	ms[1] = (char)('0' + ts.tv_nsec / 10000000 % 10);
	ms[2] = (char)('0' + ts.tv_nsec / 1000000 % 10);
	ms[3] = '\0';
	/* Plain appends, no printf: this runs for every request. The request
	 * id is already restricted to [A-Za-z0-9._-]. */
	lx_buf_reset(b);
	lx_buf_adds(b, "{\"ts\":\"");
	lx_buf_adds(b, w->log_when);
	lx_buf_adds(b, ".");
	lx_buf_adds(b, ms);
	lx_buf_adds(b,
	    "Z\",\"level\":\"info\",\"msg\":\"request\","
	    "\"request_id\":\"");
	lx_buf_adds(b, oc->request_id);
	lx_buf_adds(b, "\",\"method\":");
	lx_buf_add_json_str(b, ri->request_method ? ri->request_method : "");
	lx_buf_adds(b, ",\"path\":");
	lx_buf_add_json_str(b, ri->local_uri ? ri->local_uri : "");
	lx_buf_adds(b, ",\"route\":");
	lx_buf_add_json_str_or_null(b, oc->route);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_uint(b, (uint64_t)status);
	lx_buf_adds(b, ",\"bytes\":");
	lx_buf_add_uint(b, bytes);
	lx_buf_adds(b, ",\"duration_us\":");
	lx_buf_add_uint(b, dur_ns > 0 ? (uint64_t)(dur_ns / 1000) : 0);
	lx_buf_adds(b, ",\"remote\":");
	lx_buf_add_json_str(b, ri->remote_addr);
	lx_buf_adds(b, "}\n");
	for (off = 0; off < b->len; off += (size_t)n)
		if ((n = write(STDERR_FILENO, b->data + off, b->len - off))
		    <= 0)
			break;
}

/* --- the checks, in order --- */

/* 1 if the route's need is one of the tenant kinds. */
static int
need_tenant(enum lx_need n)
{
	return (LX_NEED_KIND(n) == NEED_TENANT
	    || LX_NEED_KIND(n) == NEED_TENANT_CTX
	    || LX_NEED_KIND(n) == NEED_TENANT_CTX_OPT);
}

/*
 * A service key: resolved by the key authenticator through c (no context
 * bound yet), accepted on the tenant kinds only.
 */
static int
check_key(struct lx_server *srv, const struct lx_route *rt, struct lx_req *req,
    struct lx_conn *c, const char *tok, size_t len, struct lx_err *err)
{
	if (srv->key_auth == NULL)
		return (lx_err_set(err, 401, "invalid_token",
		    "the access token is not valid"));
	if (srv->key_auth(c, tok, len, &req->ident, err) == -1) {
		memset(&req->ident, 0, sizeof(req->ident));
		if (err->status >= 500)
			return (-1);
		return (lx_err_set(err, 401, "invalid_token",
		    "the service key is not valid (unknown or revoked)"));
	}
	req->ident.service_key = 1;
	req->ident.authenticated = 1;
	snprintf(req->ident.actor, sizeof(req->ident.actor), "service:%s",
	    req->ident.key_id);
	if (!need_tenant(rt->need))
		return (lx_err_set(err, 403, "user_token_required",
		    "this route needs a user's access token; a service key "
		    "acts only on its tenant's routes"));
	return (0);
}

/*
 * Identity: NEED_USER and above take "Authorization: Bearer <token>",
 * verified by the registered authenticator into req->ident, or, for a
 * token starting with LX_SERVICE_KEY_PREFIX, by the key authenticator
 * (check_key). A missing token is 401 "missing_token", a bad one 401
 * "invalid_token" (both with WWW-Authenticate), a user who is not a
 * platform admin on an admin route 403 "forbidden".
 */
static int
check_identity(struct lx_server *srv, const struct lx_route *rt,
    struct lx_req *req, struct lx_conn *c, struct outcome *oc,
    struct lx_err *err)
{
	const char *h, *tok;
	size_t len;

	if (rt->need == NEED_ANON)
		return (0);
	if (rt->need != NEED_USER && rt->need != NEED_PLATFORM_ADMIN
	    && rt->need != NEED_USER_CTX
	    && (!need_tenant(rt->need)
	        || lx_perm_name(LX_NEED_PERM(rt->need)) == NULL))
		return (lx_err_set(err, 500, "internal_error",
		    "route %s needs an identity the core does not know",
		    rt->path));
	if ((h = mg_get_header(req->mg, "Authorization")) == NULL
	    && LX_NEED_KIND(rt->need) == NEED_TENANT_CTX_OPT)
		return (0); /* anonymous; the handler decides */
	if (h == NULL) {
		oc->www_auth = "Bearer realm=\"luxima\"";
		return (lx_err_set(err, 401, "missing_token",
		    "this route needs an access token "
		    "(Authorization: Bearer <token>)"));
	}
	oc->www_auth = "Bearer realm=\"luxima\", error=\"invalid_token\"";
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return (lx_err_set(err, 401, "invalid_token",
		    "the Authorization header must be \"Bearer <token>\""));
	for (tok = h + 7; *tok == ' '; tok++)
		;
	len = strlen(tok);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	if (len > strlen(LX_SERVICE_KEY_PREFIX)
	    && strncmp(
	           tok, LX_SERVICE_KEY_PREFIX, strlen(LX_SERVICE_KEY_PREFIX))
	        == 0) {
		if (check_key(srv, rt, req, c, tok, len, err) == -1)
			return (-1);
		oc->www_auth = NULL;
		return (0);
	}
	if (len == 0 || srv->auth == NULL)
		return (lx_err_set(err, 401, "invalid_token",
		    "the access token is not valid"));
	if (srv->auth(tok, len, &req->ident, err) == -1) {
		memset(&req->ident, 0, sizeof(req->ident));
		err->status = 401;
		snprintf(err->code, sizeof(err->code), "invalid_token");
		return (-1);
	}
	req->ident.authenticated = 1;
	snprintf(req->ident.actor, sizeof(req->ident.actor), "%s",
	    req->ident.user_id);
	oc->www_auth = NULL;
	if (rt->need == NEED_PLATFORM_ADMIN && !req->ident.platform_admin)
		return (lx_err_set(err, 403, "forbidden",
		    "this route is for platform administrators"));
	return (0);
}

const char *
lx_perm_name(enum lx_perm p)
{
	static const char *const names[PERM__COUNT] = {
		[PERM_TENANTS_READ] = "tenants.read",
		[PERM_TENANTS_WRITE] = "tenants.write",
		[PERM_MEMBERS_READ] = "members.read",
		[PERM_MEMBERS_WRITE] = "members.write",
		[PERM_BILLING_READ] = "billing.read",
		[PERM_BILLING_WRITE] = "billing.write",
		[PERM_PLUGINS_READ] = "plugins.read",
		[PERM_PLUGINS_WRITE] = "plugins.write",
		[PERM_FUNCTIONS_READ] = "functions.read",
		[PERM_FUNCTIONS_WRITE] = "functions.write",
		[PERM_AUDIT_READ] = "audit.read",
		[PERM_AUDIT_WRITE] = "audit.write",
		[PERM_SERVICE_KEYS_READ] = "service_keys.read",
		[PERM_SERVICE_KEYS_WRITE] = "service_keys.write",
	};

	if ((unsigned)p >= PERM__COUNT)
		return (NULL);
	return (names[p]);
}

enum lx_perm
lx_perm_by_name(const char *name)
{
	const char *n;
	unsigned p;

	for (p = 1; name != NULL && p < PERM__COUNT; p++)
		if ((n = lx_perm_name((enum lx_perm)p)) != NULL
		    && strcmp(n, name) == 0)
			return ((enum lx_perm)p);
	return (PERM_NONE);
}

/* The tenant's status and the user's role in it (system code: no context
 * is bound yet). */
static const char sql_tenant_member[] =
    "SELECT t.status, (SELECT m.role FROM memberships m "
    "WHERE m.tenant_id = t.id AND m.user_id = ?2) FROM tenants t "
    "WHERE t.id = ?1";

/*
 * What the membership check reads: whether the tenant is live and the
 * user's role in it. Each thread remembers the last ones it read until a
 * tenant or membership changes in this process (lx_tenancy_generation)
 * or for MEMBER_TTL_MS, the time a change made by another process takes
 * to be seen; a removed member is refused on the next request.
 */
#define MEMBER_SLOTS 64
#define MEMBER_TTL_MS 1000

struct member_row {
	uint64_t gen; /* lx_tenancy_generation() when read; 0: empty */
	int64_t at; /* lx_now_ms() when read */
	char tenant[40];
	char user[40];
	int live; /* the tenant exists and is not deleted */
	char role[16]; /* the user's role, "" for none */
};

static _Thread_local struct member_row member_rows[MEMBER_SLOTS];

static int
member_lookup(struct lx_conn *c, const char *tenant, const char *user,
    struct member_row *out, struct lx_err *err)
{
	struct member_row *slot;
	sqlite3_stmt *st;
	const char *status, *role;
	uint64_t gen = lx_tenancy_generation();
	uint32_t h = 2166136261u;
	int64_t now = lx_now_ms();
	const char *p;
	int rc;

	for (p = tenant; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	slot = &member_rows[h % MEMBER_SLOTS];
	if (slot->gen == gen && now - slot->at < MEMBER_TTL_MS
	    && strcmp(slot->tenant, tenant) == 0
	    && strcmp(slot->user, user) == 0) {
		*out = *slot;
		return (0);
	}
	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_tenant_member, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		status = (const char *)sqlite3_column_text(st, 0);
		role = (const char *)sqlite3_column_text(st, 1);
		out->live = status != NULL && strcmp(status, "deleted") != 0;
		snprintf(out->role, sizeof(out->role), "%s",
		    role != NULL ? role : "");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "tenant membership", err));
	out->gen = gen;
	out->at = now;
	snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
	snprintf(out->user, sizeof(out->user), "%s", user);
	*slot = *out;
	return (0);
}

/*
 * A service key in the tenant id: its own tenant only (another tenant's
 * ids are 404, as for a non-member; the key authenticator checked the
 * tenant is live), its permission subset instead of a role (403 naming p
 * when it lacks it). Binds a context with no user and the key's
 * permissions.
 */
static int
check_key_tenant(const struct lx_route *rt, struct lx_req *req,
    struct lx_conn *c, const char *id, struct lx_err *err)
{
	const char *names[PERM__COUNT];
	struct lx_db_ctx ctx;
	enum lx_perm p = LX_NEED_PERM(rt->need);
	unsigned i;
	int n = 0;

	if (strcmp(id, req->ident.key_tenant) != 0)
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	if ((req->ident.key_perms & LX_PERM_BIT(p)) == 0)
		return (lx_err_set(err, 403, "forbidden",
		    "this needs the permission %s, which the service key "
		    "does not carry",
		    lx_perm_name(p)));
	for (i = 1; i < PERM__COUNT; i++)
		if ((req->ident.key_perms & LX_PERM_BIT(i)) != 0)
			names[n++] = lx_perm_name((enum lx_perm)i);
	snprintf(req->tenant.id, sizeof(req->tenant.id), "%s", id);
	memset(&ctx, 0, sizeof(ctx));
	ctx.tenant_id = req->tenant.id;
	ctx.perms = names;
	ctx.nperms = n;
	return (lx_conn_set_context(c, &ctx, err));
}

/*
 * Tenant and permission, after identity: for NEED_TENANT_PERM(p) the tenant
 * is the {id} path parameter, for NEED_TENANT_CTX_PERM(p) the one
 * lx_tenant_pick names; a caller who is not a member (or a tenant that
 * does not exist or is deleted) gets 404, never 403, so existence does not
 * leak; a member without p gets 403 naming p. Platform admins act on any
 * live tenant; service keys on their own (check_key_tenant). Then binds
 * the policy context to c (NEED_USER_CTX: the user and no tenant). The
 * caller clears it after the response.
 */
static int
check_tenant(const struct lx_route *rt, struct lx_req *req, struct lx_conn *c,
    struct lx_err *err)
{
	struct lx_db_ctx ctx;
	struct member_row m;
	const char *id, *perm;
	char picked[40];
	int found = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = req->ident.user_id;
	ctx.platform_admin = req->ident.platform_admin;
	if (rt->need == NEED_USER_CTX)
		return (lx_conn_set_context(c, &ctx, err));
	if (!need_tenant(rt->need))
		return (0);
	if (LX_NEED_KIND(rt->need) == NEED_TENANT_CTX_OPT
	    && !req->ident.authenticated && !req->ident.service_key)
		return (0); /* anonymous */
	perm = lx_perm_name(LX_NEED_PERM(rt->need));
	if (LX_NEED_KIND(rt->need) != NEED_TENANT) {
		if (lx_tenant_pick(&req->ident,
		        lx_req_header(req, "X-Tenant-Id"), req->query, picked,
		        err)
		    == -1)
			return (-1);
		id = picked;
	} else
		id = lx_req_param(req, "id");
	if (id == NULL || perm == NULL)
		return (lx_err_set(err, 500, "internal_error",
		    "route %s names no tenant {id} or permission", rt->path));
	if (strlen(id) >= sizeof(req->tenant.id))
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	if (req->ident.service_key)
		return (check_key_tenant(rt, req, c, id, err));
	if (member_lookup(c, id, req->ident.user_id, &m, err) == -1)
		return (-1);
	found = m.live && (m.role[0] != '\0' || req->ident.platform_admin);
	if (found)
		memcpy(req->tenant.role, m.role, sizeof(req->tenant.role));
	if (!found) {
		memset(&req->tenant, 0, sizeof(req->tenant));
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	}
	snprintf(req->tenant.id, sizeof(req->tenant.id), "%s", id);
	req->tenant.platform_admin = req->ident.platform_admin;
	ctx.tenant_id = req->tenant.id;
	ctx.role = req->tenant.role[0] != '\0' ? req->tenant.role : NULL;
	if (lx_conn_set_context(c, &ctx, err) == -1)
		return (-1);
	if (!lx_conn_has_perm(c, perm))
		return (lx_err_set(err, 403, "forbidden",
		    "this needs the permission %s in the tenant", perm));
	return (0);
}

/* Ends a request's use of its connection: a transaction a handler left
 * open is rolled back and the policy context unbound. */
static void
conn_release(struct lx_conn *c)
{
	if (c == NULL)
		return;
	if (lx_conn_in_tx(c)) {
		lx_log(LX_LOG_ERROR, "a handler left a transaction open");
		lx_conn_rollback(c);
	}
	if (lx_conn_has_context(c))
		lx_conn_clear_context(c);
}

/* Reads the body into w->in: at most max bytes, else 413. */
static int
read_body(struct lx_server *srv, struct worker *w, struct mg_connection *conn,
    struct outcome *oc, struct lx_err *err)
{
	char chunk[16384];
	const char *expect;
	int n;

	lx_buf_reset(&w->in);
	if ((expect = mg_get_header(conn, "Expect")) != NULL
	    && strcasecmp(expect, "100-continue") == 0)
		(void)mg_write(conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	while ((n = mg_read(conn, chunk, sizeof(chunk))) > 0) {
		if (w->in.len + (size_t)n > srv->max_body) {
			oc->close = 1;
			return (lx_err_set(err, 413, "body_too_large",
			    "the body is larger than %zu bytes",
			    srv->max_body));
		}
		lx_buf_add(&w->in, chunk, (size_t)n);
	}
	if (n < 0) {
		oc->close = 1;
		return (lx_err_set(err, 400, "incomplete_body",
		    "the body ended before its announced length"));
	}
	return (0);
}

/* Answers OPTIONS: CORS preflight or a plain Allow. */
static void
handle_options(struct lx_server *srv, struct worker *w,
    struct mg_connection *conn, struct outcome *oc)
{
	oc->preflight =
	    mg_get_header(conn, "Access-Control-Request-Method") != NULL
	    && cors_origin(srv, conn) != NULL;
	w->resp.status = 204;
}

/*
 * Runs the fixed sequence for one request; leaves the response in w->resp
 * (a problem on failure) and returns its status.
 */
static int
dispatch(struct lx_server *srv, struct worker *w, struct mg_connection *conn,
    const struct mg_request_info *ri, struct outcome *oc)
{
	struct lx_match m;
	struct lx_req req;
	struct lx_err err;
	enum lx_match_rc rc;
	const struct lx_route *rt;
	const struct lx_route *matched = NULL; /* for the error renderer */
	lx_error_renderer render;
	unsigned method;
	int has_body;

	memset(&req, 0, sizeof(req));
	lx_err_clear(&err);
	method = lx_method_bit(ri->request_method);
	oc->head = method == M_HEAD;

	if (atomic_load(&srv->draining)) {
		oc->close = 1;
		lx_err_set(
		    &err, 503, "shutting_down", "the server is shutting down");
		goto fail;
	}
	/* 1. route */
	rc = lx_router_match(
	    srv->router, ri->local_uri, method, &m, &w->scratch);
	if (rc == LX_MATCH_NOT_FOUND) {
		lx_err_set(&err, 404, "not_found", "no route for this path");
		goto fail;
	}
	matched = m.route;
	oc->route = m.route->path;
	oc->route_index = m.route_index;
	oc->allowed = m.allowed;
	/* 2. method */
	if (rc == LX_MATCH_METHOD) {
		lx_err_set(&err, 405, "method_not_allowed",
		    "%s is not allowed here",
		    method ? ri->request_method : "this method");
		goto fail;
	}
	if (method == M_OPTIONS) {
		handle_options(srv, w, conn, oc);
		return (204);
	}
	rt = m.route;
	/* 3. size */
	if (ri->content_length > 0
	    && (size_t)ri->content_length > srv->max_body) {
		oc->close = 1;
		lx_err_set(&err, 413, "body_too_large",
		    "the body is larger than %zu bytes", srv->max_body);
		goto fail;
	}
	/* 4. identity */
	req.method = method;
	req.method_name = ri->request_method;
	req.path = ri->local_uri;
	req.query = ri->query_string;
	req.request_id = oc->request_id;
	req.remote_addr = ri->remote_addr;
	req.route = rt;
	req.srv = srv;
	req.mg = conn;
	req.nparams = m.nparams;
	memcpy(req.param_names, m.param_names, sizeof(req.param_names));
	memcpy(req.param_values, m.param_values, sizeof(req.param_values));
	if (w->conn == NULL)
		w->conn = lx_db_conn(srv->db);
	req.db = w->conn;
	if (check_identity(srv, rt, &req, req.db, oc, &err) == -1)
		goto fail;
	/* 5. tenant and permission, binding the policy context */
	if (check_tenant(rt, &req, req.db, &err) == -1)
		goto fail;
	/* ... and counted against the tenant's monthly request quota */
	if (req.tenant.id[0] != '\0' && srv->meter != NULL
	    && LX_NEED_METERED(rt->need)
	    && srv->meter(req.db, req.tenant.id, "api_requests", &err) == -1)
		goto fail;
	/* 6-8. content type, JSON, schema: bodies of POST, PUT, PATCH, and
	 * of DELETE where the route declares one */
	has_body = ri->content_length > 0
	    || (ri->content_length < 0
	        && mg_get_header(conn, "Transfer-Encoding") != NULL);
	if ((method & (M_POST | M_PUT | M_PATCH)) != 0
	    || (method == M_DELETE && rt->schema != NULL)) {
		if (rt->schema == NULL && has_body) {
			lx_err_set(&err, 400, "unexpected_body",
			    "this route takes no body");
			goto fail;
		}
		if (rt->schema != NULL) {
			if (rt->schema != &lx_any_body
			    && !content_type_json(
			        mg_get_header(conn, "Content-Type"))) {
				lx_err_set(&err, 415, "unsupported_media_type",
				    "the body must be application/json");
				goto fail;
			}
			if (read_body(srv, w, conn, oc, &err) == -1)
				goto fail;
			req.raw_body = w->in.data ? w->in.data : "";
			req.raw_len = w->in.len;
			if (rt->schema != &lx_raw_body
			    && rt->schema != &lx_any_body
			    && lx_json_body(req.raw_body, req.raw_len,
			           rt->schema, &req.body, oc->field,
			           sizeof(oc->field), &err)
			        == -1)
				goto fail;
		}
	}
	/* 9. handler */
	if (rt->handler(&req, &w->resp, &err) == -1) {
		cJSON_Delete(req.body);
		req.body = NULL;
		goto fail;
	}
	cJSON_Delete(req.body);
	conn_release(req.db);
	return (w->resp.status ? w->resp.status : 200);

fail:
	conn_release(req.db);
	if (err.status < 400 || err.status > 599)
		err.status = 500;
	if (err.status >= 500 && err.status != 503) {
		lx_log(LX_LOG_ERROR, "request %s: %s: %s", oc->request_id,
		    err.code, err.detail);
		snprintf(err.detail, sizeof(err.detail),
		    "internal error; quote request id %s", oc->request_id);
		snprintf(err.code, sizeof(err.code), "internal_error");
	}
	lx_buf_reset(&w->resp.headers);
	w->resp.status = err.status;
	w->resp.content_type = "application/problem+json";
	lx_buf_reset(&w->resp.body);
	if ((render = renderer_of(srv, matched)) != NULL) {
		/* The module's own wire format; the request as far as known. */
		req.method = method;
		req.method_name = ri->request_method;
		req.path = ri->local_uri;
		req.query = ri->query_string;
		req.request_id = oc->request_id;
		req.remote_addr = ri->remote_addr;
		req.route = matched;
		req.srv = srv;
		req.mg = conn;
		render(&req, &err, oc->field, &w->resp);
		return (w->resp.status);
	}
	lx_problem_json(&w->resp.body, err.status, err.code, err.detail,
	    oc->request_id, oc->field);
	if (err.status == 401 && oc->www_auth != NULL)
		lx_resp_header(&w->resp, "WWW-Authenticate", oc->www_auth);
	return (err.status);
}

/* --- civetweb callbacks --- */

static void
worker_reset(struct worker *w)
{
	w->resp.status = 0;
	w->resp.content_type = NULL;
	lx_buf_reset(&w->resp.headers);
	lx_buf_reset(&w->resp.body);
}

static void
outcome_init(struct outcome *oc, struct worker *w, struct mg_connection *conn,
    const struct mg_request_info *ri)
{
	const char *rid;

	memset(oc, 0, sizeof(*oc));
	oc->route_index = -1;
	if ((rid = mg_get_header(conn, "X-Request-Id")) != NULL
	    && request_id_ok(rid))
		snprintf(oc->request_id, sizeof(oc->request_id), "%s", rid);
	else
		request_id_new(w, oc->request_id);
	oc->close = !client_keeps_alive(conn, ri);
}

static int
begin_request(struct mg_connection *conn)
{
	struct lx_server *srv = mg_get_user_data(mg_get_context(conn));
	struct worker *w = mg_get_thread_pointer(conn);
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct outcome oc;
	int64_t t0;
	int status, draining;

	t0 = lx_mono_ns();
	/* Counted before the draining check (both sequentially consistent):
	 * lx_server_stop either sees this request or it sees draining. */
	lx_metrics_inflight(srv->metrics, 1);
	if ((draining = atomic_load(&srv->draining)))
		lx_metrics_inflight(srv->metrics, -1);
	worker_reset(w);
	outcome_init(&oc, w, conn, ri);
	status = dispatch(srv, w, conn, ri, &oc);
	w->resp.status = status;
	if (atomic_load(&srv->draining))
		oc.close = 1; /* finishing in-flight work: no next request */
	send_response(srv, w, conn, &oc);
	access_log(w, ri, &oc, status, oc.head ? 0 : w->resp.body.len,
	    lx_mono_ns() - t0);
	lx_metrics_observe(
	    srv->metrics, oc.route_index, status, lx_mono_ns() - t0);
	/* Keep the buffers of a worker that sent something huge in check. */
	if (w->out.cap > 4 * DEFAULT_MAX_BODY) {
		lx_buf_cleanup(&w->out);
		lx_buf_cleanup(&w->resp.body);
	}
	if (!draining)
		lx_metrics_inflight(srv->metrics, -1);
	return (status);
}

/* civetweb's own errors (bad request line, headers too large...): the same
 * problem format, then the connection closes. */
static int
http_error(struct mg_connection *conn, int status, const char *msg)
{
	struct lx_server *srv = mg_get_user_data(mg_get_context(conn));
	struct worker *w = mg_get_thread_pointer(conn), tmp;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct outcome oc;

	(void)msg; /* civetweb's wording; may echo input, not shown */
	if (status < 400 || status > 599)
		return (1);
	if (w == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		w = &tmp;
	}
	memset(&oc, 0, sizeof(oc));
	oc.route_index = -1;
	oc.close = 1;
	request_id_new(w == &tmp ? NULL : w, oc.request_id);
	worker_reset(w);
	w->resp.status = status;
	w->resp.content_type = "application/problem+json";
	lx_problem_json(&w->resp.body, status, NULL,
	    status == 400 ? "the request could not be parsed" : NULL,
	    oc.request_id, NULL);
	send_response(srv, w, conn, &oc);
	access_log(w, ri, &oc, status, w->resp.body.len, 0);
	lx_metrics_observe(srv->metrics, -1, status, 0);
	if (w == &tmp) {
		lx_buf_cleanup(&tmp.out);
		lx_buf_cleanup(&tmp.log);
		lx_buf_cleanup(&tmp.resp.body);
		lx_buf_cleanup(&tmp.resp.headers);
	}
	return (0);
}

static void *
init_thread(const struct mg_context *ctx, int type)
{
	struct worker *w;

	(void)ctx;
	if (type != 1)
		return (NULL);
	w = lx_calloc(1, sizeof(*w));
	randombytes_buf(w->seed, sizeof(w->seed));
	lx_buf_init(&w->out);
	lx_buf_init(&w->in);
	lx_buf_init(&w->scratch);
	lx_buf_init(&w->log);
	lx_buf_init(&w->resp.headers);
	lx_buf_init(&w->resp.body);
	return (w);
}

static void
exit_thread(const struct mg_context *ctx, int type, void *p)
{
	struct lx_server *srv = mg_get_user_data(ctx);
	struct worker *w = p;

	if (type != 1 || w == NULL)
		return;
	if (w->conn != NULL)
		lx_db_thread_done(srv->db);
	lx_buf_cleanup(&w->out);
	lx_buf_cleanup(&w->in);
	lx_buf_cleanup(&w->scratch);
	lx_buf_cleanup(&w->log);
	lx_buf_cleanup(&w->resp.headers);
	lx_buf_cleanup(&w->resp.body);
	sodium_memzero(w->seed, sizeof(w->seed));
	lx_free(w);
}

static int
log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	lx_log(LX_LOG_WARN, "civetweb: %s", msg);
	return (1);
}

/* --- start and stop --- */

static void
parse_origins(struct lx_server *srv, const char *list)
{
	char *copy, *tok, *save = NULL;
	size_t len;

	if (list == NULL || *list == '\0')
		return;
	copy = lx_strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		len = strlen(tok);
		while (len > 0
		    && (tok[len - 1] == ' ' || tok[len - 1] == '\t'
		        || tok[len - 1] == '/'))
			tok[--len] = '\0';
		if (len == 0)
			continue;
		if (strcmp(tok, "*") == 0)
			srv->cors_any = 1;
		else if (srv->norigins < MAX_ORIGINS)
			srv->origins[srv->norigins++] = lx_strdup(tok);
	}
	lx_free(copy);
}

static void
server_free(struct lx_server *srv)
{
	int i;

	if (srv == NULL)
		return;
	for (i = srv->ninit - 1; i >= 0; i--)
		if (srv->mods[i]->shutdown != NULL)
			srv->mods[i]->shutdown();
	lx_router_free(srv->router);
	lx_metrics_free(srv->metrics);
	for (i = 0; i < srv->norigins; i++)
		lx_free(srv->origins[i]);
	lx_free(srv->data_dir);
	lx_free(srv);
}

/* Builds the router and runs every module's init. */
static int
modules_init(struct lx_server *srv, struct lx_err *err)
{
	const char *test;
	char code[48], detail[sizeof(err->detail)];
	int i;

	for (i = 0; lx_modules[i] != NULL; i++)
		if (srv->nmods < (int)LX_NELEM(srv->mods) - 1)
			srv->mods[srv->nmods++] = lx_modules[i];
	if ((test = getenv("LUXIMA_TEST_ROUTES")) != NULL
	    && strcmp(test, "1") == 0)
		srv->mods[srv->nmods++] = &lx_test_module;
	srv->router = lx_router_create();
	for (i = 0; i < srv->nmods; i++)
		if (lx_router_add(srv->router, srv->mods[i]->routes, err) == -1)
			return (-1);
	srv->metrics = lx_metrics_create(lx_router_count(srv->router));
	for (i = 0; i < srv->nmods; i++) {
		if (srv->mods[i]->init != NULL
		    && srv->mods[i]->init(srv, err) == -1) {
			/* Copies first: lx_err_set writes into err. */
			snprintf(code, sizeof(code), "%s",
			    err->code[0] ? err->code : "module_init");
			snprintf(detail, sizeof(detail), "%s", err->detail);
			lx_err_set(err, err->status ? err->status : 500, code,
			    "module %s: %.400s", srv->mods[i]->name, detail);
			return (-1);
		}
		srv->ninit = i + 1;
	}
	return (0);
}

int
lx_server_start(const struct lx_server_config *cfg, struct lx_db *db,
    struct lx_server **out, struct lx_err *err)
{
	struct lx_server *srv = NULL;
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data merr;
	char ports[300], threads[16], rto[16], ito[16], errtext[256];
	const char *opts[40], *listen;
	char *pem = NULL;
	int pemfd = -1;
	unsigned code = 0;
	int n = 0, nthreads, ret = -1;
	long ncpu;

	*out = NULL;
	srv = lx_calloc(1, sizeof(*srv));
	srv->db = db;
	atomic_init(&srv->draining, 0);
	srv->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
	srv->request_timeout_ms =
	    cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 30000;
	srv->conf = cfg->conf;
	srv->data_dir = cfg->data_dir != NULL ? lx_strdup(cfg->data_dir) : NULL;
	parse_origins(srv, cfg->cors_origins);
	if (modules_init(srv, err) == -1)
		goto out;

	listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
	if (strpbrk(listen, ", \t") != NULL || *listen == '\0') {
		lx_err_set(err, 500, "bad_listen",
		    "cannot listen on '%s': give one host:port", listen);
		goto out;
	}
	if (cfg->tls_cert != NULL || cfg->tls_key != NULL) {
		if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
			lx_err_set(err, 500, "tls_config",
			    "TLS needs both --tls-cert and --tls-key");
			goto out;
		}
		if (lx_tls_combined_pem(
		        cfg->tls_cert, cfg->tls_key, &pemfd, &pem, err)
		    == -1)
			goto out;
	}
	snprintf(ports, sizeof(ports), "%s%s", listen, pem ? "s" : "");
	snprintf(srv->url, sizeof(srv->url), "%s://%s%s",
	    pem ? "https" : "http",
	    strchr(listen, ':') == NULL || listen[0] == ':' ? "0.0.0.0:" : "",
	    listen[0] == ':' ? listen + 1 : listen);
	if ((nthreads = cfg->threads) <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = ncpu > 0 ? (int)ncpu * 4 : 8;
		if (nthreads < 8)
			nthreads = 8;
	}
	snprintf(threads, sizeof(threads), "%d", nthreads);
	snprintf(rto, sizeof(rto), "%d", srv->request_timeout_ms);
	snprintf(ito, sizeof(ito), "%d",
	    cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : 5000);

	opts[n++] = "listening_ports";
	opts[n++] = ports;
	opts[n++] = "num_threads";
	opts[n++] = threads;
	opts[n++] = "request_timeout_ms";
	opts[n++] = rto;
	opts[n++] = "keep_alive_timeout_ms";
	opts[n++] = ito;
	opts[n++] = "enable_keep_alive";
	opts[n++] = "yes";
	opts[n++] = "tcp_nodelay";
	opts[n++] = "1";
	opts[n++] = "max_request_size";
	opts[n++] = MAX_REQUEST_HEAD;
	opts[n++] = "decode_url";
	opts[n++] = "no";
	opts[n++] = "enable_auth_domain_check";
	opts[n++] = "no";
	if (pem != NULL) {
		opts[n++] = "ssl_certificate";
		opts[n++] = pem;
	}
	opts[n] = NULL;

	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.http_error = http_error;
	cb.init_thread = init_thread;
	cb.exit_thread = exit_thread;
	cb.log_message = log_message;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.user_data = srv;
	init.configuration_options = opts;
	errtext[0] = '\0';
	merr.code = &code;
	merr.text = errtext;
	merr.text_buffer_size = sizeof(errtext);
	mg_init_library(0);
	if ((srv->mg = mg_start2(&init, &merr)) == NULL) {
		lx_err_set(err, 500, "listen_failed", "cannot serve on %s: %s",
		    listen, errtext[0] ? errtext : "civetweb failed to start");
		goto out;
	}
	*out = srv;
	srv = NULL;
	ret = 0;
out:
	if (pemfd != -1)
		close(pemfd); /* civetweb has read it (or failed) */
	lx_free(pem);
	server_free(srv);
	return (ret);
}

void
lx_server_stop(struct lx_server *srv)
{
	int64_t deadline;

	if (srv == NULL)
		return;
	/* New requests get 503 and are not counted; wait for the ones that
	 * were counted before draining was set. */
	atomic_store(&srv->draining, 1);
	deadline = lx_now_ms() + srv->request_timeout_ms + 1000;
	while (
	    lx_metrics_inflight_now(srv->metrics) > 0 && lx_now_ms() < deadline)
		usleep(10000);
	if (srv->mg != NULL)
		mg_stop(srv->mg);
	srv->mg = NULL;
	server_free(srv);
}
