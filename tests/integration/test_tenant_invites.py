#!/usr/bin/env python3
"""Tenant invitations against the real binary, without an SMTP relay: the
token reaches the invitee only by mail, which a platform admin reads at
/admin/mail. Invite and accept, the wrong account (403), expiry (410),
revoke and reuse (404), another tenant's member (404), a viewer (403), and
the member limit under parallel accepts (never exceeded)."""
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"
ADMIN_PW = "the admin passphrase"
TOKEN_RE = re.compile(r"token=([A-Za-z0-9_-]{43})")
LIMIT = 4  # the owner and room for three more


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def start(name, env):
    data = new_data_dir(name)
    r = run_cli(["admin", "create", "--email", "root@example.com"], data=data,
                input=ADMIN_PW + "\n")
    assert r.returncode == 0, r.stderr
    lx = Luxima(data=data, env=env)
    r = lx.post("/auth/login", {"email": "root@example.com", "password": ADMIN_PW})
    assert r.status == 200, r.body
    return lx, bearer(r.json()["access_token"])


class Base(unittest.TestCase):
    n = 0

    def user(self, email=None):
        Base.n += 1
        email = email or "inv%d-%d@example.com" % (os.getpid(), Base.n)
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        uid = r.json()["user"]["id"]
        r = self.lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        return uid, bearer(r.json()["access_token"]), email

    def req(self, h, method, path, body=None):
        return self.lx.request(method, path, body=body, headers=h)

    def tenant(self, h, name="Acme"):
        r = self.req(h, "POST", "/tenants", {"name": name})
        self.assertEqual(r.status, 201, r.body)
        return r.json()["id"]

    def invite(self, h, tid, email, role="member"):
        r = self.req(h, "POST", "/tenants/%s/invitations" % tid,
                     {"email": email, "role": role})
        self.assertEqual(r.status, 201, r.body)
        inv = r.json()
        self.assertNotIn("token", inv)
        return inv

    def token_for(self, email, nth=1):
        """The token of the nth invitation mailed to email (outbox, newest
        first in /admin/mail)."""
        deadline = time.time() + 10
        while time.time() < deadline:
            items = self.lx.get("/admin/mail?limit=100", headers=self.admin).json()["items"]
            rows = [m for m in items if m["to"] == email]
            if len(rows) >= nth:
                m = rows[len(rows) - nth]
                full = self.lx.get("/admin/mail/%s" % m["id"], headers=self.admin).json()
                self.assertIn("/accept-invitation?token=", full["text"])
                return TOKEN_RE.search(full["text"]).group(1)
            time.sleep(0.05)
        raise AssertionError("no invitation mail to " + email)

    def members(self, h, tid):
        r = self.req(h, "GET", "/tenants/%s/members?limit=100" % tid)
        self.assertEqual(r.status, 200, r.body)
        return r.json()["members"]


class Invites(Base):
    @classmethod
    def setUpClass(cls):
        cls.lx, cls.admin = start("invites", {
            "LUXIMA_TENANTS_MEMBER_LIMIT": str(LIMIT)})

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def test_invite_accept(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        uid, hu, email = self.user()
        inv = self.invite(ho, tid, email.upper(), "viewer")
        self.assertEqual(inv["email"], email)
        self.assertEqual(inv["role"], "viewer")
        self.assertGreater(inv["expires_at"], inv["created_at"])
        r = self.req(ho, "GET", "/tenants/%s/invitations" % tid)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([i["id"] for i in r.json()["invitations"]], [inv["id"]])
        # A second pending invitation for the same address is refused.
        assert_problem(self, self.req(ho, "POST", "/tenants/%s/invitations" % tid,
                                      {"email": email, "role": "member"}),
                       409, "invitation_pending")
        tok = self.token_for(email)
        assert_problem(self, self.lx.post("/invitations/%s/accept" % tok), 401)
        r = self.req(hu, "POST", "/invitations/%s/accept" % tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {"tenant_id": tid, "user_id": uid, "role": "viewer"})
        roles = {m["user_id"]: m["role"] for m in self.members(ho, tid)}
        self.assertEqual(roles[uid], "viewer")
        # Used: gone from the list, and a second accept is 404.
        r = self.req(ho, "GET", "/tenants/%s/invitations" % tid)
        self.assertEqual(r.json()["invitations"], [])
        assert_problem(self, self.req(hu, "POST", "/invitations/%s/accept" % tok),
                       404, "invitation_not_found")
        # The new viewer cannot invite.
        assert_problem(self, self.req(hu, "POST", "/tenants/%s/invitations" % tid,
                                      {"email": "x@example.com", "role": "member"}),
                       403, "forbidden")

    def test_wrong_email(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        _, _, email = self.user()
        _, hother, _ = self.user()
        self.invite(ho, tid, email)
        tok = self.token_for(email)
        assert_problem(self, self.req(hother, "POST", "/invitations/%s/accept" % tok),
                       403, "invitation_email_mismatch")
        self.assertEqual(len(self.members(ho, tid)), 1)

    def test_revoke(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        _, hu, email = self.user()
        inv = self.invite(ho, tid, email)
        tok = self.token_for(email)
        r = self.req(ho, "DELETE", "/tenants/%s/invitations/%s" % (tid, inv["id"]))
        self.assertEqual(r.status, 204, r.body)
        assert_problem(self, self.req(ho, "DELETE", "/tenants/%s/invitations/%s"
                                      % (tid, inv["id"])), 404, "invitation_not_found")
        assert_problem(self, self.req(hu, "POST", "/invitations/%s/accept" % tok),
                       404, "invitation_not_found")
        # Revoked, the address may be invited again.
        self.invite(ho, tid, email)

    def test_bad_tokens(self):
        _, hu, _ = self.user()
        for tok in ("x" * 43, "short", "A" * 44):
            assert_problem(self, self.req(hu, "POST", "/invitations/%s/accept" % tok),
                           404, "invitation_not_found")

    def test_bad_input(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        path = "/tenants/%s/invitations" % tid
        assert_problem(self, self.req(ho, "POST", path, {"email": "nope", "role": "member"}),
                       422, "invalid_email")
        assert_problem(self, self.req(ho, "POST", path, {"email": "a@example.com",
                                                         "role": "king"}),
                       422, "invalid_role")
        assert_problem(self, self.req(ho, "POST", path, {"email": "a@example.com",
                                                         "role": "owner"}),
                       422, "invalid_role")
        assert_problem(self, self.req(ho, "POST", path, {"email": "a@example.com"}), 422)
        assert_problem(self, self.req(ho, "GET", path + "?limit=0"), 400, "invalid_limit")

    def test_other_tenant(self):
        _, ha, _ = self.user()
        ta = self.tenant(ha, "A")
        _, hb, _ = self.user()
        self.tenant(hb, "B")
        inv = self.invite(ha, ta, "target-%d@example.com" % os.getpid())
        assert_problem(self, self.req(hb, "GET", "/tenants/%s/invitations" % ta),
                       404, "not_found")
        assert_problem(self, self.req(hb, "DELETE", "/tenants/%s/invitations/%s"
                                      % (ta, inv["id"])), 404, "not_found")
        assert_problem(self, self.req(hb, "POST", "/tenants/%s/invitations" % ta,
                                      {"email": "b@example.com", "role": "member"}),
                       404, "not_found")
        r = self.req(ha, "GET", "/tenants/%s/invitations" % ta)
        self.assertEqual([i["id"] for i in r.json()["invitations"]], [inv["id"]])

    def test_viewer_cannot_invite(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        _, hv, ev = self.user()
        r = self.req(ho, "POST", "/tenants/%s/members" % tid, {"email": ev, "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        assert_problem(self, self.req(hv, "POST", "/tenants/%s/invitations" % tid,
                                      {"email": "z@example.com", "role": "member"}),
                       403, "forbidden")
        r = self.req(hv, "GET", "/tenants/%s/invitations" % tid)
        self.assertEqual(r.status, 200, r.body)

    def test_member_limit_race(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        users = [self.user() for _ in range(8)]
        toks = []
        for _, _, email in users:
            self.invite(ho, tid, email)
            toks.append(self.token_for(email))
        results = [None] * len(users)

        def accept(i):
            results[i] = self.req(users[i][1], "POST", "/invitations/%s/accept" % toks[i])

        threads = [threading.Thread(target=accept, args=(i,)) for i in range(len(users))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in results if r.status == 200]
        self.assertEqual(len(ok), LIMIT - 1, [(r.status, r.body) for r in results])
        for r in results:
            if r.status != 200:
                p = assert_problem(self, r, 403, "quota_exceeded")
                self.assertIn(str(LIMIT), p["detail"])
        self.assertEqual(len(self.members(ho, tid)), LIMIT)
        # Adding a member directly meets the same limit.
        _, _, extra = self.user()
        assert_problem(self, self.req(ho, "POST", "/tenants/%s/members" % tid,
                                      {"email": extra, "role": "member"}),
                       403, "quota_exceeded")


class Expiry(Base):
    @classmethod
    def setUpClass(cls):
        cls.lx, cls.admin = start("invites-ttl", {"LUXIMA_TENANTS_INVITATION_TTL_S": "1"})

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def test_expired(self):
        _, ho, _ = self.user()
        tid = self.tenant(ho)
        _, hu, email = self.user()
        self.invite(ho, tid, email)
        tok = self.token_for(email)
        time.sleep(1.2)
        assert_problem(self, self.req(hu, "POST", "/invitations/%s/accept" % tok),
                       410, "invitation_expired")
        r = self.req(ho, "GET", "/tenants/%s/invitations" % tid)
        self.assertEqual(r.json()["invitations"], [])
        self.assertEqual(len(self.members(ho, tid)), 1)
        # Expired, the address may be invited again.
        self.invite(ho, tid, email)


if __name__ == "__main__":
    main()
