#!/usr/bin/env python3
"""Billing against the real binary: public plans and platform-admin plan
management, a tenant's subscription lifecycle (trial, plan changes with
proration, cancel at period end, resume), invoices (creation from a period,
totals equal to the sum of their lines, finalization with gapless numbers,
void, uncollectible, payment, the printable HTML page), the renewal run
(`luxima billing renew --at`, a test clock) closing each period exactly
once even when killed with SIGKILL mid-run, refusal of a plan below the
tenant's usage, and another tenant's ids answering 404."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Luxima, assert_problem, base_env, main, run_cli  # noqa: E402

PW = "a long enough passphrase"
DAY = 86400000


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def ms_of(t):
    import calendar
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])


class Billing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima()
        cls.n = 0
        email = "root@billing.example.com"
        r = run_cli(["admin", "create", "--email", email], data=cls.lx.data, input=PW + "\n")
        assert r.returncode == 0, r.stderr
        cls.admin = cls.login(email)
        # Plans without a trial, to see money move at once.
        for code, amount, limits in (
                ("starter", 1000, {"service_keys": {"quota": 5}}),
                ("growth", 4000, {"service_keys": {"quota": 20},
                                  "api_requests": {"quota": None, "included": 1000,
                                                   "unit_amount": 25, "unit_size": 100}}),
                ("tiny", 500, {"service_keys": {"quota": 1}, "members": {"quota": 1}}),
                ("metered", 700, {"api_requests": {"quota": 20}, "service_keys": {"quota": 2},
                                  "members": {"quota": 2}})):
            r = cls.lx.post("/admin/plans", {"code": code, "name": code.title(), "amount": amount,
                                             "currency": "USD", "interval": "month",
                                             "limits": limits}, headers=cls.admin)
            assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    @classmethod
    def login(cls, email):
        r = cls.lx.post("/auth/login", {"email": email, "password": PW})
        assert r.status == 200, r.body
        return bearer(r.json()["access_token"])

    def user(self):
        Billing.n += 1
        email = "b%d@example.com" % Billing.n
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        return r.json()["user"]["id"], self.login(email), email

    def req(self, h, method, path, body=None, tenant=None, extra=None):
        hh = dict(h)
        if tenant:
            hh["X-Tenant-Id"] = tenant
        hh.update(extra or {})
        return self.lx.request(method, path, body=body, headers=hh)

    def tenant(self, h, name="Billing Co"):
        r = self.req(h, "POST", "/tenants", {"name": name})
        self.assertEqual(r.status, 201, r.body)
        return r.json()["id"]

    def subscribe(self, h, tid, plan):
        r = self.req(h, "POST", "/subscriptions", {"plan": plan}, tenant=tid)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def check_total(self, inv):
        self.assertEqual(inv["total"], sum(l["amount"] for l in inv["lines"]), inv)
        self.assertEqual(inv["subtotal"], inv["total"])
        for l in inv["lines"]:
            if l["kind"] in ("subscription", "usage"):
                self.assertEqual(l["amount"], l["quantity"] * l["unit_amount"], l)

    def invoices(self, h, tid, q=""):
        r = self.req(h, "GET", "/invoices" + q, tenant=tid)
        self.assertEqual(r.status, 200, r.body)
        out = []
        for i in r.json()["invoices"]:
            full = self.req(h, "GET", "/invoices/" + i["id"], tenant=tid).json()
            self.check_total(full)
            out.append(full)
        return out

    def renew(self, at_ms, env=None):
        r = run_cli(["billing", "renew", "--at", iso(at_ms)], data=self.lx.data, env=env)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return r.stdout

    # --- plans ---

    def test_public_plans(self):
        r = self.lx.get("/plans")
        self.assertEqual(r.status, 200, r.body)
        plans = {p["code"]: p for p in r.json()["plans"]}
        self.assertTrue({"free", "pro", "business"} <= set(plans))
        self.assertTrue(plans["free"]["default"])
        self.assertEqual((plans["pro"]["amount"], plans["pro"]["currency"],
                          plans["pro"]["interval"], plans["pro"]["trial_days"]),
                         (2900, "USD", "month", 14))
        self.assertEqual(plans["free"]["limits"]["members"]["quota"], 10)
        self.assertIsNone(plans["pro"]["limits"]["api_requests"]["quota"])
        assert_problem(self, self.lx.get("/plans?x=1"), 400, "unknown_parameter")

    def test_admin_plan_management(self):
        a = self.admin
        bad = (({"code": "X", "name": "x", "amount": 1, "currency": "USD", "interval": "month"},
                "invalid_code"),
               ({"code": "ok", "name": "x", "amount": 1, "currency": "usd", "interval": "month"},
                "invalid_currency"),
               ({"code": "ok", "name": "x", "amount": 1, "currency": "USD", "interval": "week"},
                "invalid_interval"),
               ({"code": "ok", "name": "x", "amount": -1, "currency": "USD", "interval": "month"},
                "invalid_limits"),
               ({"code": "ok", "name": "x", "amount": 1.5, "currency": "USD",
                 "interval": "month"}, "wrong_type"),
               ({"code": "ok", "name": "x", "amount": 1, "currency": "USD", "interval": "month",
                 "limits": {"seats": {"quota": 1}}}, "unknown_metric"),
               ({"code": "ok", "name": "x", "amount": 1, "currency": "USD", "interval": "month",
                 "limits": {"members": {"quota": 1, "max": 2}}}, "invalid_limits"),
               ({"code": "free", "name": "x", "amount": 1, "currency": "USD",
                 "interval": "month"}, "plan_exists"))
        for body, code in bad:
            with self.subTest(code=code):
                r = self.lx.post("/admin/plans", body, headers=a)
                assert_problem(self, r, 409 if code == "plan_exists" else 422, code)
        _, h, _ = self.user()
        assert_problem(self, self.lx.post("/admin/plans", bad[0][0], headers=h), 403)
        r = self.lx.post("/admin/plans", {"code": "team", "name": "Team", "amount": 1999,
                                          "currency": "EUR", "interval": "year",
                                          "trial_days": 7, "position": 25}, headers=a)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["limits"], {})
        r = self.req(a, "PATCH", "/admin/plans/team", {"amount": 1})
        assert_problem(self, r, 422, "immutable_field")
        r = self.req(a, "PATCH", "/admin/plans/team",
                     {"name": "Team+", "limits": {"members": {"quota": 30}}})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json()["name"], r.json()["limits"]["members"]["quota"]),
                         ("Team+", 30))
        # The default moves, and the default cannot be archived.
        r = self.req(a, "PATCH", "/admin/plans/team", {"default": True})
        self.assertTrue(r.json()["default"])
        # New tenants start on the default plan.
        _, hn, _ = self.user()
        r = self.req(hn, "POST", "/tenants", {"name": "On Team"})
        self.assertEqual(r.json()["plan"], "team")
        self.assertFalse([p for p in self.lx.get("/plans").json()["plans"]
                          if p["code"] == "free"][0]["default"])
        assert_problem(self, self.req(a, "POST", "/admin/plans/team/archive"), 409,
                       "default_plan")
        self.assertEqual(self.req(a, "PATCH", "/admin/plans/free", {"default": True}).status, 200)
        r = self.req(a, "POST", "/admin/plans/team/archive")
        self.assertEqual(r.json()["status"], "archived")
        self.assertNotIn("team", [p["code"] for p in self.lx.get("/plans").json()["plans"]])
        self.assertIn("team", [p["code"] for p in self.lx.get("/admin/plans",
                                                               headers=a).json()["plans"]])
        assert_problem(self, self.req(a, "POST", "/admin/plans/nope/archive"), 404,
                       "plan_not_found")
        _, h, _ = self.user()
        tid = self.tenant(h)
        r = self.req(h, "POST", "/subscriptions", {"plan": "team"}, tenant=tid)
        assert_problem(self, r, 422, "plan_archived")

    # --- subscriptions ---

    def test_trial_then_active(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        s = self.subscribe(h, tid, "pro")
        self.assertEqual((s["status"], s["plan"]), ("trialing", "pro"))
        self.assertEqual(ms_of(s["trial_end"]) - ms_of(s["current_period_start"]), 14 * DAY)
        self.assertEqual(self.req(h, "GET", "/tenants/" + tid).json()["plan"], "pro")
        assert_problem(self, self.req(h, "POST", "/subscriptions", {"plan": "pro"}, tenant=tid),
                       409, "subscription_exists")
        # Nothing to bill during the trial.
        r = self.req(h, "POST", "/invoices", {"subscription_id": s["id"]}, tenant=tid)
        assert_problem(self, r, 409, "nothing_to_invoice")
        # The trial ends: active, a month's period, and still no invoice.
        self.renew(ms_of(s["trial_end"]) + 1000)
        s2 = self.req(h, "GET", "/subscriptions/" + s["id"], tenant=tid).json()
        self.assertEqual(s2["status"], "active")
        self.assertEqual(s2["current_period_start"], s["trial_end"])
        self.assertEqual(self.invoices(h, tid), [])
        # The first paid period closes: one invoice for the Pro fee.
        self.renew(ms_of(s2["current_period_end"]) + 1000)
        invs = self.invoices(h, tid)
        self.assertEqual(len(invs), 1)
        self.assertEqual((invs[0]["status"], invs[0]["total"], invs[0]["billing_reason"]),
                         ("open", 2900, "subscription_cycle"))
        self.assertRegex(invs[0]["number"], r"^LX-\d{4}-\d{6}$")

    def test_bad_subscription_requests(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        assert_problem(self, self.req(h, "POST", "/subscriptions", {"plan": "pro"}), 400,
                       "tenant_required")
        assert_problem(self, self.req(h, "POST", "/subscriptions", {"plan": "gold"}, tenant=tid),
                       422, "unknown_plan")
        assert_problem(self, self.req(h, "POST", "/subscriptions", {}, tenant=tid), 422,
                       "missing_field")
        assert_problem(self, self.req(h, "POST", "/subscriptions", {"plan": 3}, tenant=tid),
                       422, "wrong_type")
        assert_problem(self, self.req(h, "POST", "/subscriptions", "{", tenant=tid,
                                      extra={"Content-Type": "application/json"}),
                       400, "invalid_json")
        _, hv, ev = self.user()
        r = self.req(h, "POST", "/tenants/%s/members" % tid, {"email": ev, "role": "viewer"})
        self.assertEqual(r.status, 201, r.body)
        assert_problem(self, self.req(hv, "POST", "/subscriptions", {"plan": "pro"}, tenant=tid),
                       403, "forbidden")
        self.assertEqual(self.req(h, "GET", "/subscriptions", tenant=tid).json()["subscriptions"],
                         [])
        s = self.subscribe(h, tid, "starter")
        assert_problem(self, self.req(h, "PATCH", "/subscriptions/" + s["id"], {}, tenant=tid),
                       422, "nothing_to_change")
        r = self.req(self.admin, "POST", "/admin/plans",
                     {"code": "euro", "name": "Euro", "amount": 900, "currency": "EUR",
                      "interval": "month"})
        self.assertIn(r.status, (201, 409), r.body)
        assert_problem(self, self.req(h, "PATCH", "/subscriptions/" + s["id"], {"plan": "euro"},
                                      tenant=tid), 422, "incompatible_plan")
        # Another tenant's subscription is not found.
        _, h2, _ = self.user()
        t2 = self.tenant(h2)
        for m, body in (("GET", None), ("PATCH", {"cancel_at_period_end": True})):
            r = self.req(h2, m, "/subscriptions/" + s["id"], body, tenant=t2)
            assert_problem(self, r, 404, "subscription_not_found")
        self.assertFalse(self.req(h, "GET", "/subscriptions/" + s["id"],
                                  tenant=tid).json()["cancel_at_period_end"])

    def test_plan_change_prorates_and_invoice_lifecycle(self):
        _, h, _ = self.user()
        tid = self.tenant(h, "Prorate <Co> & Sons")
        s = self.subscribe(h, tid, "starter")
        self.assertEqual(s["status"], "active")
        start, end = ms_of(s["current_period_start"]), ms_of(s["current_period_end"])
        r = self.req(h, "PATCH", "/subscriptions/" + s["id"], {"plan": "growth"}, tenant=tid)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["plan"], "growth")
        self.assertEqual(self.req(h, "GET", "/tenants/" + tid).json()["plan"], "growth")
        r = self.req(h, "POST", "/invoices", {"subscription_id": s["id"]}, tenant=tid)
        self.assertEqual(r.status, 201, r.body)
        inv = r.json()
        self.check_total(inv)
        self.assertEqual((inv["status"], inv["number"]), ("draft", None))
        kinds = [l["kind"] for l in inv["lines"]]
        self.assertEqual(kinds, ["subscription", "proration", "proration"])
        fee, credit, charge = [l["amount"] for l in inv["lines"]]
        self.assertEqual(fee, 1000)
        # Nearly the whole period remained: about -1000 and +4000.
        whole = (end - start) // 1000
        self.assertTrue(-1000 <= credit <= -990, credit)
        self.assertTrue(3960 <= charge <= 4000, charge)
        self.assertGreater(whole, 27 * 86400)
        assert_problem(self, self.req(h, "POST", "/invoices", {"subscription_id": s["id"]},
                                      tenant=tid), 409, "invoice_exists")
        # Draft: cannot be paid or voided; finalize gives it a number.
        assert_problem(self, self.req(h, "POST", "/invoices/%s/mark-paid" % inv["id"], {},
                                      tenant=tid), 409, "invalid_state")
        assert_problem(self, self.req(h, "POST", "/invoices/%s/void" % inv["id"], tenant=tid),
                       409, "invalid_state")
        r = self.req(h, "POST", "/invoices/%s/finalize" % inv["id"], tenant=tid)
        self.assertEqual(r.status, 200, r.body)
        fin = r.json()
        self.assertEqual(fin["status"], "open")
        self.assertRegex(fin["number"], r"^LX-\d{4}-\d{6}$")
        self.assertEqual(fin["amount_due"], fin["total"])
        assert_problem(self, self.req(h, "POST", "/invoices/%s/finalize" % inv["id"],
                                      tenant=tid), 409, "invalid_state")
        # HTML: printable, escaped.
        r = self.req(h, "GET", "/invoices/" + inv["id"], tenant=tid,
                     extra={"Accept": "text/html,application/xhtml+xml"})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("content-type").startswith("text/html"))
        self.assertIn(fin["number"], r.body)
        self.assertIn("Prorate &lt;Co&gt; &amp; Sons", r.body)
        self.assertNotIn("<Co>", r.body)
        self.assertIn("10.00 USD", r.body)
        # Payment: the wrong amount is refused, the right one settles it.
        r = self.req(h, "POST", "/invoices/%s/mark-paid" % inv["id"], {"amount": 1}, tenant=tid)
        assert_problem(self, r, 422, "amount_mismatch")
        r = self.req(h, "POST", "/invoices/%s/mark-paid" % inv["id"],
                     {"reference": "wire-42"}, tenant=tid)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json()["status"], r.json()["amount_paid"], r.json()["amount_due"]),
                         ("paid", fin["total"], 0))
        # The same reference again changes nothing; another is refused.
        r = self.req(h, "POST", "/invoices/%s/mark-paid" % inv["id"],
                     {"reference": "wire-42"}, tenant=tid)
        self.assertEqual(r.status, 200, r.body)
        assert_problem(self, self.req(h, "POST", "/invoices/%s/mark-paid" % inv["id"],
                                      {"reference": "wire-43"}, tenant=tid), 409, "invalid_state")
        assert_problem(self, self.req(h, "POST", "/invoices/%s/void" % inv["id"], tenant=tid),
                       409, "invalid_state")
        # The period closes: its invoice exists already, so none is added;
        # the next period is on growth.
        self.renew(end + 1000)
        invs = self.invoices(h, tid)
        self.assertEqual([i["id"] for i in invs], [inv["id"]])
        s2 = self.req(h, "GET", "/subscriptions/" + s["id"], tenant=tid).json()
        self.assertEqual(s2["current_period_start"], s["current_period_end"])
        # The next period bills growth, with usage: none counted yet.
        self.renew(ms_of(s2["current_period_end"]) + 1000)
        invs = sorted(self.invoices(h, tid), key=lambda i: i["number"])
        self.assertEqual(len(invs), 2)
        self.assertEqual([l["amount"] for l in invs[1]["lines"]], [4000])
        # Void and uncollectible.
        r = self.req(h, "POST", "/invoices/%s/mark-uncollectible" % invs[1]["id"], tenant=tid)
        self.assertEqual(r.json()["status"], "uncollectible")
        r = self.req(h, "POST", "/invoices/%s/void" % invs[1]["id"], tenant=tid)
        self.assertEqual((r.json()["status"], r.json()["amount_due"]), ("void", 0))
        self.assertEqual([i["status"] for i in self.invoices(h, tid, "?status=void")], ["void"])
        assert_problem(self, self.req(h, "GET", "/invoices?status=late", tenant=tid), 400,
                       "invalid_parameter")
        # Another tenant sees none of it.
        _, h2, _ = self.user()
        t2 = self.tenant(h2)
        for m, p in (("GET", ""), ("POST", "/finalize"), ("POST", "/void"),
                     ("POST", "/mark-paid"), ("DELETE", "")):
            r = self.req(h2, m, "/invoices/" + inv["id"] + p, {} if p == "/mark-paid" else None,
                         tenant=t2)
            assert_problem(self, r, 404, "invoice_not_found")
            self.assertNotIn("Prorate", r.body)
        self.assertEqual(self.invoices(h2, t2), [])
        acts = [a["action"] for a in self.req(h, "GET", "/tenants/%s/audit-logs?limit=100" % tid)
                .json()["audit_logs"]]
        for a in ("subscription.create", "subscription.update", "invoice.create",
                  "invoice.finalize", "invoice.paid", "subscription.renew", "invoice.void",
                  "invoice.uncollectible"):
            self.assertIn(a, acts)

    def test_draft_delete_returns_items(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        s = self.subscribe(h, tid, "starter")
        self.req(h, "PATCH", "/subscriptions/" + s["id"], {"plan": "growth"}, tenant=tid)
        inv = self.req(h, "POST", "/invoices", {"subscription_id": s["id"]}, tenant=tid).json()
        self.assertEqual(self.req(h, "DELETE", "/invoices/" + inv["id"], tenant=tid).status, 204)
        assert_problem(self, self.req(h, "GET", "/invoices/" + inv["id"], tenant=tid), 404)
        again = self.req(h, "POST", "/invoices", {"subscription_id": s["id"]}, tenant=tid).json()
        self.assertEqual([l["amount"] for l in again["lines"]],
                         [l["amount"] for l in inv["lines"]])

    def test_cancel_at_period_end_and_resume(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        s = self.subscribe(h, tid, "starter")
        r = self.req(h, "PATCH", "/subscriptions/" + s["id"], {"cancel_at_period_end": True},
                     tenant=tid)
        self.assertTrue(r.json()["cancel_at_period_end"])
        r = self.req(h, "PATCH", "/subscriptions/" + s["id"], {"cancel_at_period_end": False},
                     tenant=tid)
        self.assertFalse(r.json()["cancel_at_period_end"])
        self.req(h, "PATCH", "/subscriptions/" + s["id"], {"cancel_at_period_end": True},
                 tenant=tid)
        self.renew(ms_of(s["current_period_end"]) + 1000)
        s2 = self.req(h, "GET", "/subscriptions/" + s["id"], tenant=tid).json()
        self.assertEqual(s2["status"], "canceled")
        self.assertEqual(s2["canceled_at"], s["current_period_end"])
        self.assertEqual(self.req(h, "GET", "/tenants/" + tid).json()["plan"], "free")
        invs = self.invoices(h, tid)
        self.assertEqual([i["total"] for i in invs], [1000])
        assert_problem(self, self.req(h, "PATCH", "/subscriptions/" + s["id"], {"plan": "growth"},
                                      tenant=tid), 409, "invalid_state")
        # A new subscription may start.
        self.subscribe(h, tid, "starter")

    # --- limits where they bite ---

    def test_gauge_quotas(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        self.subscribe(h, tid, "metered")
        keys = []
        for i in range(2):
            r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                         {"name": "k%d" % i, "permissions": ["tenants.read"]})
            self.assertEqual(r.status, 201, r.body)
            keys.append(r.json()["id"])
        r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                     {"name": "k3", "permissions": ["tenants.read"]})
        p = assert_problem(self, r, 403, "quota_exceeded")
        self.assertIn("service_keys", p["detail"])
        # A revoked key frees its place.
        self.assertEqual(self.req(h, "DELETE", "/tenants/%s/api-keys/%s" % (tid, keys[0])).status,
                         204)
        r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                     {"name": "k4", "permissions": ["tenants.read"]})
        self.assertEqual(r.status, 201, r.body)
        _, _, e2 = self.user()
        r = self.req(h, "POST", "/tenants/%s/members" % tid, {"email": e2, "role": "member"})
        self.assertEqual(r.status, 201, r.body)
        _, _, e3 = self.user()
        r = self.req(h, "POST", "/tenants/%s/members" % tid, {"email": e3, "role": "member"})
        p = assert_problem(self, r, 403, "quota_exceeded")
        self.assertIn("members", p["detail"])
        r = self.req(h, "GET", "/tenants/%s/usage" % tid)
        self.assertEqual(r.status, 200, r.body)
        u = r.json()
        self.assertEqual(u["plan"], "metered")
        self.assertEqual(u["usage"]["members"], {"used": 2, "quota": 2, "included": 0})
        self.assertEqual(u["usage"]["service_keys"]["used"], 2)
        self.assertEqual(u["usage"]["plugins"], {"used": 0, "quota": None, "included": 0})
        self.assertGreater(u["usage"]["api_requests"]["used"], 0)

    def test_api_requests_exact_under_concurrency(self):
        import concurrent.futures
        _, h, _ = self.user()
        tid = self.tenant(h)
        self.subscribe(h, tid, "metered")
        # The quota of 20 requests for the new period, fired 60 at once
        # from 12 connections: exactly 20 pass.
        def one(_):
            r = self.req(h, "GET", "/tenants/%s/members" % tid)
            return r.status, (r.json().get("code") if r.status != 200 else None)
        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            got = list(ex.map(one, range(60)))
        self.assertEqual(sum(1 for s, _ in got if s == 200), 20, got)
        self.assertEqual({c for s, c in got if s != 200}, {"quota_exceeded"})
        r = self.req(h, "GET", "/tenants/%s" % tid)
        p = assert_problem(self, r, 403, "quota_exceeded")
        self.assertIn("api_requests", p["detail"])
        # A platform admin's requests in the tenant count too.
        r = self.lx.get("/tenants/%s" % tid, headers=self.admin)
        assert_problem(self, r, 403, "quota_exceeded")
        # Billing stays reachable: the tenant sees its usage and upgrades,
        # which lifts the quota at once.
        r = self.req(h, "GET", "/tenants/%s/usage" % tid)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["usage"]["api_requests"]["used"], 20)
        self.assertEqual(r.json()["usage"]["api_requests"]["quota"], 20)
        subs = self.req(h, "GET", "/subscriptions", tenant=tid).json()["subscriptions"]
        r = self.req(h, "PATCH", "/subscriptions/" + subs[0]["id"], {"plan": "growth"},
                     tenant=tid)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.req(h, "GET", "/tenants/%s" % tid).status, 200)

    def test_events_reach_the_tenants_endpoint(self):
        import json as _json
        from test_webhooks import Receiver, sign
        rec = Receiver([200])
        try:
            _, h, _ = self.user()
            tid = self.tenant(h)
            r = self.req(h, "POST", "/webhooks/endpoints",
                         {"url": rec.url(), "event_types": ["invoice.*", "subscription.*"]},
                         tenant=tid)
            self.assertEqual(r.status, 201, r.body)
            secret = r.json()["secret"]
            s = self.subscribe(h, tid, "starter")
            inv = self.req(h, "POST", "/invoices", {"subscription_id": s["id"]}, tenant=tid).json()
            self.req(h, "POST", "/invoices/%s/finalize" % inv["id"], tenant=tid)
            self.req(h, "POST", "/invoices/%s/mark-paid" % inv["id"], {}, tenant=tid)
            self.renew(ms_of(s["current_period_end"]) + 1000)
            want = ["subscription.created", "invoice.created", "invoice.finalized",
                    "invoice.paid", "subscription.updated"]
            deadline = time.time() + 30
            while time.time() < deadline and len(rec.requests) < len(want):
                time.sleep(0.2)
            got = []
            for q in rec.requests:
                hd = q["headers"]
                self.assertEqual(hd["webhook-signature"],
                                 sign(secret, hd["webhook-id"], hd["webhook-timestamp"],
                                      q["body"]))
                ev = _json.loads(q["body"])
                got.append(ev["type"])
                if ev["type"] == "invoice.paid":
                    self.assertEqual((ev["data"]["id"], ev["data"]["status"]),
                                     (inv["id"], "paid"))
                if ev["type"] == "subscription.updated":
                    self.assertEqual(ev["data"]["current_period_start"],
                                     s["current_period_end"])
            self.assertEqual(sorted(got), sorted(want), got)
        finally:
            rec.close()

    def test_deleted_tenant_is_billed_once_then_ends(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        s = self.subscribe(h, tid, "starter")
        self.assertEqual(self.req(h, "DELETE", "/tenants/" + tid).status, 204)
        end = ms_of(s["current_period_end"])
        self.renew(end + 1000)
        self.renew(ms_of(s["current_period_end"]) + 40 * DAY)
        r = self.lx.post("/admin/tenants/%s/restore" % tid, headers=self.admin)
        self.assertEqual(r.status, 200, r.body)
        s2 = self.req(h, "GET", "/subscriptions/" + s["id"], tenant=tid).json()
        self.assertEqual((s2["status"], s2["canceled_at"]), ("canceled", s["current_period_end"]))
        self.assertEqual([i["total"] for i in self.invoices(h, tid)], [1000])
        self.assertEqual(self.req(h, "GET", "/tenants/" + tid).json()["plan"], "free")

    def test_plan_below_usage_is_refused(self):
        _, h, _ = self.user()
        tid = self.tenant(h)
        s = self.subscribe(h, tid, "starter")
        for i in range(3):
            r = self.req(h, "POST", "/tenants/%s/api-keys" % tid,
                         {"name": "k%d" % i, "permissions": ["tenants.read"]})
            self.assertEqual(r.status, 201, r.body)
        r = self.req(h, "PATCH", "/subscriptions/" + s["id"], {"plan": "tiny"}, tenant=tid)
        p = assert_problem(self, r, 409, "plan_limits_exceeded")
        self.assertEqual(p["exceeded"], [{"metric": "service_keys", "usage": 3, "quota": 1}])
        after = self.req(h, "GET", "/subscriptions/" + s["id"], tenant=tid).json()
        self.assertEqual(after["plan"], "starter")
        # Nothing was written: no proration items reach an invoice.
        inv = self.req(h, "POST", "/invoices", {"subscription_id": s["id"]}, tenant=tid).json()
        self.assertEqual([l["kind"] for l in inv["lines"]], ["subscription"])

class Renewal(Billing):
    """The renewal run on an instance of its own, so that every invoice
    number given is this test's."""

    def test_exactly_once_under_sigkill(self):
        _, h, _ = self.user()
        subs = []
        for i in range(24):
            tid = self.tenant(h, "Renew %d" % i)
            subs.append((tid, self.subscribe(h, tid, "starter")))
        at = max(ms_of(s["current_period_end"]) for _, s in subs) + 1000
        env = base_env({"LUXIMA_BILLING_RENEW_PAUSE_MS": "40"})
        kills = 0
        for delay in (0.25, 0.35, 0.3):
            p = subprocess.Popen([BIN, "billing", "renew", "--at", iso(at), "--data",
                                  self.lx.data], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
        self.assertGreater(kills, 0)
        self.renew(at)
        self.assertIn("0 periods closed", self.renew(at))
        numbers = []
        for tid, s in subs:
            invs = self.invoices(h, tid)
            self.assertEqual(len(invs), 1, tid)
            self.assertEqual(invs[0]["period_start"], s["current_period_start"])
            self.assertEqual(invs[0]["total"], 1000)
            numbers.append(invs[0]["number"])
            s2 = self.req(h, "GET", "/subscriptions/" + s["id"], tenant=tid).json()
            self.assertEqual(s2["current_period_start"], s["current_period_end"])
        self.assertEqual(len(set(numbers)), len(numbers))
        # Gapless: every number of this instance's year, none skipped.
        seqs = sorted(int(n.split("-")[2]) for n in numbers)
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
        self.assertEqual(run_cli(["audit", "verify"], data=self.lx.data).returncode, 0)



    # The other tests run once, in Billing.
    test_public_plans = test_admin_plan_management = None
    test_trial_then_active = test_bad_subscription_requests = None
    test_plan_change_prorates_and_invoice_lifecycle = None
    test_draft_delete_returns_items = test_cancel_at_period_end_and_resume = None
    test_plan_below_usage_is_refused = None
    test_gauge_quotas = test_api_requests_exact_under_concurrency = None
    test_events_reach_the_tenants_endpoint = None
    test_deleted_tenant_is_billed_once_then_ends = None


if __name__ == "__main__":
    main()
