/*
 * Unit tests for storage/policy.c: under a request context the tenant tables
 * fail closed (SQLITE_AUTH, never rows), the policy views show and change
 * only what the context's tenant and permissions allow, a platform admin
 * passes every policy, and system code without a context is unaffected.
 */
#include "storage_test.h"

#define TA "aaaaaaaa-0000-4000-8000-000000000001"
#define TB "bbbbbbbb-0000-4000-8000-000000000002"

static const char fixture[] =
    "INSERT INTO users (id, email, created_at, updated_at) VALUES"
    " ('ua', 'a@example.com', 1, 1), ('ub', 'b@example.com', 1, 1),"
    " ('uv', 'v@example.com', 1, 1), ('ux', 'x@example.com', 1, 1);"
    "INSERT INTO tenants (id, slug, name, owner_id, created_at, updated_at)"
    " VALUES ('" TA "', 'a', 'Tenant A', 'ua', 10, 10),"
    " ('" TB "', 'b', 'Tenant B', 'ub', 20, 20);"
    "INSERT INTO memberships (id, tenant_id, user_id, role, created_at,"
    " updated_at) VALUES ('ma', '" TA "', 'ua', 'owner', 1, 1),"
    " ('mb', '" TB "', 'ub', 'owner', 1, 1),"
    " ('mv', '" TB "', 'uv', 'viewer', 1, 1);"
    "INSERT INTO service_keys (id, tenant_id, name, prefix, secret_hash,"
    " created_at) VALUES ('ka', '" TA "', 'k', 'lx_a', 'h', 1),"
    " ('kb', '" TB "', 'k', 'lx_b', 'h', 1);"
    "INSERT INTO audit_logs (created_at, actor, tenant_id, action,"
    " prev_hash, hash) VALUES (30, 'ua', '" TA "', 'x', '', ''),"
    " (40, 'ub', '" TB "', 'x', '', ''), (50, 'ub', '" TB "', 'y', '', '');";

/* Prepares and steps sql to the end; the SQLite result code (primary). */
static int
run(struct lx_conn *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(lx_conn_sqlite(c), sql, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (getenv("DEBUG_POLICY") && rc != SQLITE_OK)
		fprintf(
		    stderr, "%s: %s\n", sql, sqlite3_errmsg(lx_conn_sqlite(c)));
	sqlite3_finalize(st);
	return (rc & 0xff);
}

static struct lx_db *
setup(const char *name, struct lx_conn **c)
{
	struct lx_err err;
	struct lx_db *db;

	st_clean_env();
	if ((db = st_open(lxtest_tmpdir(name), 1, &err)) == NULL)
		return (NULL);
	*c = lx_db_conn(db);
	CHECK(lx_migrate_up(db, NULL, &err) == 0);
	CHECK(lx_seed_run(db, "defaults", &err) == 0);
	if (lx_conn_exec(*c, fixture, &err) == -1)
		fprintf(stderr, "fixture: %s\n", err.detail);
	CHECK(err.detail[0] == '\0');
	return (db);
}

static int
ctx_bind(struct lx_conn *c, const char *user, const char *tenant,
    const char *role, int admin)
{
	struct lx_db_ctx ctx;
	struct lx_err err;

	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = user;
	ctx.tenant_id = tenant;
	ctx.role = role;
	ctx.platform_admin = admin;
	lx_err_clear(&err);
	if (lx_conn_set_context(c, &ctx, &err) == -1) {
		fprintf(stderr, "set context: %s\n", err.detail);
		return (-1);
	}
	return (0);
}

static void
test_base_tables_fail_closed(void)
{
	static const char cached[] = "SELECT count(*) FROM tenants";
	static const char *const base[] = { "tenants", "memberships",
		"invitations", "service_keys", "audit_logs" };
	struct lx_conn *c;
	struct lx_db *db;
	struct lx_err err;
	sqlite3_stmt *st;
	char sql[128];
	size_t i;

	if ((db = setup("policy_base", &c)) == NULL)
		return;
	/* Prepared by system code, cached, then reused under a context. */
	CHECK(lx_conn_stmt(c, cached, &err) != NULL);
	CHECK(ctx_bind(c, "ub", TB, "owner", 0) == 0);
	CHECK(lx_conn_has_context(c) == 1);
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT * FROM %s", base[i]);
		CHECK(run(c, sql) == SQLITE_AUTH);
		snprintf(sql, sizeof(sql), "DELETE FROM %s", base[i]);
		CHECK(run(c, sql) == SQLITE_AUTH);
	}
	CHECK(run(c,
	          "SELECT count(*) FROM users u JOIN memberships m ON "
	          "m.user_id = u.id")
	    == SQLITE_AUTH);
	CHECK(run(c, "UPDATE tenants SET name = 'x'") == SQLITE_AUTH);
	CHECK(run(c,
	          "INSERT INTO memberships (id, tenant_id, user_id, role, "
	          "created_at, updated_at) VALUES ('m2', '" TA
	          "', 'ub', 'owner', 1, 1)")
	    == SQLITE_AUTH);
	/* A subquery or CTE named like a policy view is not one. */
	CHECK(run(c,
	          "WITH p_tenants AS (SELECT * FROM tenants) SELECT * FROM "
	          "p_tenants")
	    == SQLITE_AUTH);
	CHECK(run(c, "SELECT * FROM (SELECT * FROM tenants) AS p_tenants")
	    == SQLITE_AUTH);
	/* No way around it by schema changes or attaching. */
	CHECK(run(c, "CREATE TEMP VIEW p_x AS SELECT * FROM tenants")
	    == SQLITE_AUTH);
	CHECK(run(c, "DROP VIEW p_tenants") == SQLITE_AUTH);
	/* The inner views' names are not to be learnt. */
	CHECK(run(c, "SELECT name FROM temp.sqlite_master") == SQLITE_AUTH);
	CHECK(run(c, "SELECT name FROM sqlite_temp_master") == SQLITE_AUTH);
	CHECK(run(c, "ATTACH ':memory:' AS x") == SQLITE_AUTH);
	CHECK(run(c, "PRAGMA writable_schema = ON") == SQLITE_AUTH);
	/* The cached statement re-prepares under the authorizer. */
	lx_err_clear(&err);
	if ((st = lx_conn_stmt(c, cached, &err)) != NULL) {
		CHECK((sqlite3_step(st) & 0xff) == SQLITE_AUTH);
		sqlite3_reset(st);
	}
	/* Unrelated tables stay reachable. */
	CHECK(st_int(c, "SELECT count(*) FROM users") == 4);

	/* System code again: everything as it is. */
	lx_conn_clear_context(c);
	CHECK(lx_conn_has_context(c) == 0);
	CHECK(st_int(c, "SELECT count(*) FROM tenants") == 2);
	CHECK(st_int(c,
	          "SELECT count(*) FROM audit_logs WHERE action IN ('x', 'y')")
	    == 3);
	if ((st = lx_conn_stmt(c, cached, &err)) != NULL) {
		CHECK(sqlite3_step(st) == SQLITE_ROW);
		CHECK(sqlite3_column_int(st, 0) == 2);
		sqlite3_reset(st);
	}
	/* Without a context the views show nothing. */
	CHECK(st_int(c, "SELECT count(*) FROM p_tenants") == 0);
	CHECK(st_int(c, "SELECT current_tenant() IS NULL") == 1);
	lx_db_close(db);
}

static void
test_views_scope_to_tenant(void)
{
	struct lx_conn *c;
	struct lx_db *db;
	char buf[64];

	if ((db = setup("policy_views", &c)) == NULL)
		return;
	CHECK(ctx_bind(c, "ub", TB, "owner", 0) == 0);
	CHECK_STR(st_text(c, "SELECT current_tenant()", buf, sizeof(buf)), TB);
	CHECK_STR(
	    st_text(c, "SELECT current_user_id()", buf, sizeof(buf)), "ub");
	CHECK(st_int(c, "SELECT has_permission('members.write')") == 1);
	CHECK(st_int(c, "SELECT has_permission('platform.admin')") == 0);
	CHECK(st_int(c, "SELECT is_platform_admin()") == 0);

	CHECK(st_int(c, "SELECT count(*) FROM p_tenants") == 1);
	CHECK_STR(st_text(c, "SELECT id FROM p_tenants", buf, sizeof(buf)), TB);
	CHECK(st_int(c, "SELECT count(*) FROM p_memberships") == 2);
	CHECK(
	    st_int(c,
	        "SELECT count(*) FROM p_memberships WHERE tenant_id = '" TA "'")
	    == 0);
	CHECK(st_int(c, "SELECT count(*) FROM p_service_keys") == 1);
	CHECK(st_int(c, "SELECT count(*) FROM v_audit_logs") == 2);
	CHECK(
	    st_int(c,
	        "SELECT count(*) FROM v_audit_logs WHERE tenant_id = '" TA "'")
	    == 0);
	CHECK(st_int(c, "SELECT count(*) FROM v_tenant_summary") == 1);
	CHECK(st_int(c, "SELECT members_count FROM v_tenant_summary") == 2);
	CHECK(
	    st_int(c, "SELECT service_keys_count FROM v_tenant_summary") == 1);
	CHECK(st_int(c, "SELECT last_activity_at FROM v_tenant_summary") == 50);

	/* Writes into tenant A: refused or no rows. */
	CHECK(run(c,
	          "INSERT INTO p_memberships (id, tenant_id, user_id, "
	          "role, created_at, updated_at) VALUES ('m2', '" TA
	          "', 'ub', 'owner', 1, 1)")
	    == SQLITE_CONSTRAINT);
	CHECK(run(c,
	          "INSERT INTO p_service_keys (id, tenant_id, name, "
	          "prefix, secret_hash, permissions, created_at) VALUES "
	          "('k2', '" TA "', 'k', 'lx_2', 'h', '[]', 1)")
	    == SQLITE_CONSTRAINT);
	CHECK(run(c, "UPDATE p_tenants SET name = 'x' WHERE id = '" TA "'")
	    == SQLITE_OK);
	CHECK(lx_conn_policy_changes(c) == 0);
	CHECK(run(c, "DELETE FROM p_memberships WHERE tenant_id = '" TA "'")
	    == SQLITE_OK);
	CHECK(lx_conn_policy_changes(c) == 0);
	/* Moving B's row into A is refused by the WITH CHECK half. */
	CHECK(run(c, "UPDATE p_service_keys SET tenant_id = '" TA "'")
	    == SQLITE_CONSTRAINT);
	/* Writes within B work. */
	CHECK(run(c,
	          "INSERT INTO p_memberships (id, tenant_id, user_id, "
	          "role, created_at, updated_at) VALUES ('mx', '" TB
	          "', 'ux', 'member', 2, 2)")
	    == SQLITE_OK);
	CHECK(run(c, "UPDATE p_tenants SET name = 'B2', updated_at = 60")
	    == SQLITE_OK);
	CHECK(lx_conn_policy_changes(c) == 2);
	CHECK(st_int(c, "SELECT count(*) FROM p_memberships") == 3);
	CHECK(run(c,
	          "INSERT INTO audit_logs (created_at, actor, action, "
	          "prev_hash, hash) VALUES (1, 'ub', 'z', '', '')")
	    == SQLITE_AUTH);

	/* The same connection switches to tenant A's owner. */
	CHECK(ctx_bind(c, "ua", TA, "owner", 0) == 0);
	CHECK_STR(st_text(c, "SELECT name FROM p_tenants", buf, sizeof(buf)),
	    "Tenant A");
	CHECK(st_int(c, "SELECT count(*) FROM p_memberships") == 1);

	lx_conn_clear_context(c);
	CHECK(st_int(c,
	          "SELECT count(*) FROM tenants WHERE id = '" TA
	          "' AND name = 'Tenant A'")
	    == 1);
	CHECK(st_int(c, "SELECT count(*) FROM tenants WHERE name = 'B2'") == 1);
	CHECK(st_int(c,
	          "SELECT count(*) FROM memberships WHERE tenant_id = '" TA "'")
	    == 1);
	CHECK(
	    st_int(c,
	        "SELECT count(*) FROM service_keys WHERE tenant_id = '" TA "'")
	    == 1);
	lx_db_close(db);
}

static void
test_viewer_and_admin(void)
{
	static const char *const only_read[] = { "members.read" };
	struct lx_db_ctx ctx;
	struct lx_conn *c;
	struct lx_db *db;
	struct lx_err err;

	if ((db = setup("policy_roles", &c)) == NULL)
		return;
	/* A viewer of B reads but cannot write. */
	CHECK(ctx_bind(c, "uv", TB, "viewer", 0) == 0);
	CHECK(st_int(c, "SELECT has_permission('members.write')") == 0);
	CHECK(st_int(c, "SELECT count(*) FROM p_tenants") == 1);
	CHECK(st_int(c, "SELECT count(*) FROM p_memberships") == 2);
	CHECK(st_int(c, "SELECT count(*) FROM v_audit_logs") == 0);
	CHECK(st_int(c, "SELECT count(*) FROM p_service_keys") == 0);
	CHECK(run(c, "UPDATE p_tenants SET name = 'x'") == SQLITE_CONSTRAINT);
	CHECK(run(c, "UPDATE p_memberships SET role = 'owner' WHERE id = 'mv'")
	    == SQLITE_CONSTRAINT);
	CHECK(run(c, "DELETE FROM p_memberships WHERE id = 'mb'")
	    == SQLITE_CONSTRAINT);
	CHECK(run(c,
	          "INSERT INTO p_invitations (id, tenant_id, email, role, "
	          "token_hash, created_at, expires_at) VALUES ('i1', '" TB
	          "', 'n@example.com', 'member', 'th', 1, 2)")
	    == SQLITE_CONSTRAINT);
	/* Tenants are never deleted through a view (status 'deleted'). */
	CHECK(run(c, "DELETE FROM p_tenants") != SQLITE_OK);
	/* A user may leave: delete their own membership. */
	CHECK(run(c, "DELETE FROM p_memberships WHERE id = 'mv'") == SQLITE_OK);
	CHECK(lx_conn_policy_changes(c) == 1);

	/* Explicit permissions (a service key's subset) replace the role's. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.tenant_id = TB;
	ctx.role = "owner";
	ctx.perms = only_read;
	ctx.nperms = 1;
	CHECK(lx_conn_set_context(c, &ctx, &err) == 0);
	CHECK(st_int(c, "SELECT count(*) FROM p_memberships") == 1);
	CHECK(st_int(c, "SELECT count(*) FROM p_tenants") == 0);

	/* A platform admin sees and changes every tenant. */
	CHECK(ctx_bind(c, "ux", NULL, NULL, 1) == 0);
	CHECK(st_int(c, "SELECT count(*) FROM p_tenants") == 2);
	CHECK(st_int(c, "SELECT count(*) FROM p_memberships") == 2);
	CHECK(st_int(c,
	          "SELECT count(*) FROM v_audit_logs WHERE action IN ('x', "
	          "'y')")
	    == 3);
	CHECK(st_int(c, "SELECT count(*) FROM v_tenant_summary") == 2);
	CHECK(
	    run(c,
	        "UPDATE p_tenants SET status = 'suspended' WHERE id = '" TA "'")
	    == SQLITE_OK);
	CHECK(lx_conn_policy_changes(c) == 1);
	CHECK(run(c, "SELECT * FROM tenants") == SQLITE_AUTH);
	lx_conn_clear_context(c);
	CHECK(st_int(c,
	          "SELECT count(*) FROM tenants WHERE status = "
	          "'suspended'")
	    == 1);
	lx_db_close(db);
}

static void
test_failure_fails_closed(void)
{
	struct lx_db_ctx ctx;
	struct lx_conn *c;
	struct lx_db *db;
	struct lx_err err;

	if ((db = setup("policy_fail", &c)) == NULL)
		return;
	/* The role's permissions cannot be read: binding fails. */
	CHECK(
	    lx_conn_exec(c, "ALTER TABLE role_permissions RENAME TO rp_x", &err)
	    == 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = "ub";
	ctx.tenant_id = TB;
	ctx.role = "owner";
	lx_err_clear(&err);
	CHECK(lx_conn_set_context(c, &ctx, &err) == -1);
	CHECK(err.detail[0] != '\0');
	CHECK(lx_conn_has_context(c) == 0);
	CHECK(run(c, "SELECT * FROM tenants") == SQLITE_AUTH);
	CHECK(st_int(c, "SELECT count(*) FROM p_tenants") == 0);
	lx_conn_clear_context(c);
	CHECK(st_int(c, "SELECT count(*) FROM tenants") == 2);
	lx_db_close(db);
}

int
main(void)
{
	RUN(test_base_tables_fail_closed);
	RUN(test_views_scope_to_tenant);
	RUN(test_viewer_and_admin);
	RUN(test_failure_fails_closed);
	return (lxtest_done());
}
