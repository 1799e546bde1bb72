#!/usr/bin/env python3
"""The auth module against the real binary: the multi-step flows the JSON
suite cannot express. Refresh-token reuse revoking the family, throttling
per account and per address, revocation taking effect at once and
surviving a restart, the Argon2id upgrade at login, uniform and similarly
timed login failures, email confirmation and existing-email settings, the
token refusals over HTTP (expired, oversize header), and the admin and keys
commands.
"""
import base64
import json
import os
import statistics
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Luxima, assert_problem, base_env, main, new_data_dir, run_cli  # noqa: E402

SQLTOOL = os.path.join(os.path.dirname(os.path.abspath(BIN)), "tests", "unit",
                       "storage", "storage_sqltool")
PW = "a long enough passphrase"


def sql(data, query):
    r = subprocess.run([SQLTOOL, data, query], env=base_env(), capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("sqltool failed: " + r.stderr)
    return r.stdout.strip()


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def claims(tok):
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def header(tok):
    part = tok.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def register(lx, email, pw=PW, **kw):
    r = lx.post("/auth/register", {"email": email, "password": pw}, **kw)
    assert r.status == 201, r.body
    return r.json()["user"]


def login(lx, email, pw=PW, **kw):
    return lx.post("/auth/login", {"email": email, "password": pw}, **kw)


class AuthFlows(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima()

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    def test_refresh_reuse_revokes_family(self):
        lx = self.lx
        register(lx, "reuse@example.com")
        first = login(lx, "reuse@example.com").json()
        r = lx.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
        self.assertEqual(r.status, 200, r.body)
        second = r.json()
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertEqual(claims(second["access_token"])["sid"], claims(first["access_token"])["sid"])
        r = lx.post("/auth/refresh", {"refresh_token": second["refresh_token"]})
        self.assertEqual(r.status, 200, r.body)
        third = r.json()
        self.assertEqual(lx.get("/auth/verify", headers=bearer(third["access_token"])).status, 200)
        # The first token again: reuse. The family and the session die.
        assert_problem(self, lx.post("/auth/refresh", {"refresh_token": first["refresh_token"]}),
                       401, "refresh_token_reused")
        assert_problem(self, lx.post("/auth/refresh", {"refresh_token": third["refresh_token"]}),
                       401, "invalid_refresh_token")
        for tok in (first["access_token"], third["access_token"]):
            assert_problem(self, lx.get("/auth/verify", headers=bearer(tok)), 401, "invalid_token")
            assert_problem(self, lx.post("/auth/verify", {"token": tok}), 401, "invalid_token")
        self.assertIn("auth.refresh.reuse", sql(lx.data, "SELECT action FROM audit_logs"))

    def test_sessions_revoke_at_once(self):
        lx = self.lx
        register(lx, "sessions@example.com")
        a = login(lx, "sessions@example.com", headers={"User-Agent": "device-a"}).json()
        b = login(lx, "sessions@example.com", headers={"User-Agent": "device-b"}).json()
        c = login(lx, "sessions@example.com", headers={"User-Agent": "device-c"}).json()
        r = lx.get("/auth/sessions", headers=bearer(a["access_token"]))
        sessions = r.json()["sessions"]
        self.assertEqual(len(sessions), 3)
        self.assertEqual([s["user_agent"] for s in sessions if s["current"]], ["device-a"])
        sid_b = claims(b["access_token"])["sid"]
        # Another user cannot see or delete these: 404, not 403.
        register(lx, "intruder@example.com")
        other = login(lx, "intruder@example.com").json()
        assert_problem(self, lx.request("DELETE", "/auth/sessions/" + sid_b,
                                        headers=bearer(other["access_token"])), 404, "not_found")
        self.assertEqual(lx.get("/auth/me", headers=bearer(b["access_token"])).status, 200)
        # The owner deletes b: b's token fails at once, a's still works.
        r = lx.request("DELETE", "/auth/sessions/" + sid_b, headers=bearer(a["access_token"]))
        self.assertEqual(r.status, 204, r.body)
        assert_problem(self, lx.get("/auth/me", headers=bearer(b["access_token"])), 401, "invalid_token")
        self.assertEqual(lx.get("/auth/me", headers=bearer(a["access_token"])).status, 200)
        assert_problem(self, lx.post("/auth/refresh", {"refresh_token": b["refresh_token"]}),
                       401, "invalid_refresh_token")
        # Logout everywhere.
        r = lx.post("/auth/logout?scope=all", headers=bearer(a["access_token"]))
        self.assertEqual(r.status, 204, r.body)
        for t in (a, c):
            assert_problem(self, lx.get("/auth/me", headers=bearer(t["access_token"])), 401, "invalid_token")
        self.assertEqual(lx.get("/auth/me", headers=bearer(other["access_token"])).status, 200)

    def test_password_change_revokes_others(self):
        lx = self.lx
        register(lx, "changer@example.com")
        a = login(lx, "changer@example.com").json()
        b = login(lx, "changer@example.com").json()
        r = lx.post("/auth/password", {"current_password": PW, "new_password": "another fine passphrase"},
                    headers=bearer(a["access_token"]))
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(lx.get("/auth/me", headers=bearer(a["access_token"])).status, 200)
        assert_problem(self, lx.get("/auth/me", headers=bearer(b["access_token"])), 401, "invalid_token")
        assert_problem(self, login(lx, "changer@example.com"), 401, "invalid_credentials")
        self.assertEqual(login(lx, "changer@example.com", "another fine passphrase").status, 200)
        self.assertIn("auth.password.change", sql(lx.data, "SELECT action FROM audit_logs"))

    def test_duplicate_registration_is_indistinguishable(self):
        lx = self.lx
        u1 = register(lx, "dup@example.com")
        before = sql(lx.data, "SELECT count(*) FROM users")
        r = lx.post("/auth/register", {"email": "DUP@example.com ", "password": "some other passphrase"})
        self.assertEqual(r.status, 201)
        u2 = r.json()["user"]
        self.assertEqual(sorted(u1), sorted(u2))
        self.assertNotEqual(u1["id"], u2["id"])
        self.assertEqual(sql(lx.data, "SELECT count(*) FROM users"), before)
        self.assertIn("auth.register.duplicate", sql(lx.data, "SELECT action FROM audit_logs"))
        # The original password still works; the second does not.
        self.assertEqual(login(lx, "dup@example.com").status, 200)
        assert_problem(self, login(lx, "dup@example.com", "some other passphrase"), 401,
                       "invalid_credentials")

    def test_uniform_and_similarly_timed_failures(self):
        lx = self.lx
        register(lx, "timing@example.com")
        wrong_pw, no_user = [], []
        for i in range(4):
            t = time.monotonic()
            r1 = login(lx, "timing@example.com", "wrong passphrase %d" % i)
            wrong_pw.append(time.monotonic() - t)
            t = time.monotonic()
            r2 = login(lx, "ghost%d@example.com" % i, "wrong passphrase %d" % i)
            no_user.append(time.monotonic() - t)
            p1, p2 = assert_problem(self, r1, 401), assert_problem(self, r2, 401)
            for k in ("type", "title", "status", "detail", "code"):
                self.assertEqual(p1[k], p2[k])
        a, b = statistics.median(wrong_pw), statistics.median(no_user)
        self.assertLess(max(a, b) / min(a, b), 3.0, (wrong_pw, no_user))
        # Both run an Argon2id check, not a quick lookup.
        self.assertGreater(min(a, b), 0.005)
        login(lx, "timing@example.com")  # reset the account's count

    def test_oversize_authorization_header(self):
        lx = self.lx
        t = time.monotonic()
        r = lx.get("/auth/me", headers={"Authorization": "Bearer " + "a" * (100 * 1024)})
        assert_problem(self, r, 401, "invalid_token")
        self.assertLess(time.monotonic() - t, 2.0)
        self.assertIn("invalid_token", r.header("WWW-Authenticate"))
        # Larger than the server reads at all: refused, never a 5xx.
        try:
            r = lx.get("/healthz", headers={"X-Big": "b" * (200 * 1024)})
            self.assertTrue(400 <= r.status < 500, r.status)
        except OSError:
            pass  # the server may close while we still send
        self.assertEqual(lx.get("/healthz").status, 200)

    def test_jwks_verifies_tokens(self):
        lx = self.lx
        register(lx, "jwks@example.com")
        tok = login(lx, "jwks@example.com").json()["access_token"]
        h = header(tok)
        self.assertEqual(h["alg"], "EdDSA")
        self.assertEqual(h["typ"], "JWT")
        keys = lx.get("/.well-known/jwks.json").json()["keys"]
        self.assertIn(h["kid"], [k["kid"] for k in keys])
        c = claims(tok)
        self.assertEqual(c["aud"], "authenticated")
        self.assertEqual(c["sid"], c["session_id"])
        self.assertEqual(c["exp"] - c["iat"], 900)
        self.assertEqual(c["amr"][0]["method"], "password")
        self.assertIs(c["is_anonymous"], False)
        self.assertNotIn("platform_admin", c["app_metadata"])


class AuthSettings(unittest.TestCase):
    def test_throttling(self):
        env = {"LUXIMA_AUTH_THROTTLE_ACCOUNT_MAX": "3", "LUXIMA_AUTH_THROTTLE_ADDRESS_MAX": "8",
               "LUXIMA_AUTH_THROTTLE_WINDOW_S": "600"}
        with Luxima(env=env) as lx:
            register(lx, "victim@example.com")
            register(lx, "reset@example.com")
            # A success clears the account's count.
            for _ in range(2):
                assert_problem(self, login(lx, "reset@example.com", "bad passphrase!"), 401)
            self.assertEqual(login(lx, "reset@example.com").status, 200)
            for _ in range(2):
                assert_problem(self, login(lx, "reset@example.com", "bad passphrase!"), 401)
            self.assertEqual(login(lx, "reset@example.com").status, 200)
            # Three failures, then 429, even with the right password.
            for _ in range(3):
                assert_problem(self, login(lx, "victim@example.com", "bad passphrase!"), 401)
            r = login(lx, "victim@example.com")
            assert_problem(self, r, 429, "too_many_attempts")
            retry = int(r.header("Retry-After"))
            self.assertTrue(0 < retry <= 600, retry)
            # Per address: 4 more failures on other accounts reach 8.
            for i in range(1):
                assert_problem(self, login(lx, "other%d@example.com" % i, "bad passphrase!"), 401)
            # 3 (victim) + 4 (reset) + 1 = 8 failures from this address.
            assert_problem(self, login(lx, "reset@example.com"), 429, "too_many_attempts")
            actions = sql(lx.data, "SELECT action FROM audit_logs WHERE action LIKE 'auth.login%'")
            self.assertIn("auth.login.failure", actions)

    def test_rehash_on_login(self):
        data = new_data_dir("rehash")
        with Luxima(data=data) as lx:
            register(lx, "old@example.com")
        before = sql(data, "SELECT hash FROM credentials")
        self.assertIn("m=19456,t=2", before)
        env = {"LUXIMA_AUTH_ARGON2_MEMLIMIT_KIB": "24576", "LUXIMA_AUTH_ARGON2_OPSLIMIT": "3"}
        with Luxima(data=data, env=env) as lx:
            self.assertEqual(login(lx, "old@example.com").status, 200)
            after = sql(data, "SELECT hash, memlimit_kib, opslimit FROM credentials")
            self.assertNotEqual(after, before)
            self.assertIn("m=24576,t=3", after)
            self.assertTrue(after.endswith("|24576|3"), after)
            self.assertEqual(login(lx, "old@example.com").status, 200)
        # Below OWASP's floor is refused at start.
        r = run_cli(["serve", "--listen", "127.0.0.1:1"], data=data,
                    env={"LUXIMA_AUTH_ARGON2_MEMLIMIT_KIB": "1024"}, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("auth.argon2_memlimit_kib", r.stderr)

    def test_email_confirmation_and_reveal(self):
        data = new_data_dir("confirm")
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, "luxima.conf"), "w") as f:
            f.write("auth.reveal_existing_email = on\n")
        env = {"LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION": "1"}
        with Luxima(data=data, env=env) as lx:
            u = register(lx, "unconfirmed@example.com")
            self.assertFalse(u["email_verified"])
            assert_problem(self, login(lx, "unconfirmed@example.com"), 403, "email_not_confirmed")
            # A wrong password is still the uniform 401.
            assert_problem(self, login(lx, "unconfirmed@example.com", "wrong passphrase"), 401,
                           "invalid_credentials")
            r = lx.post("/auth/register", {"email": "unconfirmed@example.com", "password": PW})
            assert_problem(self, r, 409, "email_taken")
        # The settings table works too (lowest precedence).
        sql(data, "INSERT INTO settings (key, value) VALUES ('auth.require_email_confirmation', 'off')")
        with Luxima(data=data) as lx:
            self.assertEqual(login(lx, "unconfirmed@example.com").status, 200)

    def test_expiry_and_restart(self):
        data = new_data_dir("expiry")
        with Luxima(data=data, env={"LUXIMA_AUTH_ACCESS_TOKEN_TTL_S": "5"}) as lx:
            register(lx, "short@example.com")
            t = login(lx, "short@example.com").json()
            self.assertEqual(t["expires_in"], 5)
            self.assertEqual(lx.get("/auth/verify", headers=bearer(t["access_token"])).status, 200)
            time.sleep(6)
            p = assert_problem(self, lx.get("/auth/verify", headers=bearer(t["access_token"])),
                               401, "invalid_token")
            self.assertIn("expired", p["detail"])
        # Revoked before a restart stays revoked after it; others survive.
        with Luxima(data=data) as lx:
            keep = login(lx, "short@example.com").json()
            gone = login(lx, "short@example.com").json()
            self.assertEqual(lx.post("/auth/logout", headers=bearer(gone["access_token"])).status, 204)
        with Luxima(data=data) as lx:
            self.assertEqual(lx.get("/auth/me", headers=bearer(keep["access_token"])).status, 200)
            assert_problem(self, lx.get("/auth/me", headers=bearer(gone["access_token"])), 401,
                           "invalid_token")
            self.assertEqual(run_cli(["audit", "verify"], data=data).returncode, 0)


class AuthCommands(unittest.TestCase):
    def test_admin_create_and_keys_rotate(self):
        data = new_data_dir("cli")
        r = run_cli(["admin", "create", "--email", "Root@Example.com", "--name", "Root"], data=data,
                    input="an admin passphrase\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("root@example.com", r.stdout)
        self.assertNotIn("an admin passphrase", r.stdout + r.stderr)
        r = run_cli(["admin", "create", "--email", "root@example.com"], data=data, input="x" * 20 + "\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("exists", r.stderr)
        r = run_cli(["admin", "create", "--email", "weak@example.com"], data=data, input="password\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("too_common", r.stderr)
        r = run_cli(["keys", "list"], data=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("active"), 1)
        with Luxima(data=data) as lx:
            t = login(lx, "root@example.com", "an admin passphrase").json()
            c = claims(t["access_token"])
            self.assertIs(c["app_metadata"]["platform_admin"], True)
            self.assertIs(lx.get("/auth/me", headers=bearer(t["access_token"])).json()["user"]["platform_admin"], True)
            old_kid = header(t["access_token"])["kid"]
        r = run_cli(["keys", "rotate"], data=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["keys", "list"], data=data)
        self.assertEqual(r.stdout.count("active"), 1, r.stdout)
        self.assertEqual(r.stdout.count("retiring"), 1, r.stdout)
        with Luxima(data=data) as lx:
            # The old key still verifies its tokens; new tokens use the new key.
            self.assertEqual(lx.get("/auth/verify", headers=bearer(t["access_token"])).status, 200)
            t2 = login(lx, "root@example.com", "an admin passphrase").json()
            new_kid = header(t2["access_token"])["kid"]
            self.assertNotEqual(new_kid, old_kid)
            kids = [k["kid"] for k in lx.get("/.well-known/jwks.json").json()["keys"]]
            self.assertEqual(sorted(kids), sorted([old_kid, new_kid]))
        # Past its retirement the old key is gone.
        sql(data, "UPDATE signing_keys SET retire_at = 1 WHERE state = 'retiring'")
        with Luxima(data=data) as lx:
            assert_problem(self, lx.get("/auth/verify", headers=bearer(t["access_token"])), 401,
                           "invalid_token")
            self.assertEqual(lx.get("/auth/verify", headers=bearer(t2["access_token"])).status, 200)
            kids = [k["kid"] for k in lx.get("/.well-known/jwks.json").json()["keys"]]
            self.assertEqual(kids, [new_kid])
        self.assertIn("retired", run_cli(["keys", "list"], data=data).stdout)
        actions = sql(data, "SELECT action FROM audit_logs")
        for a in ("admin.create", "auth.keys.generate", "auth.keys.rotate", "auth.login"):
            self.assertIn(a, actions)
        self.assertEqual(run_cli(["audit", "verify"], data=data).returncode, 0)


if __name__ == "__main__":
    main()
