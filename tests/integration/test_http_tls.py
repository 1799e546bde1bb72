#!/usr/bin/env python3
"""HTTPS with mbedTLS: a self-signed certificate made by the openssl CLI,
a real TLS client (Python's ssl), and clear start-up errors for a bad
certificate or a key that does not match.
"""
import glob
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, make_cert, new_data_dir, run_cli  # noqa: E402


@unittest.skipIf(shutil.which("openssl") is None, "needs the openssl CLI")
class Tls(unittest.TestCase):
    def setUp(self):
        self.dir = new_data_dir("tls")

    def test_https_serves(self):
        for kind in ("ec", "rsa"):
            cert, key = make_cert(self.dir, "srv-" + kind, kind)
            with Luxima(tls=(cert, key)) as lx:
                self.assertIn("luxima: serving on https://127.0.0.1:%d\n" % lx.port, lx.output())
                r = lx.get("/healthz")
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json(), {"status": "ok"})
                self.assertTrue(r.header("x-request-id"))
                assert_problem(self, lx.get("/nope"), 404, "not_found")
                # Keep-alive over TLS.
                c = lx.connection()
                for _ in range(3):
                    c.request("GET", "/version")
                    resp = c.getresponse()
                    self.assertEqual(resp.status, 200)
                    resp.read()
                c.close()
                # The combined PEM handed to civetweb is gone.
                self.assertEqual(glob.glob(os.path.join(lx.data, ".tls-*")), [])

    def test_bad_certificate(self):
        cert, key = make_cert(self.dir, "good")
        junk = os.path.join(self.dir, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        other_cert, other_key = make_cert(self.dir, "other")
        cases = [
            ([junk, key], "certificate"),
            ([cert, junk], "key"),
            ([cert, other_key], "does not match"),
            ([os.path.join(self.dir, "missing.crt"), key], "cannot read"),
        ]
        for (c, k), words in cases:
            data = new_data_dir()
            r = run_cli(["serve", "--listen", "127.0.0.1:0", "--tls-cert", c, "--tls-key", k],
                        data=data, timeout=30)
            self.assertNotEqual(r.returncode, 0, r)
            lines = [l for l in r.stderr.splitlines() if l.startswith("luxima:")]
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(words, lines[0])
            self.assertEqual(glob.glob(os.path.join(data, ".tls-*")), [])
        r = run_cli(["serve", "--tls-cert", cert], data=new_data_dir(), timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--tls-key", r.stderr)

    def test_tls_from_environment(self):
        cert, key = make_cert(self.dir, "env")
        lx = Luxima(start=False, env={"LUXIMA_TLS_CERT": cert, "LUXIMA_TLS_KEY": key})
        lx.tls = (cert, key)  # for the client side only
        lx.start()
        try:
            self.assertEqual(lx.get("/healthz").status, 200)
        finally:
            self.assertEqual(lx.stop(), 0)


if __name__ == "__main__":
    main()
