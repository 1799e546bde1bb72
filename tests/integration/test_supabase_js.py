#!/usr/bin/env python3
"""The real @supabase/supabase-js, unmodified, against the GoTrue-compatible
/auth/v1 routes (issue #3): signUp, signInWithPassword (and a wrong
password), getSession, getUser, getClaims through the JWKS, updateUser,
refreshSession, signOut and a refresh after it (tests/compat/supabase/run.mjs),
twice: against a default (EdDSA) server, where supabase-js cannot verify
the token itself and the script checks it through the JWKS, and against a
server started with LUXIMA_AUTH_SIGNING_ALG=ES256, where getClaims()
verifies it with WebCrypto and refuses a tampered one.

The client comes from npm at the exact versions pinned in
tests/compat/supabase/package.json and its package-lock.json, installed once into a cache inside the
build folder (<build>/compat/supabase, or LUXIMA_COMPAT_CACHE) and reused
while package.json is unchanged. Needs node and npm (scripts/deps.sh --test
installs Debian's when node is missing); without them, or without network
access for the first install, the test is skipped and says why.
"""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, SOURCE, Luxima, main  # noqa: E402

COMPAT = os.path.join(SOURCE, "tests", "compat", "supabase")
CACHE = os.environ.get("LUXIMA_COMPAT_CACHE") or os.path.join(
    os.path.dirname(os.path.abspath(BIN)), "compat", "supabase")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def prepare():
    """Installs the pinned client into CACHE if needed; returns a reason to
    skip, or None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return tool + " is not installed (scripts/deps.sh --test installs it)"
    files = ("package.json", "package-lock.json")
    pinned = b"".join(read(os.path.join(COMPAT, n)) or b"" for n in files)
    stamp = os.path.join(CACHE, ".installed")
    os.makedirs(CACHE, exist_ok=True)
    if read(stamp) != pinned or not os.path.isdir(os.path.join(CACHE, "node_modules")):
        for n in files:
            shutil.copyfile(os.path.join(COMPAT, n), os.path.join(CACHE, n))
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=CACHE, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            return "npm install failed (offline?):\n" + r.stderr[-2000:]
        with open(stamp, "wb") as f:
            f.write(pinned)
    # An ES module resolves packages from its own folder: run it there.
    shutil.copyfile(os.path.join(COMPAT, "run.mjs"), os.path.join(CACHE, "run.mjs"))
    return None


class SupabaseJs(unittest.TestCase):
    def test_client_flows(self):
        self.run_flows("EdDSA")

    def test_client_flows_es256(self):
        self.run_flows("ES256")

    def run_flows(self, alg):
        reason = prepare()
        if reason is not None:
            self.skipTest(reason)
        with Luxima(env={"LUXIMA_AUTH_SIGNING_ALG": alg}) as lx:
            r = subprocess.run(["node", os.path.join(CACHE, "run.mjs"), lx.url, alg],
                               cwd=CACHE, capture_output=True, text=True, timeout=120)
            sys.stdout.write(r.stdout)
            self.assertEqual(r.returncode, 0, "run.mjs failed:\n%s\n%s\nserver log:\n%s"
                             % (r.stdout, r.stderr, lx.output()[-4000:]))
            for step in ("signUp", "signInWithPassword wrong password", "getSession",
                         "getUser", "getClaims", "updateUser password", "refreshSession",
                         "signOut", "refresh after signOut"):
                self.assertIn("ok " + step, r.stdout)
            if alg == "ES256":
                self.assertIn("ok getClaims (ES256: verified by supabase-js)", r.stdout)


if __name__ == "__main__":
    main()
