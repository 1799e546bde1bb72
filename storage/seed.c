/*
 * Seed sets: "defaults" runs every migrations/seeds/<what>_default.sql, "demo"
 * runs those and then every <what>_demo.sql, all in one transaction after any
 * pending migration. Seed files are written to be idempotent (INSERT OR
 * IGNORE, ON CONFLICT), so running a set twice leaves the same rows. Each
 * run is recorded in the audit log.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db_int.h"
#include "embed.h"

/* 1 if name is "seeds/<what><suffix>". */
static int
in_set(const char *name, const char *suffix)
{
	size_t n = strlen(name), sn = strlen(suffix);

	return (strncmp(name, "seeds/", 6) == 0 && n > 6 + sn
	    && strchr(name + 6, '/') == NULL
	    && strcmp(name + n - sn, suffix) == 0);
}

/* Runs every seed file ending in suffix; counts them in *nfiles. */
static int
run_files(
    struct lx_conn *c, const char *suffix, int *nfiles, struct lx_err *err)
{
	const struct lx_embed *e;
	char what[160];
	int rc;

	for (e = lx_embed_migrations; e->name != NULL; e++) {
		if (!in_set(e->name, suffix))
			continue;
		rc = sqlite3_exec(
		    lx_conn_sqlite(c), (const char *)e->data, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			snprintf(what, sizeof(what), "seed %s", e->name);
			return (lx_conn_error(c, rc, what, err));
		}
		(*nfiles)++;
	}
	return (0);
}

int
lx_seed_run(struct lx_db *db, const char *set, struct lx_err *err)
{
	struct audit_entry ae;
	struct lx_conn *c;
	char detail[96];
	int demo, nfiles = 0, ret = -1;

	if (strcmp(set, "defaults") == 0)
		demo = 0;
	else if (strcmp(set, "demo") == 0)
		demo = 1;
	else
		return (lx_err_set(err, 400, "unknown_seed_set",
		    "unknown seed set '%s' (expected defaults or demo)", set));
	if (lx_migrate_up(db, NULL, err) == -1)
		return (-1);
	c = lx_db_conn(db);
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (run_files(c, "_default.sql", &nfiles, err) == -1)
		goto out;
	if (demo && run_files(c, "_demo.sql", &nfiles, err) == -1)
		goto out;
	snprintf(detail, sizeof(detail), "{\"set\":\"%s\",\"files\":%d}", set,
	    nfiles);
	memset(&ae, 0, sizeof(ae));
	ae.actor = "system";
	ae.action = "seed.run";
	ae.target = set;
	ae.detail_json = detail;
	if (audit_record(c, &ae, err) == -1)
		goto out;
	if (lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		lx_conn_rollback(c);
	return (ret);
}
