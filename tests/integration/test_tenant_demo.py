#!/usr/bin/env python3
"""The demo data (migrations/seeds/tenants_demo.sql): `luxima serve` with
profile demo loads it, `luxima seed demo` loads it into a data folder and a
second run changes nothing; the demo accounts sign in with the documented
password and see their own tenants only, with their roles."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

DEMO_PW = "luxima-demo-orchard-42"
ACME = "de7e0000-0000-4000-8000-00000000000a"
GLOBEX = "de7e0000-0000-4000-8000-00000000000b"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class Demo(unittest.TestCase):
    def login(self, lx, email):
        r = lx.post("/auth/login", {"email": email, "password": DEMO_PW})
        self.assertEqual(r.status, 200, r.body)
        return bearer(r.json()["access_token"])

    def mine(self, lx, h):
        r = lx.get("/tenants", headers=h)
        self.assertEqual(r.status, 200, r.body)
        return sorted((t["slug"], t["role"]) for t in r.json()["tenants"])

    def test_profile_demo_serves_demo_tenants(self):
        with Luxima(env={"LUXIMA_PROFILE": "demo"}) as lx:
            h = self.login(lx, "owner@acme.example.com")
            self.assertEqual(self.mine(lx, h), [("acme", "owner")])
            r = lx.get("/tenants/%s/members" % ACME, headers=h)
            self.assertEqual(sorted(m["role"] for m in r.json()["members"]),
                             ["admin", "member", "member", "owner", "viewer"])
            # Isolation holds for the demo data too.
            assert_problem(self, lx.get("/tenants/%s" % GLOBEX, headers=h), 404)
            hc = self.login(lx, "consultant@example.com")
            self.assertEqual(self.mine(lx, hc), [("acme", "member"), ("globex", "viewer")])
            r = lx.request("PATCH", "/tenants/%s" % GLOBEX, body={"name": "x"}, headers=hc)
            assert_problem(self, r, 403, "forbidden")
            hb = self.login(lx, "billing@globex.example.com")
            self.assertEqual(self.mine(lx, hb), [("globex", "billing")])
            r = lx.get("/tenants/%s/summary" % GLOBEX, headers=hb)
            self.assertEqual(r.json()["usage"]["members"], 4)
            self.assertIn("sign in as owner@acme.example.com", lx.output())

    def test_default_profile_has_no_demo_data(self):
        with Luxima() as lx:
            r = lx.post("/auth/login", {"email": "owner@acme.example.com", "password": DEMO_PW})
            assert_problem(self, r, 401)

    def test_seed_demo_twice(self):
        data = new_data_dir("demo-seed")
        for _ in range(2):
            r = run_cli(["seed", "demo"], data=data)
            self.assertEqual(r.returncode, 0, r.stderr)
        with Luxima(data=data) as lx:
            h = self.login(lx, "owner@globex.example.com")
            self.assertEqual(self.mine(lx, h), [("globex", "owner")])
            r = lx.get("/tenants/%s/members" % GLOBEX, headers=h)
            self.assertEqual(len(r.json()["members"]), 4)
            # A demo user's change survives another seed run.
            r = lx.request("PATCH", "/tenants/%s" % GLOBEX, body={"name": "Globex Renamed"},
                           headers=h)
            self.assertEqual(r.status, 200, r.body)
        self.assertEqual(run_cli(["seed", "demo"], data=data).returncode, 0)
        with Luxima(data=data) as lx:
            h = self.login(lx, "owner@globex.example.com")
            self.assertEqual(lx.get("/tenants/%s" % GLOBEX, headers=h).json()["name"],
                             "Globex Renamed")


if __name__ == "__main__":
    main()
