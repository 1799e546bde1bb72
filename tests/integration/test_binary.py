#!/usr/bin/env python3
"""The binary itself: one file with every third-party library linked in
(ldd shows only the C library's own objects), a documented command line,
and build information naming the linked libraries."""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, main, run_cli  # noqa: E402

# What glibc itself is made of; anything else would be a dynamic
# third-party dependency.
LIBC_OBJECTS = re.compile(
    r"^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|ld-linux[-\w.]*\.so\.\d+|"
    r"lib(c|m|pthread|dl|rt|resolv|util)\.so\.\d+)$")
SANITIZED = os.environ.get("LUXIMA_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE", "YES")
COMMANDS = ["serve", "migrate", "seed", "jobs", "audit", "openapi", "version", "mail", "admin", "keys",
            "billing", "plugin", "fn"]


class Binary(unittest.TestCase):
    @unittest.skipIf(SANITIZED, "sanitizer builds link the sanitizer runtimes dynamically")
    def test_only_libc_is_dynamic(self):
        out = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
        libs = [line.split()[0] for line in out.splitlines() if line.strip()]
        self.assertTrue(libs, out)
        foreign = [lib for lib in libs if not LIBC_OBJECTS.match(lib)]
        self.assertEqual(foreign, [], "dynamic dependencies beyond the C library:\n" + out)
        # And nothing third-party is hiding in it as a shared object.
        for name in ("sqlite", "sqlcipher", "civetweb", "sodium", "mbed", "lua", "cjson", "crypto", "ssl"):
            self.assertNotIn(name, out)

    def test_help_lists_every_command(self):
        r = run_cli(["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for c in COMMANDS:
            self.assertRegex(r.stdout, r"(?m)^\s+%s\s" % c)
        for var in ("LUXIMA_DATA", "LUXIMA_DB_KEY_FILE", "CREDENTIALS_DIRECTORY", "LUXIMA_DB_KEY"):
            self.assertIn(var, r.stdout)

    def test_every_command_documents_its_flags(self):
        for c in COMMANDS:
            r = run_cli([c, "--help"])
            self.assertEqual(r.returncode, 0, "%s --help: %s" % (c, r.stderr))
            self.assertIn("usage: luxima " + c, r.stdout)
            if c != "plugin":  # bundles and keys are files, not the data folder
                self.assertIn("--data", r.stdout)

    def test_serve_help_names_flags_and_variables(self):
        r = run_cli(["serve", "--help"])
        for flag, env in (("--listen", "LUXIMA_LISTEN"), ("--tls-cert", "LUXIMA_TLS_CERT"),
                          ("--tls-key", "LUXIMA_TLS_KEY"), ("--threads", None),
                          ("--max-body", None), ("--cors-origins", "LUXIMA_CORS_ORIGINS")):
            self.assertIn(flag, r.stdout)
            if env:
                self.assertIn(env, r.stdout)

    def test_unknown_command_and_flag_are_refused(self):
        r = run_cli(["frobnicate"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)
        r = run_cli(["version", "--no-such-flag"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown flag", r.stderr)

    def test_no_key_on_the_command_line(self):
        r = run_cli(["serve", "--key", "secret"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown flag", r.stderr)

    def test_version_names_linked_libraries(self):
        r = run_cli(["version", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["name"], "luxima")
        for lib in ("sqlite", "sqlcipher", "civetweb", "libsodium", "mbedtls", "lua", "cjson"):
            self.assertRegex(info["libraries"][lib], r"^\d+\.\d+", lib)
        self.assertTrue(info["libraries"]["sqlcipher"].startswith("4."))
        r = run_cli(["version"])
        self.assertRegex(r.stdout, r"^luxima \d+\.\d+\.\d+")


if __name__ == "__main__":
    main()
