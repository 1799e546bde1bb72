/*
 * Unit tests for storage/migrate.c and storage/seed.c: pending migrations
 * are applied once and recorded with their checksum, a changed or unknown
 * recorded migration stops the runner, seed sets are idempotent.
 */
#include "storage_test.h"

static int
count_migrations(struct lx_db *db, int *applied, int *changed)
{
	struct lx_migration_state *s = NULL;
	struct lx_err err;
	int i, n;

	*applied = *changed = 0;
	if ((n = lx_migrate_status(db, &s, &err)) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		*applied += s[i].applied;
		*changed += s[i].changed;
		if (s[i].applied)
			CHECK(s[i].applied_at > 0);
	}
	lx_free(s);
	return (n);
}

static void
test_up_and_changed(void)
{
	const char *dir = lxtest_tmpdir("migrate");
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int n, applied, changed, ran = -1;

	st_clean_env();
	db = st_open(dir, 1, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	n = count_migrations(db, &applied, &changed);
	CHECK(n >= 1 && applied == 0 && changed == 0);
	CHECK(lx_migrate_current(db) == 0);
	/* Status alone writes nothing. */
	CHECK(st_int(c,
	          "SELECT count(*) FROM sqlite_master WHERE name = "
	          "'lx_migrations'")
	    == 0);

	CHECK(lx_migrate_up(db, &ran, &err) == 0);
	CHECK(ran == n);
	CHECK(count_migrations(db, &applied, &changed) == n);
	CHECK(applied == n && changed == 0);
	CHECK(lx_migrate_current(db) == 1);
	CHECK(st_int(c, "SELECT count(*) FROM jobs") == 0);
	CHECK(st_int(c,
	          "SELECT length(checksum) FROM lx_migrations WHERE name = "
	          "'001_init_core_schema.sql'")
	    == 64);
	CHECK(lx_migrate_up(db, &ran, &err) == 0);
	CHECK(ran == 0);

	/* A recorded migration whose text changed stops everything. */
	CHECK(lx_conn_exec(c,
	          "UPDATE lx_migrations SET checksum = 'deadbeef' WHERE "
	          "name = '001_init_core_schema.sql'",
	          &err)
	    == 0);
	CHECK(count_migrations(db, &applied, &changed) == n);
	CHECK(changed == 1);
	CHECK(lx_migrate_current(db) == 0);
	lx_err_clear(&err);
	CHECK(lx_migrate_up(db, &ran, &err) == -1);
	CHECK_STR(err.code, "migration_changed");
	CHECK(strstr(err.detail, "001_init_core_schema.sql") != NULL);
	CHECK(lx_seed_run(db, "defaults", &err) == -1);
	CHECK_STR(err.code, "migration_changed");

	/* So does one this binary does not know. */
	CHECK(lx_conn_exec(c, "DELETE FROM lx_migrations", &err) == 0);
	lx_db_close(db);

	db = st_open(dir, 0, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	CHECK(lx_conn_exec(c,
	          "INSERT INTO lx_migrations VALUES ('999_future.sql', 'x', 1)",
	          &err)
	    == 0);
	CHECK(lx_migrate_up(db, &ran, &err) == -1);
	CHECK_STR(err.code, "migration_unknown");
	lx_db_close(db);
}

static void
dump_settings(struct lx_conn *c, char *buf, size_t len)
{
	st_text(c,
	    "SELECT group_concat(key || '=' || value, ';') FROM (SELECT * "
	    "FROM settings ORDER BY key)",
	    buf, len);
}

static void
test_seeds_idempotent(void)
{
	const char *dir = lxtest_tmpdir("seed");
	char one[4096], two[4096], name[128];
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int64_t audit;

	st_clean_env();
	db = st_open(dir, 1, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	/* Seeding applies pending migrations first. */
	CHECK(lx_seed_run(db, "defaults", &err) == 0);
	CHECK(lx_migrate_current(db) == 1);
	dump_settings(c, one, sizeof(one));
	CHECK(strstr(one, "instance.name=Luxima;") != NULL);
	CHECK(st_int(c,
	          "SELECT length(value) FROM settings WHERE key = "
	          "'instance.id'")
	    == 32);
	CHECK(lx_seed_run(db, "defaults", &err) == 0);
	dump_settings(c, two, sizeof(two));
	CHECK_STR(one, two);

	CHECK(lx_seed_run(db, "demo", &err) == 0);
	dump_settings(c, one, sizeof(one));
	CHECK_STR(st_text(c,
	              "SELECT value FROM settings WHERE key = "
	              "'instance.name'",
	              name, sizeof(name)),
	    "Luxima Demo Instance");
	CHECK(lx_seed_run(db, "demo", &err) == 0);
	dump_settings(c, two, sizeof(two));
	CHECK_STR(one, two);

	/* Each run is audited. */
	audit = st_int(c,
	    "SELECT count(*) FROM audit_logs WHERE action = "
	    "'seed.run'");
	CHECK(audit == 4);

	CHECK(lx_seed_run(db, "nonsense", &err) == -1);
	CHECK_STR(err.code, "unknown_seed_set");
	lx_db_close(db);
}

int
main(void)
{
	RUN(test_up_and_changed);
	RUN(test_seeds_idempotent);
	return (lxtest_done());
}
