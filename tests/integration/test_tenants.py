#!/usr/bin/env python3
"""Tenants and members against the real binary: isolation (tenant B's owner
gets 404 on every route of tenant A, with no A data and nothing changed),
permissions (viewer, member), a removed member, last-owner rules under
concurrent demotions, pagination and bad input."""
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main  # noqa: E402

PW = "a long enough passphrase"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class Tenants(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def user(self):
        Tenants.n += 1
        email = "u%d@example.com" % Tenants.n
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        uid = r.json()["user"]["id"]
        r = self.lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        return uid, bearer(r.json()["access_token"]), email

    def req(self, h, method, path, body=None):
        return self.lx.request(method, path, body=body, headers=h)

    def tenant(self, h, name="Acme", slug=None):
        body = {"name": name}
        if slug is not None:
            body["slug"] = slug
        r = self.req(h, "POST", "/tenants", body)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def test_create_get_list(self):
        _, h, _ = self.user()
        t = self.tenant(h, "Acme Corp", "Acme_Corp")
        self.assertEqual(t["slug"], "acme-corp")
        self.assertEqual(t["role"], "owner")
        self.assertEqual(t["plan"], "free")
        r = self.req(h, "GET", "/tenants/" + t["id"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["name"], "Acme Corp")
        r = self.req(h, "GET", "/tenants")
        self.assertEqual([x["id"] for x in r.json()["tenants"]], [t["id"]])
        _, h2, _ = self.user()
        assert_problem(self, self.req(h2, "POST", "/tenants", {"name": "X", "slug": "acme-corp"}),
                       409, "slug_taken")
        r = self.req(h, "PATCH", "/tenants/" + t["id"], {"name": "Acme 2"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["name"], "Acme 2")

    def test_isolation(self):
        ua, ha, _ = self.user()
        ub, hb, _ = self.user()
        uc, _, emc = self.user()
        a = self.tenant(ha, "Alpha")
        self.tenant(hb, "Beta")
        self.assertEqual(self.req(ha, "POST", "/tenants/%s/members" % a["id"],
                                  {"email": emc, "role": "member"}).status, 201)
        before = (self.req(ha, "GET", "/tenants/" + a["id"]).body,
                  self.req(ha, "GET", "/tenants/%s/members" % a["id"]).body)
        tid = a["id"]
        calls = [("GET", "/tenants/" + tid, None),
                 ("PATCH", "/tenants/" + tid, {"name": "pwned"}),
                 ("DELETE", "/tenants/" + tid, None),
                 ("GET", "/tenants/%s/members" % tid, None),
                 ("POST", "/tenants/%s/members" % tid, {"user_id": ub, "role": "owner"}),
                 ("PATCH", "/tenants/%s/members/%s" % (tid, uc), {"role": "owner"}),
                 ("DELETE", "/tenants/%s/members/%s" % (tid, ua), None),
                 ("GET", "/tenants/00000000-0000-4000-8000-000000000000", None)]
        for m, p, b in calls:
            r = self.req(hb, m, p, b)
            assert_problem(self, r, 404, "not_found")
            self.assertNotIn("Alpha", r.body)
            self.assertNotIn(ua, r.body)
            self.assertNotIn(uc, r.body)
        after = (self.req(ha, "GET", "/tenants/" + a["id"]).body,
                 self.req(ha, "GET", "/tenants/%s/members" % a["id"]).body)
        self.assertEqual(before, after)
        self.assertNotIn(tid, self.req(hb, "GET", "/tenants").body)

    def test_roles(self):
        _, ho, _ = self.user()
        uv, hv, ev = self.user()
        um, hm, em = self.user()
        t = self.tenant(ho)
        tid = t["id"]
        for e, role in ((ev, "viewer"), (em, "member")):
            r = self.req(ho, "POST", "/tenants/%s/members" % tid, {"email": e, "role": role})
            self.assertEqual(r.status, 201, r.body)
        assert_problem(self, self.req(ho, "POST", "/tenants/%s/members" % tid,
                                      {"email": ev, "role": "member"}), 409, "already_member")
        assert_problem(self, self.req(ho, "POST", "/tenants/%s/members" % tid,
                                      {"email": "nobody@example.com", "role": "member"}), 404)
        self.assertEqual(self.req(hv, "GET", "/tenants/" + tid).status, 200)
        p = assert_problem(self, self.req(hv, "PATCH", "/tenants/" + tid, {"name": "v"}), 403, "forbidden")
        self.assertIn("tenants.write", p["detail"])
        assert_problem(self, self.req(hv, "DELETE", "/tenants/" + tid), 403)
        p = assert_problem(self, self.req(hm, "POST", "/tenants/%s/members" % tid,
                                          {"email": ev, "role": "admin"}), 403, "forbidden")
        self.assertIn("members.write", p["detail"])
        assert_problem(self, self.req(hm, "DELETE", "/tenants/%s/members/%s" % (tid, uv)), 403)
        self.assertEqual(self.req(hm, "GET", "/tenants/%s/members" % tid).status, 200)
        # A removed member's next request fails.
        self.assertEqual(self.req(ho, "DELETE", "/tenants/%s/members/%s" % (tid, um)).status, 204)
        assert_problem(self, self.req(hm, "GET", "/tenants/" + tid), 404, "not_found")
        # Soft delete: gone for everyone.
        self.assertEqual(self.req(ho, "DELETE", "/tenants/" + tid).status, 204)
        assert_problem(self, self.req(ho, "GET", "/tenants/" + tid), 404)
        self.assertNotIn(tid, self.req(ho, "GET", "/tenants").body)

    def test_last_owner(self):
        u1, h1, _ = self.user()
        u2, h2, e2 = self.user()
        t = self.tenant(h1)
        tid = t["id"]
        assert_problem(self, self.req(h1, "PATCH", "/tenants/%s/members/%s" % (tid, u1),
                                      {"role": "admin"}), 409, "last_owner")
        assert_problem(self, self.req(h1, "DELETE", "/tenants/%s/members/%s" % (tid, u1)),
                       409, "last_owner")
        self.assertEqual(self.req(h1, "POST", "/tenants/%s/members" % tid,
                                  {"email": e2, "role": "admin"}).status, 201)
        # An admin cannot grant the owner role.
        assert_problem(self, self.req(h2, "PATCH", "/tenants/%s/members/%s" % (tid, u2),
                                      {"role": "owner"}), 403)
        for _ in range(5):
            self.assertEqual(self.req(h1, "PATCH", "/tenants/%s/members/%s" % (tid, u2),
                                      {"role": "owner"}).status, 200)
            results = []

            def demote(h, u):
                results.append(self.req(h, "PATCH", "/tenants/%s/members/%s" % (tid, u),
                                        {"role": "admin"}).status)
            th = [threading.Thread(target=demote, args=(h1, u2)),
                  threading.Thread(target=demote, args=(h2, u1))]
            for x in th:
                x.start()
            for x in th:
                x.join()
            # One demotion wins. The other loses either on the last-owner
            # rule (409) or, when the winner already demoted its caller,
            # because an admin may not touch the owner role (403).
            self.assertEqual(sorted(results)[0], 200, results)
            self.assertIn(sorted(results)[1], (403, 409), results)
            roles = {}
            for h in (h1, h2):
                r = self.req(h, "GET", "/tenants/%s/members" % tid)
                if r.status == 200:
                    roles = {m["user_id"]: m["role"] for m in r.json()["members"]}
            self.assertEqual(list(roles.values()).count("owner"), 1, roles)
            owner_h = h1 if roles[u1] == "owner" else h2
            other = u2 if roles[u1] == "owner" else u1
            self.assertEqual(self.req(owner_h, "PATCH", "/tenants/%s/members/%s" % (tid, other),
                                      {"role": "owner"}).status, 200)
            self.assertEqual(self.req(owner_h, "PATCH", "/tenants/%s/members/%s" % (tid, u2),
                                      {"role": "admin"}).status, 200)

    def test_pagination(self):
        _, h, _ = self.user()
        ids = sorted(self.tenant(h, "P%d" % i)["id"] for i in range(7))
        seen, cursor = [], None
        while True:
            path = "/tenants?limit=3" + ("&cursor=" + cursor if cursor else "")
            r = self.req(h, "GET", path)
            self.assertEqual(r.status, 200, r.body)
            d = r.json()
            self.assertLessEqual(len(d["tenants"]), 3)
            seen += [x["id"] for x in d["tenants"]]
            cursor = d["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, ids)
        for q in ("limit=0", "limit=101", "limit=x", "cursor=%27", "foo=1"):
            self.assertEqual(self.req(h, "GET", "/tenants?" + q).status, 400, q)

    def test_bad_input(self):
        _, h, _ = self.user()
        t = self.tenant(h)
        r = self.lx.request("POST", "/tenants", body="{nope",
                            headers=dict(h, **{"Content-Type": "application/json"}))
        assert_problem(self, r, 400, "invalid_json")
        assert_problem(self, self.req(h, "POST", "/tenants", {"name": 5}), 422, "wrong_type")
        assert_problem(self, self.req(h, "POST", "/tenants", {"name": "a", "x": 1}), 422, "unknown_field")
        assert_problem(self, self.req(h, "POST", "/tenants", {"name": "a" * 201}), 422)
        for slug in ("ab", "9lives", "bad/slug", "é-slug", "x" * 49):
            assert_problem(self, self.req(h, "POST", "/tenants", {"name": "a", "slug": slug}), 422)
        assert_problem(self, self.req(h, "PATCH", "/tenants/" + t["id"], {"slug": "no!"}), 422, "invalid_slug")
        assert_problem(self, self.req(h, "POST", "/tenants/%s/members" % t["id"],
                                      {"email": "a@b.c", "role": "god"}), 422, "invalid_role")
        assert_problem(self, self.req(None, "GET", "/tenants"), 401)
        json.dumps(t)


if __name__ == "__main__":
    main()
