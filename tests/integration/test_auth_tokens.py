#!/usr/bin/env python3
"""Forged and damaged access tokens against the real server: every one is a
401 problem on GET /auth/verify and on a NEED_USER route, and none of them
touches another user. The forgeries are made here from public material
only (the JWKS, a token the server issued): alg none, HS256 keyed with the
public key, a changed payload, an unknown kid, a truncated signature, a
token of this key but another issuer."""
import base64
import hashlib
import hmac
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir  # noqa: E402

PW = "a long enough passphrase"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def enc(obj):
    return b64(json.dumps(obj, separators=(",", ":")).encode())


class ForgedTokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima()
        cls.lx.post("/auth/register", {"email": "victim@example.com", "password": PW})
        r = cls.lx.post("/auth/login", {"email": "victim@example.com", "password": PW})
        assert r.status == 200, r.body
        cls.token = r.json()["access_token"]
        cls.jwks = cls.lx.get("/.well-known/jwks.json").json()

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def refused(self, tok, what):
        for path in ("/auth/verify", "/auth/me"):
            r = self.lx.get(path, headers={"Authorization": "Bearer " + tok})
            with self.subTest(what=what, path=path):
                p = assert_problem(self, r, 401, "invalid_token")
                self.assertIn("Bearer", r.header("www-authenticate") or "")
                self.assertNotIn("victim", json.dumps(p))

    def parts(self):
        h, p, s = self.token.split(".")
        return json.loads(unb64(h)), json.loads(unb64(p)), s

    def test_the_real_token_is_accepted(self):
        r = self.lx.get("/auth/verify", headers={"Authorization": "Bearer " + self.token})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["email"], "victim@example.com")

    def test_alg_none(self):
        h, p, _ = self.parts()
        h["alg"] = "none"
        self.refused(enc(h) + "." + enc(p) + ".", "alg none, empty signature")
        self.refused(enc({"alg": "none", "typ": "JWT"}) + "." + enc(p) + ".", "alg none, no kid")

    def test_hs256_keyed_with_the_public_key(self):
        h, p, _ = self.parts()
        key = self.jwks["keys"][0]
        for secret in (unb64(key["x"]), key["x"].encode(), json.dumps(key).encode()):
            hh = dict(h, alg="HS256")
            signing = (enc(hh) + "." + enc(p)).encode()
            sig = b64(hmac.new(secret, signing, hashlib.sha256).digest())
            self.refused(signing.decode() + "." + sig, "HS256 with the public key")

    def test_changed_payload(self):
        h, p, s = self.parts()
        for change in ({"sub": "00000000-0000-4000-8000-000000000000"},
                       {"exp": p["exp"] + 86400}, {"role": "service_role"},
                       {"app_metadata": {"platform_admin": True}}):
            self.refused(enc(h) + "." + enc(dict(p, **change)) + "." + s,
                         "payload changed: %s" % list(change))

    def test_unknown_kid_and_damaged_signature(self):
        h, p, s = self.parts()
        self.refused(enc(dict(h, kid="not-a-key")) + "." + enc(p) + "." + s, "unknown kid")
        head = self.token.rsplit(".", 1)[0]
        self.refused(head + "." + s[:-4], "truncated signature")
        sig = bytearray(unb64(s))
        sig[0] ^= 1
        self.refused(head + "." + b64(bytes(sig)), "flipped signature bit")

    def test_garbage(self):
        for tok in ("garbage", "a.b.c", "..", "x" * 4000, self.token + ".extra",
                    "eyJhbGciOiJFZERTQSJ9.%%%.%%%"):
            self.refused(tok, "garbage %r" % tok[:20])


class OtherIssuer(unittest.TestCase):
    def test_token_of_another_issuer_is_refused(self):
        # Same data folder, so the same signing key: only iss differs.
        data = new_data_dir("issuer")
        with Luxima(data=data, env={"LUXIMA_AUTH_ISSUER": "someone-else"}) as lx:
            lx.post("/auth/register", {"email": "iss@example.com", "password": PW})
            r = lx.post("/auth/login", {"email": "iss@example.com", "password": PW})
            self.assertEqual(r.status, 200, r.body)
            tok = r.json()["access_token"]
            self.assertEqual(json.loads(unb64(tok.split(".")[1]))["iss"], "someone-else")
            self.assertEqual(lx.get("/auth/verify", headers={"Authorization": "Bearer " + tok}).status, 200)
        with Luxima(data=data) as lx:
            r = lx.get("/auth/verify", headers={"Authorization": "Bearer " + tok})
            assert_problem(self, r, 401, "invalid_token")


if __name__ == "__main__":
    main()
