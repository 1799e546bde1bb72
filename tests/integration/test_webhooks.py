#!/usr/bin/env python3
"""Outgoing webhooks against the real binary (issue #5): a tenant's
endpoints (create with the secret shown once, list, read, change, delete,
rotate the secret), bad input refused with nothing written, another
tenant's endpoint ids answering 404, roles and service keys, and delivery
through the real path (POST /webhooks/endpoints/{id}/test, the
webhooks.deliver job): receivers on loopback that fail twice then succeed
(three POSTs with one webhook-id, Standard Webhooks signatures checked here
with Python's own HMAC, increasing timestamps, the delivery log), never
answer (timeout), answer 410 (the endpoint is disabled), an endpoint
disabled between attempts, and HTTPS with a trusted and an untrusted
self-signed certificate."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, make_cert, new_data_dir  # noqa: E402

PW = "a long enough passphrase"
BACKOFF_MS = 2200  # first retry after 1.1-2.2 s: timestamps (s) increase
TIMEOUT_MS = 1500
MAX_ATTEMPTS = 3
ENDPOINT_LIMIT = 8
SLOW = 3 if os.environ.get("LUXIMA_SANITIZE") in ("ON", "1", "TRUE") else 1


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def sign(secret, msg_id, ts, body):
    """The Standard Webhooks v1 signature, computed independently."""
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class Receiver:
    """An HTTP(S) receiver on loopback answering each POST with the next
    status of a script (the last one repeats); records every request."""

    def __init__(self, statuses, tls=None):
        self.statuses = list(statuses)
        self.requests = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with rec.lock:
                    rec.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                         "body": body, "path": self.path, "at": time.time()})
                    i = len(rec.requests) - 1
                    status = rec.statuses[min(i, len(rec.statuses) - 1)]
                text = b"receiver says %d\n" % status
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # refused TLS handshakes are the point of one test

        self.srv = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(tls[0], tls[1])
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, host="127.0.0.1", scheme="http"):
        return "%s://%s:%d/hooks/luxima?src=test" % (scheme, host, self.port)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Silent:
    """Accepts connections and never answers (the timeout case)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


class Webhooks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = new_data_dir("whcerts")
        cls.cert = make_cert(cls.dir, "trusted", cn="localhost", san="DNS:localhost")
        cls.other = make_cert(cls.dir, "untrusted", cn="localhost", san="DNS:localhost")
        cls.lx = Luxima(env={
            "LUXIMA_JOBS_BACKOFF_MS": str(BACKOFF_MS),
            "LUXIMA_WEBHOOKS_TIMEOUT_MS": str(TIMEOUT_MS),
            "LUXIMA_WEBHOOKS_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "LUXIMA_WEBHOOKS_ENDPOINT_LIMIT": str(ENDPOINT_LIMIT),
            "LUXIMA_WEBHOOKS_CA_FILE": cls.cert[0],
        })
        cls.n = 0
        cls.receivers = []

    @classmethod
    def tearDownClass(cls):
        for r in cls.receivers:
            r.close()
        rc = cls.lx.stop()
        assert rc == 0, "luxima exited with %s:\n%s" % (rc, cls.lx.output()[-4000:])

    # --- helpers -----------------------------------------------------------

    def user(self):
        Webhooks.n += 1
        email = "wh%d@example.com" % Webhooks.n
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        uid = r.json()["user"]["id"]
        r = self.lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        return {"id": uid, "email": email, "h": bearer(r.json()["access_token"])}

    def tenant(self, owner, name="Hooks"):
        r = self.lx.post("/tenants", {"name": name}, headers=owner["h"])
        self.assertEqual(r.status, 201, r.body)
        tid = r.json()["id"]
        h = dict(owner["h"], **{"X-Tenant-Id": tid})
        return tid, h

    def call(self, h, method, path, body=None, **kw):
        return self.lx.request(method, path, body=body, headers=h, **kw)

    def create(self, h, url, **fields):
        body = dict(fields, url=url)
        r = self.call(h, "POST", "/webhooks/endpoints", body)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def receiver(self, statuses, tls=None):
        r = Receiver(statuses, tls)
        self.receivers.append(r)
        return r

    def deliveries(self, h, ep_id):
        r = self.call(h, "GET", "/webhooks/endpoints/%s/deliveries" % ep_id)
        self.assertEqual(r.status, 200, r.body)
        return r.json()["deliveries"]

    def wait_delivery(self, h, ep_id, done, timeout=30):
        """Polls the delivery log until done(delivery) holds."""
        deadline = time.time() + timeout * SLOW
        d = None
        while time.time() < deadline:
            rows = self.deliveries(h, ep_id)
            if rows and done(rows[0]):
                return rows[0]
            d = rows[0] if rows else None
            time.sleep(0.2)
        self.fail("delivery did not settle: %r\n%s" % (d, self.lx.output()[-3000:]))

    def send_test(self, h, ep_id):
        r = self.call(h, "POST", "/webhooks/endpoints/%s/test" % ep_id)
        self.assertEqual(r.status, 202, r.body)
        return r.json()

    def audit(self, owner, tid):
        r = self.call(owner["h"], "GET",
                      "/tenants/%s/audit-logs?action=webhook_endpoint.*&limit=100" % tid)
        self.assertEqual(r.status, 200, r.body)
        return r.json()["audit_logs"]

    # --- endpoints ---------------------------------------------------------

    def test_crud_and_secret_shown_once(self):
        owner = self.user()
        tid, h = self.tenant(owner)
        rcv = self.receiver([200])
        ep = self.create(h, rcv.url(), description="Orders service")
        self.assertTrue(ep["secret"].startswith("whsec_"), ep)
        self.assertEqual(len(base64.b64decode(ep["secret"][6:], validate=True)), 32)
        self.assertEqual(ep["event_types"], ["*"])
        self.assertEqual(ep["status"], "enabled")
        self.assertEqual(ep["description"], "Orders service")
        for path in ("/webhooks/endpoints", "/webhooks/endpoints/" + ep["id"]):
            r = self.call(h, "GET", path)
            self.assertEqual(r.status, 200, r.body)
            self.assertNotIn("secret", r.body)
            self.assertNotIn(ep["secret"][6:], r.body)
        self.assertEqual([e["id"] for e in self.call(h, "GET", "/webhooks/endpoints")
                          .json()["endpoints"]], [ep["id"]])
        # the tenant named by ?tenant_id= instead of the header
        r = self.call(owner["h"], "GET", "/webhooks/endpoints/%s?tenant_id=%s" % (ep["id"], tid))
        self.assertEqual(r.status, 200, r.body)
        # change everything
        r = self.call(h, "PATCH", "/webhooks/endpoints/" + ep["id"],
                      {"url": rcv.url("localhost"), "description": "Billing",
                       "event_types": ["invoice.*", "subscription.updated", "invoice.paid",
                                       "invoice.*"],
                       "status": "disabled"})
        self.assertEqual(r.status, 200, r.body)
        got = r.json()
        self.assertNotIn("secret", got)
        self.assertEqual(got["url"], rcv.url("localhost"))
        self.assertEqual(got["event_types"], ["invoice.*", "subscription.updated", "invoice.paid"])
        self.assertEqual(got["status"], "disabled")
        self.assertEqual(got["description"], "Billing")
        self.assertGreaterEqual(got["updated_at"], ep["updated_at"])
        # an empty change changes nothing
        r = self.call(h, "PATCH", "/webhooks/endpoints/" + ep["id"], {})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), got)
        r = self.call(h, "PATCH", "/webhooks/endpoints/" + ep["id"], {"status": "enabled"})
        self.assertEqual(r.json()["status"], "enabled")
        # rotate: a new secret, once
        r = self.call(h, "POST", "/webhooks/endpoints/%s/rotate-secret" % ep["id"])
        self.assertEqual(r.status, 200, r.body)
        new = r.json()["secret"]
        self.assertTrue(new.startswith("whsec_") and new != ep["secret"])
        self.assertNotIn(new[6:], self.call(h, "GET", "/webhooks/endpoints").body)
        # delete
        r = self.call(h, "DELETE", "/webhooks/endpoints/" + ep["id"])
        self.assertEqual(r.status, 204, r.body)
        for method in ("GET", "DELETE"):
            assert_problem(self, self.call(h, method, "/webhooks/endpoints/" + ep["id"]),
                           404, "endpoint_not_found")
        self.assertEqual(self.call(h, "GET", "/webhooks/endpoints").json()["endpoints"], [])
        # every change audited, with no secret and no path or query
        log = self.audit(owner, tid)
        self.assertEqual(sorted(a["action"] for a in log), sorted([
            "webhook_endpoint.create", "webhook_endpoint.update", "webhook_endpoint.update",
            "webhook_endpoint.rotate_secret", "webhook_endpoint.delete"]))
        self.assertTrue(all(a["actor"] == owner["id"] and a["target"] == ep["id"] for a in log))
        text = json.dumps(log)
        for s in (ep["secret"][6:], new[6:], "src=test", "/hooks/"):
            self.assertNotIn(s, text)
        create = [a for a in log if a["action"] == "webhook_endpoint.create"][0]
        self.assertEqual(create["detail"], {"host": "127.0.0.1", "https": False,
                                            "event_types": ["*"]})

    def test_pagination(self):
        owner = self.user()
        _, h = self.tenant(owner)
        ids = [self.create(h, "https://hooks.example.com/%d" % i)["id"] for i in range(3)]
        self.assertEqual(ids, sorted(ids))  # ids sort by creation
        r = self.call(h, "GET", "/webhooks/endpoints?limit=2")
        page = r.json()
        self.assertEqual([e["id"] for e in page["endpoints"]], ids[:2])
        self.assertEqual(page["next_cursor"], ids[1])
        r = self.call(h, "GET", "/webhooks/endpoints?limit=2&cursor=" + page["next_cursor"])
        self.assertEqual([e["id"] for e in r.json()["endpoints"]], ids[2:])
        self.assertIsNone(r.json()["next_cursor"])
        for q, code in (("limit=0", "invalid_limit"), ("limit=101", "invalid_limit"),
                        ("limit=x", "invalid_limit"), ("cursor=zz", "invalid_cursor"),
                        ("cursor=", "invalid_cursor"), ("page=2", "unknown_parameter"),
                        ("limit=1&limit=2", "duplicate_parameter")):
            with self.subTest(q=q):
                assert_problem(self, self.call(h, "GET", "/webhooks/endpoints?" + q), 400, code)

    def test_endpoint_limit(self):
        owner = self.user()
        _, h = self.tenant(owner)
        for i in range(ENDPOINT_LIMIT):
            self.create(h, "https://hooks.example.com/%d" % i)
        r = self.call(h, "POST", "/webhooks/endpoints", {"url": "https://hooks.example.com/x"})
        p = assert_problem(self, r, 403, "quota_exceeded")
        self.assertIn(str(ENDPOINT_LIMIT), p["detail"])
        self.assertEqual(len(self.call(h, "GET", "/webhooks/endpoints").json()["endpoints"]),
                         ENDPOINT_LIMIT)

    def test_bad_input_writes_nothing(self):
        owner = self.user()
        tid, h = self.tenant(owner)
        ep = self.create(h, "https://hooks.example.com/keep")
        before = self.call(h, "GET", "/webhooks/endpoints").body
        audit_before = len(self.audit(owner, tid))
        long_url = "https://hooks.example.com/" + "a" * 2000
        bad_urls = {
            "ftp://hooks.example.com/x": "invalid_url",
            "hooks.example.com/x": "invalid_url",
            "https://": "invalid_url",
            "https:///path": "invalid_url",
            "https://user:pw@hooks.example.com/": "invalid_url",
            "https://hooks.example.com:0/": "invalid_url",
            "https://hooks.example.com:70000/": "invalid_url",
            "https://hooks.example.com:/": "invalid_url",
            "https://hooks example.com/": "invalid_url",
            "https://hooks.example.com/a b": "invalid_url",
            "https://hooks.example.com/#frag": "invalid_url",
            "https://bücher.example/": "invalid_url",
            "https://[::1/": "invalid_url",
            "http://hooks.example.com/x": "invalid_url",  # plain http to the internet
            "http://8.8.8.8/x": "invalid_url",
            "http://169.254.169.254/latest/meta-data": "invalid_url",  # link-local
            "https://169.254.169.254/": "invalid_url",
            "https://[fe80::1]/": "invalid_url",
            "https://0.0.0.0/": "invalid_url",
            "https://224.0.0.1/": "invalid_url",
            "": "invalid_url",
            long_url: "too_long",
        }
        for url, code in bad_urls.items():
            with self.subTest(url=url[:60]):
                r = self.call(h, "POST", "/webhooks/endpoints", {"url": url})
                assert_problem(self, r, 422, code)
                r = self.call(h, "PATCH", "/webhooks/endpoints/" + ep["id"], {"url": url})
                assert_problem(self, r, 422, code)
        bodies = [
            ({"url": "https://h.example.com/", "event_types": ["invoice.exploded"]},
             422, "unknown_event_type"),
            ({"url": "https://h.example.com/", "event_types": ["invoice.*", "user.*"]},
             422, "unknown_event_type"),
            ({"url": "https://h.example.com/", "event_types": ["invoice"]},
             422, "unknown_event_type"),
            ({"url": "https://h.example.com/", "event_types": []}, 422, "invalid_event_types"),
            ({"url": "https://h.example.com/", "event_types": [1]}, 422, "invalid_event_types"),
            ({"url": "https://h.example.com/", "event_types": ["*"] * 17}, 422,
             "invalid_event_types"),
            ({"url": "https://h.example.com/", "event_types": "invoice.*"}, 422, "wrong_type"),
            ({"url": "https://h.example.com/", "secret": "whsec_mine"}, 422, "unknown_field"),
            ({"url": "https://h.example.com/", "status": "enabled"}, 422, "unknown_field"),
            ({"description": "no url"}, 422, "missing_field"),
            ({"url": None}, 422, "missing_field"),
            ({"url": 42}, 422, "wrong_type"),
            ({"url": "https://h.example.com/", "description": "x" * 501}, 422, "too_long"),
            ({"url": "https://h.example.com/", "description": "line\nbreak"}, 422,
             "invalid_description"),
        ]
        for body, status, code in bodies:
            with self.subTest(body=json.dumps(body)[:80]):
                assert_problem(self, self.call(h, "POST", "/webhooks/endpoints", body), status, code)
        patches = [
            ({"status": "paused"}, 422, "invalid_status"),
            ({"status": 1}, 422, "wrong_type"),
            ({"event_types": ["nope"]}, 422, "unknown_event_type"),
            ({"secret": "whsec_x"}, 422, "unknown_field"),
            ({"id": "x"}, 422, "unknown_field"),
        ]
        for body, status, code in patches:
            with self.subTest(patch=body):
                assert_problem(self, self.call(h, "PATCH", "/webhooks/endpoints/" + ep["id"], body),
                               status, code)
        r = self.lx.request("POST", "/webhooks/endpoints", body="{\"url\": ", headers=dict(
            h, **{"Content-Type": "application/json"}))
        assert_problem(self, r, 400, "invalid_json")
        r = self.lx.request("POST", "/webhooks/endpoints", body="url=https://h.example.com/",
                            headers=dict(h, **{"Content-Type": "application/x-www-form-urlencoded"}))
        assert_problem(self, r, 415, "unsupported_media_type")
        r = self.lx.request("POST", "/webhooks/endpoints/%s/test" % ep["id"], body="{}",
                            headers=dict(h, **{"Content-Type": "application/json"}))
        assert_problem(self, r, 400, "unexpected_body")
        assert_problem(self, self.call(h, "GET", "/webhooks/endpoints/%s?x=1" % ep["id"]),
                       400, "unknown_parameter")
        assert_problem(self, self.call(owner["h"], "GET", "/webhooks/endpoints"),
                       400, "tenant_required")
        assert_problem(self, self.call(h, "GET", "/webhooks/endpoints/no-such-endpoint"),
                       404, "endpoint_not_found")
        assert_problem(self, self.call(h, "PUT", "/webhooks/endpoints"), 405)
        # nothing was written: the endpoint, the list and the audit log are as before
        self.assertEqual(self.call(h, "GET", "/webhooks/endpoints").body, before)
        self.assertEqual(len(self.audit(owner, tid)), audit_before)
        self.assertEqual(self.deliveries(h, ep["id"]), [])

    def test_other_tenant_gets_404(self):
        a_owner, b_owner = self.user(), self.user()
        a, ha = self.tenant(a_owner, "Alpha")
        b, hb = self.tenant(b_owner, "Beta")
        ep = self.create(ha, "https://alpha.example.com/hook")
        self.send_test(ha, ep["id"])
        before = (self.call(ha, "GET", "/webhooks/endpoints/" + ep["id"]).body,
                  self.call(ha, "GET", "/webhooks/endpoints").body)
        r = self.call(b_owner["h"], "POST", "/tenants/%s/api-keys" % b,
                      {"name": "b", "permissions": ["billing.read", "billing.write"]})
        b_key = bearer(r.json()["secret"])
        calls = [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                 ("POST", "/test"), ("GET", "/deliveries")]
        for who, headers in (("B's owner in B", hb), ("B's key", b_key),
                             ("B's owner naming A", dict(b_owner["h"], **{"X-Tenant-Id": a})),
                             ("B's key naming A", dict(b_key, **{"X-Tenant-Id": a}))):
            for method, suffix in calls:
                with self.subTest(who=who, method=method, suffix=suffix):
                    body = {"status": "disabled"} if method == "PATCH" else None
                    r = self.call(headers, method, "/webhooks/endpoints/%s%s" % (ep["id"], suffix),
                                  body)
                    p = assert_problem(self, r, 404)
                    self.assertTrue(p["code"].endswith("not_found"), p)
                    self.assertNotIn("alpha.example.com", r.body)
            r = self.call(headers, "GET", "/webhooks/endpoints")
            if r.status == 200:
                self.assertEqual(r.json()["endpoints"], [])
            else:
                assert_problem(self, r, 404, "not_found")
        self.assertEqual((self.call(ha, "GET", "/webhooks/endpoints/" + ep["id"]).body,
                          self.call(ha, "GET", "/webhooks/endpoints").body), before)
        self.assertEqual(len(self.deliveries(ha, ep["id"])), 1)

    def test_roles_and_service_keys(self):
        owner = self.user()
        tid, h = self.tenant(owner)
        ep = self.create(h, "https://hooks.example.com/roles")
        people = {}
        for role in ("viewer", "member", "admin", "billing"):
            u = self.user()
            r = self.call(owner["h"], "POST", "/tenants/%s/members" % tid,
                          {"email": u["email"], "role": role})
            self.assertEqual(r.status, 201, r.body)
            people[role] = dict(u["h"], **{"X-Tenant-Id": tid})
        # viewers and members hold neither billing permission
        for role in ("viewer", "member"):
            with self.subTest(role=role):
                for method, path, body in (
                        ("GET", "/webhooks/endpoints", None),
                        ("POST", "/webhooks/endpoints", {"url": "https://x.example.com/"}),
                        ("GET", "/webhooks/endpoints/" + ep["id"], None),
                        ("PATCH", "/webhooks/endpoints/" + ep["id"], {"status": "disabled"}),
                        ("DELETE", "/webhooks/endpoints/" + ep["id"], None),
                        ("POST", "/webhooks/endpoints/%s/test" % ep["id"], None),
                        ("GET", "/webhooks/endpoints/%s/deliveries" % ep["id"], None)):
                    p = assert_problem(self, self.call(people[role], method, path, body),
                                       403, "forbidden")
                    self.assertIn("billing.", p["detail"])
        # admins read billing, do not write it
        self.assertEqual(self.call(people["admin"], "GET", "/webhooks/endpoints").status, 200)
        assert_problem(self, self.call(people["admin"], "POST", "/webhooks/endpoints",
                                       {"url": "https://x.example.com/"}), 403, "forbidden")
        # the billing role manages endpoints
        self.create(people["billing"], "https://billing.example.com/")
        # a service key with billing.write acts in its own tenant, no header needed
        r = self.call(owner["h"], "POST", "/tenants/%s/api-keys" % tid,
                      {"name": "hooks", "permissions": ["billing.read", "billing.write"]})
        key = r.json()
        kh = bearer(key["secret"])
        r = self.call(kh, "POST", "/webhooks/endpoints", {"url": "https://key.example.com/"})
        self.assertEqual(r.status, 201, r.body)
        kep = r.json()
        self.assertEqual(self.call(kh, "PATCH", "/webhooks/endpoints/" + kep["id"],
                                   {"description": "by key"}).status, 200)
        log = [a for a in self.audit(owner, tid) if a["target"] == kep["id"]]
        self.assertEqual({a["actor"] for a in log}, {"service:" + key["id"]})
        # a key with billing.read only lists but cannot create
        r = self.call(owner["h"], "POST", "/tenants/%s/api-keys" % tid,
                      {"name": "ro", "permissions": ["billing.read"]})
        ro = bearer(r.json()["secret"])
        self.assertEqual(self.call(ro, "GET", "/webhooks/endpoints").status, 200)
        assert_problem(self, self.call(ro, "POST", "/webhooks/endpoints",
                                       {"url": "https://x.example.com/"}), 403, "forbidden")
        # no token at all
        assert_problem(self, self.lx.get("/webhooks/endpoints", headers={"X-Tenant-Id": tid}),
                       401, "missing_token")

    # --- delivery ------------------------------------------------------------

    def test_delivery_fails_twice_then_succeeds(self):
        owner = self.user()
        tid, h = self.tenant(owner)
        rcv = self.receiver([500, 500, 200])
        ep = self.create(h, rcv.url(), event_types=["invoice.*"])
        t0 = int(time.time())
        sent = self.send_test(h, ep["id"])
        self.assertTrue(sent["message_id"].startswith("msg_"), sent)
        self.assertEqual(sent["event_type"], "webhook.test")
        d = self.wait_delivery(h, ep["id"], lambda d: d["status"] != "pending")
        self.assertEqual(d["status"], "succeeded", d)
        self.assertEqual(d["attempts"], 3)
        self.assertEqual(d["last_status"], 200)
        self.assertIsNone(d["last_error"])
        self.assertIsNotNone(d["delivered_at"])
        self.assertEqual(d["message_id"], sent["message_id"])
        self.assertEqual(d["event_type"], "webhook.test")
        self.assertEqual([a["status"] for a in d["history"]], [500, 500, 200])
        self.assertEqual(d["history"][0]["error"], "HTTP 500: receiver says 500")
        self.assertIsNone(d["history"][2]["error"])
        self.assertTrue(all(a["duration_ms"] >= 0 for a in d["history"]))
        # what the receiver got: three POSTs of one message, each signed
        self.assertEqual(len(rcv.requests), 3)
        stamps = []
        for req in rcv.requests:
            hd = req["headers"]
            self.assertEqual(req["path"], "/hooks/luxima?src=test")
            self.assertEqual(hd["content-type"], "application/json")
            self.assertEqual(hd["webhook-id"], sent["message_id"])
            self.assertEqual(req["body"], rcv.requests[0]["body"])
            self.assertEqual(hd["webhook-signature"],
                             sign(ep["secret"], hd["webhook-id"], hd["webhook-timestamp"],
                                  req["body"]))
            self.assertNotEqual(hd["webhook-signature"],
                                sign("whsec_" + base64.b64encode(b"x" * 32).decode(),
                                     hd["webhook-id"], hd["webhook-timestamp"], req["body"]))
            stamps.append(int(hd["webhook-timestamp"]))
            self.assertLessEqual(abs(stamps[-1] - req["at"]), 2)
        self.assertEqual(stamps, sorted(set(stamps)), "timestamps must increase")
        self.assertGreaterEqual(stamps[0], t0 - 1)
        body = json.loads(rcv.requests[0]["body"])
        self.assertEqual(set(body), {"type", "timestamp", "data"})
        self.assertEqual(body["type"], "webhook.test")
        self.assertEqual(body["data"]["endpoint_id"], ep["id"])
        self.assertRegex(body["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # the test send is audited
        log = [a for a in self.audit(owner, tid) if a["action"] == "webhook_endpoint.test"]
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["detail"], {"message_id": sent["message_id"]})

    def test_member_events(self):
        owner, other = self.user(), self.user()
        tid, h = self.tenant(owner)
        rcv = self.receiver([200])
        ep = self.create(h, rcv.url(), event_types=["member.*"])
        r = self.lx.post("/tenants/%s/members" % tid, {"email": other["email"], "role": "viewer"},
                         headers=owner["h"])
        self.assertEqual(r.status, 201, r.body)
        r = self.lx.request("DELETE", "/tenants/%s/members/%s" % (tid, other["id"]),
                            headers=owner["h"])
        self.assertEqual(r.status, 204, r.body)
        deadline = time.time() + 30 * SLOW
        while time.time() < deadline and len(rcv.requests) < 2:
            time.sleep(0.1)
        got = sorted((json.loads(q["body"]) for q in rcv.requests), key=lambda b: b["type"])
        self.assertEqual([b["type"] for b in got], ["member.added", "member.removed"])
        self.assertEqual(got[0]["data"], {"tenant_id": tid, "user_id": other["id"],
                                          "role": "viewer"})
        self.assertEqual(got[1]["data"]["role"], "viewer")
        self.assertEqual(len(self.deliveries(h, ep["id"])), 2)

    def test_rotated_secret_signs_next_delivery(self):
        owner = self.user()
        _, h = self.tenant(owner)
        rcv = self.receiver([204])
        ep = self.create(h, rcv.url("localhost"))
        new = self.call(h, "POST", "/webhooks/endpoints/%s/rotate-secret" % ep["id"]).json()
        self.send_test(h, ep["id"])
        d = self.wait_delivery(h, ep["id"], lambda d: d["status"] != "pending")
        self.assertEqual((d["status"], d["attempts"], d["last_status"]), ("succeeded", 1, 204))
        hd, body = rcv.requests[0]["headers"], rcv.requests[0]["body"]
        self.assertEqual(hd["webhook-signature"],
                         sign(new["secret"], hd["webhook-id"], hd["webhook-timestamp"], body))
        self.assertNotEqual(hd["webhook-signature"],
                            sign(ep["secret"], hd["webhook-id"], hd["webhook-timestamp"], body))

    def test_receiver_that_never_answers(self):
        owner = self.user()
        _, h = self.tenant(owner)
        silent = Silent()
        self.receivers.append(silent)
        ep = self.create(h, "http://127.0.0.1:%d/hook" % silent.port)
        self.send_test(h, ep["id"])
        d = self.wait_delivery(h, ep["id"], lambda d: d["status"] != "pending", timeout=60)
        self.assertEqual(d["status"], "failed", d)
        self.assertEqual(d["attempts"], MAX_ATTEMPTS)
        self.assertIsNone(d["last_status"])
        self.assertIn("no response", d["last_error"])
        self.assertEqual(len(d["history"]), MAX_ATTEMPTS)
        for a in d["history"]:
            self.assertIsNone(a["status"])
            self.assertGreaterEqual(a["duration_ms"], TIMEOUT_MS - 50)
            self.assertLess(a["duration_ms"], TIMEOUT_MS + 1500 * SLOW)
        self.assertEqual(len(silent.conns), MAX_ATTEMPTS)

    def test_disabled_endpoint_stops_delivery(self):
        owner = self.user()
        _, h = self.tenant(owner)
        rcv = self.receiver([503])
        ep = self.create(h, rcv.url())
        self.send_test(h, ep["id"])
        self.wait_delivery(h, ep["id"], lambda d: d["attempts"] >= 1)
        r = self.call(h, "PATCH", "/webhooks/endpoints/" + ep["id"], {"status": "disabled"})
        self.assertEqual(r.status, 200, r.body)
        d = self.wait_delivery(h, ep["id"], lambda d: d["status"] != "pending")
        self.assertEqual(d["status"], "failed", d)
        self.assertEqual(d["attempts"], 1)
        self.assertEqual(d["last_error"], "the endpoint was disabled")
        self.assertEqual([a["status"] for a in d["history"]], [503])
        self.assertEqual(len(rcv.requests), 1)
        # a disabled endpoint takes no test event
        p = assert_problem(self, self.call(h, "POST", "/webhooks/endpoints/%s/test" % ep["id"]),
                           409, "endpoint_disabled")
        self.assertIn("disabled", p["detail"])
        self.assertEqual(len(self.deliveries(h, ep["id"])), 1)

    def test_gone_disables_endpoint(self):
        owner = self.user()
        tid, h = self.tenant(owner)
        rcv = self.receiver([410])
        ep = self.create(h, rcv.url())
        self.send_test(h, ep["id"])
        d = self.wait_delivery(h, ep["id"], lambda d: d["status"] != "pending")
        self.assertEqual((d["status"], d["attempts"], d["last_status"]), ("failed", 1, 410))
        self.assertEqual(self.call(h, "GET", "/webhooks/endpoints/" + ep["id"]).json()["status"],
                         "disabled")
        log = [a for a in self.audit(owner, tid) if a["action"] == "webhook_endpoint.disable"]
        self.assertEqual(len(log), 1)
        self.assertEqual((log[0]["actor"], log[0]["target"]), ("system", ep["id"]))
        time.sleep(BACKOFF_MS / 1000.0 * 1.2)
        self.assertEqual(len(rcv.requests), 1)

    def test_deleted_endpoint_takes_its_log_along(self):
        owner = self.user()
        _, h = self.tenant(owner)
        rcv = self.receiver([500])
        ep = self.create(h, rcv.url())
        self.send_test(h, ep["id"])
        self.wait_delivery(h, ep["id"], lambda d: d["attempts"] >= 1)
        self.assertEqual(self.call(h, "DELETE", "/webhooks/endpoints/" + ep["id"]).status, 204)
        assert_problem(self, self.call(h, "GET", "/webhooks/endpoints/%s/deliveries" % ep["id"]),
                       404, "endpoint_not_found")
        time.sleep(BACKOFF_MS / 1000.0 * 1.5)
        self.assertEqual(len(rcv.requests), 1)

    def test_https_trusted_certificate(self):
        owner = self.user()
        _, h = self.tenant(owner)
        rcv = self.receiver([200], tls=self.cert)
        ep = self.create(h, rcv.url("localhost", "https"))
        sent = self.send_test(h, ep["id"])
        d = self.wait_delivery(h, ep["id"], lambda d: d["status"] != "pending")
        self.assertEqual((d["status"], d["attempts"], d["last_status"]), ("succeeded", 1, 200), d)
        self.assertEqual(len(rcv.requests), 1)
        hd, body = rcv.requests[0]["headers"], rcv.requests[0]["body"]
        self.assertEqual(hd["webhook-id"], sent["message_id"])
        self.assertEqual(hd["host"], "localhost:%d" % rcv.port)
        self.assertEqual(hd["webhook-signature"],
                         sign(ep["secret"], hd["webhook-id"], hd["webhook-timestamp"], body))

    def test_https_untrusted_certificate_is_refused(self):
        owner = self.user()
        _, h = self.tenant(owner)
        rcv = self.receiver([200], tls=self.other)
        ep = self.create(h, rcv.url("localhost", "https"))
        self.send_test(h, ep["id"])
        d = self.wait_delivery(h, ep["id"], lambda d: d["attempts"] >= 1)
        a = d["history"][0]
        self.assertIsNone(a["status"])
        self.assertIn("not trusted", a["error"])
        self.assertEqual(rcv.requests, [])
        # the right name matters too: 127.0.0.1 is not the certificate's name
        rcv2 = self.receiver([200], tls=self.cert)
        ep2 = self.create(h, rcv2.url("127.0.0.1", "https"))
        self.send_test(h, ep2["id"])
        d = self.wait_delivery(h, ep2["id"], lambda d: d["attempts"] >= 1)
        self.assertIsNone(d["history"][0]["status"])
        self.assertIn("not trusted", d["history"][0]["error"])
        self.assertEqual(rcv2.requests, [])


def private_name():
    """A host name (not localhost) that resolves only to loopback or private
    addresses here, e.g. the machine's own name; None if there is none."""
    import ipaddress
    for name in (socket.gethostname(), "ip6-localhost"):
        try:
            addrs = {a[4][0] for a in socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)}
        except OSError:
            continue
        if name != "localhost" and addrs and all(
                ipaddress.ip_address(a.split("%")[0]).is_private for a in addrs):
            return name
    return None


class WebhooksNoPrivate(unittest.TestCase):
    """webhooks.allow_private off (a shared instance whose tenants must not
    reach its network) and webhooks.allow_http on: loopback and private
    destinations are refused at registration, and a name resolving to one
    is refused at delivery, before any connection."""

    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env={"LUXIMA_WEBHOOKS_ALLOW_PRIVATE": "0",
                             "LUXIMA_WEBHOOKS_ALLOW_HTTP": "1",
                             "LUXIMA_WEBHOOKS_MAX_ATTEMPTS": "1"})
        r = cls.lx.post("/auth/register", {"email": "np@example.com", "password": PW})
        assert r.status == 201, r.body
        r = cls.lx.post("/auth/login", {"email": "np@example.com", "password": PW})
        h = bearer(r.json()["access_token"])
        r = cls.lx.post("/tenants", {"name": "No Private"}, headers=h)
        cls.h = dict(h, **{"X-Tenant-Id": r.json()["id"]})

    @classmethod
    def tearDownClass(cls):
        assert cls.lx.stop() == 0, cls.lx.output()[-3000:]

    def test_private_refused(self):
        for url in ("http://127.0.0.1:9/x", "https://localhost/x", "https://10.0.0.1/x",
                    "https://192.168.1.10/x", "https://[::1]/x", "https://[fd12::1]/x",
                    "http://169.254.169.254/x"):
            with self.subTest(url=url):
                r = self.lx.post("/webhooks/endpoints", {"url": url}, headers=self.h)
                assert_problem(self, r, 422, "invalid_url")
        p = assert_problem(self, self.lx.post("/webhooks/endpoints", {"url": "https://10.0.0.1/"},
                                              headers=self.h), 422, "invalid_url")
        self.assertIn("webhooks.allow_private", p["detail"])
        # plain http to the internet is allowed here
        r = self.lx.post("/webhooks/endpoints", {"url": "http://hooks.example.com/x"},
                         headers=self.h)
        self.assertEqual(r.status, 201, r.body)

    def test_name_resolving_to_private_refused_at_delivery(self):
        name = private_name()
        if name is None:
            self.skipTest("no host name resolving only to private addresses here")
        rcv = Receiver([200])
        try:
            r = self.lx.post("/webhooks/endpoints",
                             {"url": "http://%s:%d/x" % (name, rcv.port)}, headers=self.h)
            self.assertEqual(r.status, 201, r.body)
            ep = r.json()["id"]
            r = self.lx.post("/webhooks/endpoints/%s/test" % ep, headers=self.h)
            self.assertEqual(r.status, 202, r.body)
            deadline = time.time() + 20 * SLOW
            while time.time() < deadline:
                d = self.lx.get("/webhooks/endpoints/%s/deliveries" % ep,
                                headers=self.h).json()["deliveries"][0]
                if d["status"] != "pending":
                    break
                time.sleep(0.2)
            self.assertEqual((d["status"], d["attempts"], d["last_status"]), ("failed", 1, None))
            self.assertIn("resolves only to addresses webhooks may not reach", d["last_error"])
            self.assertEqual(rcv.requests, [])
        finally:
            rcv.close()


if __name__ == "__main__":
    main()
