/*
 * A tenant's installations of plugins: install a published version with
 * a configuration the manifest's config fields accept (within the plan's
 * "plugins" quota), list, enable or disable and reconfigure, upgrade to a
 * higher published version keeping the configuration, uninstall. The
 * tenant comes from the tenant-context rule; reading needs plugins.read,
 * changing plugins.write. Installations are read and written through
 * p_plugin_installations, so another tenant's installation is simply not
 * there (404); the plugin itself ({id}: its id or name) is instance-wide.
 * Uninstalling deletes the plugin's documents in the tenant (namespace
 * "plugin:<name>"), as deleting an edge function deletes its own; a
 * tenant that wants to keep them disables the plugin instead.
 *
 * Installing and upgrading ask the hook script plugins/installPlugin
 * (lua_scripts/README.md) last, inside the transaction before anything is
 * written: a refusal is 403 with the script's code, a failed script 503
 * "hook_failed" (fails closed); either way nothing changes. Its built-in
 * allows and is not run.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "core.h"
#include "functions.h"
#include "plugins.h"
#include "tenants.h"

#define HOOK_INSTALL "plugins/installPlugin"

static int
fail_tx(const struct lx_req *req)
{
	lx_conn_rollback(req->db);
	return (-1);
}

static void
installation_json(struct lx_buf *b, const struct plugins_installation *i)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, i->id);
	lx_buf_adds(b, ",\"plugin_id\":");
	lx_buf_add_json_str(b, i->plugin_id);
	lx_buf_adds(b, ",\"plugin\":");
	lx_buf_add_json_str(b, i->plugin);
	lx_buf_adds(b, ",\"version\":");
	lx_buf_add_json_str(b, i->version);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, i->status);
	lx_buf_adds(b, ",\"config\":");
	lx_buf_adds(b, i->config != NULL ? i->config : "{}");
	lx_buf_adds(b, ",\"permissions\":");
	lx_buf_adds(b, i->permissions != NULL ? i->permissions : "[]");
	lx_buf_adds(b, ",\"installed_by\":");
	lx_buf_add_json_str_or_null(b, i->installed_by);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, i->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, i->updated_at);
	lx_buf_adds(b, "}");
}

/* Reads the installation of plugin_id back and sends it with status. */
static int
send_installation(struct lx_req *req, struct lx_resp *resp, int status,
    const char *plugin_id, struct lx_err *err)
{
	struct plugins_installation i;
	struct lx_buf b;

	if (plugins_store_inst_get(req->db, plugin_id, &i, err) == -1)
		return (-1);
	lx_buf_init(&b);
	installation_json(&b, &i);
	lx_resp_json(resp, status, b.data);
	lx_buf_cleanup(&b);
	plugins_insts_cleanup(&i, 1);
	return (0);
}

/* The plugin {id} of the path (its id or name). */
static int
path_plugin(struct lx_req *req, struct plugins_plugin *p, struct lx_err *err)
{
	return (
	    plugins_store_plugin_get(req->db, lx_req_param(req, "id"), p, err));
}

/* The published version version of p (its latest when NULL) into v;
 * 404 "version_not_found" for a version that is not published. */
static int
published_version(struct lx_conn *c, const struct plugins_plugin *p,
    const char *version, struct plugins_version *v, struct lx_err *err)
{
	if (p->latest_version[0] == '\0')
		return (lx_err_set(
		    err, 404, "not_found", "no such published plugin"));
	if (version == NULL)
		version = p->latest_version;
	if (plugins_store_version_get(c, p->id, version, v, err) == -1)
		return (-1);
	if (strcmp(v->status, "published") != 0)
		return (lx_err_set(err, 404, "version_not_found",
		    "plugin %s has no published version %s", p->name,
		    v->version));
	return (0);
}

/* The parsed bundle of version version_id (its manifest rules configs). */
static int
version_bundle(struct lx_conn *c, const char *version_id,
    struct plugin_bundle **b, struct lx_err *err)
{
	char *data = NULL;
	size_t len;
	int ret;

	*b = NULL;
	if (plugins_store_bundle(c, version_id, &data, &len, err) == -1)
		return (-1);
	ret = plugins_bundle_parse(data, len, b, err);
	lx_free(data);
	if (ret == -1)
		err->status = 500; /* stored, so once valid */
	return (ret);
}

/* The body's config (NULL when absent or null) validated against b's
 * manifest into *out (normalized JSON); 422 naming the field. With
 * stored (not NULL), that JSON text is validated when the body has none. */
static int
config_arg(const struct lx_req *req, const struct plugin_bundle *b,
    const char *stored, char **out, struct lx_err *err)
{
	const cJSON *cfg =
	    cJSON_GetObjectItemCaseSensitive(req->body, "config");
	cJSON *old = NULL;
	struct lx_err e;
	int ret;

	*out = NULL;
	if (cJSON_IsNull(cfg))
		cfg = NULL;
	if (cfg == NULL && stored != NULL)
		cfg = old = cJSON_Parse(stored);
	ret = plugins_config_validate(&b->manifest, cfg, out, err);
	if (ret == -1 && old != NULL) {
		e = *err;
		lx_err_set(err, 422, e.code,
		    "the configuration kept from the installed version does "
		    "not fit this version: %.400s",
		    e.detail);
	}
	cJSON_Delete(old);
	return (ret);
}

/* {"name", "version"[, "from"][, "status"]}: an audit detail. */
static char *
detail(
    const char *name, const char *version, const char *from, const char *status)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"name\":");
	lx_buf_add_json_str(&b, name);
	lx_buf_adds(&b, ",\"version\":");
	lx_buf_add_json_str(&b, version);
	if (from != NULL) {
		lx_buf_adds(&b, ",\"from\":");
		lx_buf_add_json_str(&b, from);
	}
	if (status != NULL) {
		lx_buf_adds(&b, ",\"status\":");
		lx_buf_add_json_str(&b, status);
	}
	lx_buf_adds(&b, "}");
	return (lx_buf_take(&b));
}

/*
 * Asks plugins/installPlugin whether the context tenant may install (from
 * NULL) or upgrade from version from to version v of p with config (the
 * normalized settings), in the caller's transaction before it writes: 0
 * when allowed; else -1 with err 403 and the script's code, or 503
 * "hook_failed".
 */
static int
install_allowed(struct lx_req *req, const struct plugins_plugin *p,
    const struct plugins_version *v, const char *from, const char *config,
    struct lx_err *err)
{
	struct functions_decision d;
	struct tenant t;
	struct lx_buf q;
	cJSON *out = NULL;
	int ret = -1;

	if (!functions_hook_active(HOOK_INSTALL))
		return (0); /* the default: allow */
	lx_buf_init(&q);
	if (tenants_store_get(req->db, req->tenant.id, &t, err) == -1)
		goto out;
	lx_buf_adds(&q, "{\"action\":");
	lx_buf_add_json_str(&q, from == NULL ? "install" : "upgrade");
	lx_buf_adds(&q, ",\"tenant\":{\"id\":");
	lx_buf_add_json_str(&q, t.id);
	lx_buf_adds(&q, ",\"plan\":");
	lx_buf_add_json_str(&q, t.plan);
	lx_buf_adds(&q, "},\"plugin\":{\"name\":");
	lx_buf_add_json_str(&q, p->name);
	lx_buf_adds(&q, ",\"publisher\":");
	lx_buf_add_json_str(&q, p->publisher);
	lx_buf_adds(&q, "},\"version\":");
	lx_buf_add_json_str(&q, v->version);
	lx_buf_adds(&q, ",\"from_version\":");
	lx_buf_add_json_str_or_null(&q, from);
	lx_buf_adds(&q, ",\"permissions\":");
	lx_buf_adds(&q, v->permissions != NULL ? v->permissions : "[]");
	lx_buf_adds(&q, ",\"config\":");
	lx_buf_adds(&q, config != NULL ? config : "{}");
	lx_buf_adds(&q, "}");
	if (functions_hook(HOOK_INSTALL, q.data, &out, err) == -1)
		goto out;
	if (out != NULL) {
		if (functions_hook_decision(HOOK_INSTALL, out, 403,
		        from == NULL ? "plugin_install_denied"
		                     : "plugin_upgrade_denied",
		        &d, err)
		    == -1)
			goto out;
		if (!d.allow) {
			/* A refusal is always 403. */
			lx_log(LX_LOG_INFO,
			    "hook %s refused %s %s %s in tenant %s: %s",
			    HOOK_INSTALL,
			    from == NULL ? "installing" : "upgrading to",
			    p->name, v->version, t.id, d.code);
			lx_err_set(err, 403, d.code, "%s", d.reason);
			goto out;
		}
	}
	ret = 0;
out:
	cJSON_Delete(out);
	lx_buf_cleanup(&q);
	return (ret);
}

int
plugins_http_install(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_installation i, cur;
	struct plugin_bundle *b = NULL;
	struct plugins_version v;
	struct plugins_plugin p;
	char *config = NULL, *d = NULL;
	int ret = -1;

	memset(&v, 0, sizeof(v));
	if (plugins_http_args(req, 1, NULL, NULL, err) == -1
	    || path_plugin(req, &p, err) == -1
	    || published_version(
	           req->db, &p, lx_req_body_str(req, "version"), &v, err)
	        == -1
	    || version_bundle(req->db, v.id, &b, err) == -1
	    || config_arg(req, b, NULL, &config, err) == -1)
		goto out;
	memset(&i, 0, sizeof(i));
	plugins_uuid(i.id);
	snprintf(i.plugin_id, sizeof(i.plugin_id), "%s", p.id);
	snprintf(i.version_id, sizeof(i.version_id), "%s", v.id);
	snprintf(i.version, sizeof(i.version), "%s", v.version);
	snprintf(i.status, sizeof(i.status), "enabled");
	snprintf(
	    i.installed_by, sizeof(i.installed_by), "%s", req->ident.actor);
	i.config = config;
	i.created_at = i.updated_at = lx_now_ms();
	d = detail(p.name, v.version, NULL, NULL);
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	if (plugins_store_inst_get(req->db, p.id, &cur, err) == 0) {
		plugins_insts_cleanup(&cur, 1);
		lx_err_set(err, 409, "already_installed",
		    "plugin %s is installed in this tenant already (upgrade "
		    "or change it instead)",
		    p.name);
		goto fail;
	}
	if (err->status != 404
	    || tenants_quota_room(
	           req->srv, req->db, req->tenant.id, "plugins", err)
	        == -1
	    || install_allowed(req, &p, &v, NULL, config, err) == -1
	    || plugins_store_inst_insert(req->db, req->tenant.id, &i, err) == -1
	    || tenants_http_audit(req, "plugin.install", i.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	ret = send_installation(req, resp, 201, p.id, err);
	goto out;
fail:
	fail_tx(req);
out:
	plugins_versions_cleanup(&v, 1);
	plugins_bundle_free(b);
	lx_free(config);
	lx_free(d);
	return (ret);
}

int
plugins_http_installed(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_installation *rows;
	char after[PLUGINS_NAME_MAX + 1];
	struct lx_buf b;
	int i, n = 0, limit;

	if (plugins_http_args(req, 1, &limit, after, err) == -1)
		return (-1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (plugins_store_insts(req->db, after, limit + 1, rows, &n, err)
	    == -1) {
		plugins_insts_cleanup(rows, n);
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"installations\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		installation_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(
	    &b, n > limit ? rows[limit - 1].plugin : NULL);
	lx_buf_adds(&b, "}");
	plugins_insts_cleanup(rows, n);
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

int
plugins_http_install_patch(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *status = lx_req_body_str(req, "status");
	const cJSON *cfg =
	    cJSON_GetObjectItemCaseSensitive(req->body, "config");
	struct plugins_installation i;
	struct plugin_bundle *b = NULL;
	struct plugins_plugin p;
	char *config = NULL, *d = NULL;
	int ret = -1;

	memset(&i, 0, sizeof(i));
	if (plugins_http_args(req, 1, NULL, NULL, err) == -1)
		return (-1);
	if (status != NULL && strcmp(status, "enabled") != 0
	    && strcmp(status, "disabled") != 0)
		return (lx_err_set(err, 422, "invalid_status",
		    "status is enabled or disabled"));
	if (path_plugin(req, &p, err) == -1
	    || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (plugins_store_inst_get(req->db, p.id, &i, err) == -1)
		goto fail;
	if (cfg != NULL && !cJSON_IsNull(cfg)) {
		if (version_bundle(req->db, i.version_id, &b, err) == -1
		    || config_arg(req, b, NULL, &config, err) == -1)
			goto fail;
		lx_free(i.config);
		i.config = config;
		config = NULL;
	} else if (status == NULL) {
		/* Nothing to change: the installation as it is. */
		lx_conn_rollback(req->db);
		ret = send_installation(req, resp, 200, p.id, err);
		goto out;
	}
	if (status != NULL)
		snprintf(i.status, sizeof(i.status), "%s", status);
	i.updated_at = lx_now_ms();
	d = detail(p.name, i.version, NULL, status);
	if (plugins_store_inst_update(req->db, &i, err) == -1
	    || tenants_http_audit(req, "plugin.update", i.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	ret = send_installation(req, resp, 200, p.id, err);
	goto out;
fail:
	fail_tx(req);
out:
	plugins_insts_cleanup(&i, 1);
	plugins_bundle_free(b);
	lx_free(config);
	lx_free(d);
	return (ret);
}

int
plugins_http_upgrade(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_installation i;
	struct plugin_bundle *b = NULL;
	struct plugins_version v;
	struct plugins_plugin p;
	char *config = NULL, *d = NULL;
	int ret = -1;

	memset(&i, 0, sizeof(i));
	memset(&v, 0, sizeof(v));
	if (plugins_http_args(req, 1, NULL, NULL, err) == -1
	    || path_plugin(req, &p, err) == -1
	    || published_version(
	           req->db, &p, lx_req_body_str(req, "version"), &v, err)
	        == -1
	    || version_bundle(req->db, v.id, &b, err) == -1
	    || lx_conn_begin(req->db, err) == -1)
		goto out;
	if (plugins_store_inst_get(req->db, p.id, &i, err) == -1)
		goto fail;
	if (plugins_semver_cmp(v.version, i.version) <= 0) {
		lx_err_set(err, 409, "downgrade_refused",
		    "version %s is not above the installed %s; an upgrade "
		    "moves to a higher version only",
		    v.version, i.version);
		goto fail;
	}
	if (config_arg(req, b, i.config, &config, err) == -1
	    || install_allowed(req, &p, &v, i.version, config, err) == -1)
		goto fail;
	d = detail(p.name, v.version, i.version, NULL);
	lx_free(i.config);
	i.config = config;
	config = NULL;
	snprintf(i.version_id, sizeof(i.version_id), "%s", v.id);
	snprintf(i.version, sizeof(i.version), "%s", v.version);
	i.updated_at = lx_now_ms();
	if (plugins_store_inst_update(req->db, &i, err) == -1
	    || tenants_http_audit(req, "plugin.upgrade", i.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	ret = send_installation(req, resp, 200, p.id, err);
	goto out;
fail:
	fail_tx(req);
out:
	plugins_insts_cleanup(&i, 1);
	plugins_versions_cleanup(&v, 1);
	plugins_bundle_free(b);
	lx_free(config);
	lx_free(d);
	return (ret);
}

int
plugins_http_uninstall(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_installation i;
	struct plugins_plugin p;
	char ns[8 + PLUGINS_NAME_MAX], *d = NULL;
	int ret = -1;

	memset(&i, 0, sizeof(i));
	if (plugins_http_args(req, 1, NULL, NULL, err) == -1
	    || path_plugin(req, &p, err) == -1
	    || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (plugins_store_inst_get(req->db, p.id, &i, err) == -1)
		goto fail;
	snprintf(ns, sizeof(ns), "plugin:%s", p.name);
	d = detail(p.name, i.version, NULL, NULL);
	if (plugins_store_inst_delete(req->db, i.id, ns, err) == -1
	    || tenants_http_audit(req, "plugin.uninstall", i.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	resp->status = 204;
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	plugins_insts_cleanup(&i, 1);
	lx_free(d);
	return (ret);
}

static const struct lx_field install_fields[] = {
	{ "version", F_STRING, 0, PLUGINS_VERSION_MAX },
	{ "config", F_OBJECT, 0, 0 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema plugins_install_schema = { install_fields };
static const struct lx_field patch_fields[] = {
	{ "status", F_STRING, 0, 16 },
	{ "config", F_OBJECT, 0, 0 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema plugins_install_patch_schema = { patch_fields };
static const struct lx_field upgrade_fields[] = {
	{ "version", F_STRING, 1, PLUGINS_VERSION_MAX },
	{ "config", F_OBJECT, 0, 0 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema plugins_upgrade_schema = { upgrade_fields };
