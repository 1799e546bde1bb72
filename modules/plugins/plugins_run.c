/*
 * Running plugins: the routes ANY /plugins/v1/{plugin}/{p1}[/{p2}[/{p3}
 * [/{p4}]]] and the event hooks.
 *
 * A route call finds the context tenant's installation of the plugin
 * (through p_plugin_installations: another tenant's is not there), then
 * the route of the installed version's manifest with the request's method
 * and path below the mount point ("/p1/p2"); not installed, disabled or no
 * such route is 404. It is counted against the plan's
 * function_invocations quota and runs in this thread's pooled sandbox:
 * the chunk is found by "pv:<version id>:<file>" (versions are immutable,
 * so a warm call reads no bundle), else the stored bundle is parsed and
 * the file compiled. The script reaches the platform services with the
 * permissions its manifest declares and no others (an undeclared one ends
 * the call with 403 "permission_denied"), and documents in the namespace
 * "plugin:<name>" of the tenant.
 *
 * The script's request table is that of an edge function (method, path,
 * query, params, headers, body, json, user, service_key, tenant) with
 * route (the manifest route's path), plugin ({name, version}) and config
 * (the installation's settings). A hook's is {event = {type, data},
 * config, tenant, plugin}.
 *
 * Hooks: webhooks_emit calls plugins_dispatch inside the emitting
 * transaction, which enqueues one durable "plugins.hook" job per enabled
 * installation whose version hooks the event; the job runs the hook in a
 * tenant-only context (no user, no permission: the policies let scripts
 * reach their own tenant's secrets and documents only).
 *
 * Jobs: a script granted jobs.enqueue queues a durable "plugins.job" job
 * naming its plugin, version and file; the job runs that file again, as a
 * hook runs, with req.job = {kind, payload}.
 *
 * Every run that reaches the script leaves a record (kind route, hook or
 * job, with its log.* lines) in plugin_invocations, through the batched
 * invocation log writer of modules/functions.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "core.h"
#include "edge.h"
#include "functions.h"
#include "plugins.h"

/* One call of a plugin's script. */
struct call {
	struct lx_server *srv;
	struct lx_conn *c;
	const char *actor;
	const char *request_id; /* the HTTP request's, or NULL */
	enum functions_log_kind kind; /* route, hook or job */
	char *target; /* the log record's target (lx_malloc'd) */
	struct plugins_target t; /* what runs */
	struct lx_buf req; /* the request table, as JSON */
	struct lx_buf log; /* log.* lines */
	struct edge_result res;
};

static void
call_init(struct call *cl)
{
	memset(cl, 0, sizeof(*cl));
	lx_buf_init(&cl->req);
	lx_buf_init(&cl->log);
}

static void
call_cleanup(struct call *cl)
{
	plugins_target_cleanup(&cl->t);
	lx_free(cl->target);
	cl->target = NULL;
	lx_buf_cleanup(&cl->req);
	lx_buf_cleanup(&cl->log);
	edge_result_cleanup(&cl->res);
}

/* The compiled chunk of the target's file: found by version id and path,
 * else read from the stored bundle and compiled. */
static int
chunk_of(struct call *cl, struct edge_state *s, struct edge_chunk **out,
    struct lx_err *err)
{
	const struct plugin_file *f;
	struct plugin_bundle *b = NULL;
	char key[PLUGINS_ID_SIZE + PLUGINS_PATH_MAX + 8], *data = NULL;
	size_t len;
	int ret = -1;

	snprintf(key, sizeof(key), "pv:%s:%s", cl->t.version_id, cl->t.file);
	if ((*out = edge_chunk_find(s, key)) != NULL)
		return (0);
	if (plugins_store_bundle(cl->c, cl->t.version_id, &data, &len, err)
	    == -1)
		goto out;
	if (plugins_bundle_parse(data, len, &b, err) == -1) {
		lx_err_set(err, 500, "invalid_bundle",
		    "the stored bundle of %s %s does not parse", cl->t.plugin,
		    cl->t.version);
		goto out;
	}
	if ((f = plugins_bundle_file(b, cl->t.file)) == NULL) {
		lx_err_set(err, 404, "file_not_found",
		    "%s %s has no file %.200s", cl->t.plugin, cl->t.version,
		    cl->t.file);
		goto out;
	}
	ret = edge_compile(s, key, f->data, f->len, out, err);
out:
	plugins_bundle_free(b);
	lx_free(data);
	return (ret);
}

/* Closes the request table with what every call carries. */
static void
request_end(struct call *cl)
{
	struct lx_buf *b = &cl->req;

	lx_buf_adds(b, ",\"tenant\":{\"id\":");
	lx_buf_add_json_str(b, cl->t.tenant_id);
	lx_buf_adds(b, "},\"plugin\":{\"name\":");
	lx_buf_add_json_str(b, cl->t.plugin);
	lx_buf_adds(b, ",\"version\":");
	lx_buf_add_json_str(b, cl->t.version);
	lx_buf_adds(b, "},\"config\":");
	lx_buf_adds(b, cl->t.config != NULL ? cl->t.config : "{}");
	lx_buf_adds(b, "}");
}

/* The start of the "plugins.job" payload of the call's jobs.enqueue
 * (functions_host_ctx.plugin_job): its plugin, version and file. */
static void
job_head(const struct call *cl, struct lx_buf *b)
{
	lx_buf_adds(b, "{\"tenant_id\":");
	lx_buf_add_json_str(b, cl->t.tenant_id);
	lx_buf_adds(b, ",\"plugin\":");
	lx_buf_add_json_str(b, cl->t.plugin);
	lx_buf_adds(b, ",\"version_id\":");
	lx_buf_add_json_str(b, cl->t.version_id);
	lx_buf_adds(b, ",\"file\":");
	lx_buf_add_json_str(b, cl->t.file);
}

/* Queues the invocation record of the call that ended with ret. */
static void
log_call(struct call *cl, int ret, int64_t started_at, int64_t duration_us,
    int64_t memory, const struct lx_err *err)
{
	struct functions_invocation rec;

	memset(&rec, 0, sizeof(rec));
	rec.kind = cl->kind;
	snprintf(rec.tenant_id, sizeof(rec.tenant_id), "%s", cl->t.tenant_id);
	snprintf(
	    rec.function_id, sizeof(rec.function_id), "%s", cl->t.plugin_id);
	snprintf(rec.version, sizeof(rec.version), "%s", cl->t.version);
	rec.target = cl->target != NULL ? lx_strdup(cl->target) : NULL;
	rec.started_at = started_at;
	rec.duration_us = duration_us;
	rec.memory = memory < 0 ? 0 : memory;
	rec.status = ret == 0 ? cl->res.status : err->status;
	if (ret == -1)
		rec.error = lx_asprintf("%s: %s", err->code, err->detail);
	rec.log = cl->log.len > 0 ? lx_buf_take(&cl->log) : NULL;
	snprintf(rec.request_id, sizeof(rec.request_id), "%s",
	    cl->request_id != NULL ? cl->request_id : "");
	snprintf(rec.actor, sizeof(rec.actor), "%s", cl->actor);
	functions_log_add(&rec);
}

/* Counts and runs the call whose request table (not yet closed) is in
 * cl->req, with the manifest's permissions only, and logs it; cl->res
 * holds the answer. */
static int
run(struct call *cl, struct lx_err *err)
{
	struct functions_host_ctx hc;
	struct edge_host host;
	struct edge_state *s = functions_pool_state();
	struct edge_chunk *chunk;
	struct lx_buf jh;
	char ns[8 + PLUGINS_NAME_MAX];
	int64_t started_at, t0, mem0;
	int ret;

	if (lx_server_meter(
	        cl->srv, cl->c, cl->t.tenant_id, "function_invocations", err)
	        == -1
	    || chunk_of(cl, s, &chunk, err) == -1)
		return (-1);
	request_end(cl);
	snprintf(ns, sizeof(ns), "plugin:%s", cl->t.plugin);
	lx_buf_init(&jh);
	job_head(cl, &jh);
	memset(&hc, 0, sizeof(hc));
	hc.srv = cl->srv;
	hc.c = cl->c;
	hc.tenant_id = cl->t.tenant_id;
	hc.ns = ns;
	hc.fn_name = NULL;
	hc.plugin_job = jh.data;
	hc.actor = cl->actor;
	memset(&host, 0, sizeof(host));
	host.ops = &functions_host_ops;
	host.ud = &hc;
	host.perms = cl->t.perms;
	host.log = &cl->log;
	host.log_max = FUNCTIONS_LOG_MAX;
	started_at = lx_now_ms();
	mem0 = (int64_t)edge_state_memory(s);
	t0 = lx_mono_ns();
	ret = edge_call(s, chunk, cl->req.data, &host, &cl->res, err);
	if (ret == -1 && err->status >= 500 && err->status != 503
	    && strcmp(err->code, "invalid_response") == 0)
		err->status = 422; /* the script's fault: show it */
	log_call(cl, ret, started_at, (lx_mono_ns() - t0) / 1000,
	    (int64_t)edge_state_memory(s) - mem0, err);
	lx_buf_cleanup(&jh);
	return (ret);
}

/* The request's path below the plugin's mount point: "/p1[/p2...]". */
static void
route_path(const struct lx_req *req, char *out, size_t size)
{
	static const char *const names[] = { "p1", "p2", "p3", "p4" };
	const char *v;
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < LX_NELEM(names); i++)
		if ((v = lx_req_param(req, names[i])) != NULL && n < size)
			n += (size_t)snprintf(out + n, size - n, "/%s", v);
}

int
plugins_http_run(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *name = lx_req_param(req, "plugin");
	const char *method = req->method == M_HEAD ? "GET" : req->method_name;
	char path[PLUGINS_PATH_MAX + 1];
	struct call cl;
	int ret = -1;

	call_init(&cl);
	cl.srv = req->srv;
	cl.c = req->db;
	cl.actor = req->ident.actor;
	cl.request_id = req->request_id;
	cl.kind = FUNCTIONS_LOG_PLUGIN_ROUTE;
	route_path(req, path, sizeof(path));
	if (plugins_store_route(cl.c, name, method, path, &cl.t, err) == -1)
		goto out;
	if (!cl.t.enabled) {
		lx_err_set(err, 404, "not_found",
		    "plugin %s is disabled in this tenant", name);
		goto out;
	}
	if (cl.t.file == NULL) {
		lx_err_set(err, 404, "not_found",
		    "plugin %s %s has no route %s %.200s", name, cl.t.version,
		    method, path);
		goto out;
	}
	cl.target = lx_asprintf("%s %s", method, path);
	functions_request_json(&cl.req, req, path);
	if (run(&cl, err) == -1)
		goto out;
	functions_respond(&cl.res, resp);
	ret = 0;
out:
	call_cleanup(&cl);
	return (ret);
}

/* --- hooks --- */

int
plugins_dispatch(struct lx_conn *c, const char *tenant_id, const char *type,
    const char *data_json, struct lx_err *err)
{
	enum plugins_event ev;

	if (type == NULL || plugins_event_by_name(type, &ev) == -1)
		return (0); /* no hook may name it */
	return (plugins_store_hook_enqueue(c, tenant_id, type, data_json, err));
}

/* The hook call of the job payload j into cl (0 with cl->t.file NULL when
 * there is nothing to run). */
static int
hook_target(
    struct lx_conn *c, const cJSON *j, struct call *cl, struct lx_err *err)
{
	const cJSON *tid = cJSON_GetObjectItem(j, "tenant_id");
	const cJSON *iid = cJSON_GetObjectItem(j, "installation_id");
	const cJSON *type = cJSON_GetObjectItem(j, "type");

	if (!cJSON_IsString(tid) || !cJSON_IsString(iid)
	    || !cJSON_IsString(type)) {
		lx_log(LX_LOG_WARN, "%s: bad payload", PLUGINS_HOOK_JOB);
		return (0);
	}
	if (plugins_store_hook(
	        c, iid->valuestring, type->valuestring, &cl->t, err)
	    == -1)
		return (err->status == 404 ? 0 : -1); /* uninstalled since */
	if (!cl->t.enabled || strcmp(cl->t.tenant_id, tid->valuestring) != 0) {
		lx_free(cl->t.file); /* disabled since: skipped */
		cl->t.file = NULL;
	}
	return (0);
}

int
plugins_job_hook(
    struct lx_conn *c, const char *payload_json, struct lx_err *err)
{
	static const char *const no_perms[1] = { NULL };
	struct lx_db_ctx ctx;
	struct call cl;
	cJSON *j = NULL;
	char *ev = NULL;
	int ret = -1;

	call_init(&cl);
	cl.kind = FUNCTIONS_LOG_PLUGIN_HOOK;
	if ((j = cJSON_Parse(payload_json)) == NULL) {
		ret = 0;
		goto out;
	}
	if (hook_target(c, j, &cl, err) == -1)
		goto out;
	if (cl.t.file == NULL || (cl.srv = plugins_server()) == NULL) {
		ret = cl.t.file == NULL ? 0 : -1;
		goto out;
	}
	cl.c = c;
	cl.actor = "system";
	cl.target = lx_strdup(cJSON_GetObjectItem(j, "type")->valuestring);
	lx_buf_adds(&cl.req, "{\"event\":{\"type\":");
	lx_buf_add_json_str(
	    &cl.req, cJSON_GetObjectItem(j, "type")->valuestring);
	lx_buf_adds(&cl.req, ",\"data\":");
	ev = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "data"));
	lx_buf_adds(&cl.req, ev != NULL ? ev : "null");
	lx_buf_adds(&cl.req, "}");
	/* The tenant is the boundary of what the hook reaches. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.tenant_id = cl.t.tenant_id;
	ctx.perms = no_perms;
	if (lx_conn_set_context(c, &ctx, err) == -1)
		goto out;
	ret = run(&cl, err);
	if (ret == -1 && err->status < 500) {
		lx_log(LX_LOG_WARN, "plugin %s %s: hook failed: %s: %s",
		    cl.t.plugin, cl.t.version, err->code, err->detail);
		ret = 0; /* the script's own failure (or a spent quota) */
	}
out:
	if (lx_conn_has_context(c))
		lx_conn_clear_context(c);
	cJSON_free(ev);
	cJSON_Delete(j);
	call_cleanup(&cl);
	return (ret);
}

/* --- jobs (jobs.enqueue) --- */

/* The job call of the payload j into cl (0 with cl->t.file NULL when
 * there is nothing to run: uninstalled or disabled since, a payload that
 * does not parse). */
static int
job_target(
    struct lx_conn *c, const cJSON *j, struct call *cl, struct lx_err *err)
{
	const cJSON *tid = cJSON_GetObjectItem(j, "tenant_id");
	const cJSON *name = cJSON_GetObjectItem(j, "plugin");
	const cJSON *vid = cJSON_GetObjectItem(j, "version_id");
	const cJSON *file = cJSON_GetObjectItem(j, "file");
	const cJSON *kind = cJSON_GetObjectItem(j, "kind");

	if (!cJSON_IsString(tid) || !cJSON_IsString(name)
	    || !cJSON_IsString(vid) || !cJSON_IsString(file)
	    || !cJSON_IsString(kind)
	    || cJSON_GetObjectItem(j, "payload") == NULL) {
		lx_log(LX_LOG_WARN, "%s: bad payload", FUNCTIONS_PLUGIN_JOB);
		return (0);
	}
	if (plugins_store_job(
	        c, tid->valuestring, name->valuestring, &cl->t, err)
	    == -1)
		return (err->status == 404 ? 0 : -1); /* uninstalled since */
	if (!cl->t.enabled) {
		lx_log(LX_LOG_INFO, "plugin %s: job %s dropped: disabled",
		    cl->t.plugin, kind->valuestring);
		return (0); /* disabled since */
	}
	if (strcmp(cl->t.version_id, vid->valuestring) != 0)
		lx_log(LX_LOG_INFO,
		    "plugin %s: a job of an earlier version runs %.200s of "
		    "%s",
		    cl->t.plugin, file->valuestring, cl->t.version);
	cl->t.file = lx_strdup(file->valuestring);
	cl->target = lx_strdup(kind->valuestring);
	return (0);
}

int
plugins_job_run(struct lx_conn *c, const char *payload_json, struct lx_err *err)
{
	static const char *const no_perms[1] = { NULL };
	struct edge_chunk *chunk;
	struct lx_db_ctx ctx;
	struct call cl;
	cJSON *j = NULL, *actor;
	char *p = NULL;
	int ret = -1;

	call_init(&cl);
	cl.kind = FUNCTIONS_LOG_PLUGIN_JOB;
	if ((j = cJSON_Parse(payload_json)) == NULL) {
		lx_log(LX_LOG_WARN, "%s: bad payload", FUNCTIONS_PLUGIN_JOB);
		ret = 0;
		goto out;
	}
	if (job_target(c, j, &cl, err) == -1)
		goto out;
	if (cl.t.file == NULL || (cl.srv = plugins_server()) == NULL) {
		ret = cl.t.file == NULL ? 0 : -1;
		goto out;
	}
	cl.c = c;
	actor = cJSON_GetObjectItem(j, "actor");
	cl.actor = cJSON_IsString(actor) ? actor->valuestring : "job";
	/* The installed version may lack the file (upgraded since). */
	if (chunk_of(&cl, functions_pool_state(), &chunk, err) == -1) {
		if (err->status != 404)
			goto out;
		lx_log(LX_LOG_WARN,
		    "plugin %s %s: job %s dropped: the version has no file "
		    "%.200s",
		    cl.t.plugin, cl.t.version, cl.target, cl.t.file);
		ret = 0;
		goto out;
	}
	p = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "payload"));
	lx_buf_adds(&cl.req, "{\"job\":{\"kind\":");
	lx_buf_add_json_str(&cl.req, cl.target);
	lx_buf_adds(&cl.req, ",\"payload\":");
	lx_buf_adds(&cl.req, p != NULL ? p : "null");
	lx_buf_adds(&cl.req, "}");
	/* The tenant is the boundary of what the job reaches. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.tenant_id = cl.t.tenant_id;
	ctx.perms = no_perms;
	if (lx_conn_set_context(c, &ctx, err) == -1)
		goto out;
	ret = run(&cl, err);
	if (ret == -1 && err->status < 500) {
		lx_log(LX_LOG_WARN, "plugin %s %s: job %s failed: %s: %s",
		    cl.t.plugin, cl.t.version, cl.target, err->code,
		    err->detail);
		ret = 0; /* the script's own failure (or a spent quota) */
	}
out:
	if (lx_conn_has_context(c))
		lx_conn_clear_context(c);
	cJSON_free(p);
	cJSON_Delete(j);
	call_cleanup(&cl);
	return (ret);
}
