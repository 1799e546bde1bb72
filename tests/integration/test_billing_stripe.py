#!/usr/bin/env python3
"""Stripe webhooks against the real binary: POST /billing/webhooks/stripe
with events built here and signed exactly as Stripe signs them
(Stripe-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, t + "." + body))).

A valid invoice.paid pays the invoice it names (metadata.luxima_invoice_id,
then its in_... id); a replay changes nothing and says so; forged, wrong-
secret, stale, unsigned, garbled, non-JSON and malformed deliveries are
400 and change nothing (the same event, well signed, is applied after);
several v1 entries pass when one matches; invoice.payment_failed sets the
subscription past_due, customer.subscription.updated copies cancellation and
period, .deleted cancels and puts the tenant back on the default plan;
unmapped types and unknown objects are 200 "ignored"; an unknown provider is
404; a server without a secret answers 503, one with the secret in its config
file verifies with it."""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"
SECRET = "whsec_luxima_integration_test_secret"
PATH = "/billing/webhooks/stripe"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def ms_of(t):
    import calendar
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])


def sign(body, t=None, secret=SECRET):
    """The Stripe-Signature value for body (bytes), as Stripe computes it."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def event(type_, obj, eid=None):
    event.n += 1
    return {"id": eid or "evt_test_%d_%d" % (os.getpid(), event.n), "object": "event",
            "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
            "pending_webhooks": 1, "type": type_, "data": {"object": obj}}


event.n = 0


class StripeWebhooks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env={"LUXIMA_STRIPE_WEBHOOK_SECRET": SECRET})
        cls.n = 0
        email = "root@stripe.example.com"
        r = run_cli(["admin", "create", "--email", email], data=cls.lx.data, input=PW + "\n")
        assert r.returncode == 0, r.stderr
        cls.admin = cls.login(email)
        # A plan without a trial, so a subscription is invoiced at once.
        r = cls.lx.post("/admin/plans", {"code": "striped", "name": "Striped", "amount": 1500,
                                         "currency": "USD", "interval": "month"},
                        headers=cls.admin)
        assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    @classmethod
    def login(cls, email):
        r = cls.lx.post("/auth/login", {"email": email, "password": PW})
        assert r.status == 200, r.body
        return bearer(r.json()["access_token"])

    def req(self, method, path, body=None):
        h = dict(self.h)
        h["X-Tenant-Id"] = self.tid
        return self.lx.request(method, path, body=body, headers=h)

    def setUp(self):
        """A tenant subscribed to "striped" with one open invoice."""
        StripeWebhooks.n += 1
        email = "s%d@stripe.example.com" % StripeWebhooks.n
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        self.h = self.login(email)
        r = self.lx.post("/tenants", {"name": "Stripe Co %d" % self.n}, headers=self.h)
        self.assertEqual(r.status, 201, r.body)
        self.tid = r.json()["id"]
        r = self.req("POST", "/subscriptions", {"plan": "striped"})
        self.assertEqual(r.status, 201, r.body)
        self.sub = r.json()
        self.assertEqual(self.sub["status"], "active")
        r = self.req("POST", "/invoices", {"subscription_id": self.sub["id"]})
        self.assertEqual(r.status, 201, r.body)
        r = self.req("POST", "/invoices/%s/finalize" % r.json()["id"])
        self.assertEqual(r.status, 200, r.body)
        self.inv = r.json()
        self.assertEqual((self.inv["status"], self.inv["total"]), ("open", 1500))
        self.in_ref = "in_test_%d" % self.n
        self.sub_ref = "sub_test_%d" % self.n

    # --- helpers ---

    def send(self, ev, header=None, body=None, ctype="application/json; charset=utf-8",
             lx=None, path=PATH):
        """POSTs ev (or raw body bytes) signed now unless header is given
        (False: no Stripe-Signature at all)."""
        if body is None:
            body = json.dumps(ev).encode()
        h = {"Content-Type": ctype}
        if header is None:
            header = sign(body)
        if header is not False:
            h["Stripe-Signature"] = header
        return (lx or self.lx).post(path, body=body, headers=h)

    def invoice_obj(self, **kw):
        o = {"id": self.in_ref, "object": "invoice", "amount_due": self.inv["total"],
             "amount_paid": self.inv["total"], "amount_remaining": 0, "currency": "usd",
             "status": "paid", "subscription": self.sub_ref,
             "metadata": {"luxima_invoice_id": self.inv["id"]}}
        o.update(kw)
        return o

    def sub_obj(self, **kw):
        now = int(time.time())
        o = {"id": self.sub_ref, "object": "subscription", "status": "active",
             "cancel_at_period_end": False, "current_period_start": now - 3600,
             "current_period_end": now - 3600 + 30 * 86400, "canceled_at": None,
             "metadata": {"luxima_subscription_id": self.sub["id"]}}
        o.update(kw)
        return o

    def invoice(self):
        r = self.req("GET", "/invoices/" + self.inv["id"])
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def subscription(self):
        r = self.req("GET", "/subscriptions/" + self.sub["id"])
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def tenant_plan(self):
        return self.lx.get("/tenants/" + self.tid, headers=self.h).json()["plan"]

    def audit(self, action):
        r = self.lx.get("/tenants/%s/audit-logs?action=%s" % (self.tid, action), headers=self.h)
        self.assertEqual(r.status, 200, r.body)
        return r.json()["audit_logs"]

    def ok(self, r, outcome="applied", replay=False):
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertEqual((j["received"], j["replay"], j["outcome"]), (True, replay, outcome), j)
        return j

    # --- cases ---

    def test_invoice_paid_then_replayed(self):
        ev = event("invoice.paid", self.invoice_obj())
        self.ok(self.send(ev))
        inv = self.invoice()
        self.assertEqual((inv["status"], inv["amount_paid"], inv["amount_due"]),
                         ("paid", 1500, 0))
        self.assertIsNotNone(inv["paid_at"])
        acts = self.audit("invoice.paid")
        self.assertEqual([a["actor"] for a in acts], ["provider:stripe"])
        # The same event again: recorded once, nothing changes.
        j = self.ok(self.send(ev), replay=True)
        self.assertEqual(j["event"], ev["id"])
        self.assertEqual(self.invoice(), inv)
        self.assertEqual(len(self.audit("invoice.paid")), 1)
        # Another event for the same Stripe invoice, found by its in_ id now
        # (no metadata): already paid by this payment, a no-op.
        ev2 = event("invoice.paid", self.invoice_obj(metadata={}))
        self.ok(self.send(ev2), outcome="ignored: invoice already paid")
        self.assertEqual(self.invoice(), inv)
        self.assertEqual(len(self.audit("invoice.paid")), 1)

    def test_refused_deliveries_change_nothing(self):
        ev = event("invoice.paid", self.invoice_obj())
        body = json.dumps(ev).encode()
        now = int(time.time())
        good = sign(body)
        forged = "t=%d,v1=%s" % (now, hashlib.sha256(b"forged").hexdigest())
        cases = (
            ("forged", body, forged, "invalid_signature"),
            ("wrong secret", body, sign(body, secret="whsec_someone_else"), "invalid_signature"),
            ("another body", body + b" ", good, "invalid_signature"),
            ("stale", body, sign(body, t=now - 400), "stale_signature"),
            ("future", body, sign(body, t=now + 400), "stale_signature"),
            ("missing header", body, False, "invalid_signature_header"),
            ("garbled header", body, "t=abc,v1=xyz", "invalid_signature_header"),
            ("no v1", body, good.replace("v1=", "v0="), "invalid_signature_header"),
            ("not JSON", b"{\"id\": \"evt_x\",", sign(b"{\"id\": \"evt_x\","), "invalid_json"),
            ("not an event", b"{\"id\":\"evt_x\"}", sign(b"{\"id\":\"evt_x\"}"),
             "invalid_event"),
            ("no data.object", json.dumps({"id": ev["id"], "type": "invoice.paid"}).encode(),
             None, "invalid_event"),
        )
        for name, b, header, code in cases:
            with self.subTest(name):
                r = self.send(None, header=header, body=b)
                assert_problem(self, r, 400, code)
                inv = self.invoice()
                self.assertEqual((inv["status"], inv["amount_paid"]), ("open", 0))
        r = self.send(ev, ctype="text/plain")
        assert_problem(self, r, 415, "unsupported_media_type")
        self.assertEqual(self.audit("invoice.paid"), [])
        self.assertEqual(self.subscription()["status"], "active")
        # None of them recorded the event: well signed, it applies.
        self.ok(self.send(None, body=body))
        self.assertEqual(self.invoice()["status"], "paid")

    def test_several_v1_entries(self):
        ev = event("invoice.paid", self.invoice_obj())
        body = json.dumps(ev).encode()
        t = int(time.time())
        other = sign(body, t=t, secret="whsec_old_secret").split(",")[1]
        ours = sign(body, t=t).split(",")[1]
        header = "t=%d,%s,%s,v0=%s" % (t, other, ours, "00" * 32)
        self.ok(self.send(None, header=header, body=body))
        self.assertEqual(self.invoice()["status"], "paid")

    def test_amount_mismatch_is_refused_and_retried(self):
        ev = event("invoice.paid", self.invoice_obj(amount_paid=1499))
        assert_problem(self, self.send(ev), 422, "amount_mismatch")
        self.assertEqual(self.invoice()["status"], "open")
        # Not recorded: Stripe's retry (fixed here) applies.
        ev["data"]["object"]["amount_paid"] = 1500
        self.ok(self.send(ev))
        self.assertEqual(self.invoice()["status"], "paid")

    def test_payment_failed_then_paid(self):
        ev = event("invoice.payment_failed",
                   self.invoice_obj(status="open", amount_paid=0))
        self.ok(self.send(ev))
        self.assertEqual(self.subscription()["status"], "past_due")
        acts = self.audit("subscription.past_due")
        self.assertEqual(len(acts), 1)
        self.assertEqual((acts[0]["actor"], acts[0]["detail"]["event"],
                          acts[0]["detail"]["invoice"]),
                         ("provider:stripe", ev["id"], self.inv["id"]))
        self.assertEqual(self.invoice()["status"], "open")
        self.ok(self.send(ev), outcome="applied", replay=True)
        # Linked by the first event: a later one finds it by in_ id alone.
        ev2 = event("invoice.paid", self.invoice_obj(metadata={}))
        self.ok(self.send(ev2))
        self.assertEqual(self.invoice()["status"], "paid")
        self.assertEqual(self.subscription()["status"], "active")

    def test_subscription_updated(self):
        start, end = 1767225600, 1769904000  # 2026-01-01, 2026-02-01 UTC
        ev = event("customer.subscription.updated",
                   self.sub_obj(cancel_at_period_end=True, current_period_start=start,
                                current_period_end=end))
        self.ok(self.send(ev))
        s = self.subscription()
        self.assertTrue(s["cancel_at_period_end"])
        self.assertEqual((s["status"], s["provider"]), ("active", "stripe"))
        self.assertEqual((ms_of(s["current_period_start"]), ms_of(s["current_period_end"])),
                         (start * 1000, end * 1000))
        acts = self.audit("subscription.update")
        self.assertEqual([a["actor"] for a in acts if a["actor"].startswith("provider:")],
                         ["provider:stripe"])
        # Linked: found by sub_ id alone; unpaid is past_due for us, and
        # the period moves to the items (Stripe's 2025 API).
        ev2 = event("customer.subscription.updated",
                    {"id": self.sub_ref, "object": "subscription", "status": "unpaid",
                     "cancel_at_period_end": False,
                     "items": {"data": [{"current_period_start": end,
                                         "current_period_end": end + 28 * 86400}]}})
        self.ok(self.send(ev2))
        s = self.subscription()
        self.assertEqual((s["status"], s["cancel_at_period_end"]), ("past_due", False))
        self.assertEqual(ms_of(s["current_period_start"]), end * 1000)
        # incomplete is not ours to mirror; the same state again is nothing.
        ev3 = event("customer.subscription.updated",
                    {"id": self.sub_ref, "status": "incomplete"})
        self.ok(self.send(ev3), outcome="ignored: nothing changed")
        self.assertEqual(self.subscription(), s)
        # A bad period is refused.
        ev4 = event("customer.subscription.updated",
                    self.sub_obj(current_period_start=end, current_period_end=end))
        assert_problem(self, self.send(ev4), 400, "invalid_event")
        self.assertEqual(self.subscription(), s)

    def test_subscription_deleted(self):
        self.assertEqual(self.tenant_plan(), "striped")
        canceled = int(time.time()) - 60
        ev = event("customer.subscription.deleted",
                   self.sub_obj(status="canceled", canceled_at=canceled))
        self.ok(self.send(ev))
        s = self.subscription()
        self.assertEqual(s["status"], "canceled")
        self.assertEqual(ms_of(s["canceled_at"]), canceled * 1000)
        self.assertEqual(self.tenant_plan(), "free")
        acts = self.audit("subscription.cancel")
        self.assertEqual([a["actor"] for a in acts], ["provider:stripe"])
        # Canceled is final: later updates are ignored.
        ev2 = event("customer.subscription.updated", self.sub_obj(status="active"))
        self.ok(self.send(ev2), outcome="ignored: the subscription is canceled")
        self.assertEqual(self.subscription()["status"], "canceled")
        # The tenant may subscribe again.
        self.assertEqual(self.req("POST", "/subscriptions", {"plan": "striped"}).status, 201)

    def test_unmapped_and_unmatched_events(self):
        ev = event("customer.created", {"id": "cus_1", "object": "customer"})
        self.ok(self.send(ev), outcome="ignored: customer.created")
        self.ok(self.send(ev), outcome="ignored: customer.created", replay=True)
        ev = event("invoice.paid", self.invoice_obj(id="in_nobody", metadata={}))
        self.ok(self.send(ev), outcome="ignored: no matching invoice")
        ev = event("customer.subscription.updated", self.sub_obj(id="sub_nobody", metadata={}))
        self.ok(self.send(ev), outcome="ignored: no matching subscription")
        ev = event("customer.subscription.deleted",
                   self.sub_obj(id="sub_nobody", metadata={"luxima_subscription_id": "nope"}))
        self.ok(self.send(ev), outcome="ignored: no matching subscription")
        # Our id on a row linked to another Stripe object is not a match.
        self.ok(self.send(event("invoice.paid", self.invoice_obj())))
        ev = event("invoice.paid", self.invoice_obj(id="in_someone_else"))
        self.ok(self.send(ev), outcome="ignored: no matching invoice")
        self.assertEqual(self.subscription()["status"], "active")

    def test_unknown_provider(self):
        ev = event("invoice.paid", self.invoice_obj())
        r = self.send(ev, path="/billing/webhooks/paypal")
        assert_problem(self, r, 404, "unknown_provider")
        assert_problem(self, self.lx.get(PATH), 405)
        self.assertEqual(self.invoice()["status"], "open")


    def test_changes_reach_the_tenants_webhook_endpoints(self):
        got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                got.append(json.loads(self.rfile.read(n)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            r = self.req("POST", "/webhooks/endpoints",
                         {"url": "http://127.0.0.1:%d/hook" % srv.server_address[1]})
            self.assertEqual(r.status, 201, r.body)
            self.ok(self.send(event("invoice.payment_failed",
                                    self.invoice_obj(status="open", amount_paid=0))))
            self.ok(self.send(event("customer.subscription.deleted",
                                    self.sub_obj(status="canceled"))))
            want = {("subscription.updated", self.sub["id"]),
                    ("invoice.payment_failed", self.inv["id"]),
                    ("subscription.canceled", self.sub["id"])}
            deadline = time.time() + 30
            while time.time() < deadline and not want <= {(e["type"], e["data"]["id"])
                                                          for e in list(got)}:
                time.sleep(0.1)
            self.assertLessEqual(want, {(e["type"], e["data"]["id"]) for e in got})
        finally:
            srv.shutdown()
            srv.server_close()


class Unconfigured(unittest.TestCase):
    def test_no_secret_is_503(self):
        body = json.dumps(event("customer.created", {"id": "cus_1"})).encode()
        with Luxima() as lx:
            r = lx.post(PATH, body=body, headers={"Content-Type": "application/json",
                                                  "Stripe-Signature": sign(body)})
            assert_problem(self, r, 503, "provider_not_configured")
            r = lx.post("/billing/webhooks/nope", body=body,
                        headers={"Content-Type": "application/json"})
            assert_problem(self, r, 404, "unknown_provider")

    def test_secret_from_config_file(self):
        data = new_data_dir()
        with open(os.path.join(data, "luxima.conf"), "w") as f:
            f.write("billing.stripe_webhook_secret = whsec_from_the_config_file\n"
                    "billing.stripe_tolerance_s = 1000\n")
        body = json.dumps(event("customer.created", {"id": "cus_1"})).encode()
        with Luxima(data=data) as lx:
            h = {"Content-Type": "application/json"}
            h["Stripe-Signature"] = sign(body, secret=SECRET)
            assert_problem(self, lx.post(PATH, body=body, headers=h), 400, "invalid_signature")
            # 400 s old passes a tolerance of 1000 s.
            h["Stripe-Signature"] = sign(body, t=int(time.time()) - 400,
                                         secret="whsec_from_the_config_file")
            r = lx.post(PATH, body=body, headers=h)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["outcome"], "ignored: customer.created")


if __name__ == "__main__":
    main()
