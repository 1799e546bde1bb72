"""Integration-test harness: runs the real luxima binary on a free loopback
port with a temporary data folder and talks HTTP to it.

    from harness import Luxima, run_cli
    with Luxima() as lx:
        r = lx.get("/healthz")
        assert r.status == 200 and r.json()["status"] == "ok"

Environment (set by ctest): LUXIMA_BIN, LUXIMA_SOURCE, LUXIMA_TEST_TMP.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

BIN = os.environ.get("LUXIMA_BIN", "build/luxima")
SOURCE = os.environ.get("LUXIMA_SOURCE", os.getcwd())
TMP = os.environ.get("LUXIMA_TEST_TMP", tempfile.gettempdir())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def new_data_dir(name="lx"):
    os.makedirs(TMP, exist_ok=True)
    return tempfile.mkdtemp(prefix=name + ".", dir=TMP)


def base_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXIMA_")}
    env.pop("CREDENTIALS_DIRECTORY", None)
    # Sanitizer builds: fail loudly on leaks and UB.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    if extra:
        env.update(extra)
    return env


def run_cli(args, data=None, env=None, input=None, timeout=60):
    """Runs `luxima <args>`; returns CompletedProcess with text stdout/stderr."""
    cmd = [BIN] + list(args)
    if data is not None:
        cmd += ["--data", data]
    return subprocess.run(cmd, env=base_env(env), input=input, capture_output=True,
                          text=True, timeout=timeout)


def make_cert(folder, name, kind="ec", cn="127.0.0.1", san="IP:127.0.0.1"):
    """A self-signed certificate and its key, made by the openssl CLI.
    Returns (cert_path, key_path)."""
    cert = os.path.join(folder, name + ".crt")
    key = os.path.join(folder, name + ".key")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if kind == "ec" \
        else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + san, "-keyout", key, "-out", cert] + newkey,
                   check=True, capture_output=True)
    return cert, key


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


class Luxima:
    """A running server. Use as a context manager; stop() checks a clean exit."""

    def __init__(self, data=None, env=None, args=(), tls=None, start=True):
        self.data = data or new_data_dir()
        self.port = free_port()
        self.env = env or {}
        self.args = list(args)
        self.tls = tls  # (cert, key) or None
        self.proc = None
        self.log_path = os.path.join(self.data, "..", os.path.basename(self.data) + ".log")
        if start:
            self.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def start(self, timeout=20):
        cmd = [BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        cmd += self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=base_env(self.env), stdout=self.log,
                                     stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("luxima exited with %d:\n%s" % (self.proc.returncode, self.output()))
            try:
                if self.get("/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("luxima did not start:\n" + self.output())

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def connection(self, timeout=10):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            ctx.check_hostname = False
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """One request. body: dict/list (sent as JSON), str or bytes."""
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        own = conn is None
        c = conn or self.connection()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode("utf-8", "replace")
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the server; returns its exit code (None if it was not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("luxima did not stop on %s:\n%s" % (sig, self.output()))
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def kill(self):
        return self.stop(sig=signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None and rc not in (0, None):
            raise AssertionError("luxima exited with %s:\n%s" % (rc, self.output()))
        return False


def assert_problem(tc, r, status, code=None):
    """Asserts r is an application/problem+json error with status (and code)."""
    tc.assertEqual(r.status, status, r.body)
    tc.assertTrue(r.header("content-type", ).startswith("application/problem+json"), r.headers)
    p = r.json()
    for k in ("type", "title", "status", "detail", "code"):
        tc.assertIn(k, p)
    tc.assertEqual(p["status"], status)
    if code is not None:
        tc.assertEqual(p["code"], code, p)
    return p


def main():
    unittest.main(verbosity=2)
