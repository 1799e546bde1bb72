#!/usr/bin/env python3
"""A tenant's life and its read-only views against the real binary: the
audit log (pagination, filters, who may read it, a service key as actor),
the summary, the tenant context of GET /context (X-Tenant-Id, tenant_id,
service keys), ownership transfer and the primary owner, soft deletion with
a grace period, restoration by a platform admin and the purge job."""
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, run_cli  # noqa: E402

PW = "a long enough passphrase"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class Base(unittest.TestCase):
    env = {}

    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env=cls.env)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def user(self, prefix="u"):
        type(self).n += 1
        email = "%s%d-%s@example.com" % (prefix, type(self).n, type(self).__name__.lower())
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        uid = r.json()["user"]["id"]
        return uid, self.login(email), email

    def login(self, email):
        r = self.lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        return bearer(r.json()["access_token"])

    def req(self, h, method, path, body=None, extra=None):
        hh = dict(h or {})
        hh.update(extra or {})
        return self.lx.request(method, path, body=body, headers=hh)

    def tenant(self, h, name, slug=None):
        body = {"name": name}
        if slug:
            body["slug"] = slug
        r = self.req(h, "POST", "/tenants", body)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def add(self, h, tid, email, role):
        r = self.req(h, "POST", "/tenants/%s/members" % tid, {"email": email, "role": role})
        self.assertEqual(r.status, 201, r.body)

    def audit(self, h, tid, query=""):
        r = self.req(h, "GET", "/tenants/%s/audit-logs%s" % (tid, query))
        self.assertEqual(r.status, 200, r.body)
        return r.json()


class AuditAndSummary(Base):
    def test_audit_log_pages_newest_first(self):
        uid, h, _ = self.user()
        t = self.tenant(h, "Audit Pages")
        emails = []
        for i in range(4):
            _, _, e = self.user("m")
            self.add(h, t["id"], e, "member")
            emails.append(e)
        first = self.audit(h, t["id"], "?limit=2")
        rows = first["audit_logs"]
        self.assertEqual([r["action"] for r in rows], ["member.add", "member.add"])
        self.assertIsNotNone(first["next_cursor"])
        self.assertEqual(rows[0]["actor"], uid)
        self.assertTrue(rows[0]["created_at"].endswith("Z"))
        self.assertEqual(rows[0]["detail"], {"role": "member"})
        self.assertGreater(int(rows[0]["id"]), int(rows[1]["id"]))
        self.assertTrue(rows[0]["request_id"])
        ids = [r["id"] for r in rows]
        cur = first["next_cursor"]
        while cur:
            page = self.audit(h, t["id"], "?limit=2&cursor=" + cur)
            ids += [r["id"] for r in page["audit_logs"]]
            cur = page["next_cursor"]
        # Four additions and the creation, each once, in id order.
        self.assertEqual(len(ids), 5)
        self.assertEqual(ids, sorted(ids, key=int, reverse=True))
        whole = self.audit(h, t["id"])["audit_logs"]
        self.assertEqual(whole[-1]["action"], "tenant.create")
        self.assertEqual(whole[-1]["target"], t["id"])
        self.assertEqual([r["id"] for r in whole], ids)

    def test_audit_filters(self):
        uid, h, _ = self.user()
        t = self.tenant(h, "Audit Filters")
        tid = t["id"]
        admin_id, hm, em = self.user("m")
        self.add(h, tid, em, "admin")
        _, _, ev = self.user("v")
        # An admin's change has the admin as actor.
        r = self.req(hm, "POST", "/tenants/%s/members" % tid, {"email": ev, "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        r = self.req(h, "PATCH", "/tenants/%s" % tid, {"name": "Audit Filters 2"})
        self.assertEqual(r.status, 200, r.body)
        rows = self.audit(h, tid, "?actor=" + admin_id)["audit_logs"]
        self.assertEqual([(r["action"], r["detail"]) for r in rows],
                         [("member.add", {"role": "viewer"})])
        rows = self.audit(h, tid, "?action=member.add")["audit_logs"]
        self.assertEqual(len(rows), 2)
        rows = self.audit(h, tid, "?action=" + urllib.parse.quote("member.*"))["audit_logs"]
        self.assertEqual({r["action"] for r in rows}, {"member.add"})
        rows = self.audit(h, tid, "?action=tenant.*")["audit_logs"]
        self.assertEqual([r["action"] for r in rows], ["tenant.update", "tenant.create"])
        self.assertEqual(rows[0]["detail"]["name"], "Audit Filters 2")
        # Time window: everything is after 2020 and nothing after 2100.
        q = "?since=" + urllib.parse.quote("2020-01-01T00:00:00Z")
        self.assertEqual(len(self.audit(h, tid, q)["audit_logs"]), 4)
        q = "?since=" + urllib.parse.quote("2100-01-01T00:00:00+02:00")
        self.assertEqual(self.audit(h, tid, q)["audit_logs"], [])
        newest = self.audit(h, tid, "?limit=1")["audit_logs"][0]
        q = "?until=" + urllib.parse.quote(newest["created_at"])
        self.assertNotIn(newest["id"], [r["id"] for r in self.audit(h, tid, q)["audit_logs"]])
        # Nothing matches an unknown actor.
        self.assertEqual(self.audit(h, tid, "?actor=nobody")["audit_logs"], [])

    def test_audit_bad_queries(self):
        _, h, _ = self.user()
        tid = self.tenant(h, "Audit Bad")["id"]
        path = "/tenants/%s/audit-logs" % tid
        for q, code in (("?limit=0", "invalid_limit"), ("?limit=101", "invalid_limit"),
                        ("?limit=x", "invalid_limit"), ("?cursor=abc", "invalid_cursor"),
                        ("?cursor=-1", "invalid_cursor"), ("?cursor=", "invalid_cursor"),
                        ("?since=yesterday", "invalid_parameter"),
                        ("?until=2026-02-30T00:00:00Z", "invalid_parameter"),
                        ("?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                         "invalid_parameter"),
                        ("?action=DROP%20TABLE", "invalid_parameter"),
                        ("?action=%25", "invalid_parameter"),
                        ("?actor=%00", "invalid_parameter"),
                        ("?actor=" + "a" * 200, "invalid_parameter"),
                        ("?limit=1&limit=2", "duplicate_parameter"),
                        ("?tenant=x", "unknown_parameter")):
            with self.subTest(q=q):
                assert_problem(self, self.req(h, "GET", path + q), 400, code)

    def test_audit_needs_audit_read(self):
        _, h, _ = self.user()
        tid = self.tenant(h, "Audit Roles")["id"]
        for role, status in (("viewer", 403), ("member", 403), ("billing", 200), ("admin", 200)):
            _, hr, e = self.user(role)
            self.add(h, tid, e, role)
            with self.subTest(role=role):
                self.assertEqual(self.req(hr, "GET", "/tenants/%s/audit-logs" % tid).status,
                                 status)
        # A non-member: 404 as for every tenant route.
        _, hx, _ = self.user("x")
        assert_problem(self, self.req(hx, "GET", "/tenants/%s/audit-logs" % tid), 404)

    def test_service_key_is_the_actor(self):
        _, h, _ = self.user()
        tid = self.tenant(h, "Audit Key")["id"]
        r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                     {"name": "bot", "permissions": ["members.write", "members.read",
                                                     "audit.read"]})
        self.assertEqual(r.status, 201, r.body)
        key = r.json()
        _, _, e = self.user("m")
        hk = bearer(key["secret"])
        r = self.req(hk, "POST", "/tenants/%s/members" % tid, {"email": e, "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        rows = self.audit(hk, tid, "?limit=1")["audit_logs"]
        self.assertEqual(rows[0]["action"], "member.add")
        self.assertEqual(rows[0]["actor"], "service:" + key["id"])
        self.assertNotIn(key["secret"], str(self.audit(h, tid)))

    def test_summary(self):
        _, h, _ = self.user()
        t = self.tenant(h, "Summary Co")
        tid = t["id"]
        _, _, e = self.user("m")
        self.add(h, tid, e, "member")
        r = self.req(h, "POST", "/tenants/%s/invitations" % tid,
                     {"email": "pending@example.com", "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        for name in ("a", "b"):
            r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                         {"name": name, "permissions": ["tenants.read"]})
            self.assertEqual(r.status, 201, r.body)
        kid = r.json()["id"]
        self.assertEqual(self.req(h, "DELETE", "/tenants/%s/api-keys/%s" % (tid, kid)).status, 204)
        r = self.req(h, "GET", "/tenants/%s/summary" % tid)
        self.assertEqual(r.status, 200, r.body)
        s = r.json()
        self.assertEqual(s["tenant_id"], tid)
        self.assertEqual((s["slug"], s["name"], s["plan"], s["status"]),
                         (t["slug"], "Summary Co", "free", "active"))
        self.assertEqual(s["usage"], {"members": 2, "service_keys": 1,
                                      "invitations_pending": 1})
        self.assertEqual(s["limits"], {"members": 10})  # the free plan
        newest = self.audit(h, tid, "?limit=1")["audit_logs"][0]
        self.assertEqual(s["last_activity_at"], newest["created_at"])
        assert_problem(self, self.req(h, "GET", "/tenants/%s/summary?x=1" % tid), 400,
                       "unknown_parameter")
        _, hx, _ = self.user("x")
        assert_problem(self, self.req(hx, "GET", "/tenants/%s/summary" % tid), 404)


class Context(Base):
    def test_user_names_the_tenant(self):
        uid, h, _ = self.user()
        a = self.tenant(h, "Ctx A")
        b = self.tenant(h, "Ctx B")
        for how in ({"X-Tenant-Id": a["id"]}, None):
            path = "/context" if how else "/context?tenant_id=" + a["id"]
            r = self.req(h, "GET", path, extra=how)
            self.assertEqual(r.status, 200, r.body)
            c = r.json()
            self.assertEqual(c["tenant"]["id"], a["id"])
            self.assertEqual((c["user_id"], c["actor"], c["role"]), (uid, uid, "owner"))
            self.assertIsNone(c["service_key_id"])
            self.assertIn("members.write", c["permissions"])
            self.assertFalse(c["platform_admin"])
        # The header wins over the parameter.
        r = self.req(h, "GET", "/context?tenant_id=" + a["id"], extra={"X-Tenant-Id": b["id"]})
        self.assertEqual(r.json()["tenant"]["id"], b["id"])
        assert_problem(self, self.req(h, "GET", "/context"), 400, "tenant_required")
        assert_problem(self, self.req(h, "GET", "/context?tenant=x"), 400, "tenant_required")
        # A viewer's permissions are the viewer's.
        _, hv, ev = self.user("v")
        self.add(h, a["id"], ev, "viewer")
        c = self.req(hv, "GET", "/context", extra={"X-Tenant-Id": a["id"]}).json()
        self.assertEqual(c["role"], "viewer")
        self.assertNotIn("members.write", c["permissions"])
        self.assertIn("tenants.read", c["permissions"])

    def test_non_member_and_unknown(self):
        _, h, _ = self.user()
        a = self.tenant(h, "Ctx Private")
        _, hx, _ = self.user("x")
        for tid in (a["id"], "00000000-0000-4000-8000-000000000000", "x" * 300):
            r = self.req(hx, "GET", "/context", extra={"X-Tenant-Id": tid})
            assert_problem(self, r, 404, "not_found")
            self.assertNotIn("Ctx Private", r.body)
        assert_problem(self, self.lx.get("/context", headers={"X-Tenant-Id": a["id"]}), 401)

    def test_service_key_implies_its_tenant(self):
        _, h, _ = self.user()
        a = self.tenant(h, "Ctx Key A")
        b = self.tenant(h, "Ctx Key B")
        r = self.req(h, "POST", "/tenants/%s/api-keys" % a["id"],
                     {"name": "ctx", "permissions": ["tenants.read", "members.read"]})
        key = r.json()
        hk = bearer(key["secret"])
        r = self.req(hk, "GET", "/context")
        self.assertEqual(r.status, 200, r.body)
        c = r.json()
        self.assertEqual(c["tenant"]["id"], a["id"])
        self.assertEqual((c["service_key_id"], c["actor"]), (key["id"], "service:" + key["id"]))
        self.assertIsNone(c["user_id"])
        self.assertIsNone(c["role"])
        self.assertEqual(c["permissions"], ["tenants.read", "members.read"])
        self.assertEqual(self.req(hk, "GET", "/context", extra={"X-Tenant-Id": a["id"]}).status,
                         200)
        r = self.req(hk, "GET", "/context", extra={"X-Tenant-Id": b["id"]})
        assert_problem(self, r, 404, "not_found")
        self.assertNotIn("Ctx Key B", r.body)
        assert_problem(self, self.req(hk, "GET", "/context?tenant_id=" + b["id"]), 404)
        # Without tenants.read the key may not ask.
        r = self.req(h, "POST", "/tenants/%s/api-keys" % a["id"],
                     {"name": "narrow", "permissions": ["members.read"]})
        assert_problem(self, self.req(bearer(r.json()["secret"]), "GET", "/context"), 403,
                       "forbidden")


class Ownership(Base):
    def role_of(self, h, tid, uid):
        ms = self.req(h, "GET", "/tenants/%s/members" % tid).json()["members"]
        return {m["user_id"]: m["role"] for m in ms}.get(uid)

    def test_transfer(self):
        uid, h, _ = self.user("o")
        t = self.tenant(h, "Transfer Co")
        tid = t["id"]
        nid, hn, en = self.user("n")
        self.add(h, tid, en, "member")
        aid, ha, ea = self.user("a")
        self.add(h, tid, ea, "admin")
        path = "/tenants/%s/transfer-ownership" % tid
        # Not an owner: refused, even with tenants.write.
        assert_problem(self, self.req(ha, "POST", path, {"user_id": nid}), 403, "forbidden")
        assert_problem(self, self.req(hn, "POST", path, {"user_id": nid}), 403, "forbidden")
        # Not a member, oneself, bad bodies.
        xid, _, _ = self.user("x")
        assert_problem(self, self.req(h, "POST", path, {"user_id": xid}), 404,
                       "member_not_found")
        assert_problem(self, self.req(h, "POST", path, {"user_id": uid}), 422, "invalid_member")
        assert_problem(self, self.req(h, "POST", path, {}), 422, "missing_field")
        assert_problem(self, self.req(h, "POST", path, {"user_id": 7}), 422, "wrong_type")
        assert_problem(self, self.req(h, "POST", path, {"user_id": nid, "role": "x"}), 422,
                       "unknown_field")
        self.assertEqual(self.req(h, "GET", "/tenants/%s" % tid).json()["owner_id"], uid)
        r = self.req(h, "POST", path, {"user_id": nid})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["owner_id"], nid)
        self.assertEqual(r.json()["role"], "admin")
        self.assertEqual(self.role_of(hn, tid, nid), "owner")
        self.assertEqual(self.role_of(hn, tid, uid), "admin")
        # The former owner may no longer give it away or delete it.
        assert_problem(self, self.req(h, "POST", path, {"user_id": aid}), 403)
        assert_problem(self, self.req(h, "DELETE", "/tenants/%s" % tid), 403)
        rows = self.audit(hn, tid, "?action=tenant.transfer")["audit_logs"]
        self.assertEqual([(r["actor"], r["detail"]) for r in rows],
                         [(uid, {"from": uid, "to": nid})])
        # The new owner lists it with the owner role.
        mine = self.req(hn, "GET", "/tenants").json()["tenants"]
        self.assertEqual([(x["id"], x["role"]) for x in mine], [(tid, "owner")])

    def test_primary_owner_follows_demotion(self):
        uid, h, _ = self.user("o")
        tid = self.tenant(h, "Primary Co")["id"]
        sid, hs, es = self.user("s")
        self.add(h, tid, es, "owner")
        r = self.req(hs, "PATCH", "/tenants/%s/members/%s" % (tid, uid), {"role": "member"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.req(hs, "GET", "/tenants/%s" % tid).json()["owner_id"], sid)
        # Removing a non-primary owner leaves owner_id alone.
        t3, _, e3 = self.user("t")
        self.add(hs, tid, e3, "owner")
        self.assertEqual(self.req(hs, "DELETE", "/tenants/%s/members/%s" % (tid, t3)).status, 204)
        self.assertEqual(self.req(hs, "GET", "/tenants/%s" % tid).json()["owner_id"], sid)


class Deletion(Base):
    env = {"LUXIMA_TENANTS_DELETE_GRACE_S": "3"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        email = "root@deletion.example.com"
        r = run_cli(["admin", "create", "--email", email], data=cls.lx.data, input=PW + "\n")
        assert r.returncode == 0, r.stderr
        r = cls.lx.post("/auth/login", {"email": email, "password": PW})
        assert r.status == 200, r.body
        cls.admin = bearer(r.json()["access_token"])

    def test_delete_restore_purge(self):
        _, h, _ = self.user("o")
        t = self.tenant(h, "Doomed Co", slug="doomed-co")
        tid = t["id"]
        _, hm, em = self.user("m")
        self.add(h, tid, em, "member")
        r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                     {"name": "k", "permissions": ["tenants.read"]})
        hk = bearer(r.json()["secret"])
        self.assertEqual(self.req(hk, "GET", "/tenants/%s" % tid).status, 200)
        # A member may not delete; an owner may.
        assert_problem(self, self.req(hm, "DELETE", "/tenants/%s" % tid), 403)
        self.assertEqual(self.req(h, "DELETE", "/tenants/%s" % tid).status, 204)
        for hh in (h, hm):
            assert_problem(self, self.req(hh, "GET", "/tenants/%s" % tid), 404)
            self.assertEqual(self.req(hh, "GET", "/tenants").json()["tenants"], [])
        assert_problem(self, self.req(hk, "GET", "/tenants/%s" % tid), 401)
        # Restoring is a platform admin's, within the grace period.
        restore = "/admin/tenants/%s/restore" % tid
        assert_problem(self, self.req(h, "POST", restore), 403)
        r = self.req(self.admin, "POST", restore)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json()["status"], r.json()["slug"]), ("active", "doomed-co"))
        self.assertEqual(self.req(hm, "GET", "/tenants/%s" % tid).status, 200)
        self.assertEqual(self.req(hk, "GET", "/tenants/%s" % tid).status, 200)
        assert_problem(self, self.req(self.admin, "POST", restore), 404)
        acts = [r["action"] for r in self.audit(h, tid, "?action=tenant.*")["audit_logs"]]
        self.assertEqual(acts, ["tenant.restore", "tenant.delete", "tenant.create"])
        # Deleted again: purged once the grace period is over. The first
        # deletion's job finds a live tenant and leaves it.
        self.assertEqual(self.req(h, "DELETE", "/tenants/%s" % tid).status, 204)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.req(self.admin, "POST", restore + "x").status == 404 and \
                    self.req(h, "POST", "/tenants", {"name": "Reborn", "slug": "doomed-co"}) \
                    .status == 201:
                break
            time.sleep(0.3)
        else:
            self.fail("the deleted tenant was not purged:\n" + self.lx.output()[-3000:])
        assert_problem(self, self.req(self.admin, "POST", restore), 404)
        jobs = run_cli(["jobs", "list"], data=self.lx.data)
        self.assertIn("tenants.purge", jobs.stdout)
        self.assertEqual(run_cli(["audit", "verify"], data=self.lx.data).returncode, 0)

    def test_restore_unknown(self):
        for tid in ("00000000-0000-4000-8000-000000000000", "x" * 100):
            assert_problem(self, self.req(self.admin, "POST",
                                          "/admin/tenants/%s/restore" % tid), 404)
        _, h, _ = self.user("o")
        tid = self.tenant(h, "Alive Co")["id"]
        assert_problem(self, self.req(self.admin, "POST", "/admin/tenants/%s/restore" % tid), 404)


if __name__ == "__main__":
    main()
