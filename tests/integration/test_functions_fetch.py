#!/usr/bin/env python3
"""http.fetch from edge functions against the real binary (issue #6): a
receiver on loopback that is on the allow-list (LUXIMA_FUNCTIONS_HTTP_ALLOW)
answers GET and POST with the method, headers and body it got; a port or
host off the list, a link-local address even when listed, a receiver that
never answers (the call's wall-clock deadline) and a body over the limit
each end with their clear error, and the server keeps serving."""
import http.server
import json
import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, free_port, main  # noqa: E402

PW = "a long enough passphrase"


class Receiver(http.server.BaseHTTPRequestHandler):
    def reply(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode() if n else ""
        if self.path == "/big":
            data = b"x" * (1024 * 1024 + 10)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its limit
            return
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out = json.dumps({"method": self.command, "path": self.path, "body": body,
                          "x": self.headers.get("X-Custom")}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Reply", "yes")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = reply

    def log_message(self, *a):
        pass


class Fetch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        cls.port = cls.httpd.server_address[1]
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        # A listener that accepts and never answers.
        cls.mute = socket.socket()
        cls.mute.bind(("127.0.0.1", 0))
        cls.mute.listen(8)
        cls.mute_port = cls.mute.getsockname()[1]
        cls.off = free_port()
        cls.lx = Luxima(env={
            "LUXIMA_FUNCTIONS_HTTP_ALLOW": "127.0.0.1:%d, 127.0.0.1:%d, 169.254.169.254"
                                           % (cls.port, cls.mute_port),
            "LUXIMA_FUNCTIONS_TIMEOUT_MS": "1500"})
        r = cls.lx.post("/auth/register", {"email": "fetch@example.com", "password": PW})
        assert r.status == 201, r.body
        tok = cls.lx.post("/auth/login", {"email": "fetch@example.com", "password": PW}).json()
        h = {"Authorization": "Bearer " + tok["access_token"]}
        tid = cls.lx.post("/tenants", {"name": "Fetch"}, headers=h).json()["id"]
        cls.h = dict(h, **{"X-Tenant-Id": tid})
        src = """
return function(req)
  local p = req.params
  local r = http.fetch(p.url, {method = p.method or "GET",
    headers = {["X-Custom"] = "from-lua", ["Content-Type"] = "application/json"},
    body = p.body})
  return {json = {status = r.status, reply = r.headers["x-reply"], body = r.body}}
end"""
        r = cls.lx.post("/functions", {"name": "fetch", "version": "1.0.0", "source": src},
                        headers=cls.h)
        assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.mute.close()
        rc = cls.lx.stop()
        assert rc == 0, "luxima exited with %s:\n%s" % (rc, cls.lx.output()[-4000:])

    def fetch(self, url, **q):
        from urllib.parse import urlencode
        return self.lx.get("/functions/v1/fetch?" + urlencode(dict(q, url=url)), headers=self.h)

    def test_get_and_post(self):
        base = "http://127.0.0.1:%d" % self.port
        r = self.fetch(base + "/hello?a=1")
        self.assertEqual(r.status, 200, r.body)
        d = r.json()
        self.assertEqual((d["status"], d["reply"]), (201, "yes"))
        self.assertEqual(json.loads(d["body"]),
                         {"method": "GET", "path": "/hello?a=1", "body": "", "x": "from-lua"})
        r = self.fetch(base + "/items", method="POST", body='{"n": 1}')
        self.assertEqual(json.loads(r.json()["body"])["body"], '{"n": 1}')
        # Redirects are not followed: the script sees the 302.
        self.assertEqual(self.fetch(base + "/moved").json()["status"], 302)

    def test_refusals(self):
        for url, code in (("http://127.0.0.1:%d/" % self.off, "host_not_allowed"),
                          ("http://localhost:%d/" % self.port, "host_not_allowed"),
                          ("http://169.254.169.254/latest/meta-data", "fetch"),
                          ("ftp://127.0.0.1:%d/" % self.port, "invalid_request"),
                          ("http://127.0.0.1:%d/big" % self.port, "fetch_too_large"),
                          ("http://127.0.0.1:%d/" % self.mute_port, None)):
            with self.subTest(url=url):
                r = self.fetch(url)
                assert_problem(self, r, 422)
                if code:
                    self.assertIn(code, r.json()["detail"])
                self.assertEqual(self.lx.get("/healthz").status, 200)


if __name__ == "__main__":
    main()
