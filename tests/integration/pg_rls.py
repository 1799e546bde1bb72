"""The PostgreSQL mirror of the tenant policies (ctest label pg): starts a
private PostgreSQL 15, loads `luxima migrate export-postgres` as the table
owner, and shows that a request role (neither superuser nor BYPASSRLS)
with app.tenant_id set to tenant B sees none of tenant A's rows and cannot
insert into A, while the same declarations let B's rows through.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_cli  # noqa: E402
from pg import PostgreSQL  # noqa: E402

TA = "aaaaaaaa-0000-4000-8000-000000000001"
TB = "bbbbbbbb-0000-4000-8000-000000000002"

FIXTURE = f"""
INSERT INTO tenants (id, slug, name, owner_id, created_at, updated_at)
    VALUES ('{TA}', 'a', 'Tenant A', 'ua', 10, 10),
           ('{TB}', 'b', 'Tenant B', 'ub', 20, 20);
INSERT INTO memberships (id, tenant_id, user_id, role, created_at, updated_at)
    VALUES ('ma', '{TA}', 'ua', 'owner', 1, 1),
           ('mb', '{TB}', 'ub', 'owner', 1, 1),
           ('mv', '{TB}', 'uv', 'viewer', 1, 1);
INSERT INTO service_keys (id, tenant_id, name, prefix, secret_hash, created_at)
    VALUES ('ka', '{TA}', 'k', 'lx_a', 'h', 1),
           ('kb', '{TB}', 'k', 'lx_b', 'h', 1);
INSERT INTO audit_logs (id, created_at, actor, tenant_id, action, prev_hash, hash)
    VALUES (1, 30, 'ua', '{TA}', 'x', '', ''),
           (2, 40, 'ub', '{TB}', 'x', '', '');
CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT USAGE ON SCHEMA public TO app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app;
"""

OWNER_B = ("SET app.user_id = 'ub'", f"SET app.tenant_id = '{TB}'",
           "SET app.role = 'owner'",
           "SET app.permissions = 'tenants.read,tenants.write,members.read,"
           "members.write,service_keys.read,service_keys.write,audit.read'")


class PostgresRLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = run_cli(["migrate", "export-postgres"])
        assert r.returncode == 0, r.stderr
        cls.ddl = r.stdout
        cls.pg = PostgreSQL().__enter__()
        try:
            cls.pg.psql(input=cls.ddl)
            cls.pg.psql(input=FIXTURE)
        except BaseException:
            cls.pg.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pg.__exit__(None, None, None)

    def app(self, *sql, ctx=OWNER_B, check=True):
        return self.pg.psql(*(tuple(ctx) + sql), user="app", check=check)

    def test_export_declares_rls(self):
        for t in ("tenants", "memberships", "invitations", "service_keys",
                  "audit_logs"):
            self.assertIn(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;",
                          self.ddl)
        self.assertIn("CREATE POLICY memberships_insert ON memberships FOR "
                      "INSERT", self.ddl)
        self.assertIn("current_setting('app.tenant_id', true)", self.ddl)
        r = self.pg.psql("SELECT rolsuper, rolbypassrls FROM pg_roles "
                         "WHERE rolname = 'app'")
        self.assertEqual(r.stdout.strip(), "f|f")

    def test_tenant_b_sees_only_b(self):
        r = self.app("SELECT id FROM tenants")
        self.assertEqual(r.stdout.split(), [TB])
        r = self.app("SELECT count(*) FROM memberships",
                     f"SELECT count(*) FROM memberships WHERE tenant_id = '{TA}'",
                     "SELECT count(*) FROM p_memberships",
                     "SELECT count(*) FROM service_keys",
                     "SELECT count(*) FROM v_audit_logs",
                     "SELECT members_count, service_keys_count FROM v_tenant_summary")
        self.assertEqual(r.stdout.split(), ["2", "0", "2", "1", "1", "2|1"])
        # No context at all: nothing.
        r = self.app("SELECT count(*) FROM tenants", ctx=())
        self.assertEqual(r.stdout.split(), ["0"])
        # The owner (system code) is not subject to the policies.
        r = self.pg.psql("SELECT count(*) FROM tenants")
        self.assertEqual(r.stdout.split(), ["2"])

    def test_writes_into_a_fail(self):
        r = self.app("INSERT INTO memberships (id, tenant_id, user_id, role, "
                     f"created_at, updated_at) VALUES ('m2', '{TA}', 'ub', "
                     "'owner', 1, 1)", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("row-level security", r.stderr)
        r = self.app("INSERT INTO p_service_keys (id, tenant_id, name, prefix, "
                     f"secret_hash, permissions, created_at) VALUES ('k2', "
                     f"'{TA}', 'k', 'lx_2', 'h', '[]', 1)", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("row-level security", r.stderr)
        r = self.app(f"UPDATE tenants SET name = 'x' WHERE id = '{TA}' "
                     "RETURNING id",
                     f"DELETE FROM memberships WHERE tenant_id = '{TA}' "
                     "RETURNING id")
        self.assertEqual(r.stdout.split(), [])
        r = self.app(f"UPDATE service_keys SET tenant_id = '{TA}'", check=False)
        self.assertIn("row-level security", r.stderr)
        r = self.pg.psql(f"SELECT name FROM tenants WHERE id = '{TA}'",
                         f"SELECT count(*) FROM memberships WHERE tenant_id = '{TA}'",
                         f"SELECT count(*) FROM service_keys WHERE tenant_id = '{TA}'")
        self.assertEqual(r.stdout.splitlines(), ["Tenant A", "1", "1"])

    def test_viewer_cannot_write_admin_sees_all(self):
        viewer = ("SET app.user_id = 'uv'", f"SET app.tenant_id = '{TB}'",
                  "SET app.permissions = 'tenants.read,members.read'")
        r = self.app("SELECT count(*) FROM memberships", ctx=viewer)
        self.assertEqual(r.stdout.split(), ["2"])
        r = self.app("INSERT INTO invitations (id, tenant_id, email, role, "
                     "token_hash, created_at, expires_at) VALUES ('i1', "
                     f"'{TB}', 'n@example.com', 'member', 'th', 1, 2)",
                     ctx=viewer, check=False)
        self.assertIn("row-level security", r.stderr)
        r = self.app("UPDATE tenants SET name = 'x' RETURNING id", ctx=viewer)
        self.assertEqual(r.stdout.split(), [])
        admin = ("SET app.user_id = 'ux'", "SET app.platform_admin = 'on'")
        r = self.app("SELECT count(*) FROM tenants",
                     "SELECT count(*) FROM memberships", ctx=admin)
        self.assertEqual(r.stdout.split(), ["2", "3"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
