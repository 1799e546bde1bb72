/*
 * The core module: liveness (GET /healthz), readiness (GET /readyz: the
 * database takes a write lock and every migration is applied), Prometheus
 * metrics, build information, the embedded OpenAPI document and the web
 * console's landing page. Also the test-only module behind
 * LUXIMA_TEST_ROUTES=1, which exercises the body pipeline end to end.
 */
#include <string.h>

#include <cJSON.h>

#include "core.h"
#include "embed.h"
#include "version.h"

static int
healthz(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	(void)err;
	lx_resp_json(resp, 200, "{\"status\":\"ok\"}");
	return (0);
}

/* Ready when a write transaction can start and migrations are current. */
static int
readyz(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_err e;

	(void)err;
	lx_err_clear(&e);
	if (lx_conn_begin(req->db, &e) == -1) {
		lx_log(
		    LX_LOG_WARN, "readyz: database not writable: %s", e.detail);
		lx_resp_problem(resp, 503, "not_ready",
		    "the database is not writable", req->request_id);
		return (0);
	}
	lx_conn_rollback(req->db);
	if (!lx_migrate_current(lx_server_db(req->srv))) {
		lx_resp_problem(resp, 503, "not_ready",
		    "database migrations are not current", req->request_id);
		return (0);
	}
	lx_resp_json(resp, 200, "{\"status\":\"ok\"}");
	return (0);
}

static int
metrics(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)err;
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	lx_server_metrics(req->srv, req->db, &resp->body);
	return (0);
}

static int
version(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	(void)err;
	resp->status = 200;
	lx_build_info(&resp->body);
	return (0);
}

/* Sends an embedded file, or a 404 problem when it was not built in. */
static int
embedded(struct lx_resp *resp, const struct lx_embed *table, const char *name,
    const char *type, struct lx_err *err)
{
	const struct lx_embed *f;

	if ((f = lx_embed_find(table, name)) == NULL)
		return (lx_err_set(err, 404, "not_found",
		    "%s is not built into this binary", name));
	resp->status = 200;
	resp->content_type = type;
	lx_buf_add(&resp->body, f->data, f->len);
	return (0);
}

static int
openapi(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	return (embedded(
	    resp, lx_embed_api, "openapi.json", "application/json", err));
}

static int
index_page(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	return (embedded(
	    resp, lx_embed_web, "index.html", "text/html; charset=utf-8", err));
}

static const struct lx_route core_routes[] = {
	{ "/", M_GET, NEED_ANON, NULL, index_page },
	{ "/healthz", M_GET, NEED_ANON, NULL, healthz },
	{ "/readyz", M_GET, NEED_ANON, NULL, readyz },
	{ "/metrics", M_GET, NEED_ANON, NULL, metrics },
	{ "/version", M_GET, NEED_ANON, NULL, version },
	{ "/openapi.json", M_GET, NEED_ANON, NULL, openapi },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

const struct lx_module lx_core_module = {
	"core",
	core_routes,
	NULL,
	NULL,
};

/* --- LUXIMA_TEST_ROUTES=1 only --- */

static const struct lx_field echo_fields[] = {
	{ "text", F_STRING, 1, 65536 },
	{ "count", F_INT, 0, 0 },
	{ "flag", F_BOOL, 0, 0 },
	{ "ratio", F_NUMBER, 0, 0 },
	{ "tags", F_ARRAY, 0, 0 },
	{ "meta", F_OBJECT, 0, 0 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema echo_schema = { echo_fields };

/* Echoes the validated body and the {id} parameter, if any. */
static int
test_echo(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id;
	char *text;

	(void)err;
	if ((id = lx_req_param(req, "id")) != NULL)
		cJSON_AddStringToObject(req->body, "id", id);
	if ((text = cJSON_PrintUnformatted(req->body)) == NULL)
		return (
		    lx_err_set(err, 500, "internal_error", "out of memory"));
	lx_resp_json(resp, 200, text);
	cJSON_free(text);
	return (0);
}

static const struct lx_route test_routes[] = {
	{ "/_test/echo", M_POST, NEED_ANON, &echo_schema, test_echo },
	{ "/_test/echo/{id}", M_PUT | M_PATCH, NEED_ANON, &echo_schema,
	    test_echo },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

const struct lx_module lx_test_module = {
	"test",
	test_routes,
	NULL,
	NULL,
};
