/*
 * The plugin registry's routes and the module: publishers (a user owns the
 * publishers they create; only the owner or a platform admin sees and
 * changes one, anyone else gets 404) with their Ed25519 signing keys;
 * uploads of signed bundles (stored as a version that the
 * "plugins.validate" job checks), the catalogue, and publishing a valid
 * version. Installation routes are in plugins_install.c, plugin routes and
 * hooks in plugins_run.c. Every change commits with its audit record;
 * refusals write nothing. Publishing asks the hook script
 * plugins/publishPlugin (lua_scripts/README.md) last, before the version
 * changes: a refusal is 403 with the script's code, a failed script 503
 * "hook_failed" (fails closed); its built-in allows and is not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <sodium.h>

#include "core.h"
#include "edge.h"
#include "functions.h"
#include "jobs.h"
#include "plugins.h"
#include "tenants.h"

#define WAIT_STEP_MS 50 /* GET /plugins/{id}?wait=: poll interval */
#define HOOK_PUBLISH "plugins/publishPlugin"

static struct lx_server *module_srv; /* for jobs */
static unsigned allowed_perms = EDGE_PERM_ALL;

struct lx_server *
plugins_server(void)
{
	return (module_srv);
}

unsigned
plugins_allowed_perms(void)
{
	return (allowed_perms);
}

void
plugins_perms_json(struct lx_buf *b, unsigned perms)
{
	unsigned bit;
	int first = 1;

	lx_buf_adds(b, "[");
	for (bit = 1; bit <= EDGE_PERM_ALL; bit <<= 1) {
		if ((perms & bit) == 0 || edge_perm_name(bit) == NULL)
			continue;
		lx_buf_adds(b, first ? "" : ",");
		first = 0;
		lx_buf_add_json_str(b, edge_perm_name(bit));
	}
	lx_buf_adds(b, "]");
}

void
plugins_uuid(char out[PLUGINS_ID_SIZE])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, PLUGINS_ID_SIZE,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
	    "%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

int
plugins_name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return (n >= 2 && n <= PLUGINS_NAME_MAX && s[0] >= 'a' && s[0] <= 'z'
	    && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n);
}

int
plugins_http_args(const struct lx_req *req, int tenant_ctx, int *limit,
    char *cursor, struct lx_err *err)
{
	char num[24], cur[PLUGINS_NAME_MAX + 2], tid[40], *end;
	struct lx_qarg args[4];
	int i = 0, li = -1, ci = -1;
	size_t n;
	long v;

	memset(args, 0, sizeof(args));
	if (tenant_ctx)
		args[i++] =
		    (struct lx_qarg){ "tenant_id", tid, sizeof(tid), 0 };
	if (limit != NULL) {
		li = i;
		args[i++] = (struct lx_qarg){ "limit", num, sizeof(num), 0 };
		ci = i;
		args[i++] = (struct lx_qarg){ "cursor", cur, sizeof(cur), 0 };
	}
	if (lx_query_args(req->query, args, err) == -1)
		return (-1);
	if (limit == NULL)
		return (0);
	*limit = PLUGINS_PAGE_DEFAULT;
	if (args[li].seen) {
		v = strtol(num, &end, 10);
		if (num[0] < '0' || num[0] > '9' || *end != '\0' || v < 1
		    || v > PLUGINS_PAGE_MAX)
			return (lx_err_set(err, 400, "invalid_limit",
			    "limit must be an integer from 1 to %d",
			    PLUGINS_PAGE_MAX));
		*limit = (int)v;
	}
	if (args[ci].seen && !plugins_name_ok(cur))
		return (lx_err_set(err, 400, "invalid_cursor",
		    "cursor must be a next_cursor value"));
	n = args[ci].seen ? strlen(cur) : 0; /* at most PLUGINS_NAME_MAX */
	memcpy(cursor, cur, n);
	cursor[n] = '\0';
	return (0);
}

static int
fail_tx(const struct lx_req *req)
{
	lx_conn_rollback(req->db);
	return (-1);
}

/* 1 if the caller may act for the publisher owned by owner_id. */
static int
may_act(const struct lx_req *req, const char *owner_id)
{
	return (req->ident.platform_admin
	    || strcmp(req->ident.user_id, owner_id) == 0);
}

/* {"<k1>":"<v1>"[,"<k2>":"<v2>"]}: an audit detail (k2 may be NULL). */
static char *
detail2(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_addf(&b, "{\"%s\":", k1);
	lx_buf_add_json_str(&b, v1);
	if (k2 != NULL) {
		lx_buf_addf(&b, ",\"%s\":", k2);
		lx_buf_add_json_str(&b, v2);
	}
	lx_buf_adds(&b, "}");
	return (lx_buf_take(&b));
}

/* --- JSON --- */

static void
publisher_json(struct lx_buf *b, const struct plugins_publisher *p)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, p->id);
	lx_buf_adds(b, ",\"name\":");
	lx_buf_add_json_str(b, p->name);
	lx_buf_adds(b, ",\"display_name\":");
	lx_buf_add_json_str(b, p->display_name);
	lx_buf_adds(b, ",\"owner_id\":");
	lx_buf_add_json_str(b, p->owner_id);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, p->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, p->updated_at);
	lx_buf_adds(b, "}");
}

static void
key_json(struct lx_buf *b, const char *publisher, const struct plugins_key *k)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, k->id);
	lx_buf_adds(b, ",\"publisher\":");
	lx_buf_add_json_str(b, publisher);
	lx_buf_adds(b, ",\"key_id\":");
	lx_buf_add_json_str(b, k->key_id);
	lx_buf_adds(b, ",\"public_key\":");
	lx_buf_add_json_str(b, k->public_key);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, k->created_at);
	lx_buf_adds(b, ",\"revoked_at\":");
	lx_buf_add_time_json(b, k->revoked_at);
	lx_buf_adds(b, "}");
}

static void
plugin_json(struct lx_buf *b, const struct plugins_plugin *p)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, p->id);
	lx_buf_adds(b, ",\"name\":");
	lx_buf_add_json_str(b, p->name);
	lx_buf_adds(b, ",\"publisher\":");
	lx_buf_add_json_str(b, p->publisher);
	lx_buf_adds(b, ",\"description\":");
	lx_buf_add_json_str(b, p->description);
	lx_buf_adds(b, ",\"latest_version\":");
	lx_buf_add_json_str_or_null(b, p->latest_version);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, p->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, p->updated_at);
	lx_buf_adds(b, "}");
}

static void
version_json(struct lx_buf *b, const struct plugins_version *v)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, v->id);
	lx_buf_adds(b, ",\"version\":");
	lx_buf_add_json_str(b, v->version);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, v->status);
	lx_buf_adds(b, ",\"digest\":");
	lx_buf_add_json_str(b, v->digest);
	lx_buf_adds(b, ",\"key_id\":");
	lx_buf_add_json_str_or_null(b, v->key_id);
	lx_buf_addf(b, ",\"size\":%lld,\"permissions\":", (long long)v->size);
	lx_buf_adds(b, v->permissions != NULL ? v->permissions : "[]");
	lx_buf_adds(b, ",\"manifest\":");
	lx_buf_adds(b, v->manifest != NULL ? v->manifest : "null");
	lx_buf_adds(b, ",\"report\":");
	lx_buf_adds(b, v->report != NULL ? v->report : "null");
	lx_buf_adds(b, ",\"uploaded_by\":");
	lx_buf_add_json_str(b, v->uploaded_by);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, v->created_at);
	lx_buf_adds(b, ",\"validated_at\":");
	lx_buf_add_time_json(b, v->validated_at);
	lx_buf_adds(b, ",\"published_at\":");
	lx_buf_add_time_json(b, v->published_at);
	lx_buf_adds(b, "}");
}

/* Sends {"plugin": p, "version": v}. */
static void
send_pv(struct lx_resp *resp, int status, const struct plugins_plugin *p,
    const struct plugins_version *v)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"plugin\":");
	plugin_json(&b, p);
	lx_buf_adds(&b, ",\"version\":");
	version_json(&b, v);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, status, b.data);
	lx_buf_cleanup(&b);
}

/* --- publishers --- */

/* 1 if s (may be NULL) holds no control character. */
static int
text_ok(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (0);
	return (1);
}

static int
h_pub_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *name = lx_req_body_str(req, "name");
	const char *display = lx_req_body_str(req, "display_name");
	struct plugins_publisher p;
	struct lx_buf b;
	char *d = NULL;
	int ret = -1;

	lx_buf_init(&b);
	if (plugins_http_args(req, 0, NULL, NULL, err) == -1)
		goto out;
	if (!plugins_name_ok(name)) {
		lx_err_set(err, 422, "invalid_name",
		    "a publisher name is 2 to %d of a-z, 0-9 and '-', starting "
		    "with a letter",
		    PLUGINS_NAME_MAX);
		goto out;
	}
	if (!text_ok(display)) {
		lx_err_set(err, 422, "invalid_display_name",
		    "display_name must not hold control characters");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	plugins_uuid(p.id);
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.display_name, sizeof(p.display_name), "%s",
	    display != NULL ? display : "");
	snprintf(p.owner_id, sizeof(p.owner_id), "%s", req->ident.user_id);
	p.created_at = p.updated_at = lx_now_ms();
	d = detail2("name", p.name, NULL, NULL);
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	if (plugins_store_publisher_insert(req->db, &p, err) == -1
	    || tenants_http_audit(req, "publisher.create", p.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		fail_tx(req);
		goto out;
	}
	publisher_json(&b, &p);
	lx_resp_json(resp, 201, b.data);
	ret = 0;
out:
	lx_free(d);
	lx_buf_cleanup(&b);
	return (ret);
}

static int
h_pubs(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_publisher *rows;
	char after[PLUGINS_NAME_MAX + 1];
	struct lx_buf b;
	int i, n, limit;

	if (plugins_http_args(req, 0, &limit, after, err) == -1)
		return (-1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (plugins_store_publishers(req->db,
	        req->ident.platform_admin ? NULL : req->ident.user_id, after,
	        limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"publishers\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		publisher_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(
	    &b, n > limit ? rows[limit - 1].name : NULL);
	lx_buf_adds(&b, "}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

/* The publisher {name} of the path when the caller may act for it; 404
 * "not_found" otherwise, so others learn nothing of it. */
static int
owned_publisher(
    struct lx_req *req, struct plugins_publisher *out, struct lx_err *err)
{
	if (plugins_store_publisher_get(
	        req->db, lx_req_param(req, "name"), out, err)
	    == -1)
		return (-1);
	if (!may_act(req, out->owner_id))
		return (lx_err_set(err, 404, "not_found", "no such publisher"));
	return (0);
}

/*
 * Reads a public key given as the base64 of its 32 bytes or as the line of
 * a .pub file ("luxima-ed25519-public <base64>", a trailing newline
 * allowed) into k's public_key (canonical base64) and key_id.
 */
static int
key_parse(const char *in, struct plugins_key *k, struct lx_err *err)
{
	static const char tag[] = "luxima-ed25519-public ";
	unsigned char pk[PLUGINS_PK_BYTES];
	char text[96];
	size_t n, len = 0;

	if (strncmp(in, tag, sizeof(tag) - 1) == 0)
		in += sizeof(tag) - 1;
	n = strlen(in);
	while (n > 0 && (in[n - 1] == '\n' || in[n - 1] == '\r'))
		n--;
	if (n == 0 || n >= sizeof(text))
		goto bad;
	memcpy(text, in, n);
	text[n] = '\0';
	if (sodium_base642bin(pk, sizeof(pk), text, n, NULL, &len, NULL,
	        sodium_base64_VARIANT_ORIGINAL)
	        != 0
	    || len != sizeof(pk))
		goto bad;
	sodium_bin2base64(k->public_key, sizeof(k->public_key), pk, sizeof(pk),
	    sodium_base64_VARIANT_ORIGINAL);
	plugins_key_id(pk, k->key_id);
	return (0);
bad:
	return (lx_err_set(err, 422, "invalid_key",
	    "public_key must be the base64 of a 32-byte Ed25519 public key, or "
	    "the line of a .pub file (\"luxima-ed25519-public <base64>\")"));
}

static int
h_key_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_publisher p;
	struct plugins_key k, *rows = NULL;
	struct lx_buf b;
	char *d = NULL;
	int n, ret = -1;

	lx_buf_init(&b);
	memset(&k, 0, sizeof(k));
	if (plugins_http_args(req, 0, NULL, NULL, err) == -1
	    || key_parse(lx_req_body_str(req, "public_key"), &k, err) == -1)
		goto out;
	plugins_uuid(k.id);
	k.created_at = lx_now_ms();
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	rows = lx_calloc(PLUGINS_KEYS_MAX, sizeof(*rows));
	if (owned_publisher(req, &p, err) == -1
	    || plugins_store_keys(
	           req->db, p.id, rows, PLUGINS_KEYS_MAX, &n, err)
	        == -1)
		goto fail;
	if (n >= PLUGINS_KEYS_MAX) {
		lx_err_set(err, 409, "too_many_keys",
		    "a publisher has at most %d keys, revoked ones included",
		    PLUGINS_KEYS_MAX);
		goto fail;
	}
	d = detail2("publisher", p.name, "key_id", k.key_id);
	if (plugins_store_key_insert(req->db, p.id, &k, err) == -1
	    || tenants_http_audit(req, "publisher_key.create", k.key_id, d, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	key_json(&b, p.name, &k);
	lx_resp_json(resp, 201, b.data);
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	lx_free(rows);
	lx_free(d);
	lx_buf_cleanup(&b);
	return (ret);
}

static int
h_keys(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_publisher p;
	struct plugins_key *rows;
	struct lx_buf b;
	int i, n;

	if (plugins_http_args(req, 0, NULL, NULL, err) == -1
	    || owned_publisher(req, &p, err) == -1)
		return (-1);
	rows = lx_calloc(PLUGINS_KEYS_MAX, sizeof(*rows));
	if (plugins_store_keys(req->db, p.id, rows, PLUGINS_KEYS_MAX, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"keys\":[");
	for (i = 0; i < n; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		key_json(&b, p.name, &rows[i]);
	}
	lx_buf_adds(&b, "]}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

static int
h_key_revoke(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *key_id = lx_req_param(req, "key_id");
	struct plugins_publisher p;
	struct plugins_key k;
	char *d = NULL;
	int ret = -1;

	if (plugins_http_args(req, 0, NULL, NULL, err) == -1
	    || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (owned_publisher(req, &p, err) == -1
	    || plugins_store_key_get(req->db, p.id, key_id, &k, err) == -1)
		goto fail;
	d = detail2("publisher", p.name, "key_id", k.key_id);
	if (plugins_store_key_revoke(req->db, p.id, k.key_id, lx_now_ms(), err)
	        == -1
	    || tenants_http_audit(req, "publisher_key.revoke", k.key_id, d, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	resp->status = 204;
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	lx_free(d);
	return (ret);
}

/* --- the registry --- */

/* Fills v (not yet inserted) from the parsed bundle b of plugin_id. */
static void
version_new(const struct lx_req *req, const struct plugin_bundle *b,
    const char *plugin_id, struct plugins_version *v, struct lx_buf *perms)
{
	memset(v, 0, sizeof(*v));
	plugins_uuid(v->id);
	snprintf(v->plugin_id, sizeof(v->plugin_id), "%s", plugin_id);
	snprintf(v->version, sizeof(v->version), "%s", b->manifest.version);
	snprintf(v->status, sizeof(v->status), "validating");
	sodium_bin2hex(
	    v->digest, sizeof(v->digest), b->digest, sizeof(b->digest));
	if (b->has_signature)
		snprintf(v->key_id, sizeof(v->key_id), "%s", b->key_id);
	snprintf(
	    v->uploaded_by, sizeof(v->uploaded_by), "%s", req->ident.actor);
	v->size = (int64_t)req->raw_len;
	v->manifest = b->manifest_json;
	plugins_perms_json(perms, b->manifest.perms);
	v->permissions = perms->data;
	v->created_at = lx_now_ms();
}

/* The plugin the upload of b goes to: the existing one of b's name (of the
 * same publisher), else a new row; *created set when new. In the upload's
 * transaction. */
static int
upload_plugin(struct lx_req *req, const struct plugin_bundle *b,
    const struct plugins_publisher *pub, struct plugins_plugin *p,
    struct lx_err *err)
{
	const struct plugin_manifest *m = &b->manifest;

	if (plugins_store_plugin_get(req->db, m->name, p, err) == 0) {
		if (strcmp(p->name, m->name) != 0
		    || strcmp(p->publisher_id, pub->id) != 0)
			return (lx_err_set(err, 409, "name_taken",
			    "the plugin name %s belongs to another publisher",
			    m->name));
		return (0);
	}
	if (err->status != 404)
		return (-1);
	memset(p, 0, sizeof(*p));
	plugins_uuid(p->id);
	snprintf(p->name, sizeof(p->name), "%s", m->name);
	snprintf(p->publisher_id, sizeof(p->publisher_id), "%s", pub->id);
	snprintf(p->publisher, sizeof(p->publisher), "%s", pub->name);
	snprintf(p->owner_id, sizeof(p->owner_id), "%s", pub->owner_id);
	snprintf(p->description, sizeof(p->description), "%s", m->description);
	p->created_at = p->updated_at = lx_now_ms();
	return (plugins_store_plugin_insert(req->db, p, err));
}

/* 409 unless version is new to plugin_id (by SemVer precedence) and the
 * plugin has room for it. */
static int
version_fresh(struct lx_conn *c, const char *plugin_id, const char *version,
    struct lx_err *err)
{
	struct plugins_version *rows;
	int i, n, ret = -1;

	rows = lx_calloc(PLUGINS_VERSIONS_MAX, sizeof(*rows));
	if (plugins_store_versions(
	        c, plugin_id, rows, PLUGINS_VERSIONS_MAX, &n, err)
	    == -1)
		goto out;
	if (n >= PLUGINS_VERSIONS_MAX) {
		lx_err_set(err, 409, "too_many_versions",
		    "a plugin keeps at most %d versions", PLUGINS_VERSIONS_MAX);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (plugins_semver_cmp(version, rows[i].version) == 0) {
			lx_err_set(err, 409, "version_exists",
			    "version %s is uploaded already (versions are "
			    "immutable; upload a higher one)",
			    rows[i].version);
			goto out;
		}
	ret = 0;
out:
	plugins_versions_cleanup(rows, n);
	lx_free(rows);
	return (ret);
}

/* The bundle of the request, parsed: 413 past the size limit, 400 for
 * what plugins_bundle_parse refuses, names the routes need. */
static int
upload_parse(struct lx_req *req, struct plugin_bundle **b, struct lx_err *err)
{
	const char *name;

	if (req->raw_len > PLUGINS_BUNDLE_MAX)
		return (lx_err_set(err, 413, "too_large",
		    "a bundle holds at most %zu bytes", PLUGINS_BUNDLE_MAX));
	if (plugins_bundle_parse(req->raw_body, req->raw_len, b, err) == -1) {
		if (strcmp(err->code, "too_large") == 0)
			err->status = 413;
		return (-1);
	}
	name = (*b)->manifest.name;
	if (strcmp(name, "installed") == 0 || strcmp(name, "v1") == 0)
		return (lx_err_set(err, 400, "invalid_manifest",
		    "manifest.name: \"%s\" is reserved (it names a route)",
		    name));
	return (0);
}

static int
h_upload(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugin_bundle *b = NULL;
	struct plugins_publisher pub;
	struct plugins_plugin p;
	struct plugins_version v;
	struct lx_buf perms, job, d;
	int ret = -1, rc;

	lx_buf_init(&perms);
	lx_buf_init(&job);
	lx_buf_init(&d);
	if (plugins_http_args(req, 0, NULL, NULL, err) == -1
	    || upload_parse(req, &b, err) == -1)
		goto out;
	if (lx_conn_begin(req->db, err) == -1)
		goto out;
	rc = plugins_store_publisher_get(
	    req->db, b->manifest.publisher, &pub, err);
	if (rc == -1 && err->status != 404)
		goto fail;
	if (rc == -1 || strcmp(pub.owner_id, req->ident.user_id) != 0) {
		lx_err_set(err, 403, "not_publisher",
		    "manifest.publisher: you own no publisher named %s",
		    b->manifest.publisher);
		goto fail;
	}
	if (upload_plugin(req, b, &pub, &p, err) == -1
	    || version_fresh(req->db, p.id, b->manifest.version, err) == -1)
		goto fail;
	version_new(req, b, p.id, &v, &perms);
	lx_buf_adds(&job, "{\"version_id\":");
	lx_buf_add_json_str(&job, v.id);
	lx_buf_adds(&job, "}");
	lx_buf_adds(&d, "{\"name\":");
	lx_buf_add_json_str(&d, p.name);
	lx_buf_adds(&d, ",\"version\":");
	lx_buf_add_json_str(&d, v.version);
	lx_buf_adds(&d, ",\"digest\":");
	lx_buf_add_json_str(&d, v.digest);
	lx_buf_adds(&d, "}");
	if (plugins_store_version_insert(
	        req->db, &v, req->raw_body, req->raw_len, err)
	    == -1)
		goto fail;
	lx_conn_system_begin(req->db);
	rc = lx_jobs_enqueue(
	    req->db, PLUGINS_VALIDATE_JOB, job.data, 0, 0, NULL, err);
	lx_conn_system_end(req->db);
	if (rc == -1
	    || tenants_http_audit(req, "plugin.upload", v.id, d.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	send_pv(resp, 202, &p, &v);
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	plugins_bundle_free(b);
	lx_buf_cleanup(&perms);
	lx_buf_cleanup(&job);
	lx_buf_cleanup(&d);
	return (ret);
}

static int
h_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_plugin *rows;
	char after[PLUGINS_NAME_MAX + 1];
	struct lx_buf b;
	int i, n, limit;

	if (plugins_http_args(req, 0, &limit, after, err) == -1)
		return (-1);
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (plugins_store_plugins(req->db,
	        req->ident.platform_admin ? NULL : req->ident.user_id, after,
	        limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (-1);
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"plugins\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		plugin_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(
	    &b, n > limit ? rows[limit - 1].name : NULL);
	lx_buf_adds(&b, "}");
	lx_free(rows);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

/* The plugin {id} of the path (its id or name) if the caller may see it:
 * published, or theirs, or the caller is a platform admin; *owner set when
 * the caller may act for it. 404 "not_found" otherwise. */
static int
visible_plugin(struct lx_req *req, struct plugins_plugin *p, int *owner,
    struct lx_err *err)
{
	if (plugins_store_plugin_get(req->db, lx_req_param(req, "id"), p, err)
	    == -1)
		return (-1);
	*owner = may_act(req, p->owner_id);
	if (!*owner && p->latest_version[0] == '\0')
		return (lx_err_set(err, 404, "not_found", "no such plugin"));
	return (0);
}

/* ?wait=<seconds> of GET /plugins/{id} into *wait (0 when absent). */
static int
wait_arg(const struct lx_req *req, int *wait, struct lx_err *err)
{
	char num[8], *end;
	struct lx_qarg args[] = {
		{ "wait", num, sizeof(num), 0 },
		{ NULL, NULL, 0, 0 },
	};
	long v;

	*wait = 0;
	if (lx_query_args(req->query, args, err) == -1)
		return (-1);
	if (!args[0].seen)
		return (0);
	v = strtol(num, &end, 10);
	if (num[0] < '0' || num[0] > '9' || *end != '\0'
	    || v > PLUGINS_WAIT_MAX)
		return (lx_err_set(err, 400, "invalid_parameter",
		    "wait must be an integer from 0 to %d (seconds)",
		    PLUGINS_WAIT_MAX));
	*wait = (int)v;
	return (0);
}

/* The versions of p the caller may see into rows (room for
 * PLUGINS_VERSIONS_MAX); *pending set when one is still validating. */
static int
visible_versions(struct lx_req *req, const struct plugins_plugin *p, int owner,
    struct plugins_version *rows, int *n, int *pending, struct lx_err *err)
{
	int i, k = 0;

	*pending = 0;
	if (plugins_store_versions(
	        req->db, p->id, rows, PLUGINS_VERSIONS_MAX, n, err)
	    == -1)
		return (-1);
	for (i = 0; i < *n; i++) {
		if (strcmp(rows[i].status, "validating") == 0)
			*pending = 1;
		if (owner || strcmp(rows[i].status, "published") == 0
		    || strcmp(rows[i].status, "yanked") == 0) {
			if (k != i) {
				plugins_versions_cleanup(&rows[k], 1);
				rows[k] = rows[i];
				memset(&rows[i], 0, sizeof(rows[i]));
			}
			k++;
		}
	}
	plugins_versions_cleanup(&rows[k], *n - k);
	*n = k;
	return (0);
}

static int
h_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct plugins_version *rows = NULL;
	struct timespec ts = { 0, WAIT_STEP_MS * 1000000L };
	struct plugins_plugin p;
	char pid[PLUGINS_ID_SIZE];
	struct lx_buf b;
	int64_t until;
	int i, n = 0, owner, pending, wait, ret = -1;

	lx_buf_init(&b);
	if (wait_arg(req, &wait, err) == -1
	    || visible_plugin(req, &p, &owner, err) == -1)
		goto out;
	rows = lx_calloc(PLUGINS_VERSIONS_MAX, sizeof(*rows));
	until = lx_now_ms() + (int64_t)wait * 1000;
	for (;;) {
		if (visible_versions(req, &p, owner, rows, &n, &pending, err)
		    == -1)
			goto out;
		if (!owner || !pending || lx_now_ms() >= until)
			break;
		plugins_versions_cleanup(rows, n);
		n = 0;
		nanosleep(&ts, NULL);
	}
	snprintf(pid, sizeof(pid), "%s", p.id);
	if (plugins_store_plugin_get(req->db, pid, &p, err) == -1)
		goto out;
	plugin_json(&b, &p);
	b.len--; /* reopen the object */
	lx_buf_adds(&b, ",\"versions\":[");
	for (i = 0; i < n; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		version_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "]}");
	lx_resp_json(resp, 200, b.data);
	ret = 0;
out:
	plugins_versions_cleanup(rows, n);
	lx_free(rows);
	lx_buf_cleanup(&b);
	return (ret);
}

/* --- the invocation log --- */

/* ?tenant_id, ?limit (1..FUNCTIONS_PAGE_MAX, default
 * FUNCTIONS_PAGE_DEFAULT) and ?cursor (a next_cursor: a decimal record
 * id, into *before; 0 when absent) of GET /plugins/{id}/invocations. */
static int
invocation_args(
    const struct lx_req *req, int *limit, int64_t *before, struct lx_err *err)
{
	char num[24], cur[24], tid[40], *end;
	struct lx_qarg args[] = {
		{ "limit", num, sizeof(num), 0 },
		{ "cursor", cur, sizeof(cur), 0 },
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};
	long v;

	if (lx_query_args(req->query, args, err) == -1)
		return (-1);
	*limit = FUNCTIONS_PAGE_DEFAULT;
	*before = 0;
	if (args[0].seen) {
		v = strtol(num, &end, 10);
		if (num[0] < '0' || num[0] > '9' || *end != '\0' || v < 1
		    || v > FUNCTIONS_PAGE_MAX)
			return (lx_err_set(err, 400, "invalid_limit",
			    "limit must be an integer from 1 to %d",
			    FUNCTIONS_PAGE_MAX));
		*limit = (int)v;
	}
	if (args[1].seen) {
		if (cur[0] < '1' || cur[0] > '9'
		    || strspn(cur, "0123456789") != strlen(cur)
		    || strlen(cur) >= 19)
			return (lx_err_set(err, 400, "invalid_cursor",
			    "cursor must be a next_cursor value"));
		*before = strtoll(cur, NULL, 10);
	}
	return (0);
}

/* One record as GET /functions/{name}/invocations shows one, with the
 * run's kind and target. */
static void
invocation_json(struct lx_buf *b, const struct functions_invocation *r)
{
	const char *p, *e, *kind = "job";
	int first = 1;

	if (r->kind == FUNCTIONS_LOG_PLUGIN_ROUTE)
		kind = "route";
	else if (r->kind == FUNCTIONS_LOG_PLUGIN_HOOK)
		kind = "hook";
	lx_buf_addf(b,
	    "{\"id\":\"%lld\",\"kind\":\"%s\",\"target\":", (long long)r->id,
	    kind);
	lx_buf_add_json_str(b, r->target != NULL ? r->target : "");
	lx_buf_adds(b, ",\"version\":");
	lx_buf_add_json_str(b, r->version);
	lx_buf_adds(b, ",\"started_at\":");
	lx_buf_add_time_json(b, r->started_at);
	lx_buf_addf(b,
	    ",\"duration_us\":%lld,\"status\":%d,\"memory\":%lld,\"error\":",
	    (long long)r->duration_us, r->status, (long long)r->memory);
	lx_buf_add_json_str_or_null(b, r->error);
	lx_buf_adds(b, ",\"log\":[");
	/* The log is JSON lines: one object per line, as an array. */
	for (p = r->log; p != NULL && *p != '\0'; p = *e == '\n' ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		if (e == p)
			continue;
		lx_buf_adds(b, first ? "" : ",");
		first = 0;
		lx_buf_add(b, p, (size_t)(e - p));
	}
	lx_buf_adds(b, "],\"request_id\":");
	lx_buf_add_json_str_or_null(
	    b, r->request_id[0] != '\0' ? r->request_id : NULL);
	lx_buf_adds(b, ",\"actor\":");
	lx_buf_add_json_str(b, r->actor);
	lx_buf_adds(b, "}");
}

/* GET /plugins/{id}/invocations: the context tenant's runs of the plugin
 * (routes, hooks, jobs), newest first. 404 when the tenant has neither
 * an installation of it nor a record of it (so another tenant's are not
 * probed). Records queued by the log writer are written first. */
static int
h_invocations(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct functions_invocation *rows = NULL;
	struct plugins_installation inst;
	struct plugins_plugin p;
	struct lx_buf b;
	int64_t before;
	int i, n = 0, limit, owner, ret = -1;

	memset(&inst, 0, sizeof(inst));
	lx_buf_init(&b);
	if (invocation_args(req, &limit, &before, err) == -1
	    || visible_plugin(req, &p, &owner, err) == -1)
		goto out;
	functions_log_flush();
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (plugins_store_invocations(
	        req->db, p.id, before, limit + 1, rows, &n, err)
	    == -1)
		goto out;
	if (n == 0 && before == 0
	    && plugins_store_inst_get(req->db, p.id, &inst, err) == -1) {
		if (err->status == 404)
			lx_err_set(err, 404, "not_found",
			    "the plugin is not installed in this tenant");
		goto out;
	}
	lx_buf_adds(&b, "{\"invocations\":[");
	for (i = 0; i < n && i < limit; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		invocation_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	if (n > limit)
		lx_buf_addf(&b, "\"%lld\"", (long long)rows[limit - 1].id);
	else
		lx_buf_adds(&b, "null");
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 200, b.data);
	ret = 0;
out:
	plugins_invocations_cleanup(rows, n);
	lx_free(rows);
	plugins_insts_cleanup(&inst, 1);
	lx_buf_cleanup(&b);
	return (ret);
}

/* 409 unless v may be published. */
static int
publishable(const struct plugins_version *v, struct lx_err *err)
{
	if (strcmp(v->status, "valid") == 0)
		return (0);
	if (strcmp(v->status, "draft") == 0
	    || strcmp(v->status, "validating") == 0)
		return (lx_err_set(err, 409, "not_validated",
		    "version %s is still being validated; publish it once "
		    "GET /plugins/{id} shows it valid",
		    v->version));
	if (strcmp(v->status, "published") == 0)
		return (lx_err_set(err, 409, "already_published",
		    "version %s is published already", v->version));
	return (lx_err_set(err, 409, "invalid_version_state",
	    "version %s is %s and cannot be published (see its report)",
	    v->version, v->status));
}

/* Asks plugins/publishPlugin whether the caller may publish version v
 * (valid) of p, in the caller's transaction before it writes: 0 when
 * allowed; else -1 with err 403 and the script's code, or 503
 * "hook_failed". */
static int
publish_allowed(const struct lx_req *req, const struct plugins_plugin *p,
    const struct plugins_version *v, struct lx_err *err)
{
	struct functions_decision d;
	struct lx_buf q;
	cJSON *out = NULL;
	int ret = -1;

	if (!functions_hook_active(HOOK_PUBLISH))
		return (0); /* the default: allow */
	lx_buf_init(&q);
	lx_buf_adds(&q, "{\"plugin\":{\"name\":");
	lx_buf_add_json_str(&q, p->name);
	lx_buf_adds(&q, ",\"publisher\":");
	lx_buf_add_json_str(&q, p->publisher);
	lx_buf_adds(&q, "},\"version\":");
	lx_buf_add_json_str(&q, v->version);
	lx_buf_adds(&q, ",\"manifest\":");
	lx_buf_adds(&q, v->manifest != NULL ? v->manifest : "null");
	lx_buf_adds(&q, ",\"report\":");
	lx_buf_adds(&q, v->report != NULL ? v->report : "null");
	lx_buf_adds(&q, ",\"actor\":{\"id\":");
	lx_buf_add_json_str(&q, req->ident.actor);
	lx_buf_adds(&q, ",\"email\":");
	lx_buf_add_json_str(&q, req->ident.email);
	lx_buf_adds(&q,
	    req->ident.platform_admin ? ",\"platform_admin\":true}}"
	                              : ",\"platform_admin\":false}}");
	if (functions_hook(HOOK_PUBLISH, q.data, &out, err) == -1)
		goto out;
	if (out != NULL) {
		if (functions_hook_decision(HOOK_PUBLISH, out, 403,
		        "plugin_publish_denied", &d, err)
		    == -1)
			goto out;
		if (!d.allow) {
			/* A refusal is always 403. */
			lx_log(LX_LOG_INFO,
			    "hook %s refused publishing %s %s: %s",
			    HOOK_PUBLISH, p->name, v->version, d.code);
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

static int
h_publish(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	char vid[PLUGINS_ID_SIZE], pid[PLUGINS_ID_SIZE], *d = NULL;
	struct plugins_version v;
	struct plugins_plugin p;
	int owner, ret = -1;

	memset(&v, 0, sizeof(v));
	if (plugins_http_args(req, 0, NULL, NULL, err) == -1
	    || lx_conn_begin(req->db, err) == -1)
		return (-1);
	if (visible_plugin(req, &p, &owner, err) == -1)
		goto fail;
	if (!owner) {
		lx_err_set(err, 403, "not_publisher",
		    "only the owner of publisher %s publishes its plugins",
		    p.publisher);
		goto fail;
	}
	if (plugins_store_version_get(
	        req->db, p.id, lx_req_body_str(req, "version"), &v, err)
	        == -1
	    || publishable(&v, err) == -1
	    || publish_allowed(req, &p, &v, err) == -1)
		goto fail;
	d = detail2("name", p.name, "version", v.version);
	if (plugins_store_version_status(
	        req->db, v.id, "valid", "published", NULL, lx_now_ms(), err)
	        == -1
	    || plugins_store_plugin_latest(req->db, p.id, lx_now_ms(), err)
	        == -1
	    || tenants_http_audit(req, "plugin.publish", v.id, d, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	plugins_versions_cleanup(&v, 1);
	snprintf(vid, sizeof(vid), "%s", v.id);
	snprintf(pid, sizeof(pid), "%s", p.id);
	if (plugins_store_plugin_get(req->db, pid, &p, err) == -1
	    || plugins_store_version_get(req->db, NULL, vid, &v, err) == -1)
		goto out;
	send_pv(resp, 200, &p, &v);
	ret = 0;
	goto out;
fail:
	fail_tx(req);
out:
	plugins_versions_cleanup(&v, 1);
	lx_free(d);
	return (ret);
}

/* --- the module --- */

/* Reads plugins.allowed_permissions: a comma list of permission names,
 * or unset for all. */
static int
perms_setting(struct lx_server *srv, struct lx_err *err)
{
	const char *v = lx_server_setting(srv, "plugins.allowed_permissions");
	char name[64];
	const char *p, *e;
	size_t n;
	unsigned bit;

	allowed_perms = v == NULL ? EDGE_PERM_ALL : 0;
	for (p = v; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		while (p < e && *p == ' ')
			p++;
		for (n = (size_t)(e - p); n > 0 && p[n - 1] == ' '; n--)
			;
		if (n == 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if ((bit = edge_perm_by_name(name)) == 0)
			return (lx_err_set(err, 400, "bad_config",
			    "plugins.allowed_permissions: unknown permission "
			    "%s",
			    name));
		allowed_perms |= bit;
	}
	return (0);
}

static int
plugins_init(struct lx_server *srv, struct lx_err *err)
{
	if (perms_setting(srv, err) == -1)
		return (-1);
	module_srv = srv;
	lx_jobs_register(PLUGINS_VALIDATE_JOB, plugins_job_validate);
	lx_jobs_register(PLUGINS_HOOK_JOB, plugins_job_hook);
	lx_jobs_register(FUNCTIONS_PLUGIN_JOB, plugins_job_run);
	return (0);
}

static void
plugins_shutdown(void)
{
	module_srv = NULL;
}

static const struct lx_field pub_fields[] = {
	{ "name", F_STRING, 1, PLUGINS_NAME_MAX },
	{ "display_name", F_STRING, 0, PLUGINS_DISPLAY_MAX },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema pub_schema = { pub_fields };
static const struct lx_field key_fields[] = {
	{ "public_key", F_STRING, 1, 200 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema key_schema = { key_fields };
static const struct lx_field publish_fields[] = {
	{ "version", F_STRING, 1, PLUGINS_VERSION_MAX },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema publish_schema = { publish_fields };

#define READ NEED_TENANT_CTX_PERM(PERM_PLUGINS_READ)
#define WRITE NEED_TENANT_CTX_PERM(PERM_PLUGINS_WRITE)
#define ANY_METHOD (M_GET | M_POST | M_PUT | M_PATCH | M_DELETE)
#define RUN(path) \
	{ \
		path, ANY_METHOD, READ, &lx_any_body, plugins_http_run \
	}

static const struct lx_route plugins_routes[] = {
	{ "/publishers", M_GET, NEED_USER, NULL, h_pubs },
	{ "/publishers", M_POST, NEED_USER, &pub_schema, h_pub_create },
	{ "/publishers/{name}/keys", M_GET, NEED_USER, NULL, h_keys },
	{ "/publishers/{name}/keys", M_POST, NEED_USER, &key_schema,
	    h_key_create },
	{ "/publishers/{name}/keys/{key_id}", M_DELETE, NEED_USER, NULL,
	    h_key_revoke },
	{ "/plugins", M_GET, NEED_USER, NULL, h_list },
	{ "/plugins", M_POST, NEED_USER, &lx_raw_body, h_upload },
	{ "/plugins/installed", M_GET, READ, NULL, plugins_http_installed },
	{ "/plugins/{id}", M_GET, NEED_USER, NULL, h_get },
	{ "/plugins/{id}/publish", M_POST, NEED_USER, &publish_schema,
	    h_publish },
	{ "/plugins/{id}/install", M_POST, WRITE, &plugins_install_schema,
	    plugins_http_install },
	{ "/plugins/{id}/install", M_PATCH, WRITE,
	    &plugins_install_patch_schema, plugins_http_install_patch },
	{ "/plugins/{id}/install", M_DELETE, WRITE, NULL,
	    plugins_http_uninstall },
	{ "/plugins/{id}/upgrade", M_POST, WRITE, &plugins_upgrade_schema,
	    plugins_http_upgrade },
	{ "/plugins/{id}/invocations", M_GET, READ, NULL, h_invocations },
	RUN("/plugins/v1/{plugin}/{p1}"),
	RUN("/plugins/v1/{plugin}/{p1}/{p2}"),
	RUN("/plugins/v1/{plugin}/{p1}/{p2}/{p3}"),
	RUN("/plugins/v1/{plugin}/{p1}/{p2}/{p3}/{p4}"),
	{ NULL, 0, 0, NULL, NULL },
};

const struct lx_module plugins_module = {
	"plugins",
	plugins_routes,
	plugins_init,
	plugins_shutdown,
};
