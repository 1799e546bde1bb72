/*
 * The invocation path: ANY /functions/v1/{name} (the path Supabase's edge
 * functions use) and the "functions.background" job behind jobs.enqueue.
 *
 * A caller with a token acts in the tenant of the tenant-context rule (the
 * core checked membership and functions.read and bound the policy
 * context); an anonymous caller names the tenant with ?tenant=<slug> and
 * may invoke only a function deployed as public (any other answer is 401,
 * so names are not probed). The invocation is counted against the plan's
 * function_invocations quota, runs in this thread's pooled sandbox (the
 * compiled chunk is found by its version id, so a warm call reads no
 * source), and leaves a record in the invocation log (functions_log.c).
 *
 * The script's request table: method, path, query (raw), params (decoded
 * query), headers (lower-case names; Authorization and Cookie withheld),
 * body (raw text), json (the parsed body when it is JSON), user ({id,
 * email, role} or nil), service_key (its id or nil), tenant ({id}),
 * function ({name, version}), and for a background run job ({kind,
 * payload}).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "functions.h"

#define JOB_KIND "functions.background"

/* What one invocation runs and reports. */
struct invocation {
	struct lx_server *srv;
	struct lx_conn *c;
	const char *tenant_id;
	const char *name;
	const char *actor;
	const char *request_id;
	struct functions_target t;
	struct lx_buf req; /* the script's request table, as JSON */
	struct lx_buf log; /* log.* lines */
	struct edge_result res;
};

/* Appends the decoded query as a JSON object; of a repeated key the last
 * value wins, and pairs that do not decode are left out. */
void
functions_params_json(struct lx_buf *b, const char *q)
{
	const char *p, *e, *eq;
	char *k, *v;
	size_t n;
	int first = 1;

	lx_buf_adds(b, "{");
	for (p = q; p != NULL && *p != '\0'; p = *e == '&' ? e + 1 : e) {
		e = p + strcspn(p, "&");
		if (e == p)
			continue;
		eq = memchr(p, '=', (size_t)(e - p));
		n = (size_t)((eq != NULL ? eq : e) - p);
		k = lx_malloc(n + 1);
		v = lx_malloc((size_t)(e - p) + 1);
		if (lx_query_decode(p, n, k, n + 1) == 0
		    && lx_query_decode(eq != NULL ? eq + 1 : e,
		           eq != NULL ? (size_t)(e - eq - 1) : 0, v,
		           (size_t)(e - p) + 1)
		        == 0) {
			lx_buf_adds(b, first ? "" : ",");
			first = 0;
			lx_buf_add_json_str(b, k);
			lx_buf_adds(b, ":");
			lx_buf_add_json_str(b, v);
		}
		lx_free(k);
		lx_free(v);
	}
	lx_buf_adds(b, "}");
}

static void
headers_json(struct lx_buf *b, const struct lx_req *req)
{
	const char *name, *value;
	char low[128];
	size_t i;
	int n, first = 1;

	lx_buf_adds(b, "{");
	for (n = 0; lx_req_header_at(req, n, &name, &value); n++) {
		if (strcasecmp(name, "Authorization") == 0
		    || strcasecmp(name, "Cookie") == 0
		    || strlen(name) >= sizeof(low))
			continue;
		for (i = 0; name[i] != '\0'; i++)
			low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z')
			        ? name[i] + 32
			        : name[i]);
		low[i] = '\0';
		lx_buf_adds(b, first ? "" : ",");
		first = 0;
		lx_buf_add_json_str(b, low);
		lx_buf_adds(b, ":");
		lx_buf_add_json_str(b, value);
	}
	lx_buf_adds(b, "}");
}

void
functions_request_json(
    struct lx_buf *b, const struct lx_req *req, const char *route)
{
	const char *ct = lx_req_header(req, "Content-Type");
	cJSON *j = NULL;

	lx_buf_adds(b, "{\"method\":");
	lx_buf_add_json_str(b, req->method_name);
	lx_buf_adds(b, ",\"path\":");
	lx_buf_add_json_str(b, req->path);
	if (route != NULL) {
		lx_buf_adds(b, ",\"route\":");
		lx_buf_add_json_str(b, route);
	}
	lx_buf_adds(b, ",\"query\":");
	lx_buf_add_json_str(b, req->query != NULL ? req->query : "");
	lx_buf_adds(b, ",\"params\":");
	functions_params_json(b, req->query);
	lx_buf_adds(b, ",\"headers\":");
	headers_json(b, req);
	if (req->raw_body != NULL) {
		lx_buf_adds(b, ",\"body\":");
		lx_buf_add_json_str(b, req->raw_body);
		if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0
		    && (j = cJSON_ParseWithLength(req->raw_body, req->raw_len))
		        != NULL) {
			lx_buf_adds(b, ",\"json\":");
			lx_buf_adds(b, req->raw_body);
			cJSON_Delete(j);
		}
	}
	if (req->ident.authenticated) {
		lx_buf_adds(b, ",\"user\":{\"id\":");
		lx_buf_add_json_str(b, req->ident.user_id);
		lx_buf_adds(b, ",\"email\":");
		lx_buf_add_json_str(b, req->ident.email);
		lx_buf_adds(b, ",\"role\":");
		lx_buf_add_json_str_or_null(
		    b, req->tenant.role[0] != '\0' ? req->tenant.role : NULL);
		lx_buf_adds(b, "}");
	}
	if (req->ident.service_key) {
		lx_buf_adds(b, ",\"service_key\":");
		lx_buf_add_json_str(b, req->ident.key_id);
	}
}

/* Closes the request table with what every invocation carries. */
static void
request_end(struct invocation *iv)
{
	lx_buf_adds(&iv->req, ",\"tenant\":{\"id\":");
	lx_buf_add_json_str(&iv->req, iv->tenant_id);
	lx_buf_adds(&iv->req, "},\"function\":{\"name\":");
	lx_buf_add_json_str(&iv->req, iv->name);
	lx_buf_adds(&iv->req, ",\"version\":");
	lx_buf_add_json_str(&iv->req, iv->t.version);
	lx_buf_adds(&iv->req, "}}");
}

/* The compiled chunk of the target's version in s: found by the version
 * id (immutable), else its source is read and compiled. */
static int
chunk_of(struct invocation *iv, struct edge_state *s, struct edge_chunk **out,
    struct lx_err *err)
{
	struct functions_target src;
	char key[64];
	int ret = -1;

	snprintf(key, sizeof(key), "fv:%s", iv->t.version_id);
	if ((*out = edge_chunk_find(s, key)) != NULL)
		return (0);
	if (functions_store_target(iv->c, iv->tenant_id, iv->name, 1, &src, err)
	    == -1)
		return (-1);
	if (strcmp(src.version_id, iv->t.version_id) == 0)
		ret =
		    edge_compile(s, key, src.source, src.source_len, out, err);
	else
		ret = lx_err_set(err, 409, "function_changed",
		    "the function was redeployed during the call; retry");
	lx_free(src.source);
	return (ret);
}

/*
 * Counts, runs and logs one invocation whose request table is iv->req (not
 * yet closed). On success iv->res holds the answer; on failure err is the
 * call's error (a script's failure as a 4xx its author can read).
 */
static int
run(struct invocation *iv, struct lx_err *err)
{
	struct functions_host_ctx hc;
	struct functions_invocation rec;
	struct edge_host host;
	struct edge_state *s;
	struct edge_chunk *chunk;
	char ns[8 + FUNCTIONS_NAME_MAX];
	int64_t t0, mem0;
	int ret = -1;

	if (iv->srv != NULL
	    && lx_server_meter(
	           iv->srv, iv->c, iv->tenant_id, "function_invocations", err)
	        == -1)
		return (-1);
	s = functions_pool_state();
	if (chunk_of(iv, s, &chunk, err) == -1)
		return (-1);
	request_end(iv);
	snprintf(ns, sizeof(ns), "fn:%s", iv->name);
	memset(&hc, 0, sizeof(hc));
	hc.srv = iv->srv;
	hc.c = iv->c;
	hc.tenant_id = iv->tenant_id;
	hc.ns = ns;
	hc.fn_name = iv->name;
	hc.actor = iv->actor;
	memset(&host, 0, sizeof(host));
	host.ops = &functions_host_ops;
	host.ud = &hc;
	host.perms = EDGE_PERM_ALL;
	host.log = &iv->log;
	host.log_max = FUNCTIONS_LOG_MAX;
	memset(&rec, 0, sizeof(rec));
	rec.started_at = lx_now_ms();
	mem0 = (int64_t)edge_state_memory(s);
	t0 = lx_mono_ns();
	ret = edge_call(s, chunk, iv->req.data, &host, &iv->res, err);
	rec.duration_us = (lx_mono_ns() - t0) / 1000;
	rec.memory = (int64_t)edge_state_memory(s) - mem0;
	if (rec.memory < 0)
		rec.memory = 0;
	if (ret == -1 && err->status >= 500 && err->status != 503
	    && strcmp(err->code, "invalid_response") == 0)
		err->status = 422; /* the script's fault: show it */
	rec.status = ret == 0 ? iv->res.status : err->status;
	if (ret == -1)
		rec.error = lx_asprintf("%s: %s", err->code, err->detail);
	rec.log = iv->log.len > 0 ? lx_buf_take(&iv->log) : NULL;
	snprintf(rec.tenant_id, sizeof(rec.tenant_id), "%s", iv->tenant_id);
	snprintf(rec.function_id, sizeof(rec.function_id), "%s", iv->t.fn_id);
	snprintf(rec.version, sizeof(rec.version), "%s", iv->t.version);
	snprintf(rec.request_id, sizeof(rec.request_id), "%s",
	    iv->request_id != NULL ? iv->request_id : "");
	snprintf(rec.actor, sizeof(rec.actor), "%s", iv->actor);
	functions_log_add(&rec);
	return (ret);
}

static void
invocation_cleanup(struct invocation *iv)
{
	lx_free(iv->t.source);
	lx_buf_cleanup(&iv->req);
	lx_buf_cleanup(&iv->log);
	edge_result_cleanup(&iv->res);
}

/* Sends the handler's answer: its status, headers, type and body. */
void
functions_respond(struct edge_result *r, struct lx_resp *resp)
{
	/* resp keeps a pointer until the core has sent it: this thread's. */
	static _Thread_local char type[256];
	cJSON *h, *e;

	snprintf(type, sizeof(type), "%s", r->content_type);
	resp->content_type = type;
	resp->status = r->status;
	/* The body changes hands rather than being copied. */
	lx_buf_cleanup(&resp->body);
	resp->body.data = r->body;
	resp->body.len = r->body_len;
	resp->body.cap = r->body_len + 1;
	r->body = NULL;
	r->body_len = 0;
	if (strcmp(r->headers_json, "{}") != 0
	    && (h = cJSON_Parse(r->headers_json)) != NULL) {
		cJSON_ArrayForEach(e, h)
		{
			if (cJSON_IsString(e))
				lx_resp_header(resp, e->string, e->valuestring);
		}
		cJSON_Delete(h);
	}
}

static int
need_token(struct lx_err *err)
{
	return (lx_err_set(err, 401, "missing_token",
	    "this function needs an access token, or ?tenant=<slug> when "
	    "it is public"));
}

/* ?tenant=<slug> of an anonymous call (other parameters are the
 * function's); 0 with slug set, or -1 with err. */
static int
slug_arg(const char *q, char *slug, size_t size, struct lx_err *err)
{
	const char *p, *e;

	for (p = q; p != NULL && *p != '\0'; p = *e == '&' ? e + 1 : e) {
		e = p + strcspn(p, "&");
		if (strncmp(p, "tenant=", 7) == 0 && e > p + 7
		    && lx_query_decode(p + 7, (size_t)(e - p - 7), slug, size)
		        == 0)
			return (0);
	}
	return (need_token(err));
}

int
functions_invoke(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	static const char *const no_perms[1] = { NULL };
	struct invocation iv;
	struct lx_db_ctx ctx;
	char tenant[FUNCTIONS_ID_SIZE], slug[80];
	int anon = req->tenant.id[0] == '\0', ret = -1;

	memset(&iv, 0, sizeof(iv));
	lx_buf_init(&iv.req);
	lx_buf_init(&iv.log);
	iv.srv = req->srv;
	iv.c = req->db;
	iv.name = lx_req_param(req, "name");
	iv.request_id = req->request_id;
	iv.actor = anon ? "anonymous" : req->ident.actor;
	if (!functions_name_ok(iv.name)) {
		lx_err_set(err, 404, "not_found", "no such function");
		goto out;
	}
	if (anon) {
		if (slug_arg(req->query, slug, sizeof(slug), err) == -1
		    || functions_store_tenant_by_slug(iv.c, slug, tenant, err)
		        == -1)
			goto out;
		iv.tenant_id = tenant;
	} else
		iv.tenant_id = req->tenant.id;
	if (functions_store_target(iv.c, iv.tenant_id, iv.name, 0, &iv.t, err)
	    == -1) {
		if (anon && err->status == 404)
			need_token(err);
		goto out;
	}
	if (anon) {
		if (!iv.t.public) {
			need_token(err);
			goto out;
		}
		/* The tenant is the boundary of what the script reaches. */
		memset(&ctx, 0, sizeof(ctx));
		ctx.tenant_id = iv.tenant_id;
		ctx.perms = no_perms;
		ctx.nperms = 0;
		if (lx_conn_set_context(iv.c, &ctx, err) == -1)
			goto out;
	}
	functions_request_json(&iv.req, req, NULL);
	if (run(&iv, err) == -1)
		goto out;
	functions_respond(&iv.res, resp);
	ret = 0;
out:
	invocation_cleanup(&iv);
	return (ret);
}

/* --- local runs (luxima fn invoke) --- */

int
functions_call(struct lx_conn *c, const struct functions_local *in,
    struct edge_result *out, struct lx_err *err)
{
	struct invocation iv;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&iv, 0, sizeof(iv));
	lx_buf_init(&iv.req);
	lx_buf_init(&iv.log);
	iv.c = c;
	iv.tenant_id = in->tenant_id;
	iv.name = in->name;
	iv.actor = in->actor;
	if (!functions_name_ok(in->name)) {
		lx_err_set(err, 404, "not_found", "no such function");
		goto out;
	}
	if (functions_store_target(c, iv.tenant_id, iv.name, 0, &iv.t, err)
	    == -1)
		goto out;
	lx_buf_adds(&iv.req, "{\"method\":");
	lx_buf_add_json_str(&iv.req, in->method);
	lx_buf_adds(&iv.req, ",\"path\":\"/functions/v1/");
	lx_buf_adds(&iv.req, in->name);
	lx_buf_adds(&iv.req, "\",\"query\":");
	lx_buf_add_json_str(&iv.req, in->query != NULL ? in->query : "");
	lx_buf_adds(&iv.req, ",\"params\":");
	functions_params_json(&iv.req, in->query);
	lx_buf_adds(&iv.req, ",\"headers\":{}");
	if (in->body != NULL) {
		lx_buf_adds(&iv.req, ",\"body\":");
		lx_buf_add_json_str(&iv.req, in->body);
		if (in->body_is_json) {
			lx_buf_adds(&iv.req, ",\"json\":");
			lx_buf_adds(&iv.req, in->body);
		}
	}
	if ((ret = run(&iv, err)) == 0) {
		*out = iv.res;
		memset(&iv.res, 0, sizeof(iv.res));
	}
out:
	invocation_cleanup(&iv);
	return (ret);
}

/* --- background runs (jobs.enqueue) --- */

int
functions_job_run(
    struct lx_conn *c, const char *payload_json, struct lx_err *err)
{
	static const char *const no_perms[1] = { NULL };
	struct invocation iv;
	struct lx_db_ctx ctx;
	cJSON *j = NULL, *tid, *fn, *kind, *payload, *actor;
	char *p = NULL;
	int ret = -1;

	memset(&iv, 0, sizeof(iv));
	lx_buf_init(&iv.req);
	lx_buf_init(&iv.log);
	if ((j = cJSON_Parse(payload_json)) == NULL
	    || !cJSON_IsString(tid = cJSON_GetObjectItem(j, "tenant_id"))
	    || !cJSON_IsString(fn = cJSON_GetObjectItem(j, "function"))
	    || !cJSON_IsString(kind = cJSON_GetObjectItem(j, "kind"))
	    || (payload = cJSON_GetObjectItem(j, "payload")) == NULL) {
		lx_log(LX_LOG_WARN, "functions.background: bad payload");
		ret = 0; /* nothing to retry */
		goto out;
	}
	actor = cJSON_GetObjectItem(j, "actor");
	iv.srv = functions_server();
	iv.c = c;
	iv.tenant_id = tid->valuestring;
	iv.name = fn->valuestring;
	iv.actor = cJSON_IsString(actor) ? actor->valuestring : "job";
	if (functions_store_target(c, iv.tenant_id, iv.name, 0, &iv.t, err)
	    == -1) {
		ret = err->status == 404 ? 0 : -1; /* deleted since: done */
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.tenant_id = iv.tenant_id;
	ctx.perms = no_perms;
	if (lx_conn_set_context(c, &ctx, err) == -1)
		goto out;
	p = cJSON_PrintUnformatted(payload);
	lx_buf_adds(&iv.req,
	    "{\"method\":\"JOB\",\"path\":\"\",\"job\":{"
	    "\"kind\":");
	lx_buf_add_json_str(&iv.req, kind->valuestring);
	lx_buf_adds(&iv.req, ",\"payload\":");
	lx_buf_adds(&iv.req, p);
	lx_buf_adds(&iv.req, "}");
	ret = run(&iv, err);
	if (ret == -1 && err->status < 500 && err->status != 409)
		ret = 0; /* the script's own failure: logged, not retried */
out:
	if (lx_conn_has_context(c))
		lx_conn_clear_context(c);
	cJSON_free(p);
	cJSON_Delete(j);
	invocation_cleanup(&iv);
	return (ret);
}
