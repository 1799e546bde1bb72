/*
 * The statements of the plugin registry (migrations/005): publishers and
 * their keys, plugins and their versions, read and written as system code
 * (instance-wide rows: each registry statement runs between
 * lx_conn_system_begin and _end, so it compiles under a request's context
 * and is used only there); a tenant's installations through the policy
 * view p_plugin_installations, so a forgotten tenant filter fails closed;
 * and the lookups of plugin routes and hooks, which read the route or
 * hook out of the stored canonical manifest with SQLite's json_each.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "edge.h"
#include "functions.h"
#include "jobs.h"
#include "plugins.h"
#include "storage.h"

/* Binds s, or NULL for an empty s. */
static void
bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL && s[0] != '\0')
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Steps a write of system code: 0, or -1 with err (code when the write
 * broke a constraint, e.g. a unique name). */
static int
step_write(struct lx_conn *c, sqlite3_stmt *st, const char *what,
    const char *code, const char *detail, struct lx_err *err)
{
	int rc = sqlite3_step(st);

	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		return (0);
	if ((rc & 0xff) == SQLITE_CONSTRAINT && code != NULL)
		return (lx_err_set(err, 409, code, "%s", detail));
	return (lx_conn_error(c, rc, what, err));
}

/* --- publishers and keys --- */

#define PUB_COLS "id, name, display_name, owner_id, created_at, updated_at"

static void
pub_row(sqlite3_stmt *st, struct plugins_publisher *p)
{
	memset(p, 0, sizeof(*p));
	lx_col_text(st, 0, p->id, sizeof(p->id));
	lx_col_text(st, 1, p->name, sizeof(p->name));
	lx_col_text(st, 2, p->display_name, sizeof(p->display_name));
	lx_col_text(st, 3, p->owner_id, sizeof(p->owner_id));
	p->created_at = sqlite3_column_int64(st, 4);
	p->updated_at = sqlite3_column_int64(st, 5);
}

static const char sql_pub_insert[] =
    "INSERT INTO plugin_publishers (" PUB_COLS ") VALUES (?1, ?2, ?3, ?4, "
    "?5, ?5)";

int
plugins_store_publisher_insert(
    struct lx_conn *c, const struct plugins_publisher *p, struct lx_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_pub_insert, err)) != NULL) {
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, p->display_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, p->owner_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, p->created_at);
		ret = step_write(c, st, "publisher", "publisher_exists",
		    "a publisher of this name exists", err);
	}
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_pub_get[] =
    "SELECT " PUB_COLS " FROM plugin_publishers WHERE name = ?1";

int
plugins_store_publisher_get(struct lx_conn *c, const char *name,
    struct plugins_publisher *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_pub_get, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		pub_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "not_found", "no such publisher");
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "publisher", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_pubs[] =
    "SELECT " PUB_COLS " FROM plugin_publishers WHERE (?1 IS NULL OR "
    "owner_id = ?1) AND name > ?2 ORDER BY name LIMIT ?3";

int
plugins_store_publishers(struct lx_conn *c, const char *owner_id,
    const char *after, int limit, struct plugins_publisher *rows, int *n,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = -1;

	*n = 0;
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_pubs, err)) == NULL)
		goto out;
	bind_opt(st, 1, owner_id);
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		pub_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		lx_conn_error(c, rc, "publishers", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

#define KEY_COLS "id, key_id, public_key, created_at, coalesce(revoked_at, 0)"

static void
key_row(sqlite3_stmt *st, struct plugins_key *k)
{
	memset(k, 0, sizeof(*k));
	lx_col_text(st, 0, k->id, sizeof(k->id));
	lx_col_text(st, 1, k->key_id, sizeof(k->key_id));
	lx_col_text(st, 2, k->public_key, sizeof(k->public_key));
	k->created_at = sqlite3_column_int64(st, 3);
	k->revoked_at = sqlite3_column_int64(st, 4);
}

static const char sql_key_insert[] =
    "INSERT INTO plugin_publisher_keys (id, publisher_id, key_id, "
    "public_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";

int
plugins_store_key_insert(struct lx_conn *c, const char *publisher_id,
    const struct plugins_key *k, struct lx_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_key_insert, err)) != NULL) {
		sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, publisher_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, k->key_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, k->public_key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, k->created_at);
		ret = step_write(c, st, "publisher key", "key_exists",
		    "this key is registered already", err);
	}
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_keys[] =
    "SELECT " KEY_COLS " FROM plugin_publisher_keys WHERE publisher_id = "
    "?1 ORDER BY created_at, id LIMIT ?2";

int
plugins_store_keys(struct lx_conn *c, const char *publisher_id,
    struct plugins_key *rows, int limit, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = -1;

	*n = 0;
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_keys, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, publisher_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		key_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		lx_conn_error(c, rc, "publisher keys", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_key_get[] =
    "SELECT " KEY_COLS " FROM plugin_publisher_keys WHERE publisher_id = "
    "?1 AND key_id = ?2";

int
plugins_store_key_get(struct lx_conn *c, const char *publisher_id,
    const char *key_id, struct plugins_key *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_key_get, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, publisher_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		key_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "key_not_found",
		    "the publisher has no key %.16s", key_id);
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "publisher key", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_key_revoke[] =
    "UPDATE plugin_publisher_keys SET revoked_at = ?3 WHERE publisher_id = "
    "?1 AND key_id = ?2 AND revoked_at IS NULL";

int
plugins_store_key_revoke(struct lx_conn *c, const char *publisher_id,
    const char *key_id, int64_t now, struct lx_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_key_revoke, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, publisher_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (step_write(c, st, "publisher key", NULL, NULL, err) == -1)
		goto out;
	if (sqlite3_changes(lx_conn_sqlite(c)) != 1)
		lx_err_set(err, 409, "key_revoked",
		    "key %.16s is revoked already", key_id);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

/* --- plugins --- */

#define PLUGIN_COLS \
	"p.id, p.name, p.publisher_id, u.name, u.owner_id, p.description, " \
	"coalesce(p.latest_version, ''), p.created_at, p.updated_at"
#define PLUGIN_FROM \
	" FROM plugins p JOIN plugin_publishers u ON u.id = p.publisher_id "

static void
plugin_row(sqlite3_stmt *st, struct plugins_plugin *p)
{
	memset(p, 0, sizeof(*p));
	lx_col_text(st, 0, p->id, sizeof(p->id));
	lx_col_text(st, 1, p->name, sizeof(p->name));
	lx_col_text(st, 2, p->publisher_id, sizeof(p->publisher_id));
	lx_col_text(st, 3, p->publisher, sizeof(p->publisher));
	lx_col_text(st, 4, p->owner_id, sizeof(p->owner_id));
	lx_col_text(st, 5, p->description, sizeof(p->description));
	lx_col_text(st, 6, p->latest_version, sizeof(p->latest_version));
	p->created_at = sqlite3_column_int64(st, 7);
	p->updated_at = sqlite3_column_int64(st, 8);
}

static const char sql_plugin_get[] =
    "SELECT " PLUGIN_COLS PLUGIN_FROM "WHERE p.id = ?1 OR p.name = ?1";

int
plugins_store_plugin_get(struct lx_conn *c, const char *ref,
    struct plugins_plugin *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_plugin_get, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		plugin_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "not_found", "no such plugin");
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "plugin", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_plugin_insert[] =
    "INSERT INTO plugins (id, name, publisher_id, description, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

int
plugins_store_plugin_insert(
    struct lx_conn *c, const struct plugins_plugin *p, struct lx_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_plugin_insert, err)) != NULL) {
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, p->publisher_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, p->description, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, p->created_at);
		ret = step_write(c, st, "plugin", "name_taken",
		    "a plugin of this name exists", err);
	}
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_plugins[] =
    "SELECT " PLUGIN_COLS PLUGIN_FROM
    "WHERE (?1 IS NULL OR p.latest_version IS NOT NULL OR u.owner_id = ?1) "
    "AND p.name > ?2 ORDER BY p.name LIMIT ?3";

int
plugins_store_plugins(struct lx_conn *c, const char *owner_id,
    const char *after, int limit, struct plugins_plugin *rows, int *n,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = -1;

	*n = 0;
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_plugins, err)) == NULL)
		goto out;
	bind_opt(st, 1, owner_id);
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		plugin_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		lx_conn_error(c, rc, "plugins", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_published[] =
    "SELECT version, json_extract(manifest, '$.description') FROM "
    "plugin_versions WHERE plugin_id = ?1 AND status = 'published'";
static const char sql_latest[] =
    "UPDATE plugins SET latest_version = ?2, description = "
    "coalesce(?3, description), updated_at = ?4 WHERE id = ?1";

int
plugins_store_plugin_latest(
    struct lx_conn *c, const char *plugin_id, int64_t now, struct lx_err *err)
{
	char *best = NULL, *desc = NULL;
	const char *v;
	sqlite3_stmt *st;
	int rc, ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_published, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, plugin_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(st, 0);
		if (v == NULL
		    || (best != NULL && plugins_semver_cmp(v, best) <= 0))
			continue;
		lx_free(best);
		lx_free(desc);
		best = lx_strdup(v);
		desc = lx_col_dup(st, 1);
	}
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "published versions", err);
		goto out;
	}
	if ((st = lx_conn_stmt(c, sql_latest, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, plugin_id, -1, SQLITE_STATIC);
	bind_opt(st, 2, best);
	bind_opt(st, 3, desc);
	sqlite3_bind_int64(st, 4, now);
	ret = step_write(c, st, "plugin", NULL, NULL, err);
out:
	lx_conn_system_end(c);
	lx_free(best);
	lx_free(desc);
	return (ret);
}

/* --- versions --- */

#define VERSION_COLS \
	"id, plugin_id, version, status, digest, coalesce(key_id, ''), " \
	"uploaded_by, size, manifest, permissions, report, created_at, " \
	"coalesce(validated_at, 0), coalesce(published_at, 0)"

static void
version_row(sqlite3_stmt *st, struct plugins_version *v)
{
	memset(v, 0, sizeof(*v));
	lx_col_text(st, 0, v->id, sizeof(v->id));
	lx_col_text(st, 1, v->plugin_id, sizeof(v->plugin_id));
	lx_col_text(st, 2, v->version, sizeof(v->version));
	lx_col_text(st, 3, v->status, sizeof(v->status));
	lx_col_text(st, 4, v->digest, sizeof(v->digest));
	lx_col_text(st, 5, v->key_id, sizeof(v->key_id));
	lx_col_text(st, 6, v->uploaded_by, sizeof(v->uploaded_by));
	v->size = sqlite3_column_int64(st, 7);
	v->manifest = lx_col_dup(st, 8);
	v->permissions = lx_col_dup(st, 9);
	v->report = lx_col_dup(st, 10);
	v->created_at = sqlite3_column_int64(st, 11);
	v->validated_at = sqlite3_column_int64(st, 12);
	v->published_at = sqlite3_column_int64(st, 13);
}

void
plugins_versions_cleanup(struct plugins_version *rows, int n)
{
	int i;

	for (i = 0; rows != NULL && i < n; i++) {
		lx_free(rows[i].manifest);
		lx_free(rows[i].permissions);
		lx_free(rows[i].report);
		rows[i].manifest = rows[i].permissions = rows[i].report = NULL;
	}
}

static const char sql_version_insert[] =
    "INSERT INTO plugin_versions (id, plugin_id, version, status, "
    "manifest, size, digest, key_id, permissions, uploaded_by, created_at, "
    "bundle) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

int
plugins_store_version_insert(struct lx_conn *c, const struct plugins_version *v,
    const char *bundle, size_t len, struct lx_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_version_insert, err)) != NULL) {
		sqlite3_bind_text(st, 1, v->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v->plugin_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, v->version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, v->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, v->manifest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, v->size);
		sqlite3_bind_text(st, 7, v->digest, -1, SQLITE_STATIC);
		bind_opt(st, 8, v->key_id);
		sqlite3_bind_text(st, 9, v->permissions, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, v->uploaded_by, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, v->created_at);
		sqlite3_bind_blob(st, 12, bundle, (int)len, SQLITE_STATIC);
		ret = step_write(c, st, "plugin version", "version_exists",
		    "this version is uploaded already", err);
	}
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_version_get[] =
    "SELECT " VERSION_COLS " FROM plugin_versions WHERE plugin_id = ?1 "
    "AND version = ?2";
static const char sql_version_by_id[] =
    "SELECT " VERSION_COLS " FROM plugin_versions WHERE id = ?1";

int
plugins_store_version_get(struct lx_conn *c, const char *plugin_id,
    const char *version, struct plugins_version *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, ret = -1;

	memset(out, 0, sizeof(*out));
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c,
	         plugin_id != NULL ? sql_version_get : sql_version_by_id, err))
	    == NULL)
		goto out;
	if (plugin_id != NULL) {
		sqlite3_bind_text(st, 1, plugin_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	} else
		sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		version_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "version_not_found",
		    "the plugin has no version %.128s", version);
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "plugin version", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_versions[] =
    "SELECT " VERSION_COLS " FROM plugin_versions WHERE plugin_id = ?1 "
    "ORDER BY created_at DESC, id DESC LIMIT ?2";

int
plugins_store_versions(struct lx_conn *c, const char *plugin_id,
    struct plugins_version *rows, int limit, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = -1;

	*n = 0;
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_versions, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, plugin_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		version_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		lx_conn_error(c, rc, "plugin versions", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_version_status[] =
    "UPDATE plugin_versions SET status = ?3, report = coalesce(?4, report), "
    "validated_at = CASE WHEN ?3 IN ('valid', 'invalid') THEN ?5 ELSE "
    "validated_at END, published_at = CASE WHEN ?3 = 'published' THEN ?5 "
    "ELSE published_at END WHERE id = ?1 AND status = ?2";

int
plugins_store_version_status(struct lx_conn *c, const char *id,
    const char *from, const char *to, const char *report, int64_t now,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_version_status, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	bind_opt(st, 4, report);
	sqlite3_bind_int64(st, 5, now);
	if (step_write(c, st, "plugin version", NULL, NULL, err) == -1)
		goto out;
	if (sqlite3_changes(lx_conn_sqlite(c)) != 1)
		lx_err_set(err, 409, "version_changed",
		    "the version is no longer %s", from);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

static const char sql_bundle[] =
    "SELECT bundle FROM plugin_versions WHERE id = ?1";

int
plugins_store_bundle(struct lx_conn *c, const char *id, char **data,
    size_t *len, struct lx_err *err)
{
	sqlite3_stmt *st;
	const void *p;
	int rc = SQLITE_ERROR, ret = -1;

	*data = NULL;
	*len = 0;
	lx_conn_system_begin(c);
	if ((st = lx_conn_stmt(c, sql_bundle, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = sqlite3_column_blob(st, 0);
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*data = lx_malloc(*len + 1);
		if (*len > 0)
			memcpy(*data, p, *len);
		(*data)[*len] = '\0';
	}
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		lx_err_set(err, 404, "version_not_found", "no such version");
	else if (rc != SQLITE_ROW)
		lx_conn_error(c, rc, "plugin bundle", err);
	else
		ret = 0;
out:
	lx_conn_system_end(c);
	return (ret);
}

/* --- installations (p_plugin_installations) --- */

#define INST_COLS \
	"i.id, i.plugin_id, p.name, i.version_id, i.version, i.status, " \
	"coalesce(i.installed_by, ''), i.config, v.permissions, " \
	"i.created_at, " \
	"i.updated_at"
#define INST_FROM \
	" FROM p_plugin_installations i JOIN plugins p ON p.id = i.plugin_id " \
	"JOIN plugin_versions v ON v.id = i.version_id "

static void
inst_row(sqlite3_stmt *st, struct plugins_installation *i)
{
	memset(i, 0, sizeof(*i));
	lx_col_text(st, 0, i->id, sizeof(i->id));
	lx_col_text(st, 1, i->plugin_id, sizeof(i->plugin_id));
	lx_col_text(st, 2, i->plugin, sizeof(i->plugin));
	lx_col_text(st, 3, i->version_id, sizeof(i->version_id));
	lx_col_text(st, 4, i->version, sizeof(i->version));
	lx_col_text(st, 5, i->status, sizeof(i->status));
	lx_col_text(st, 6, i->installed_by, sizeof(i->installed_by));
	i->config = lx_col_dup(st, 7);
	i->permissions = lx_col_dup(st, 8);
	i->created_at = sqlite3_column_int64(st, 9);
	i->updated_at = sqlite3_column_int64(st, 10);
}

void
plugins_insts_cleanup(struct plugins_installation *rows, int n)
{
	int i;

	for (i = 0; rows != NULL && i < n; i++) {
		lx_free(rows[i].config);
		lx_free(rows[i].permissions);
		rows[i].config = rows[i].permissions = NULL;
	}
}

static const char sql_inst_get[] =
    "SELECT " INST_COLS INST_FROM "WHERE i.plugin_id = ?1";

int
plugins_store_inst_get(struct lx_conn *c, const char *plugin_id,
    struct plugins_installation *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_inst_get, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, plugin_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		inst_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "installation_not_found",
		    "the plugin is not installed in this tenant"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "installation", err));
	return (0);
}

static const char sql_insts[] =
    "SELECT " INST_COLS INST_FROM "WHERE p.name > ?1 ORDER BY p.name "
    "LIMIT ?2";

int
plugins_store_insts(struct lx_conn *c, const char *after, int limit,
    struct plugins_installation *rows, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_insts, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		inst_row(st, &rows[(*n)++]);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "installations", err));
	return (0);
}

static const char sql_inst_insert[] =
    "INSERT INTO p_plugin_installations (id, tenant_id, plugin_id, "
    "version_id, version, status, config, installed_by, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)";

int
plugins_store_inst_insert(struct lx_conn *c, const char *tenant_id,
    const struct plugins_installation *i, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_inst_insert, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, i->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, i->plugin_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, i->version_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, i->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, i->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, i->config, -1, SQLITE_STATIC);
	bind_opt(st, 8, i->installed_by);
	sqlite3_bind_int64(st, 9, i->created_at);
	return (lx_conn_step_one(
	    c, st, "installation", "not_found", "no such tenant", err));
}

static const char sql_inst_update[] =
    "UPDATE p_plugin_installations SET version_id = ?2, version = ?3, "
    "status = ?4, config = ?5, updated_at = ?6 WHERE id = ?1";

int
plugins_store_inst_update(
    struct lx_conn *c, const struct plugins_installation *i, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_inst_update, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, i->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, i->version_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, i->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, i->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, i->config, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, i->updated_at);
	return (
	    lx_conn_step_one(c, st, "installation", "installation_not_found",
	        "the plugin is not installed in this tenant", err));
}

static const char sql_inst_delete[] =
    "DELETE FROM p_plugin_installations WHERE id = ?1";
static const char sql_docs_delete[] =
    "DELETE FROM p_function_documents WHERE namespace = ?1";

int
plugins_store_inst_delete(
    struct lx_conn *c, const char *id, const char *ns, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_inst_delete, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (lx_conn_step_one(c, st, "installation", "installation_not_found",
	        "the plugin is not installed in this tenant", err)
	    == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, sql_docs_delete, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
	if (lx_conn_step_done(c, st, "plugin documents", err) == -1)
		return (-1);
	(void)lx_conn_policy_changes(c);
	return (0);
}

/* --- plugin routes and hooks --- */

/* The enum edge_perm bits of a JSON array of permission names. */
static unsigned
perms_of(const char *json)
{
	cJSON *a = json != NULL ? cJSON_Parse(json) : NULL, *e;
	unsigned bits = 0;

	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e))
			bits |= edge_perm_by_name(e->valuestring);
	}
	cJSON_Delete(a);
	return (bits);
}

#define TARGET_COLS \
	"i.id, i.tenant_id, p.name, i.version_id, i.version, i.status = " \
	"'enabled', i.config, v.permissions, i.plugin_id"

static void
target_row(sqlite3_stmt *st, struct plugins_target *t)
{
	memset(t, 0, sizeof(*t));
	lx_col_text(st, 0, t->installation_id, sizeof(t->installation_id));
	lx_col_text(st, 1, t->tenant_id, sizeof(t->tenant_id));
	lx_col_text(st, 2, t->plugin, sizeof(t->plugin));
	lx_col_text(st, 3, t->version_id, sizeof(t->version_id));
	lx_col_text(st, 4, t->version, sizeof(t->version));
	t->enabled = sqlite3_column_int(st, 5);
	t->config = lx_col_dup(st, 6);
	t->perms = perms_of((const char *)sqlite3_column_text(st, 7));
	lx_col_text(st, 8, t->plugin_id, sizeof(t->plugin_id));
	t->file = lx_col_dup(st, 9);
}

void
plugins_target_cleanup(struct plugins_target *t)
{
	if (t == NULL)
		return;
	lx_free(t->file);
	lx_free(t->config);
	t->file = t->config = NULL;
}

static const char sql_route[] =
    "SELECT " TARGET_COLS ", (SELECT json_extract(r.value, '$.file') FROM "
    "json_each(v.manifest, '$.routes') r WHERE json_extract(r.value, "
    "'$.method') = ?2 AND json_extract(r.value, '$.path') = ?3) "
    "FROM p_plugin_installations i JOIN plugins p ON p.id = i.plugin_id "
    "JOIN plugin_versions v ON v.id = i.version_id WHERE p.name = ?1";

int
plugins_store_route(struct lx_conn *c, const char *plugin, const char *method,
    const char *path, struct plugins_target *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_route, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		target_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "not_found",
		    "no plugin of this name is installed in this tenant"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "plugin route", err));
	return (0);
}

static const char sql_hook[] =
    "SELECT " TARGET_COLS ", (SELECT json_extract(h.value, '$.file') FROM "
    "json_each(v.manifest, '$.hooks') h WHERE json_extract(h.value, "
    "'$.event') = ?2) "
    "FROM plugin_installations i JOIN plugins p ON p.id = i.plugin_id "
    "JOIN plugin_versions v ON v.id = i.version_id WHERE i.id = ?1";

int
plugins_store_hook(struct lx_conn *c, const char *installation_id,
    const char *event, struct plugins_target *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_hook, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, installation_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		target_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "installation_not_found",
		    "the installation is gone"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "plugin hook", err));
	return (0);
}

static const char sql_job[] =
    "SELECT " TARGET_COLS ", NULL FROM plugin_installations i JOIN plugins "
    "p ON p.id = i.plugin_id JOIN plugin_versions v ON v.id = "
    "i.version_id WHERE i.tenant_id = ?1 AND p.name = ?2";

int
plugins_store_job(struct lx_conn *c, const char *tenant_id, const char *plugin,
    struct plugins_target *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_job, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, plugin, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		target_row(st, out);
	lx_stmt_finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "installation_not_found",
		    "the installation is gone"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "plugin job", err));
	return (0);
}

static const char sql_hooked[] =
    "SELECT i.id FROM plugin_installations i JOIN plugin_versions v ON "
    "v.id = i.version_id WHERE i.tenant_id = ?1 AND i.status = 'enabled' "
    "AND EXISTS (SELECT 1 FROM json_each(v.manifest, '$.hooks') h WHERE "
    "json_extract(h.value, '$.event') = ?2) ORDER BY i.id";

int
plugins_store_hook_enqueue(struct lx_conn *c, const char *tenant_id,
    const char *event, const char *data_json, struct lx_err *err)
{
	char ids[PLUGINS_PAGE_MAX][PLUGINS_ID_SIZE];
	struct lx_buf b;
	sqlite3_stmt *st;
	int i, n = 0, rc = SQLITE_DONE, ret = -1;

	lx_buf_init(&b);
	if ((st = lx_conn_stmt(c, sql_hooked, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	while (n < PLUGINS_PAGE_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW)
		lx_col_text(st, 0, ids[n++], PLUGINS_ID_SIZE);
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		lx_conn_error(c, rc, "hooked installations", err);
		goto out;
	}
	if (rc == SQLITE_ROW)
		lx_log(LX_LOG_WARN,
		    "plugins: more than %d installations of tenant %s hook "
		    "%s; the first %d run",
		    PLUGINS_PAGE_MAX, tenant_id, event, PLUGINS_PAGE_MAX);
	for (i = 0; i < n; i++) {
		lx_buf_reset(&b);
		lx_buf_adds(&b, "{\"tenant_id\":");
		lx_buf_add_json_str(&b, tenant_id);
		lx_buf_adds(&b, ",\"installation_id\":");
		lx_buf_add_json_str(&b, ids[i]);
		lx_buf_adds(&b, ",\"type\":");
		lx_buf_add_json_str(&b, event);
		lx_buf_adds(&b, ",\"data\":");
		lx_buf_adds(&b, data_json);
		lx_buf_adds(&b, "}");
		if (lx_jobs_enqueue(
		        c, PLUGINS_HOOK_JOB, b.data, 0, 5, NULL, err)
		    == -1)
			goto out;
	}
	ret = 0;
out:
	lx_buf_cleanup(&b);
	return (ret);
}

/* --- the invocation log (p_plugin_invocations) --- */

static const char sql_invocations[] =
    "SELECT id, tenant_id, plugin_id, version, started_at, duration_us, "
    "status, memory, error, log, coalesce(request_id, ''), "
    "coalesce(actor, ''), kind, target FROM p_plugin_invocations WHERE "
    "plugin_id = ?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3";

int
plugins_store_invocations(struct lx_conn *c, const char *plugin_id,
    int64_t before, int limit, struct functions_invocation *rows, int *n,
    struct lx_err *err)
{
	struct functions_invocation *r;
	const unsigned char *k;
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_invocations, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, plugin_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int(st, 3, limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = &rows[(*n)++];
		functions_invocation_row(st, r);
		k = sqlite3_column_text(st, 12);
		r->kind = FUNCTIONS_LOG_PLUGIN_JOB;
		if (k != NULL && strcmp((const char *)k, "route") == 0)
			r->kind = FUNCTIONS_LOG_PLUGIN_ROUTE;
		else if (k != NULL && strcmp((const char *)k, "hook") == 0)
			r->kind = FUNCTIONS_LOG_PLUGIN_HOOK;
		r->target = lx_col_dup(st, 13);
	}
	lx_stmt_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "plugin invocations", err));
	return (0);
}

void
plugins_invocations_cleanup(struct functions_invocation *rows, int n)
{
	int i;

	for (i = 0; rows != NULL && i < n; i++) {
		lx_free(rows[i].target);
		rows[i].target = NULL;
	}
	functions_invocations_cleanup(rows, n);
}
