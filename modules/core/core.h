/*
 * The HTTP core: the module and route descriptors every module exports, the
 * request and response handed to handlers, and the server that alone talks
 * to civetweb. The core runs its checks in a fixed order before a handler:
 * route -> method (405 + Allow) -> size (413) -> identity -> content type
 * (415) -> JSON parse (400) -> schema validation (422) -> handler. Every
 * failure leaves as application/problem+json (RFC 9457).
 */
#ifndef LX_CORE_H
#define LX_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "lx.h"
#include "storage.h"

struct cJSON;

/* Methods, as a bit set in a route. */
#define M_GET 0x01
#define M_HEAD 0x02
#define M_POST 0x04
#define M_PUT 0x08
#define M_PATCH 0x10
#define M_DELETE 0x20
#define M_OPTIONS 0x40

/* What identity a route needs. Issue #2 only has anonymous routes; later
 * modules add user, tenant member with a permission, service key. */
enum lx_need {
	NEED_ANON = 0, /* anyone */
};

/* Body schema: one entry per accepted field; unknown fields are refused. */
enum lx_ftype { F_STRING, F_INT, F_BOOL, F_OBJECT, F_ARRAY, F_NUMBER };
struct lx_field {
	const char *name;
	enum lx_ftype type;
	int required; /* 1: must be present (and non-null) */
	size_t max; /* strings: max bytes; 0: no limit */
};
struct lx_schema {
	const struct lx_field *fields; /* terminated by {NULL} */
};

#define LX_MAX_PARAMS 8

struct lx_req {
	unsigned method; /* one M_* bit */
	const char *method_name;
	const char *path; /* decoded path, without query */
	const char *query; /* raw query string or NULL */
	int nparams;
	const char *param_names[LX_MAX_PARAMS];
	char *param_values[LX_MAX_PARAMS]; /* from {name} segments */
	struct cJSON *body; /* validated JSON body or NULL */
	const char *request_id; /* X-Request-Id */
	const char *remote_addr;
	const struct lx_route *route;
	struct lx_conn *db; /* the worker thread's connection */
	void *mg; /* civetweb connection (core only) */
};

struct lx_resp {
	int status;
	const char *content_type; /* default application/json */
	struct lx_buf headers; /* extra "Name: value\r\n" lines */
	struct lx_buf body;
};

/* A handler fills resp and returns 0, or returns -1 with err filled; the
 * core then sends err as a problem. */
typedef int (*lx_handler)(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);

struct lx_route {
	const char *path; /* "/tenants/{id}/members" */
	unsigned methods; /* M_* bits (HEAD implied by GET) */
	enum lx_need need;
	const struct lx_schema *schema; /* body schema, NULL: no body */
	lx_handler handler;
};

struct lx_server;

struct lx_module {
	const char *name;
	const struct lx_route *routes; /* terminated by {NULL} */
	int (*init)(struct lx_server *srv, struct lx_err *err);
	void (*shutdown)(void);
};

/* The one table of modules (modules/modules.c), terminated by NULL. */
extern const struct lx_module *const lx_modules[];

/* Server settings, filled by `luxima serve` from flags, environment and
 * the config file. */
struct lx_server_config {
	const char *listen; /* "127.0.0.1:8080" */
	const char *tls_cert; /* PEM file, or NULL for plain HTTP */
	const char *tls_key;
	int threads; /* 0: from the number of cores */
	size_t max_body; /* bytes; 0: default 1 MiB */
	int request_timeout_ms;
	int idle_timeout_ms;
	const char *cors_origins; /* comma list, "*" or NULL (off) */
};

/* Response helpers for handlers. */
void lx_resp_json(struct lx_resp *resp, int status, const char *json);
void lx_resp_header(struct lx_resp *resp, const char *name, const char *value);
/* The value of {name} in the matched path, or NULL. */
const char *lx_req_param(const struct lx_req *req, const char *name);

#endif
