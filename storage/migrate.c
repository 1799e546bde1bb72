/*
 * The migration runner: the top-level migrations/NNN_<module>.sql files
 * compiled into the binary are applied in name order, each in one
 * transaction, and recorded in lx_migrations with their SHA-256 and the
 * time they ran. A recorded migration whose text has changed since stops
 * the runner before anything is applied (code "migration_changed"); so does
 * a recorded one this binary does not know ("migration_unknown": the
 * database is newer than the program).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db_int.h"
#include "embed.h"

static const char sql_has_table[] =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
    "name = 'lx_migrations'";
static const char sql_create_table[] =
    "CREATE TABLE IF NOT EXISTS lx_migrations ("
    " name TEXT PRIMARY KEY,"
    " checksum TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL) STRICT";
static const char sql_applied[] =
    "SELECT name, checksum, applied_at FROM lx_migrations ORDER BY name";
static const char sql_is_applied[] =
    "SELECT 1 FROM lx_migrations WHERE name = ?1";
static const char sql_record[] =
    "INSERT INTO lx_migrations (name, checksum, applied_at) "
    "VALUES (?1, ?2, ?3)";

/* 1 if name is a migration: "NNN_<something>.sql" at the top level. */
static int
is_migration(const char *name)
{
	size_t n = strlen(name);

	return (n > 8 && isdigit((unsigned char)name[0])
	    && isdigit((unsigned char)name[1])
	    && isdigit((unsigned char)name[2]) && name[3] == '_'
	    && strchr(name, '/') == NULL && strcmp(name + n - 4, ".sql") == 0);
}

/* The SHA-256 of an embedded file, as 64 hex digits in out[65]. */
static void
checksum(const struct lx_embed *e, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, e->data, e->len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* One recorded migration, as read from lx_migrations. */
struct applied {
	char *name;
	char sum[65];
	int64_t at;
};

static void
applied_free(struct applied *a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		lx_free(a[i].name);
	lx_free(a);
}

/*
 * Reads lx_migrations into *out (count in *n); an absent table is an empty
 * list. Returns 0 or -1 with err.
 */
static int
read_applied(
    struct lx_conn *c, struct applied **out, int *n, struct lx_err *err)
{
	struct applied *a = NULL;
	sqlite3_stmt *st;
	const char *s;
	int rc, cnt = 0, ret = -1;

	*out = NULL;
	*n = 0;
	if ((st = lx_conn_stmt(c, sql_has_table, err)) == NULL)
		goto out;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		lx_conn_error(c, rc, "read migrations", err);
		goto out;
	}
	if ((st = lx_conn_stmt(c, sql_applied, err)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a = lx_realloc(a, sizeof(*a) * (size_t)(cnt + 1));
		a[cnt].name =
		    lx_strdup((const char *)sqlite3_column_text(st, 0));
		s = (const char *)sqlite3_column_text(st, 1);
		snprintf(a[cnt].sum, sizeof(a[cnt].sum), "%s", s ? s : "");
		a[cnt].at = sqlite3_column_int64(st, 2);
		cnt++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "read migrations", err);
		goto out;
	}
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	ret = 0;
out:
	applied_free(a, cnt);
	return (ret);
}

static const struct applied *
find_applied(const struct applied *a, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, name) == 0)
			return (&a[i]);
	return (NULL);
}

int
lx_migrate_status(
    struct lx_db *db, struct lx_migration_state **out, struct lx_err *err)
{
	struct lx_migration_state *s = NULL;
	const struct lx_embed *e;
	const struct applied *ap;
	struct applied *a = NULL;
	char sum[65];
	int n = 0, na = 0, ret = -1;

	*out = NULL;
	if (read_applied(lx_db_conn(db), &a, &na, err) == -1)
		goto out;
	for (e = lx_embed_migrations; e->name != NULL; e++) {
		if (!is_migration(e->name))
			continue;
		s = lx_realloc(s, sizeof(*s) * (size_t)(n + 1));
		memset(&s[n], 0, sizeof(s[n]));
		s[n].name = e->name;
		if ((ap = find_applied(a, na, e->name)) != NULL) {
			checksum(e, sum);
			s[n].applied = 1;
			s[n].changed = strcmp(sum, ap->sum) != 0;
			s[n].applied_at = ap->at;
		}
		n++;
	}
	*out = s;
	s = NULL;
	ret = n;
out:
	lx_free(s);
	applied_free(a, na);
	return (ret);
}

/*
 * Refuses to run when a recorded migration changed or is unknown to this
 * binary. Returns 0 or -1 with err.
 */
static int
check_recorded(const struct applied *a, int na, struct lx_err *err)
{
	const struct lx_embed *e;
	char sum[65];
	int i;

	for (i = 0; i < na; i++) {
		e = lx_embed_find(lx_embed_migrations, a[i].name);
		if (e == NULL)
			return (lx_err_set(err, 503, "migration_unknown",
			    "migration %s is recorded in the database but "
			    "unknown to this program (the database is newer "
			    "than the binary)",
			    a[i].name));
		checksum(e, sum);
		if (strcmp(sum, a[i].sum) != 0)
			return (lx_err_set(err, 503, "migration_changed",
			    "migration %s was changed after it was applied "
			    "(recorded sha256 %.12s..., now %.12s...); restore "
			    "its original text and add a new migration instead",
			    a[i].name, a[i].sum, sum));
	}
	return (0);
}

/* Applies e in one transaction unless another process just did. */
static int
apply_one(
    struct lx_conn *c, const struct lx_embed *e, int *ran, struct lx_err *err)
{
	sqlite3_stmt *st;
	char sum[65], what[160];
	int rc, ret = -1;

	*ran = 0;
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if ((st = lx_conn_stmt(c, sql_is_applied, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		ret = lx_conn_commit(c, err);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "read migrations", err);
		goto out;
	}
	rc = sqlite3_exec(
	    lx_conn_sqlite(c), (const char *)e->data, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(what, sizeof(what), "migration %s", e->name);
		lx_conn_error(c, rc, what, err);
		goto out;
	}
	checksum(e, sum);
	if ((st = lx_conn_stmt(c, sql_record, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sum, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, lx_now_ms());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "record migration", err);
		goto out;
	}
	if (lx_conn_commit(c, err) == -1)
		goto out;
	lx_log(LX_LOG_INFO, "applied migration %s", e->name);
	*ran = 1;
	ret = 0;
out:
	if (ret == -1)
		lx_conn_rollback(c);
	return (ret);
}

int
lx_migrate_up(struct lx_db *db, int *applied, struct lx_err *err)
{
	struct lx_conn *c = lx_db_conn(db);
	const struct lx_embed *e;
	struct applied *a = NULL;
	int na = 0, ran, n = 0, ret = -1;

	if (applied != NULL)
		*applied = 0;
	if (read_applied(c, &a, &na, err) == -1)
		goto out;
	if (check_recorded(a, na, err) == -1)
		goto out;
	if (na == 0 && lx_conn_exec(c, sql_create_table, err) == -1)
		goto out;
	for (e = lx_embed_migrations; e->name != NULL; e++) {
		if (!is_migration(e->name) || find_applied(a, na, e->name))
			continue;
		if (apply_one(c, e, &ran, err) == -1)
			goto out;
		n += ran;
	}
	ret = 0;
out:
	if (applied != NULL)
		*applied = n;
	applied_free(a, na);
	return (ret);
}

int
lx_migrate_current(struct lx_db *db)
{
	struct lx_migration_state *s = NULL;
	struct lx_err err;
	int i, n, ok = 1;

	lx_err_clear(&err);
	if ((n = lx_migrate_status(db, &s, &err)) == -1)
		return (0);
	for (i = 0; i < n; i++)
		if (!s[i].applied || s[i].changed)
			ok = 0;
	lx_free(s);
	return (ok);
}
