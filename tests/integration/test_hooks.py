#!/usr/bin/env python3
"""The built-in hook scripts of lua_scripts/ (issue #6) against the real
binary, as lua_scripts/README.md describes them.

Defaults: with the built-in scripts, and again with every auth and billing
hook turned off by an empty file in <data>/lua_scripts/ (the platform's own
defaults), the behaviour is the same: auth.allowed_email_domains limits
registration (native and GoTrue signup), logins pass, /auth/verify answers
"extra": {}, invoices keep their lines, plan changes pass. The whole Stripe
webhook suite also runs with the hook turned off (the C reader) as it runs
with the built-in script.

Overrides: files of the same name in <data>/lua_scripts/ change each hook:
a refused domain, a login deny rule (native and GoTrue grant), an extra
claim, a discount line (totals re-summed, also on the CLI renewal), a
refused downgrade. The second provider example, "paddle", is mapped end to
end by the built-in webhookHandler. Broken overrides (syntax error, runtime
error, instruction limit, an answer outside the contract, an unreadable
file) fail closed (register, login, updateSubscription, webhookHandler:
503 hook_failed, nothing written) or open (verifyToken, createInvoice: the
default applies), and the server keeps serving.
"""
import hashlib
import hmac
import itertools
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE, Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402
import test_billing_stripe as tbs  # noqa: E402

PW = "a long enough passphrase"
DAY = 86400000
PADDLE_SECRET = "pdl_ntfset_luxima_integration_test"
DOMAINS = {"LUXIMA_AUTH_ALLOWED_EMAIL_DOMAINS": " good.example , Corp.Example"}
SEQ = itertools.count(1)  # unique emails and names across servers
HOOKS = ("auth/register", "auth/login", "auth/verifyToken", "billing/createInvoice",
         "billing/updateSubscription", "billing/webhookHandler")


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def ms_of(t):
    import calendar
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])


def data_with(files):
    """A new data folder with lua_scripts/<hook>.lua files: {hook: text, or
    None for a folder in its place (unreadable)}."""
    data = new_data_dir("hooks")
    for hook, text in files.items():
        path = os.path.join(data, "lua_scripts", hook + ".lua")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if text is None:
            os.makedirs(path)
        else:
            with open(path, "w") as f:
                f.write(text)
    return data


class Client:
    """What the cases need from a running server (tc: a TestCase for the
    assertions; a bare one in setUpClass)."""

    def __init__(self, tc, lx):
        self.tc, self.lx = tc, lx

    def register(self, email, status=201):
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.tc.assertEqual(r.status, status, r.body)
        return r

    def login(self, email):
        r = self.lx.post("/auth/login", {"email": email, "password": PW})
        self.tc.assertEqual(r.status, 200, r.body)
        return bearer(r.json()["access_token"])

    def admin(self):
        email = "root@good.example"
        r = run_cli(["admin", "create", "--email", email], data=self.lx.data, input=PW + "\n")
        self.tc.assertEqual(r.returncode, 0, r.stderr)
        h = self.login(email)
        for code, amount in (("small", 1000), ("big", 5000)):
            r = self.lx.post("/admin/plans", {"code": code, "name": code.title(),
                                              "amount": amount, "currency": "USD",
                                              "interval": "month"}, headers=h)
            self.tc.assertEqual(r.status, 201, r.body)
        return h

    def req(self, h, tid, method, path, body=None):
        hh = dict(h)
        hh["X-Tenant-Id"] = tid
        return self.lx.request(method, path, body=body, headers=hh)

    def tenant(self, plan):
        """A new user's tenant subscribed to plan: (headers, tenant id,
        subscription)."""
        n = next(SEQ)
        email = "t%d@good.example" % n
        self.register(email)
        h = self.login(email)
        r = self.lx.post("/tenants", {"name": "Hooks Co %d" % n}, headers=h)
        self.tc.assertEqual(r.status, 201, r.body)
        tid = r.json()["id"]
        r = self.req(h, tid, "POST", "/subscriptions", {"plan": plan})
        self.tc.assertEqual(r.status, 201, r.body)
        return h, tid, r.json()

    def invoice(self, h, tid, sub):
        r = self.req(h, tid, "POST", "/invoices", {"subscription_id": sub["id"]})
        self.tc.assertEqual(r.status, 201, r.body)
        inv = r.json()
        self.tc.assertEqual(inv["total"], sum(l["amount"] for l in inv["lines"]), inv)
        return inv

    def verify(self, h):
        r = self.lx.get("/auth/verify", headers=h)
        self.tc.assertEqual(r.status, 200, r.body)
        return r.json()


class Defaults(unittest.TestCase):
    """The built-in scripts and the platform's defaults agree."""

    def check(self, lx):
        c = Client(self, lx)
        admin = c.admin()
        c.register("a@good.example")
        c.register("b@CORP.example")
        assert_problem(self, c.register("c@bad.example", 422), 422, "email_domain_not_allowed")
        assert_problem(self, c.register("d@sub.good.example", 422), 422,
                       "email_domain_not_allowed")
        r = lx.post("/auth/v1/signup", {"email": "e@bad.example", "password": PW})
        self.assertEqual((r.status, r.json()["error_code"]), (422, "email_domain_not_allowed"),
                         r.body)
        # Nothing was written for the refused ones.
        r = lx.post("/auth/login", {"email": "c@bad.example", "password": PW})
        assert_problem(self, r, 401, "invalid_credentials")
        r = lx.post("/auth/v1/signup", {"email": "f@good.example", "password": PW})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("access_token", r.json())
        h = c.login("a@good.example")
        v = c.verify(h)
        self.assertEqual((v["valid"], v["extra"]), (True, {}))
        r = lx.post("/auth/verify", {"token": h["Authorization"][7:]})
        self.assertEqual((r.status, r.json()["extra"]), (200, {}), r.body)
        h, tid, sub = c.tenant("big")
        inv = c.invoice(h, tid, sub)
        self.assertEqual([(l["kind"], l["amount"]) for l in inv["lines"]],
                         [("subscription", 5000)])
        r = c.req(h, tid, "PATCH", "/subscriptions/" + sub["id"], {"plan": "small"})
        self.assertEqual((r.status, r.json()["plan"]), (200, "small"), r.body)
        r = c.req(h, tid, "PATCH", "/subscriptions/" + sub["id"], {"cancel_at_period_end": True})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["cancel_at_period_end"])
        self.assertIsNotNone(admin)

    def test_builtin_scripts(self):
        with Luxima(env=DOMAINS) as lx:
            self.check(lx)
            self.assertNotIn("hook_failed", lx.output())

    def test_builtin_files_as_overrides(self):
        # The built-ins' own text, read from the data folder: every one
        # runs (auth/verifyToken's built-in is otherwise skipped).
        src = os.path.join(SOURCE, "lua_scripts")
        files = {}
        for hook in HOOKS:
            with open(os.path.join(src, hook + ".lua")) as f:
                files[hook] = f.read()
        with Luxima(data=data_with(files), env=DOMAINS) as lx:
            self.check(lx)
            self.assertIn("hook auth/verifyToken: using the override", lx.output())
            self.assertNotIn("hook_failed", lx.output())

    def test_hooks_turned_off(self):
        data = data_with({hook: "" for hook in HOOKS})
        with Luxima(data=data, env=DOMAINS) as lx:
            self.check(lx)
            self.assertIn("hook auth/register: turned off by the empty", lx.output())


class StripeWithoutScript(tbs.StripeWebhooks):
    """The Stripe suite with billing/webhookHandler turned off: the C reader
    maps as the built-in script does."""

    @classmethod
    def setUpClass(cls):
        data = data_with({"billing/webhookHandler": ""})
        real = tbs.Luxima
        tbs.Luxima = lambda **kw: real(data=data, **kw)
        try:
            super().setUpClass()
        finally:
            tbs.Luxima = real
        # The suite counts on the base class (setUp bumps StripeWebhooks.n).
        tbs.StripeWebhooks.n = getattr(tbs.StripeWebhooks, "n", 0)
        del cls.n


REGISTER = """
return function(req)
	if string.find(req.email, "@blocked%.example$") then
		return { json = { allow = false, status = 403, code = "domain_blocked",
			reason = "this domain is blocked" } }
	end
	return { json = { allow = true } }
end
"""
LOGIN = """
return function(req)
	log.info("login of " .. req.user.email .. " by " .. req.method)
	if req.user.email == "banned@good.example" then
		return { json = { allow = false, code = "account_suspended",
			reason = "this account is suspended" } }
	end
	return { json = { allow = true } }
end
"""
VERIFY = """
return function(req)
	return { json = { extra = { tier = "gold", email = req.claims.email,
		aal = req.claims.aal } } }
end
"""
INVOICE = """
return function(req)
	local lines, fee = {}, 0
	for _, l in ipairs(req.lines) do
		lines[#lines + 1] = l
		if l.kind == "subscription" then fee = fee + l.amount end
	end
	if fee > 0 then
		local off = -(fee // 10)
		lines[#lines + 1] = { kind = "adjustment", quantity = 1,
			description = "Loyalty discount (10%) " .. req.reason,
			unit_amount = off, amount = off, currency = req.currency }
	end
	return { json = { lines = lines } }
end
"""
UPDATE = """
return function(req)
	if req.action == "change_plan" and req.to_plan.amount < req.from_plan.amount then
		return { json = { allow = false, status = 422, code = "downgrade_not_allowed",
			reason = "plans can only be upgraded" } }
	end
	return { json = { allow = true } }
end
"""


class Overrides(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = data_with({"auth/register": REGISTER, "auth/login": LOGIN,
                          "auth/verifyToken": VERIFY, "billing/createInvoice": INVOICE,
                          "billing/updateSubscription": UPDATE})
        cls.lx = Luxima(data=data)
        Client(unittest.TestCase(), cls.lx).admin()

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def setUp(self):
        self.c = Client(self, self.lx)

    def test_overrides_are_logged(self):
        out = self.lx.output()
        for hook in ("auth/register", "auth/login", "billing/updateSubscription"):
            self.assertIn("hook %s: using the override" % hook, out)

    def test_register_refuses_a_domain(self):
        r = self.c.register("x@blocked.example", 403)
        assert_problem(self, r, 403, "domain_blocked")
        self.assertEqual(r.json()["detail"], "this domain is blocked")
        r = self.lx.post("/auth/v1/signup", {"email": "y@blocked.example", "password": PW})
        self.assertEqual((r.status, r.json()["error_code"]), (403, "domain_blocked"), r.body)
        # The built-in's domain list is gone with it: any other domain passes.
        self.c.register("x@anything.example")

    def test_login_deny_rule(self):
        self.c.register("banned@good.example")
        r = self.lx.post("/auth/login", {"email": "banned@good.example", "password": PW})
        assert_problem(self, r, 403, "account_suspended")
        r = self.lx.post("/auth/v1/token?grant_type=password",
                         {"email": "banned@good.example", "password": PW})
        self.assertEqual((r.status, r.json()["error_code"]), (403, "account_suspended"), r.body)
        self.c.register("fine@good.example")
        self.c.login("fine@good.example")
        self.assertIn("hook auth/login: login of fine@good.example by password",
                      self.lx.output())

    def test_verify_extra_claims(self):
        self.c.register("v@good.example")
        h = self.c.login("v@good.example")
        v = self.c.verify(h)
        self.assertEqual(v["extra"], {"tier": "gold", "email": "v@good.example", "aal": "aal1"})
        self.assertEqual(v["email"], "v@good.example")

    def test_invoice_discount_line(self):
        h, tid, sub = self.c.tenant("big")
        inv = self.c.invoice(h, tid, sub)
        self.assertEqual([(l["kind"], l["quantity"], l["unit_amount"], l["amount"])
                          for l in inv["lines"]],
                         [("subscription", 1, 5000, 5000), ("adjustment", 1, -500, -500)])
        self.assertEqual((inv["subtotal"], inv["total"]), (4500, 4500))
        self.assertEqual(inv["lines"][1]["description"], "Loyalty discount (10%) manual")
        # The renewal (`luxima billing renew`) runs the same rules.
        h, tid, sub = self.c.tenant("big")
        at = ms_of(sub["current_period_end"]) + 1000
        r = run_cli(["billing", "renew", "--at", iso(at)], data=self.lx.data)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        r = self.c.req(h, tid, "GET", "/invoices")
        self.assertEqual(r.status, 200, r.body)
        (inv,) = r.json()["invoices"]
        inv = self.c.req(h, tid, "GET", "/invoices/" + inv["id"]).json()
        self.assertEqual((inv["billing_reason"], inv["status"], inv["total"]),
                         ("subscription_cycle", "open", 4500))
        self.assertEqual(inv["lines"][1]["description"],
                         "Loyalty discount (10%) subscription_cycle")

    def test_downgrade_refused(self):
        h, tid, sub = self.c.tenant("small")
        path = "/subscriptions/" + sub["id"]
        r = self.c.req(h, tid, "PATCH", path, {"plan": "big"})
        self.assertEqual((r.status, r.json()["plan"]), (200, "big"), r.body)
        r = self.c.req(h, tid, "PATCH", path, {"plan": "small"})
        assert_problem(self, r, 422, "downgrade_not_allowed")
        r = self.c.req(h, tid, "PATCH", path, {"plan": "small", "cancel_at_period_end": True})
        assert_problem(self, r, 422, "downgrade_not_allowed")
        s = self.c.req(h, tid, "GET", path).json()
        self.assertEqual((s["plan"], s["cancel_at_period_end"]), ("big", False))
        r = self.c.req(h, tid, "PATCH", path, {"cancel_at_period_end": True})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["cancel_at_period_end"])


def paddle_sign(body, ts=None, secret=PADDLE_SECRET):
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), b"%d:" % ts + body, hashlib.sha256).hexdigest()
    return "ts=%d;h1=%s" % (ts, mac)


class Paddle(unittest.TestCase):
    """The second provider example, mapped by the built-in webhookHandler."""

    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env={"LUXIMA_PADDLE_WEBHOOK_SECRET": PADDLE_SECRET})
        cls.c = Client(unittest.TestCase(), cls.lx)
        cls.c.admin()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def send(self, ev, header=None, body=None):
        body = json.dumps(ev).encode() if body is None else body
        h = {"Content-Type": "application/json",
             "Paddle-Signature": paddle_sign(body) if header is None else header}
        return self.lx.post("/billing/webhooks/paddle", body=body, headers=h)

    def event(self, type_, data):
        Paddle.n += 1
        return {"event_id": "evt_paddle_%d_%d" % (os.getpid(), Paddle.n), "event_type": type_,
                "occurred_at": "2026-01-01T00:00:00.000000Z",
                "notification_id": "ntf_%d" % Paddle.n, "data": data}

    def ok(self, r, outcome="applied", replay=False):
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertEqual((j["received"], j["replay"], j["outcome"]), (True, replay, outcome), j)

    def test_end_to_end(self):
        h, tid, sub = self.c.tenant("big")
        r = self.c.req(h, tid, "POST", "/invoices", {"subscription_id": sub["id"]})
        self.assertEqual(r.status, 201, r.body)
        r = self.c.req(h, tid, "POST", "/invoices/%s/finalize" % r.json()["id"])
        self.assertEqual(r.status, 200, r.body)
        inv = r.json()
        txn = {"id": "txn_%d" % self.n, "status": "completed", "currency_code": "USD",
               "subscription_id": "sub_paddle_1",
               "custom_data": {"luxima_invoice_id": inv["id"],
                               "luxima_subscription_id": sub["id"]},
               "details": {"totals": {"grand_total": "5000"}}}
        # Forged, stale and garbled signatures change nothing.
        ev = self.event("transaction.completed", txn)
        body = json.dumps(ev).encode()
        bad = paddle_sign(body, secret="pdl_someone_else")
        assert_problem(self, self.send(ev, header=bad), 400, "invalid_signature")
        stale = paddle_sign(body, ts=int(time.time()) - 400)
        assert_problem(self, self.send(ev, header=stale), 400, "stale_signature")
        assert_problem(self, self.send(ev, header="t=1,v1=00"), 400, "invalid_signature_header")
        # An amount that is not the invoice's is refused (and retried).
        ev2 = self.event("transaction.completed",
                         dict(txn, details={"totals": {"grand_total": "4999"}}))
        assert_problem(self, self.send(ev2), 422, "amount_mismatch")
        self.ok(self.send(ev))
        self.ok(self.send(ev), replay=True)
        r = self.c.req(h, tid, "GET", "/invoices/" + inv["id"])
        self.assertEqual((r.json()["status"], r.json()["amount_paid"]), ("paid", 5000))
        r = self.lx.get("/tenants/%s/audit-logs?action=invoice.paid" % tid, headers=h)
        self.assertEqual([a["actor"] for a in r.json()["audit_logs"]], ["provider:paddle"])
        # A scheduled cancellation and a new period.
        start, end = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00.5+02:00"
        psub = {"id": "sub_paddle_1", "status": "active",
                "custom_data": {"luxima_subscription_id": sub["id"]},
                "current_billing_period": {"starts_at": start, "ends_at": end},
                "scheduled_change": {"action": "cancel", "effective_at": end}}
        self.ok(self.send(self.event("subscription.updated", psub)))
        s = self.c.req(h, tid, "GET", "/subscriptions/" + sub["id"]).json()
        self.assertEqual((s["status"], s["cancel_at_period_end"], s["provider"]),
                         ("active", True, "paddle"))
        self.assertEqual(s["current_period_start"], "2026-03-01T00:00:00.000Z")
        self.assertEqual(s["current_period_end"], "2026-03-31T22:00:00.500Z")
        # Unmapped types are recorded as ignored; malformed ones refused.
        self.ok(self.send(self.event("customer.created", {"id": "ctm_1"})),
                outcome="ignored: customer.created")
        bad = self.event("subscription.updated", dict(psub, current_billing_period={
            "starts_at": "yesterday", "ends_at": end}))
        assert_problem(self, self.send(bad), 400, "invalid_event")
        assert_problem(self, self.send(None, body=b'{"event_type":"x","data":{}}'), 400,
                       "invalid_event")
        # Canceled: the tenant is back on the default plan.
        self.ok(self.send(self.event("subscription.canceled",
                                     dict(psub, status="canceled", scheduled_change=None,
                                          canceled_at="2026-03-15T12:00:00Z"))))
        s = self.c.req(h, tid, "GET", "/subscriptions/" + sub["id"]).json()
        self.assertEqual((s["status"], s["canceled_at"]), ("canceled", "2026-03-15T12:00:00.000Z"))
        self.assertEqual(self.lx.get("/tenants/" + tid, headers=h).json()["plan"], "free")

    def test_unconfigured_and_turned_off(self):
        body = json.dumps(self.event("customer.created", {"id": "ctm_1"})).encode()
        h = {"Content-Type": "application/json", "Paddle-Signature": paddle_sign(body)}
        with Luxima() as lx:
            r = lx.post("/billing/webhooks/paddle", body=body, headers=h)
            assert_problem(self, r, 503, "provider_not_configured")
        data = data_with({"billing/webhookHandler": ""})
        with Luxima(data=data, env={"LUXIMA_PADDLE_WEBHOOK_SECRET": PADDLE_SECRET}) as lx:
            # No C reader for paddle: refused so that Paddle retries.
            r = lx.post("/billing/webhooks/paddle", body=body, headers=h)
            assert_problem(self, r, 503, "provider_not_configured")


class BrokenAuth(unittest.TestCase):
    """register and login fail closed; the server keeps serving."""

    def test_fail_closed(self):
        data = data_with({"auth/register": "return function(req) return { json = ",
                          "auth/login": "return function(req) error('boom') end"})
        with Luxima(data=data) as lx:
            self.assertIn("hook auth/register:", lx.output())
            self.assertIn("does not compile", lx.output())
            r = lx.post("/auth/register", {"email": "a@good.example", "password": PW})
            assert_problem(self, r, 503, "hook_failed")
            r = lx.post("/auth/v1/signup", {"email": "b@good.example", "password": PW})
            self.assertEqual(r.status, 503, r.body)
            # Nothing was written: the CLI (no hooks) creates the account.
            r = run_cli(["admin", "create", "--email", "a@good.example"], data=lx.data,
                        input=PW + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = lx.post("/auth/login", {"email": "a@good.example", "password": PW})
            assert_problem(self, r, 503, "hook_failed")
            r = lx.post("/auth/v1/token?grant_type=password",
                        {"email": "a@good.example", "password": PW})
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(lx.get("/healthz").status, 200)
            self.assertIn("hook auth/login (%s) failed: function_error:"
                          % os.path.join(data, "lua_scripts", "auth", "login.lua"), lx.output())
            self.assertIn("boom; refused with 503 hook_failed", lx.output())


class BrokenBilling(unittest.TestCase):
    """verifyToken and createInvoice fail open, updateSubscription and
    webhookHandler fail closed."""

    def test_fail_open_and_closed(self):
        data = data_with({
            "auth/verifyToken": "return function(req) while true do end end",
            "billing/createInvoice": """return function(req)
                return { json = { lines = { { kind = "adjustment", description = "x",
                    quantity = 2, unit_amount = 5, amount = 11 } } } } end""",
            "billing/updateSubscription": None,
            "billing/webhookHandler":
                "return function(req) return { json = { action = 'refund', id = 'e', "
                "type = 't' } } end",
        })
        env = {"LUXIMA_STRIPE_WEBHOOK_SECRET": tbs.SECRET}
        with Luxima(data=data, env=env) as lx:
            c = Client(self, lx)
            c.admin()
            h, tid, sub = c.tenant("big")
            self.assertEqual(c.verify(h)["extra"], {})
            self.assertIn("hook auth/verifyToken", lx.output())
            self.assertIn("limit instructions", lx.output())
            inv = c.invoice(h, tid, sub)
            self.assertEqual([(l["kind"], l["amount"]) for l in inv["lines"]],
                             [("subscription", 5000)])
            self.assertIn("amount is not quantity x unit_amount", lx.output())
            r = c.req(h, tid, "PATCH", "/subscriptions/" + sub["id"], {"plan": "small"})
            assert_problem(self, r, 503, "hook_failed")
            self.assertEqual(c.req(h, tid, "GET", "/subscriptions/" + sub["id"]).json()["plan"],
                             "big")
            ev = tbs.event("customer.created", {"id": "cus_1"})
            body = json.dumps(ev).encode()
            r = lx.post(tbs.PATH, body=body, headers={"Content-Type": "application/json",
                                                     "Stripe-Signature": tbs.sign(body)})
            assert_problem(self, r, 503, "hook_failed")
            self.assertIn("unknown action", lx.output())
            self.assertEqual(lx.get("/healthz").status, 200)


if __name__ == "__main__":
    main()
