#!/usr/bin/env python3
"""The HTTP core against the real binary: the core routes, the problem
format, the fixed order of checks, request ids, security headers, CORS,
keep-alive, access log, metrics and start-up errors.

The body pipeline is exercised through POST /_test/echo, a route that only
exists when the server starts with LUXIMA_TEST_ROUTES=1.
"""
import http.client
import json
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, run_cli  # noqa: E402

TEST_ENV = {"LUXIMA_TEST_ROUTES": "1"}


def raw_exchange(port, data, timeout=5):
    """Sends raw bytes, returns everything the server sends until close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)
    finally:
        s.close()


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class CoreRoutes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env=TEST_ENV)

    @classmethod
    def tearDownClass(cls):
        rc = cls.lx.stop()
        assert rc == 0, "luxima exited with %s:\n%s" % (rc, cls.lx.output())

    def test_startup_line(self):
        out = self.lx.output()
        self.assertIn("luxima: serving on http://127.0.0.1:%d\n" % self.lx.port, out)
        self.assertRegex(out, r'\{"ts":"[^"]+","level":"info","msg":"serving on http://')

    def test_healthz(self):
        r = self.lx.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        self.assertTrue(r.header("content-type").startswith("application/json"))
        self.assertEqual(int(r.header("content-length")), len(r.body))
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("referrer-policy"), "no-referrer")
        self.assertEqual(r.header("x-frame-options"), "DENY")
        self.assertIn("default-src 'none'", r.header("content-security-policy"))
        self.assertRegex(r.header("x-request-id"), r"^[0-9a-f]{32}$")

    def test_readyz(self):
        r = self.lx.get("/readyz")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {"status": "ok"})

    def test_version(self):
        r = self.lx.get("/version")
        self.assertEqual(r.status, 200)
        v = r.json()
        self.assertEqual(v["name"], "luxima")
        self.assertIn("civetweb", v["libraries"])

    def test_openapi(self):
        r = self.lx.get("/openapi.json")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        self.assertIn("openapi", r.json())

    def test_index_html_has_csp(self):
        r = self.lx.get("/")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/html"))
        csp = r.header("content-security-policy")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("<html", r.body)

    def test_metrics(self):
        self.lx.get("/healthz")
        self.lx.get("/no/such/thing")
        self.lx.request("PUT", "/_test/echo/abc", body={"text": "x"})
        r = self.lx.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        b = r.body
        self.assertRegex(b, r'luxima_http_requests_total\{route="/healthz",status="200"\} \d+')
        self.assertRegex(b, r'luxima_http_requests_total\{route="unmatched",status="404"\} \d+')
        self.assertRegex(b, r'luxima_http_requests_total\{route="/_test/echo/\{id\}",status="200"\} 1')
        self.assertRegex(b, r'luxima_http_request_duration_seconds_bucket\{route="/healthz",le="\+Inf"\} \d+')
        self.assertIn("# TYPE luxima_http_request_duration_seconds histogram", b)
        self.assertRegex(b, r"luxima_http_requests_in_flight 1\n")  # this request
        self.assertRegex(b, r"luxima_db_size_bytes [1-9]\d*\n")
        self.assertRegex(b, r"luxima_db_connections [1-9]\d*\n")
        self.assertIn('luxima_jobs{state="queued"}', b)
        self.assertRegex(b, r'luxima_build_info\{version="[^"]+",civetweb="1.15",sqlite="3\.[^"]+"\} 1')

    def test_not_found_problem(self):
        r = self.lx.get("/no/such/route", headers={"X-Request-Id": "abc-1"})
        p = assert_problem(self, r, 404, "not_found")
        self.assertEqual(p["request_id"], "abc-1")
        self.assertEqual(r.header("x-request-id"), "abc-1")
        self.assertTrue(p["type"].endswith("/not_found"))
        self.assertEqual(p["title"], "Not Found")
        for path in ("/healthz/", "/HEALTHZ", "/healthz%2F", "/healthz?x"[:-2] + "z/x"):
            assert_problem(self, self.lx.get(path), 404, "not_found")
        # civetweb removes dot segments and repeated slashes first.
        for path in ("//healthz", "/a/../healthz"):
            self.assertEqual(self.lx.get(path).status, 200, path)

    def test_method_not_allowed(self):
        r = self.lx.request("DELETE", "/version")
        assert_problem(self, r, 405, "method_not_allowed")
        self.assertEqual(r.header("allow"), "GET, HEAD, OPTIONS")
        r = self.lx.request("GET", "/_test/echo")
        assert_problem(self, r, 405, "method_not_allowed")
        self.assertEqual(r.header("allow"), "POST, OPTIONS")

    def test_head(self):
        g = self.lx.get("/healthz")
        c = self.lx.connection()
        c.request("HEAD", "/healthz")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.read(), b"")
        self.assertEqual(int(r.getheader("content-length")), len(g.body))
        # The connection is still usable: no stray body bytes.
        c.request("GET", "/healthz")
        r = c.getresponse()
        self.assertEqual(json.loads(r.read()), {"status": "ok"})
        c.close()

    def test_options_allow(self):
        r = self.lx.request("OPTIONS", "/healthz")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("allow"), "GET, HEAD, OPTIONS")
        self.assertIsNone(r.header("access-control-allow-origin"))
        assert_problem(self, self.lx.request("OPTIONS", "/nope"), 404, "not_found")

    def test_request_id(self):
        r = self.lx.get("/healthz", headers={"X-Request-Id": "client-req.42_A"})
        self.assertEqual(r.header("x-request-id"), "client-req.42_A")
        for bad in ("bad id", "a" * 65, "x/y", "é"):
            r = self.lx.get("/healthz", headers={"X-Request-Id": bad})
            self.assertRegex(r.header("x-request-id"), r"^[0-9a-f]{32}$", bad)
        r = self.lx.get("/healthz", headers={"X-Request-Id": "b" * 64})
        self.assertEqual(r.header("x-request-id"), "b" * 64)
        ids = {self.lx.get("/healthz").header("x-request-id") for _ in range(20)}
        self.assertEqual(len(ids), 20)

    def test_keep_alive(self):
        c = self.lx.connection()
        for _ in range(5):
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("connection"), "keep-alive")
        sock = c.sock
        c.request("GET", "/no/such")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 404)
        self.assertIs(c.sock, sock)  # same connection after an error
        c.close()
        # Connection: close is honoured.
        raw = raw_exchange(self.lx.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, body = split_response(raw)
        self.assertEqual(status, 200)
        self.assertEqual(headers["connection"], "close")
        self.assertEqual(body, b'{"status":"ok"}')
        # HTTP/1.0 closes by default.
        raw = raw_exchange(self.lx.port, b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(split_response(raw)[1]["connection"], "close")

    def test_malformed_request_is_a_problem(self):
        raw = raw_exchange(self.lx.port, b"THIS IS NOT HTTP\r\n\r\n")
        status, headers, body = split_response(raw)
        self.assertEqual(status // 100, 4, raw)
        self.assertTrue(headers["content-type"].startswith("application/problem+json"), raw)
        p = json.loads(body)
        self.assertEqual(p["status"], status)
        self.assertIn("code", p)
        self.assertIn("request_id", p)

    def test_access_log(self):
        self.lx.get("/healthz", headers={"X-Request-Id": "log-check-1"})
        deadline = time.time() + 5
        line = None
        while time.time() < deadline and line is None:
            for l in self.lx.output().splitlines():
                if '"log-check-1"' in l:
                    line = json.loads(l)
            time.sleep(0.05)
        self.assertIsNotNone(line)
        self.assertEqual(line["request_id"], "log-check-1")
        self.assertEqual(line["method"], "GET")
        self.assertEqual(line["path"], "/healthz")
        self.assertEqual(line["route"], "/healthz")
        self.assertEqual(line["status"], 200)
        self.assertEqual(line["bytes"], len('{"status":"ok"}'))
        self.assertEqual(line["remote"], "127.0.0.1")
        self.assertIsInstance(line["duration_us"], int)
        self.assertIn("ts", line)


class BodyPipeline(unittest.TestCase):
    """route -> method -> size -> identity -> content type -> JSON -> schema."""

    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env=TEST_ENV, args=["--max-body", "1k"])

    @classmethod
    def tearDownClass(cls):
        rc = cls.lx.stop()
        assert rc == 0, "luxima exited with %s:\n%s" % (rc, cls.lx.output())

    def test_valid_body(self):
        body = {"text": "hé", "count": 3, "flag": True, "ratio": 0.5, "tags": [1], "meta": {}}
        r = self.lx.post("/_test/echo", body)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), body)
        r = self.lx.request("PUT", "/_test/echo/a%20b", body={"text": "x"})
        self.assertEqual(r.json(), {"text": "x", "id": "a b"})
        r = self.lx.post("/_test/echo", '{"text":"x"}',
                         headers={"Content-Type": "application/json; charset=UTF-8"})
        self.assertEqual(r.status, 200, r.body)

    def test_unsupported_media_type(self):
        for ct in (None, "text/plain", "application/x-www-form-urlencoded",
                   "application/json; charset=latin-1", "application/jsonx"):
            h = {"Content-Type": ct} if ct else {}
            r = self.lx.post("/_test/echo", '{"text":"x"}', headers=h)
            assert_problem(self, r, 415, "unsupported_media_type")

    def test_invalid_json(self):
        for body in ("{", "", "{'text':'x'}", '{"text":"x"} trailing', '{"text":"\xff"}',
                     "[" * 40 + "]" * 40):
            r = self.lx.post("/_test/echo", body.encode("latin-1"),
                             headers={"Content-Type": "application/json"})
            assert_problem(self, r, 400, "invalid_json")

    def test_schema_violations(self):
        cases = [
            ({"text": "x", "admin": True}, "unknown_field", "admin"),
            ({}, "missing_field", "text"),
            ({"text": None}, "missing_field", "text"),
            ({"text": 5}, "wrong_type", "text"),
            ({"text": "x", "count": 1.5}, "wrong_type", "count"),
            ({"text": "x", "flag": "yes"}, "wrong_type", "flag"),
        ]
        for body, code, field in cases:
            r = self.lx.post("/_test/echo", body)
            p = assert_problem(self, r, 422, code)
            self.assertEqual(p["field"], field, p)
            self.assertIn(field, p["detail"])
        r = self.lx.post("/_test/echo", "[1]", headers={"Content-Type": "application/json"})
        assert_problem(self, r, 422, "wrong_type")
        r = self.lx.post("/_test/echo", '{"text":"a","text":"b"}',
                         headers={"Content-Type": "application/json"})
        assert_problem(self, r, 422, "duplicate_field")

    def test_too_long_string(self):
        lx = Luxima(env=TEST_ENV)  # default 1 MiB body limit
        try:
            r = lx.post("/_test/echo", {"text": "x" * 65537})
            p = assert_problem(self, r, 422, "too_long")
            self.assertEqual(p["field"], "text")
            self.assertEqual(lx.post("/_test/echo", {"text": "x" * 65536}).status, 200)
        finally:
            self.assertEqual(lx.stop(), 0)

    def test_body_too_large(self):
        r = self.lx.post("/_test/echo", {"text": "x" * 2000})
        assert_problem(self, r, 413, "body_too_large")
        self.assertEqual(r.header("connection"), "close")
        # Chunked: no length announced, the limit still holds.
        s = socket.create_connection(("127.0.0.1", self.lx.port), timeout=5)
        s.sendall(b"POST /_test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b'{"text":"' + b"y" * 1500 + b'"}'
        s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        self.assertEqual(split_response(data)[0], 413, data)
        # A small chunked body is fine.
        raw = raw_exchange(self.lx.port,
                           b"POST /_test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"5\r\n{\"tex\r\n7\r\nt\":\"z\"}\r\n0\r\n\r\n")
        status, _, body = split_response(raw)
        self.assertEqual(status, 200, raw)
        self.assertEqual(json.loads(body), {"text": "z"})

    def test_order_of_checks(self):
        big = {"text": "x" * 5000, "bogus": 1}
        # 404 before 405: unknown path with any method.
        assert_problem(self, self.lx.request("PATCH", "/nowhere", body=big), 404, "not_found")
        # 405 before 413: wrong method with an oversized body.
        assert_problem(self, self.lx.post("/healthz", big), 405, "method_not_allowed")
        # 413 before 415: oversized body of the wrong type.
        assert_problem(self, self.lx.post("/_test/echo", "x" * 5000,
                                          headers={"Content-Type": "text/plain"}),
                       413, "body_too_large")
        # 415 before 400: malformed body of the wrong type.
        assert_problem(self, self.lx.post("/_test/echo", "{", headers={"Content-Type": "text/plain"}),
                       415, "unsupported_media_type")
        # 400 before 422.
        assert_problem(self, self.lx.post("/_test/echo", '{"bogus":', headers={"Content-Type": "application/json"}),
                       400, "invalid_json")

    def test_expect_continue(self):
        s = socket.create_connection(("127.0.0.1", self.lx.port), timeout=5)
        body = b'{"text":"c"}'
        s.sendall(b"POST /_test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        first = s.recv(100)
        self.assertTrue(first.startswith(b"HTTP/1.1 100"), first)
        s.sendall(body)
        data = first
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        rest = data[data.index(b"\r\n\r\n") + 4:]
        self.assertEqual(split_response(rest)[0], 200, data)


class Cors(unittest.TestCase):
    def test_listed_origins(self):
        with Luxima(args=["--cors-origins", "https://a.example, https://b.example"]) as lx:
            pre = {"Origin": "https://a.example", "Access-Control-Request-Method": "GET",
                   "Access-Control-Request-Headers": "content-type"}
            r = lx.request("OPTIONS", "/version", headers=pre)
            self.assertEqual(r.status, 204)
            self.assertEqual(r.header("access-control-allow-origin"), "https://a.example")
            self.assertEqual(r.header("access-control-allow-methods"), "GET, HEAD, OPTIONS")
            self.assertIn("Content-Type", r.header("access-control-allow-headers"))
            self.assertEqual(r.header("access-control-max-age"), "600")
            self.assertEqual(r.header("vary"), "Origin")
            r = lx.get("/healthz", headers={"Origin": "https://b.example"})
            self.assertEqual(r.header("access-control-allow-origin"), "https://b.example")
            self.assertIn("X-Request-Id", r.header("access-control-expose-headers"))
            # Not allowed: no CORS headers at all.
            for origin in ("https://evil.example", "https://a.example.evil", "null"):
                r = lx.request("OPTIONS", "/version", headers=dict(pre, Origin=origin))
                self.assertEqual(r.status, 204)
                self.assertIsNone(r.header("access-control-allow-origin"))
                self.assertIsNone(r.header("access-control-allow-methods"))
                r = lx.get("/healthz", headers={"Origin": origin})
                self.assertIsNone(r.header("access-control-allow-origin"))
                self.assertEqual(r.header("vary"), "Origin")  # for caches
            # Errors carry CORS headers too, so a browser can read them.
            r = lx.get("/nope", headers={"Origin": "https://a.example"})
            self.assertEqual(r.header("access-control-allow-origin"), "https://a.example")

    def test_any_origin_from_environment(self):
        with Luxima(env={"LUXIMA_CORS_ORIGINS": "*"}) as lx:
            r = lx.get("/healthz", headers={"Origin": "https://x.example"})
            self.assertEqual(r.header("access-control-allow-origin"), "*")

    def test_off_by_default(self):
        with Luxima() as lx:
            r = lx.get("/healthz", headers={"Origin": "https://x.example"})
            self.assertIsNone(r.header("access-control-allow-origin"))


class Startup(unittest.TestCase):
    def test_help_documents_flags(self):
        r = run_cli(["serve", "--help"])
        self.assertEqual(r.returncode, 0)
        for word in ("--listen", "LUXIMA_LISTEN", "--tls-cert", "LUXIMA_TLS_CERT", "--tls-key",
                     "LUXIMA_TLS_KEY", "--threads", "--max-body", "--cors-origins",
                     "LUXIMA_CORS_ORIGINS", "--request-timeout", "--idle-timeout", "--data"):
            self.assertIn(word, r.stdout)

    def test_port_in_use(self):
        with Luxima() as lx:
            other = Luxima(start=False)
            r = run_cli(["serve", "--listen", "127.0.0.1:%d" % lx.port], data=other.data, timeout=30)
            self.assertNotEqual(r.returncode, 0)
            err = [l for l in r.stderr.splitlines() if l.startswith("luxima:")]
            self.assertTrue(err, r.stderr)
            self.assertIn("127.0.0.1:%d" % lx.port, err[-1])
            self.assertEqual(r.stdout, "")

    def test_bad_flags(self):
        for args in (["--threads", "zero"], ["--max-body", "-1"], ["--max-body", "1q"],
                     ["--listen", "a:1, b:2"]):
            r = run_cli(["serve"] + args, data=Luxima(start=False).data, timeout=30)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertTrue(r.stderr.strip(), args)

    def test_config_file_listen_and_sigint(self):
        lx = Luxima(start=False)
        os.makedirs(lx.data, exist_ok=True)
        with open(os.path.join(lx.data, "luxima.conf"), "w") as f:
            f.write("listen = 127.0.0.1:%d\nthreads = 2\n" % lx.port)
        import subprocess
        from harness import BIN, base_env
        p = subprocess.Popen([BIN, "serve", "--data", lx.data], env=base_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = p.stdout.readline().decode()
            self.assertEqual(line, "luxima: serving on http://127.0.0.1:%d\n" % lx.port)
            self.assertEqual(lx.get("/healthz").status, 200)
            p.send_signal(2)
            self.assertEqual(p.wait(20), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    main()
