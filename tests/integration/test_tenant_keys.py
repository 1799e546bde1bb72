#!/usr/bin/env python3
"""Service keys against the real binary: a key with a subset of its
creator's permissions, its secret shown once, its use on its tenant's
routes (allowed by its permissions, 403 beyond them), 404 on another
tenant's routes, refusal on user-only routes, revocation taking effect on
the very next request, who may create keys and with what, bad input."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main  # noqa: E402

PW = "a long enough passphrase"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class TenantKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def user(self):
        TenantKeys.n += 1
        email = "k%d@example.com" % TenantKeys.n
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        uid = r.json()["user"]["id"]
        r = self.lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        return uid, bearer(r.json()["access_token"]), email

    def req(self, h, method, path, body=None):
        return self.lx.request(method, path, body=body, headers=h)

    def tenant(self, h, name):
        r = self.req(h, "POST", "/tenants", {"name": name})
        self.assertEqual(r.status, 201, r.body)
        return r.json()["id"]

    def key(self, h, tid, perms, name="ci"):
        r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                     {"name": name, "permissions": perms})
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def test_create_list_secret_once(self):
        uid, h, _ = self.user()
        a = self.tenant(h, "Keys A")
        k = self.key(h, a, ["members.read", "tenants.read"])
        self.assertTrue(k["secret"].startswith("lx_sk_"))
        self.assertTrue(k["secret"].startswith(k["prefix"]))
        self.assertLess(len(k["prefix"]), len(k["secret"]) // 2)
        self.assertEqual(k["permissions"], ["tenants.read", "members.read"])
        self.assertEqual(k["created_by"], uid)
        self.assertIsNone(k["revoked_at"])
        r = self.req(h, "GET", "/tenants/%s/api-keys" % a)
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn(k["secret"], r.body)
        self.assertNotIn(k["secret"][len(k["prefix"]):], r.body)
        rows = r.json()["api_keys"]
        self.assertEqual([x["id"] for x in rows], [k["id"]])
        self.assertNotIn("secret", rows[0])
        self.assertNotIn("secret_hash", rows[0])
        self.assertEqual(rows[0]["prefix"], k["prefix"])
        self.assertIsNone(r.json()["next_cursor"])

    def test_pagination(self):
        _, h, _ = self.user()
        a = self.tenant(h, "Keys Pages")
        ids = sorted(self.key(h, a, ["tenants.read"], "k%d" % i)["id"]
                     for i in range(3))
        r = self.req(h, "GET", "/tenants/%s/api-keys?limit=2" % a)
        self.assertEqual([x["id"] for x in r.json()["api_keys"]], ids[:2])
        cur = r.json()["next_cursor"]
        r = self.req(h, "GET", "/tenants/%s/api-keys?limit=2&cursor=%s" % (a, cur))
        self.assertEqual([x["id"] for x in r.json()["api_keys"]], ids[2:])
        self.assertIsNone(r.json()["next_cursor"])
        assert_problem(self, self.req(h, "GET", "/tenants/%s/api-keys?limit=0" % a),
                       400, "invalid_limit")

    def test_key_use_and_isolation(self):
        _, ha, _ = self.user()
        _, hb, emb = self.user()
        a = self.tenant(ha, "Keys Alpha")
        b = self.tenant(hb, "Keys Beta")
        k = self.key(ha, a, ["tenants.read", "members.read", "members.write"])
        hk = bearer(k["secret"])
        # allowed by its permissions
        r = self.req(hk, "GET", "/tenants/" + a)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["id"], a)
        r = self.req(hk, "GET", "/tenants/%s/members" % a)
        self.assertEqual(r.status, 200, r.body)
        r = self.req(hk, "POST", "/tenants/%s/members" % a,
                     {"email": emb, "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        r = self.req(hk, "POST", "/tenants/%s/invitations" % a,
                     {"email": "guest-by-key@example.com", "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        # beyond them
        p = assert_problem(self, self.req(hk, "PATCH", "/tenants/" + a, {"name": "X"}),
                           403, "forbidden")
        self.assertIn("tenants.write", p["detail"])
        assert_problem(self, self.req(hk, "GET", "/tenants/%s/api-keys" % a),
                       403, "forbidden")
        # a key cannot grant the owner role (no owner behind it)
        assert_problem(self, self.req(hk, "PATCH", "/tenants/%s/members/%s" % (a, "x"),
                                      {"role": "owner"}), 404)
        # another tenant's routes: 404, no B data, nothing changed in B
        before = self.req(hb, "GET", "/tenants/%s/members" % b).body
        for method, path, body in (
                ("GET", "/tenants/" + b, None),
                ("GET", "/tenants/%s/members" % b, None),
                ("POST", "/tenants/%s/members" % b, {"email": emb, "role": "viewer"}),
                ("PATCH", "/tenants/" + b, {"name": "pwned"}),
                ("GET", "/tenants/%s/api-keys" % b, None)):
            r = self.req(hk, method, path, body)
            assert_problem(self, r, 404, "not_found")
            self.assertNotIn(b, r.body)
            self.assertNotIn("Keys Beta", r.body)
        self.assertEqual(self.req(hb, "GET", "/tenants/%s/members" % b).body, before)
        self.assertEqual(self.req(hb, "GET", "/tenants/" + b).json()["name"], "Keys Beta")
        # user-only routes refuse keys
        assert_problem(self, self.req(hk, "GET", "/tenants"), 403, "user_token_required")
        assert_problem(self, self.req(hk, "POST", "/tenants", {"name": "K"}),
                       403, "user_token_required")
        r = self.req(hk, "GET", "/auth/me")
        self.assertIn(r.status, (401, 403), r.body)
        # a wrong secret with a valid prefix, and garbage
        bad = k["secret"][:-4] + ("AAAA" if not k["secret"].endswith("AAAA") else "BBBB")
        assert_problem(self, self.req(bearer(bad), "GET", "/tenants/" + a),
                       401, "invalid_token")
        assert_problem(self, self.req(bearer("lx_sk_short"), "GET", "/tenants/" + a),
                       401, "invalid_token")

    def test_revoke(self):
        _, h, _ = self.user()
        a = self.tenant(h, "Keys Revoke")
        k = self.key(h, a, ["tenants.read"])
        hk = bearer(k["secret"])
        self.assertEqual(self.req(hk, "GET", "/tenants/" + a).status, 200)
        r = self.req(h, "DELETE", "/tenants/%s/api-keys/%s" % (a, k["id"]))
        self.assertEqual(r.status, 204, r.body)
        assert_problem(self, self.req(hk, "GET", "/tenants/" + a), 401, "invalid_token")
        rows = self.req(h, "GET", "/tenants/%s/api-keys" % a).json()["api_keys"]
        self.assertIsNotNone(rows[0]["revoked_at"])
        assert_problem(self, self.req(h, "DELETE", "/tenants/%s/api-keys/%s" % (a, k["id"])),
                       404, "key_not_found")
        # a key with service_keys.write revokes keys; another tenant's
        # owner cannot reach them
        k2 = self.key(h, a, ["service_keys.write", "service_keys.read"])
        k3 = self.key(h, a, ["tenants.read"])
        _, hb, _ = self.user()
        assert_problem(self, self.req(hb, "DELETE", "/tenants/%s/api-keys/%s" % (a, k3["id"])),
                       404, "not_found")
        r = self.req(bearer(k2["secret"]), "DELETE", "/tenants/%s/api-keys/%s" % (a, k3["id"]))
        self.assertEqual(r.status, 204, r.body)
        assert_problem(self, self.req(bearer(k3["secret"]), "GET", "/tenants/" + a),
                       401, "invalid_token")

    def test_who_may_create(self):
        _, ho, _ = self.user()
        _, hv, emv = self.user()
        _, hm, emm = self.user()
        a = self.tenant(ho, "Keys Roles")
        for em, role in ((emv, "viewer"), (emm, "admin")):
            r = self.req(ho, "POST", "/tenants/%s/members" % a, {"email": em, "role": role})
            self.assertEqual(r.status, 201, r.body)
        assert_problem(self, self.req(hv, "POST", "/tenants/%s/api-keys" % a,
                                      {"name": "v", "permissions": ["tenants.read"]}),
                       403, "forbidden")
        # an admin holds service_keys.write; a key may carry only what the
        # creator holds: a key with service_keys.write but not billing
        k = self.key(ho, a, ["service_keys.write", "tenants.read"])
        p = assert_problem(self, self.req(bearer(k["secret"]), "POST",
                                          "/tenants/%s/api-keys" % a,
                                          {"name": "x",
                                           "permissions": ["tenants.read", "billing.write",
                                                           "members.write"]}),
                           403, "permission_not_held")
        self.assertIn("billing.write", p["detail"])
        self.assertIn("members.write", p["detail"])
        self.assertNotIn("tenants.read", p["detail"])
        # a key-created key: created_by null
        r = self.req(bearer(k["secret"]), "POST", "/tenants/%s/api-keys" % a,
                     {"name": "sub", "permissions": ["tenants.read"]})
        self.assertEqual(r.status, 201, r.body)
        self.assertIsNone(r.json()["created_by"])

    def test_member_cannot_grant_more(self):
        # an admin holds service_keys.write but not billing.write nor
        # tenants.write (roles_default.sql)
        _, ho, _ = self.user()
        _, hm, emm = self.user()
        a = self.tenant(ho, "Keys Member")
        r = self.req(ho, "POST", "/tenants/%s/members" % a, {"email": emm, "role": "admin"})
        self.assertEqual(r.status, 201, r.body)
        p = assert_problem(self, self.req(hm, "POST", "/tenants/%s/api-keys" % a,
                                          {"name": "m", "permissions":
                                           ["members.read", "billing.write", "tenants.write"]}),
                           403, "permission_not_held")
        self.assertIn("billing.write, tenants.write", p["detail"].replace("tenants.write, billing.write", "billing.write, tenants.write"))
        self.assertEqual(self.req(ho, "GET", "/tenants/%s/api-keys" % a).json()["api_keys"], [])
        k = self.key(hm, a, ["members.read", "service_keys.read"])
        self.assertEqual(k["permissions"], ["members.read", "service_keys.read"])

    def test_bad_input(self):
        _, h, _ = self.user()
        a = self.tenant(h, "Keys Bad")
        path = "/tenants/%s/api-keys" % a
        for body, status, code in (
                ({"name": "x", "permissions": ["nope.read"]}, 422, "unknown_permission"),
                ({"name": "x", "permissions": []}, 422, "invalid_permissions"),
                ({"name": "x", "permissions": [1]}, 422, "invalid_permissions"),
                ({"name": "x", "permissions": "tenants.read"}, 422, "wrong_type"),
                ({"name": "", "permissions": ["tenants.read"]}, 422, "invalid_name"),
                ({"permissions": ["tenants.read"]}, 422, "missing_field"),
                ({"name": "x"}, 422, "missing_field"),
                ({"name": "x", "permissions": ["tenants.read"], "secret": "s"}, 422,
                 "unknown_field")):
            assert_problem(self, self.req(h, "POST", path, body), status, code)
        assert_problem(self, self.req(h, "DELETE", path + "/not-a-key"), 404, "key_not_found")
        self.assertEqual(self.req(h, "GET", path).json()["api_keys"], [])


if __name__ == "__main__":
    main()
