/*
 * luxima migrate status|up|export-postgres: shows each compiled-in
 * migration as applied, pending or CHANGED, applies the pending ones
 * (storage/migrate.c), or prints the PostgreSQL mirror of the tenant tables
 * with their row-level security policies (storage/policy.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "status|up|export-postgres\n\n"
    "  status           list migrations: applied, pending or CHANGED (exit "
    "1 if any changed)\n"
    "  up               apply the pending migrations, each in one "
    "transaction\n"
    "  export-postgres  print the PostgreSQL DDL of the tenant tables and "
    "their row-level security policies (no database needed)";

static int
migrate_status(struct lx_db *db)
{
	struct lx_migration_state *m = NULL;
	struct lx_err err;
	char when[40];
	int i, n, changed = 0;

	lx_err_clear(&err);
	if ((n = lx_migrate_status(db, &m, &err)) == -1) {
		fprintf(stderr, "luxima: migrate status: %s\n", err.detail);
		return (1);
	}
	printf("%-36s %-8s %s\n", "NAME", "STATE", "APPLIED AT");
	for (i = 0; i < n; i++) {
		cli_fmt_time(m[i].applied_at, when, sizeof(when));
		printf("%-36s %-8s %s\n", m[i].name,
		    m[i].changed       ? "CHANGED"
		        : m[i].applied ? "applied"
		                       : "pending",
		    when);
		changed += m[i].changed;
	}
	lx_free(m);
	return (changed ? 1 : 0);
}

static int
migrate_up(struct lx_db *db)
{
	struct lx_err err;
	int n = 0;

	lx_err_clear(&err);
	if (lx_migrate_up(db, &n, &err) == -1) {
		fprintf(stderr, "luxima: migrate up: %s\n", err.detail);
		return (1);
	}
	printf("applied %d migration%s; the database is current\n", n,
	    n == 1 ? "" : "s");
	return (0);
}

int
cmd_migrate(int argc, char **argv)
{
	struct cli_settings s;
	struct lx_db *db = NULL;
	char *pos[1];
	int npos = 1, rc, up, ret = 2;

	if ((rc = cli_parse("migrate", usage, argc, argv, NULL, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1
	    || (strcmp(pos[0], "status") != 0 && strcmp(pos[0], "up") != 0
	        && strcmp(pos[0], "export-postgres") != 0)) {
		fprintf(stderr,
		    "luxima migrate: expected 'status', 'up' or "
		    "'export-postgres' (see --help)\n");
		goto out;
	}
	if (strcmp(pos[0], "export-postgres") == 0) {
		ret = 0;
		if (lx_policy_export_postgres(stdout) == -1) {
			perror("luxima: migrate export-postgres");
			ret = 1;
		}
		goto out;
	}
	up = strcmp(pos[0], "up") == 0;
	ret = 1;
	if ((db = cli_open_db(&s, up)) == NULL)
		goto out;
	ret = up ? migrate_up(db) : migrate_status(db);
out:
	lx_db_close(db);
	return (ret);
}
