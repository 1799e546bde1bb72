#!/usr/bin/env python3
"""ES256 access tokens (auth.signing_alg = ES256): a server started with
LUXIMA_AUTH_SIGNING_ALG=ES256 signs with an ECDSA P-256 key, publishes it
in the JWKS as an EC key, and its tokens verify independently of Luxima
(the openssl CLI, with a PEM built from the JWK and the r||s signature
turned into DER here). Forgeries are refused: alg none, HS256 keyed with
the public key, an EdDSA header on the ES256 kid, the signature as DER, a
changed payload, a cut signature. Switching an existing data folder from
EdDSA to ES256 warns until `luxima keys rotate`, after which new tokens
are ES256 and the old EdDSA ones still verify."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"
ES256 = {"LUXIMA_AUTH_SIGNING_ALG": "ES256"}
# DER SubjectPublicKeyInfo of a P-256 key, up to the uncompressed point.
SPKI_P256 = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def enc(obj):
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def part(tok, i):
    return json.loads(unb64(tok.split(".")[i]))


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b


def raw_to_der(sig):
    """JWS r||s (64 bytes) to an ASN.1 DER ECDSA-Sig-Value."""
    assert len(sig) == 64
    body = der_int(sig[:32]) + der_int(sig[32:])
    return b"\x30" + bytes([len(body)]) + body


def openssl_verifies(jwk, tok):
    """Verifies tok with the openssl CLI and a PEM made from jwk."""
    point = b"\x04" + unb64(jwk["x"]) + unb64(jwk["y"])
    pem = "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % \
        base64.b64encode(SPKI_P256 + point).decode()
    head, sig = tok.rsplit(".", 1)
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("pub.pem", "sig.der", "msg")}
        with open(paths["pub.pem"], "w") as f:
            f.write(pem)
        with open(paths["sig.der"], "wb") as f:
            f.write(raw_to_der(unb64(sig)))
        with open(paths["msg"], "wb") as f:
            f.write(head.encode())
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", paths["pub.pem"],
                            "-signature", paths["sig.der"], paths["msg"]],
                           capture_output=True, text=True)
        return r.returncode == 0 and "Verified OK" in r.stdout


def login(lx, email):
    lx.post("/auth/register", {"email": email, "password": PW})
    r = lx.post("/auth/login", {"email": email, "password": PW})
    assert r.status == 200, r.body
    return r.json()["access_token"]


def verify(lx, tok):
    return lx.get("/auth/verify", headers={"Authorization": "Bearer " + tok})


class Es256Tokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env=ES256)
        cls.token = login(cls.lx, "es@example.com")
        cls.jwks = cls.lx.get("/.well-known/jwks.json").json()

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def refused(self, tok, what):
        for path in ("/auth/verify", "/auth/me"):
            r = self.lx.get(path, headers={"Authorization": "Bearer " + tok})
            with self.subTest(what=what, path=path):
                assert_problem(self, r, 401, "invalid_token")

    def test_header_and_jwks(self):
        h = part(self.token, 0)
        self.assertEqual(h["alg"], "ES256")
        self.assertEqual(h["typ"], "JWT")
        keys = {k["kid"]: k for k in self.jwks["keys"]}
        self.assertIn(h["kid"], keys)
        k = keys[h["kid"]]
        self.assertEqual({n: k[n] for n in ("kty", "crv", "alg", "use")},
                         {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"})
        self.assertEqual(sorted(k), ["alg", "crv", "kid", "kty", "use", "x", "y"])
        self.assertEqual(len(unb64(k["x"])), 32)
        self.assertEqual(len(unb64(k["y"])), 32)
        self.assertEqual(len(unb64(self.token.split(".")[2])), 64)
        # The GoTrue surface publishes the same document.
        self.assertEqual(self.lx.get("/auth/v1/.well-known/jwks.json").json(), self.jwks)

    def test_openssl_verifies_the_token(self):
        k = next(k for k in self.jwks["keys"] if k["kid"] == part(self.token, 0)["kid"])
        self.assertTrue(openssl_verifies(k, self.token))
        h, p, s = self.token.split(".")
        changed = enc(dict(part(self.token, 1), sub="someone-else"))
        self.assertFalse(openssl_verifies(k, h + "." + changed + "." + s))
        r = verify(self.lx, self.token)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["email"], "es@example.com")

    def test_forgeries(self):
        h, p, s = self.token.split(".")
        hd, pd = part(self.token, 0), part(self.token, 1)
        key = self.jwks["keys"][0]
        self.refused(enc(dict(hd, alg="none")) + "." + p + ".", "alg none")
        for secret in (unb64(key["x"]), key["x"].encode(), json.dumps(key).encode()):
            signing = enc(dict(hd, alg="HS256")) + "." + p
            mac = b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())
            self.refused(signing + "." + mac, "HS256 with the public key")
        self.refused(enc(dict(hd, alg="EdDSA")) + "." + p + "." + s, "EdDSA header, ES256 kid")
        self.refused(enc(dict(hd, alg="ES384")) + "." + p + "." + s, "ES384 header")
        self.refused(h + "." + p + "." + b64(raw_to_der(unb64(s))), "DER signature")
        self.refused(h + "." + enc(dict(pd, exp=pd["exp"] + 86400)) + "." + s, "changed payload")
        self.refused(h + "." + p + "." + b64(unb64(s)[:63]), "63-byte signature")
        self.refused(h + "." + p + "." + b64(unb64(s) + b"\0"), "65-byte signature")
        self.refused(h + "." + p + "." + b64(b"\0" * 64), "zero signature")


class SwitchAlg(unittest.TestCase):
    def test_switch_to_es256_and_rotate(self):
        data = new_data_dir("es256switch")
        with Luxima(data=data) as lx:
            old = login(lx, "switch@example.com")
        self.assertEqual(part(old, 0)["alg"], "EdDSA")
        # The setting alone does not rotate: a warning says what to do.
        with Luxima(data=data, env=ES256) as lx:
            still = lx.post("/auth/login", {"email": "switch@example.com", "password": PW})
            self.assertEqual(part(still.json()["access_token"], 0)["alg"], "EdDSA")
            log = lx.output()
        self.assertIn("luxima keys rotate", log)
        self.assertIn("auth.signing_alg is ES256", log)
        r = run_cli(["keys", "rotate"], data=data, env=ES256)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ES256", r.stdout)
        r = run_cli(["keys", "list"], data=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"ES256 +active")
        self.assertRegex(r.stdout, r"EdDSA +retiring")
        with Luxima(data=data, env=ES256) as lx:
            self.assertEqual(verify(lx, old).status, 200)
            new = lx.post("/auth/login", {"email": "switch@example.com", "password": PW})
            new = new.json()["access_token"]
            self.assertEqual(part(new, 0)["alg"], "ES256")
            self.assertNotEqual(part(new, 0)["kid"], part(old, 0)["kid"])
            self.assertEqual(verify(lx, new).status, 200)
            kinds = sorted((k["kty"], k["alg"]) for k in lx.get("/.well-known/jwks.json").json()["keys"])
            self.assertEqual(kinds, [("EC", "ES256"), ("OKP", "EdDSA")])
            # The old EdDSA kid cannot be used with an ES256 header.
            h, p, s = old.split(".")
            forged = enc(dict(part(old, 0), alg="ES256")) + "." + p + "." + s
            assert_problem(self, verify(lx, forged), 401, "invalid_token")
            self.assertNotIn("luxima keys rotate", lx.output()[len(log):])
        # Without the setting the server keeps signing with the ES256 key
        # (and warns), never silently rotating back.
        with Luxima(data=data) as lx:
            t = lx.post("/auth/login", {"email": "switch@example.com", "password": PW})
            self.assertEqual(part(t.json()["access_token"], 0)["alg"], "ES256")
            self.assertIn("auth.signing_alg is EdDSA", lx.output())

    def test_unknown_alg_is_refused(self):
        lx = Luxima(env={"LUXIMA_AUTH_SIGNING_ALG": "RS256"}, start=False)
        with self.assertRaises(RuntimeError) as cm:
            lx.start()
        self.assertIn("auth.signing_alg must be EdDSA or ES256", str(cm.exception))


if __name__ == "__main__":
    main()
