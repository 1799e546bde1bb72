/*
 * The "plugins.validate" job: what stands between an uploaded bundle and
 * a tenant. It reads the stored version, runs every check (none stops the
 * others, so the report lists all that is wrong), and moves the version
 * from validating to valid or invalid with the report, in one transaction
 * with an audit record (actor "system"). The checks:
 *
 *	manifest     the bundle parses and its manifest is well formed
 *	signature    signed by a live key of the plugin's publisher
 *	permissions  within plugins.allowed_permissions
 *	lua          every file compiles in the edge sandbox
 *	size         the bundle and its files within the limits
 *	min_luxima   this binary is at least the version the plugin needs
 *	routes       every route reachable (1 to 4 path segments)
 *	hooks        every hooked event is one the platform emits
 *
 * Then, when the bundle parses, the hook script plugins/validatePlugin
 * (lua_scripts/README.md; run by modules/functions/functions_hooks.c)
 * sees the manifest, the files and these results, and may append findings
 * of its own: any that failed makes the version invalid. Its built-in adds
 * none and is not run. It fails closed: a script that fails or answers
 * outside its contract adds the failed finding "validatePlugin" (code
 * "hook_failed"; the server log says why).
 *
 * Idempotent: a version that is no longer validating (a run that crashed
 * after committing) is left alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "audit.h"
#include "edge.h"
#include "functions.h"
#include "plugins.h"
#include "version.h"
#include "webhooks.h"

#define HOOK_VALIDATE "plugins/validatePlugin"
#define FINDINGS_MAX 32 /* findings the hook may append */
#define FINDING_NAME_MAX 63 /* bytes of a finding's name */
#define FINDING_CODE_MAX 47 /* bytes of a finding's code */
#define FINDING_DETAIL_MAX 1000 /* bytes of a finding's detail */

/* The platform's checks, in report order: a finding takes another name. */
static const char *const builtin_checks[] = { "manifest", "signature",
	"permissions", "lua", "size", "min_luxima", "routes", "hooks" };

/* The report being written. */
struct report {
	struct lx_buf checks; /* the "checks" array's members */
	int failed; /* checks that failed */
};

/* Appends one check: name, ok, detail (printf) and, when failed, code. */
static void LX_PRINTF(5, 6) check(struct report *r, const char *name, int ok,
    const char *code, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	lx_buf_adds(
	    &r->checks, r->checks.len > 0 ? ",{\"name\":" : "{\"name\":");
	lx_buf_add_json_str(&r->checks, name);
	lx_buf_adds(&r->checks, ok ? ",\"ok\":true" : ",\"ok\":false");
	if (!ok) {
		lx_buf_adds(&r->checks, ",\"code\":");
		lx_buf_add_json_str(&r->checks, code);
		r->failed++;
	}
	lx_buf_adds(&r->checks, ",\"detail\":");
	lx_buf_add_json_str(&r->checks, detail);
	lx_buf_adds(&r->checks, "}");
}

/* The signature: a live key of the publisher named by the bundle. */
static int
check_signature(struct lx_conn *c, struct report *r,
    const struct plugin_bundle *b, const struct plugins_plugin *p)
{
	unsigned char pk[PLUGINS_PK_BYTES];
	struct plugins_key k;
	struct lx_err err;
	size_t len = 0;

	if (!b->has_signature) {
		check(r, "signature", 0, "unsigned_bundle",
		    "the bundle is not signed (luxima plugin sign)");
		return (0);
	}
	if (plugins_store_key_get(c, p->publisher_id, b->key_id, &k, &err)
	    == -1) {
		if (err.status != 404)
			return (-1);
		check(r, "signature", 0, "unknown_key",
		    "key %s is not registered for publisher %s (POST "
		    "/publishers/%s/keys)",
		    b->key_id, p->publisher, p->publisher);
		return (0);
	}
	if (k.revoked_at != 0) {
		check(r, "signature", 0, "key_revoked",
		    "key %s of publisher %s is revoked", b->key_id,
		    p->publisher);
		return (0);
	}
	if (sodium_base642bin(pk, sizeof(pk), k.public_key,
	        strlen(k.public_key), NULL, &len, NULL,
	        sodium_base64_VARIANT_ORIGINAL)
	        != 0
	    || len != sizeof(pk)) {
		check(r, "signature", 0, "unknown_key",
		    "key %s is stored unreadable", b->key_id);
		return (0);
	}
	if (plugins_bundle_verify(b, pk, &err) == -1)
		check(r, "signature", 0, err.code, "%s", err.detail);
	else
		check(r, "signature", 1, NULL,
		    "signed by key %s of publisher %s", b->key_id,
		    p->publisher);
	return (0);
}

static void
check_permissions(struct report *r, const struct plugin_manifest *m)
{
	unsigned denied = m->perms & ~plugins_allowed_perms();
	struct lx_buf names;

	unsigned bit, show = denied != 0 ? denied : m->perms;

	lx_buf_init(&names);
	for (bit = 1; bit <= EDGE_PERM_ALL; bit <<= 1)
		if ((show & bit) != 0 && edge_perm_name(bit) != NULL)
			lx_buf_addf(&names, "%s%s", names.len > 0 ? ", " : "",
			    edge_perm_name(bit));
	if (denied != 0)
		check(r, "permissions", 0, "permission_not_allowed",
		    "this platform does not grant %s "
		    "(plugins.allowed_permissions)",
		    names.data);
	else
		check(r, "permissions", 1, NULL, "declares %s",
		    names.len > 0 ? names.data : "none");
	lx_buf_cleanup(&names);
}

/* Every file compiles in this thread's sandbox (warming its chunk cache
 * under the name the plugin routes look up). */
static void
check_lua(
    struct report *r, const struct plugin_bundle *b, const char *version_id)
{
	struct edge_state *s = functions_pool_state();
	struct edge_chunk *chunk;
	struct lx_buf why;
	struct lx_err err;
	char key[PLUGINS_ID_SIZE + PLUGINS_PATH_MAX + 8];
	size_t i, bad = 0;

	lx_buf_init(&why);
	for (i = 0; i < b->nfiles; i++) {
		snprintf(
		    key, sizeof(key), "pv:%s:%s", version_id, b->files[i].path);
		if (edge_compile(
		        s, key, b->files[i].data, b->files[i].len, &chunk, &err)
		    == 0)
			continue;
		lx_buf_addf(&why, "%s%s: %s", bad++ > 0 ? "; " : "",
		    b->files[i].path, err.detail);
	}
	if (bad > 0)
		check(r, "lua", 0, "syntax_error", "%s", why.data);
	else
		check(r, "lua", 1, NULL, "%zu files compile", b->nfiles);
	lx_buf_cleanup(&why);
}

static void
check_size(struct report *r, const struct plugin_bundle *b, int64_t size)
{
	size_t i, big = 0;

	for (i = 0; i < b->nfiles; i++)
		if (b->files[i].len > PLUGINS_FILE_MAX)
			big++;
	if (size > (int64_t)PLUGINS_BUNDLE_MAX || big > 0
	    || b->nfiles > PLUGINS_FILES_MAX)
		check(r, "size", 0, "too_large",
		    "a bundle holds at most %zu bytes and %d files of at most "
		    "%zu bytes each",
		    PLUGINS_BUNDLE_MAX, PLUGINS_FILES_MAX, PLUGINS_FILE_MAX);
	else
		check(r, "size", 1, NULL, "%lld bytes, %zu files",
		    (long long)size, b->nfiles);
}

static void
check_min_luxima(struct report *r, const struct plugin_manifest *m)
{
	if (plugins_semver_cmp(m->min_luxima, lx_version()) > 0)
		check(r, "min_luxima", 0, "luxima_too_old",
		    "the plugin needs Luxima %s or later; this is %s",
		    m->min_luxima, lx_version());
	else
		check(r, "min_luxima", 1, NULL, "needs %s; this is %s",
		    m->min_luxima, lx_version());
}

/* Path segments of a route path ("/" has none). */
static int
segments(const char *path)
{
	int n = 0;

	for (; *path != '\0'; path++)
		if (*path == '/' && path[1] != '\0')
			n++;
	return (n);
}

static void
check_routes(struct report *r, const struct plugin_manifest *m)
{
	struct lx_buf why;
	size_t i;
	int n;

	lx_buf_init(&why);
	for (i = 0; i < m->nroutes; i++) {
		n = segments(m->routes[i].path);
		if (n >= 1 && n <= PLUGINS_ROUTE_DEPTH)
			continue;
		lx_buf_addf(&why, "%s%s %s", why.len > 0 ? ", " : "",
		    plugins_method_name(m->routes[i].method),
		    m->routes[i].path);
	}
	if (why.len > 0)
		check(r, "routes", 0, "unreachable_route",
		    "%s: a route path has 1 to %d segments "
		    "(/plugins/v1/%s/<path>)",
		    why.data, PLUGINS_ROUTE_DEPTH, m->name);
	else
		check(r, "routes", 1, NULL, "%zu routes", m->nroutes);
	lx_buf_cleanup(&why);
}

static void
check_hooks(struct report *r, const struct plugin_manifest *m)
{
	struct lx_buf why;
	const char *ev;
	size_t i;

	lx_buf_init(&why);
	for (i = 0; i < m->nhooks; i++) {
		ev = plugins_event_name(m->hooks[i].event);
		if (ev != NULL && webhooks_type_known(ev))
			continue;
		lx_buf_addf(&why, "%s%s", why.len > 0 ? ", " : "",
		    ev != NULL ? ev : "?");
	}
	if (why.len > 0)
		check(r, "hooks", 0, "unknown_event",
		    "this Luxima does not emit %s", why.data);
	else
		check(r, "hooks", 1, NULL, "%zu hooks", m->nhooks);
	lx_buf_cleanup(&why);
}

/* --- the plugins/validatePlugin hook --- */

/* 1 if s is [a-z][a-z0-9_]*, 1..max bytes. */
static int
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return (n >= 1 && n <= max && s[0] >= 'a' && s[0] <= 'z'
	    && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n);
}

/* 1 if s is 1..max bytes without control characters. */
static int
detail_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == max || (unsigned char)s[n] < ' ' || s[n] == 0x7f)
			return (0);
	return (n > 0);
}

/* The string member name of o, or NULL (absent or null). */
static const char *
str_member(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	return (cJSON_IsString(m) ? m->valuestring : NULL);
}

/* NULL if f, a member of the list findings, is a usable finding; else
 * why not. */
static const char *
finding_bad(const cJSON *f, const cJSON *findings)
{
	const cJSON *m, *g;
	const char *name;
	size_t i;

	if (!cJSON_IsObject(f))
		return ("a finding is not a table");
	cJSON_ArrayForEach(m, f)
	{
		if (cJSON_IsNull(m))
			continue;
		if (strcmp(m->string, "name") == 0) {
			if (!cJSON_IsString(m)
			    || !token_ok(m->valuestring, FINDING_NAME_MAX))
				return ("a finding's name must be "
				        "[a-z][a-z0-9_]*, at most 63 bytes");
		} else if (strcmp(m->string, "ok") == 0) {
			if (!cJSON_IsBool(m))
				return ("a finding's ok must be true or false");
		} else if (strcmp(m->string, "detail") == 0) {
			if (!cJSON_IsString(m)
			    || !detail_ok(m->valuestring, FINDING_DETAIL_MAX))
				return ("a finding's detail must be 1 to 1000 "
				        "bytes of text");
		} else if (strcmp(m->string, "code") == 0) {
			if (!cJSON_IsString(m)
			    || !token_ok(m->valuestring, FINDING_CODE_MAX))
				return ("a finding's code must be "
				        "[a-z][a-z0-9_]*, at most 47 bytes");
		} else
			return ("a finding has a member other than name, ok, "
			        "detail and code");
	}
	if ((name = str_member(f, "name")) == NULL)
		return ("a finding has no name");
	if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(f, "ok")))
		return ("a finding has no ok (true or false)");
	for (i = 0; i < LX_NELEM(builtin_checks); i++)
		if (strcmp(name, builtin_checks[i]) == 0)
			return ("a finding is named as one of the platform's "
			        "checks");
	for (g = findings->child; g != NULL && g != f; g = g->next)
		if (strcmp(name, str_member(g, "name")) == 0)
			return ("two findings have the same name");
	return (NULL);
}

/* The findings of the hook's answer out into *findings (NULL: none):
 * NULL, or why the answer is unusable. */
static const char *
answer_read(const cJSON *out, const cJSON **findings)
{
	const cJSON *m, *list = NULL;
	const char *why;

	*findings = NULL;
	cJSON_ArrayForEach(m, out)
	{
		if (cJSON_IsNull(m))
			continue;
		if (strcmp(m->string, "checks") != 0)
			return ("the answer has a member other than checks");
		list = m;
	}
	if (list == NULL || (cJSON_IsObject(list) && list->child == NULL))
		return (NULL); /* none ({} is an empty Lua table) */
	if (!cJSON_IsArray(list))
		return ("checks must be a list of findings");
	if (cJSON_GetArraySize(list) > FINDINGS_MAX)
		return ("the answer has more than 32 findings");
	cJSON_ArrayForEach(m, list)
	{
		if ((why = finding_bad(m, list)) != NULL)
			return (why);
	}
	*findings = list;
	return (NULL);
}

/* The hook's request: the plugin, the manifest, the files and r's checks
 * so far. */
static void
hook_request(struct lx_buf *q, const struct report *r,
    const struct plugin_bundle *b, const struct plugins_plugin *p,
    const struct plugins_version *v)
{
	size_t i;

	lx_buf_adds(q, "{\"plugin\":{\"name\":");
	lx_buf_add_json_str(q, p->name);
	lx_buf_adds(q, ",\"publisher\":");
	lx_buf_add_json_str(q, p->publisher);
	lx_buf_adds(q, "},\"version\":");
	lx_buf_add_json_str(q, v->version);
	lx_buf_adds(q, ",\"manifest\":");
	lx_buf_adds(q, b->manifest_json != NULL ? b->manifest_json : "null");
	lx_buf_adds(q, ",\"checks\":[");
	lx_buf_add(
	    q, r->checks.data != NULL ? r->checks.data : "", r->checks.len);
	lx_buf_adds(q, "],\"files\":[");
	for (i = 0; i < b->nfiles; i++) {
		lx_buf_adds(q, i > 0 ? ",{\"path\":" : "{\"path\":");
		lx_buf_add_json_str(q, b->files[i].path);
		lx_buf_addf(q, ",\"size\":%zu}", b->files[i].len);
	}
	lx_buf_adds(q, "]}");
}

/* Runs plugins/validatePlugin on the checked bundle b and appends its
 * findings to r; a failed hook appends the failed "validatePlugin". */
static void
check_script(struct report *r, const struct plugin_bundle *b,
    const struct plugins_plugin *p, const struct plugins_version *v)
{
	const cJSON *findings = NULL, *f;
	const char *why, *detail, *code;
	struct lx_buf q;
	struct lx_err e;
	cJSON *out = NULL;
	int ok, failed = 0;

	if (!functions_hook_active(HOOK_VALIDATE))
		return; /* the default: no finding */
	lx_buf_init(&q);
	lx_err_clear(&e);
	hook_request(&q, r, b, p, v);
	if (functions_hook(HOOK_VALIDATE, q.data, &out, &e) == -1)
		failed = 1; /* logged with the reason */
	else if (out != NULL && (why = answer_read(out, &findings)) != NULL)
		failed = functions_hook_bad(HOOK_VALIDATE, why, &e) == -1;
	if (failed)
		check(r, "validatePlugin", 0, "hook_failed",
		    "the %s hook failed; the server log says why",
		    HOOK_VALIDATE);
	cJSON_ArrayForEach(f, findings) /* NULL when failed */
	{
		ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "ok"));
		detail = str_member(f, "detail");
		code = str_member(f, "code");
		check(r, str_member(f, "name"), ok,
		    code != NULL ? code : "plugin_refused", "%s",
		    detail != NULL ? detail
		        : ok       ? "passed"
		                   : "refused by the " HOOK_VALIDATE " hook");
	}
	cJSON_Delete(out);
	lx_buf_cleanup(&q);
}

/* Runs the checks on version v of p into r. */
static int
run_checks(struct lx_conn *c, const struct plugins_version *v,
    const struct plugins_plugin *p, struct report *r, struct lx_err *err)
{
	struct plugin_bundle *b = NULL;
	char *data = NULL;
	size_t len;
	int ret = -1;

	if (plugins_store_bundle(c, v->id, &data, &len, err) == -1)
		goto out;
	if (plugins_bundle_parse(data, len, &b, err) == -1) {
		check(r, "manifest", 0, err->code, "%s", err->detail);
		ret = 0;
		goto out;
	}
	check(r, "manifest", 1, NULL, "%s %s by %s", b->manifest.name,
	    b->manifest.version, b->manifest.publisher);
	if (check_signature(c, r, b, p) == -1) {
		lx_err_set(err, 503, "unavailable", "cannot read the keys");
		goto out;
	}
	check_permissions(r, &b->manifest);
	check_lua(r, b, v->id);
	check_size(r, b, v->size);
	check_min_luxima(r, &b->manifest);
	check_routes(r, &b->manifest);
	check_hooks(r, &b->manifest);
	check_script(r, b, p, v);
	ret = 0;
out:
	plugins_bundle_free(b);
	lx_free(data);
	return (ret);
}

/* Writes the outcome with its audit record, in one transaction. */
static int
record(struct lx_conn *c, const struct plugins_version *v,
    const struct plugins_plugin *p, const char *status, const char *report,
    struct lx_err *err)
{
	struct audit_entry e;
	struct lx_buf d;
	int ret = -1;

	lx_buf_init(&d);
	lx_buf_adds(&d, "{\"name\":");
	lx_buf_add_json_str(&d, p->name);
	lx_buf_adds(&d, ",\"version\":");
	lx_buf_add_json_str(&d, v->version);
	lx_buf_adds(&d, ",\"status\":");
	lx_buf_add_json_str(&d, status);
	lx_buf_adds(&d, "}");
	memset(&e, 0, sizeof(e));
	e.actor = "system";
	e.action = "plugin_version.validate";
	e.target = v->id;
	e.detail_json = d.data;
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (plugins_store_version_status(
	        c, v->id, "validating", status, report, lx_now_ms(), err)
	        == -1
	    || audit_record(c, &e, err) == -1 || lx_conn_commit(c, err) == -1) {
		lx_conn_rollback(c);
		if (strcmp(err->code, "version_changed") == 0)
			ret = 0; /* another run recorded it */
		goto out;
	}
	ret = 0;
out:
	lx_buf_cleanup(&d);
	return (ret);
}

int
plugins_job_validate(
    struct lx_conn *c, const char *payload_json, struct lx_err *err)
{
	struct plugins_version v;
	struct plugins_plugin p;
	struct report r;
	struct lx_buf rep;
	const cJSON *id;
	cJSON *j = NULL;
	const char *status;
	int ret = -1;

	memset(&v, 0, sizeof(v));
	memset(&r, 0, sizeof(r));
	lx_buf_init(&r.checks);
	lx_buf_init(&rep);
	if ((j = cJSON_Parse(payload_json)) == NULL
	    || !cJSON_IsString(id = cJSON_GetObjectItem(j, "version_id"))) {
		lx_log(LX_LOG_WARN, "%s: bad payload", PLUGINS_VALIDATE_JOB);
		ret = 0; /* nothing to retry */
		goto out;
	}
	if (plugins_store_version_get(c, NULL, id->valuestring, &v, err)
	    == -1) {
		ret = err->status == 404 ? 0 : -1;
		goto out;
	}
	if (strcmp(v.status, "validating") != 0) {
		ret = 0; /* done before */
		goto out;
	}
	if (plugins_store_plugin_get(c, v.plugin_id, &p, err) == -1
	    || run_checks(c, &v, &p, &r, err) == -1)
		goto out;
	status = r.failed > 0 ? "invalid" : "valid";
	lx_buf_adds(&rep, "{\"status\":");
	lx_buf_add_json_str(&rep, status);
	lx_buf_adds(&rep, ",\"checks\":[");
	lx_buf_add(
	    &rep, r.checks.data != NULL ? r.checks.data : "", r.checks.len);
	lx_buf_adds(&rep, "]}");
	ret = record(c, &v, &p, status, rep.data, err);
out:
	cJSON_Delete(j);
	plugins_versions_cleanup(&v, 1);
	lx_buf_cleanup(&r.checks);
	lx_buf_cleanup(&rep);
	return (ret);
}
