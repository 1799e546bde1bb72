/*
 * The rules of edge functions, shared by the HTTP routes and the CLI
 * (`luxima fn`): what a name and a version may be, deploying a version
 * (compile check first, a new name within the plan's quota, versions
 * immutable and rising), and the audit detail of a change. No HTTP here;
 * statements in functions_store.c.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "functions.h"
#include "plugins.h"
#include "tenants.h"

#define VERSIONS_MAX 1000 /* versions kept per function */

int
functions_name_ok(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	return (n >= 1 && n <= FUNCTIONS_NAME_MAX && name[0] >= 'a'
	    && name[0] <= 'z'
	    && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n
	    && strcmp(name, "v1") != 0);
}

void
functions_uuid(char out[FUNCTIONS_ID_SIZE])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, FUNCTIONS_ID_SIZE,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
	    "%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

/* Audit detail: the function's name and version. */
char *
functions_detail(const char *name, const char *version, int public)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"name\":");
	lx_buf_add_json_str(&b, name);
	if (version != NULL) {
		lx_buf_adds(&b, ",\"version\":");
		lx_buf_add_json_str(&b, version);
	}
	if (public >= 0)
		lx_buf_adds(
		    &b, public ? ",\"public\":true" : ",\"public\":false");
	lx_buf_adds(&b, "}");
	return (lx_buf_take(&b));
}

/* 409 unless version is above every stored version of fn_id. */
static int
version_newer(struct lx_conn *c, const char *fn_id, const char *version,
    struct lx_err *err)
{
	struct functions_version *rows;
	int i, n, ret = -1;

	rows = lx_calloc(VERSIONS_MAX, sizeof(*rows));
	if (functions_store_versions(c, fn_id, rows, VERSIONS_MAX, &n, err)
	    == -1)
		goto out;
	if (n >= VERSIONS_MAX) {
		lx_err_set(err, 409, "too_many_versions",
		    "a function keeps at most %d versions; delete it and "
		    "deploy again",
		    VERSIONS_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (plugins_semver_cmp(version, rows[i].version) == 0) {
			lx_err_set(err, 409, "version_exists",
			    "version %s is deployed already (versions are "
			    "immutable; deploy a higher one)",
			    rows[i].version);
			goto out;
		}
		if (plugins_semver_cmp(version, rows[i].version) < 0) {
			lx_err_set(err, 409, "version_not_newer",
			    "version %s is not above %s; to serve an earlier "
			    "version, roll back to it",
			    version, rows[i].version);
			goto out;
		}
	}
	ret = 0;
out:
	lx_free(rows);
	return (ret);
}

/* The deploy's checks before any write: name, version, source compiles. */
static int
deploy_check(const struct functions_deploy *in, struct lx_err *err)
{
	struct edge_chunk *chunk;
	size_t len = strlen(in->source);
	char key[96];

	if (!functions_name_ok(in->name))
		return (lx_err_set(err, 422, "invalid_name",
		    "name must be 1 to %d of a-z, 0-9, '_' and '-', starting "
		    "with a letter (and not \"v1\")",
		    FUNCTIONS_NAME_MAX));
	if (plugins_semver_parse(in->version, NULL) == -1)
		return (lx_err_set(err, 422, "invalid_version",
		    "version must be a semantic version (1.2.3, "
		    "1.0.0-beta.1)"));
	if (len > FUNCTIONS_SOURCE_MAX)
		return (lx_err_set(err, 422, "too_long",
		    "source holds at most %zu bytes", FUNCTIONS_SOURCE_MAX));
	snprintf(key, sizeof(key), "deploy:%s", in->name);
	return (edge_compile(
	    functions_pool_state(), key, in->source, len, &chunk, err));
}

static int
audit(struct lx_conn *c, const struct functions_deploy *in, const char *fn_id,
    const char *d, struct lx_err *err)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	e.actor = in->actor;
	e.tenant = in->tenant_id;
	e.action = "function.deploy";
	e.target = fn_id;
	e.request_id = in->request_id;
	e.address = in->address;
	e.detail_json = d;
	return (audit_record(c, &e, err));
}

/* Inside the transaction: the function named in->name, made (within the
 * plan's quota) when the tenant has none. */
static int
deploy_fn(struct lx_conn *c, const struct functions_deploy *in,
    struct functions_fn *f, int *created, struct lx_err *err)
{
	*created = 0;
	if (functions_store_get(c, in->name, f, err) == 0)
		return (version_newer(c, f->id, in->version, err));
	if (err->status != 404
	    || (in->srv != NULL
	        && tenants_quota_room(
	               in->srv, c, in->tenant_id, "functions", err)
	            == -1))
		return (-1);
	memset(f, 0, sizeof(*f));
	functions_uuid(f->id);
	snprintf(f->tenant_id, sizeof(f->tenant_id), "%s", in->tenant_id);
	snprintf(f->name, sizeof(f->name), "%s", in->name);
	snprintf(f->created_by, sizeof(f->created_by), "%s", in->actor);
	snprintf(
	    f->active_version, sizeof(f->active_version), "%s", in->version);
	f->created_at = lx_now_ms();
	f->public = in->public == 1;
	*created = 1;
	return (functions_store_insert(c, f, err));
}

int
functions_deploy(struct lx_conn *c, const struct functions_deploy *in,
    struct functions_fn *f, struct functions_version *v, int *created,
    struct lx_err *err)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char *d = NULL;
	int ret = -1;

	memset(v, 0, sizeof(*v));
	*created = 0;
	if (deploy_check(in, err) == -1)
		return (-1);
	functions_uuid(v->id);
	snprintf(v->version, sizeof(v->version), "%s", in->version);
	v->source = (char *)in->source;
	v->size = (int64_t)strlen(in->source);
	crypto_hash_sha256(
	    h, (const unsigned char *)in->source, (size_t)v->size);
	sodium_bin2hex(v->sha256, sizeof(v->sha256), h, sizeof(h));
	snprintf(v->created_by, sizeof(v->created_by), "%s", in->actor);
	v->created_at = lx_now_ms();
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (deploy_fn(c, in, f, created, err) == -1)
		goto fail;
	snprintf(
	    f->active_version, sizeof(f->active_version), "%s", in->version);
	if (in->public >= 0)
		f->public = in->public;
	f->updated_at = v->created_at;
	d = functions_detail(in->name, in->version, f->public);
	if (functions_store_version_insert(c, in->tenant_id, f->id, v, err)
	        == -1
	    || functions_store_update(c, f, err) == -1
	    || audit(c, in, f->id, d, err) == -1
	    || lx_conn_commit(c, err) == -1)
		goto fail;
	f->nversions++;
	ret = 0;
	goto out;
fail:
	lx_conn_rollback(c);
out:
	v->source = NULL;
	lx_free(d);
	return (ret);
}
