#!/usr/bin/env python3
"""The TOTP second factor against the real binary, with codes computed here
from the shared secret (RFC 6238 with Python's hmac/hashlib): enrolment,
confirmation and its recovery codes, a login that requires the second step,
replayed codes refused, a recovery code that works once, wrong codes
counting toward login throttling, and removal by code or password.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main  # noqa: E402

PW = "a long enough passphrase"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def claims(tok):
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def totp(secret_b32, offset=0, t=None):
    """The 6-digit code for the step offset steps from now."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int(t if t is not None else time.time()) // 30 + offset
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def wrong(code):
    return code[:-1] + str((int(code[-1]) + 1) % 10)


class Mfa(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env={"LUXIMA_AUTH_THROTTLE_ACCOUNT_MAX": "4",
                             "LUXIMA_AUTH_THROTTLE_ADDRESS_MAX": "1000"})

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def user(self, email):
        lx = self.lx
        self.assertEqual(lx.post("/auth/register", {"email": email, "password": PW}).status, 201)
        r = lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        return r.json()["access_token"]

    def enrol(self, tok, email):
        lx = self.lx
        r = lx.post("/auth/mfa/totp/enroll", headers=bearer(tok))
        self.assertEqual(r.status, 201, r.body)
        e = r.json()
        self.assertRegex(e["secret"], r"^[A-Z2-7]{32}$")
        u = urllib.parse.urlparse(e["uri"])
        self.assertEqual((u.scheme, u.netloc), ("otpauth", "totp"))
        self.assertEqual(urllib.parse.unquote(u.path), "/Luxima:" + email)
        q = dict(urllib.parse.parse_qsl(u.query))
        self.assertEqual(q, {"secret": e["secret"], "issuer": "Luxima", "algorithm": "SHA1",
                             "digits": "6", "period": "30"})
        return e

    def confirm(self, tok, e, code):
        r = self.lx.post("/auth/mfa/totp/confirm", {"factor_id": e["factor_id"], "code": code},
                         headers=bearer(tok))
        self.assertEqual(r.status, 200, r.body)
        return r.json()["recovery_codes"]

    def challenge(self, email, pw=PW):
        r = self.lx.post("/auth/login", {"email": email, "password": pw})
        self.assertEqual(r.status, 200, r.body)
        c = r.json()
        self.assertIs(c["mfa_required"], True, c)
        self.assertNotIn("access_token", c)
        self.assertNotIn("refresh_token", c)
        return c

    def test_enrol_login_replay_recovery_disable(self):
        lx = self.lx
        email = "mfa@example.com"
        tok = self.user(email)
        e = self.enrol(tok, email)
        # Before confirmation the password alone still signs in.
        r = lx.post("/auth/login", {"email": email, "password": PW})
        self.assertIn("access_token", r.json())
        p = assert_problem(self, lx.post("/auth/mfa/totp/confirm",
                                         {"factor_id": e["factor_id"], "code": wrong(totp(e["secret"]))},
                                         headers=bearer(tok)), 400, "invalid_mfa_code")
        self.assertEqual(p["field"], "code")
        now = totp(e["secret"])
        codes = self.confirm(tok, e, now)
        self.assertEqual(len(codes), 10)
        self.assertEqual(len(set(codes)), 10)
        for c in codes:
            self.assertRegex(c, r"^[a-z2-7]{5}-[a-z2-7]{5}$")
        assert_problem(self, lx.post("/auth/mfa/totp/confirm",
                                     {"factor_id": e["factor_id"], "code": now},
                                     headers=bearer(tok)), 409, "mfa_already_verified")
        assert_problem(self, lx.post("/auth/mfa/totp/enroll", headers=bearer(tok)),
                       409, "mfa_already_enrolled")

        # The login needs the second step.
        c = self.challenge(email)
        self.assertEqual(c["factors"], [{"id": e["factor_id"], "type": "totp"}])
        # No other password login opens a session either (auth_login).
        r = lx.post("/auth/v1/token?grant_type=password", {"email": email, "password": PW})
        self.assertNotEqual(r.status, 200, r.body)
        self.assertNotIn("access_token", r.body)
        self.assertGreater(c["expires_in"], 0)
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"],
                                                         "code": wrong(totp(e["secret"], 1))}),
                       401, "invalid_mfa_code")
        # The code used at confirmation is spent: a replay.
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": now}),
                       401, "invalid_mfa_code")
        nxt = totp(e["secret"], 1)
        r = lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": nxt})
        self.assertEqual(r.status, 200, r.body)
        t = r.json()
        cl = claims(t["access_token"])
        self.assertEqual(cl["aal"], "aal2")
        self.assertEqual([m["method"] for m in cl["amr"]], ["totp"])
        self.assertEqual(lx.get("/auth/me", headers=bearer(t["access_token"])).status, 200)
        sessions = lx.get("/auth/sessions", headers=bearer(t["access_token"])).json()["sessions"]
        self.assertEqual([s["aal"] for s in sessions if s["current"]], ["aal2"])
        # The challenge is spent.
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": nxt}),
                       401, "invalid_mfa_token")
        # A new challenge: the same code again is a replay; a recovery
        # code works, once.
        c = self.challenge(email)
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": nxt}),
                       401, "invalid_mfa_code")
        r = lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": codes[3].upper()})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([m["method"] for m in claims(r.json()["access_token"])["amr"]], ["recovery"])
        c = self.challenge(email)
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": codes[3]}),
                       401, "invalid_mfa_code")
        r = lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": codes[4].replace("-", "")})
        self.assertEqual(r.status, 200, r.body)
        tok = r.json()["access_token"]

        # Disable: a wrong password is refused, the right one removes it.
        path = "/auth/mfa/totp/" + e["factor_id"]
        assert_problem(self, lx.request("DELETE", path, body={"password": "not the password"},
                                        headers=bearer(tok)), 403, "invalid_credentials")
        assert_problem(self, lx.request("DELETE", path, body={}, headers=bearer(tok)),
                       422, "missing_field")
        assert_problem(self, lx.request("DELETE", path, body={"password": PW, "code": "123456"},
                                        headers=bearer(tok)), 422, "missing_field")
        assert_problem(self, lx.request("DELETE", path, headers=bearer(tok)), 415)
        assert_problem(self, lx.request("DELETE", "/auth/mfa/totp/nope", body={"password": PW},
                                        headers=bearer(tok)), 404, "not_found")
        r = lx.request("DELETE", path, body={"password": PW}, headers=bearer(tok))
        self.assertEqual(r.status, 204, r.body)
        r = lx.post("/auth/login", {"email": email, "password": PW})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(claims(r.json()["access_token"])["aal"], "aal1")
        self.assertNotIn(e["secret"], lx.output())
        self.assertNotIn(codes[0], lx.output())
        # Another user cannot touch the factor of someone else.
        other = self.user("other-mfa@example.com")
        e2 = self.enrol(other, "other-mfa@example.com")
        assert_problem(self, lx.request("DELETE", "/auth/mfa/totp/" + e2["factor_id"],
                                        body={"password": PW}, headers=bearer(tok)), 404, "not_found")

    def test_disable_by_code(self):
        lx = self.lx
        email = "bycode@example.com"
        tok = self.user(email)
        e = self.enrol(tok, email)
        self.confirm(tok, e, totp(e["secret"]))
        path = "/auth/mfa/totp/" + e["factor_id"]
        # The confirmation's code is spent; the next step's works.
        assert_problem(self, lx.request("DELETE", path, body={"code": totp(e["secret"])},
                                        headers=bearer(tok)), 403, "invalid_credentials")
        r = lx.request("DELETE", path, body={"code": totp(e["secret"], 1)}, headers=bearer(tok))
        self.assertEqual(r.status, 204, r.body)
        self.assertIn("access_token", lx.post("/auth/login", {"email": email, "password": PW}).json())

    def test_wrong_codes_throttle(self):
        lx = self.lx
        email = "throttled-mfa@example.com"
        tok = self.user(email)
        e = self.enrol(tok, email)
        self.confirm(tok, e, totp(e["secret"]))
        c = self.challenge(email)
        bad = wrong(totp(e["secret"], 1))
        for _ in range(4):
            assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": bad}),
                           401, "invalid_mfa_code")
        r = lx.post("/auth/login/mfa", {"mfa_token": c["mfa_token"], "code": totp(e["secret"], 1)})
        assert_problem(self, r, 429, "too_many_attempts")
        self.assertIsNotNone(r.header("Retry-After"))
        # The password step is throttled too.
        assert_problem(self, lx.post("/auth/login", {"email": email, "password": PW}),
                       429, "too_many_attempts")

    def test_bad_inputs(self):
        lx = self.lx
        tok = self.user("inputs-mfa@example.com")
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": "x" * 43, "code": "123456"}),
                       401, "invalid_mfa_token")
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": "x", "code": 123456}),
                       422, "wrong_type")
        assert_problem(self, lx.post("/auth/login/mfa", {"mfa_token": "x", "code": "1", "x": 1}),
                       422, "unknown_field")
        assert_problem(self, lx.post("/auth/mfa/totp/enroll"), 401)
        assert_problem(self, lx.post("/auth/mfa/totp/confirm", {"factor_id": "nope", "code": "123456"},
                                     headers=bearer(tok)), 404, "not_found")
        assert_problem(self, lx.post("/auth/mfa/totp/enroll", body={"a": 1}, headers=bearer(tok)),
                       400, "unexpected_body")


if __name__ == "__main__":
    main()
