"""Integration tests for the encrypted store through the real binary:
encryption at rest, key sources, refusals (wrong or missing key, empty key
file, damaged file, read-only, full disk) that leave the file byte-for-byte
unchanged with one clear line, migrations, seeds, jobs and the audit chain.

storage_sqltool (tests/unit/storage/sqltool.c, built next to the binary)
is used to read or tamper with rows inside the encrypted file; tests that
need it are skipped when it is missing.
"""
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, base_env, new_data_dir, run_cli  # noqa: E402

SQLTOOL = os.path.join(os.path.dirname(os.path.abspath(BIN)), "tests", "unit",
                       "storage", "storage_sqltool")
HEX_A = "0123456789abcdef" * 4
HEX_B = "fedcba9876543210" * 4


def sha(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def sql(data, query, env=None):
    r = subprocess.run([SQLTOOL, data, query], env=base_env(env), capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("sqltool failed: " + r.stderr)
    return r.stdout


def need_sqltool(tc):
    if not os.access(SQLTOOL, os.X_OK):
        tc.skipTest("storage_sqltool not built at " + SQLTOOL)


class StorageTest(unittest.TestCase):
    def setUp(self):
        self.data = new_data_dir("storage")
        self.db = os.path.join(self.data, "luxima.db")

    def tearDown(self):
        subprocess.run(["chattr", "-i", self.db], capture_output=True)
        shutil.rmtree(self.data, ignore_errors=True)

    def ok(self, args, env=None, **kw):
        r = run_cli(args, data=self.data, env=env, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def refused(self, args, env=None, expect=None, **kw):
        """Runs args expecting failure with ONE stderr line and the database
        file byte-for-byte unchanged; returns that line."""
        before = sha(self.db)
        r = run_cli(args, data=self.data, env=env, **kw)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("luxima: "), lines[0])
        if expect:
            self.assertIn(expect, lines[0])
        self.assertEqual(sha(self.db), before, "database file changed")
        return lines[0]

    def test_encrypted_at_rest(self):
        self.ok(["seed", "demo"])
        key = os.path.join(self.data, "luxima.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.db).st_mode & 0o777, 0o600)
        with open(key) as f:
            self.assertRegex(f.read(), r"^[0-9a-f]{64}\n$")
        for path in (self.db, self.db + "-wal"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    blob = f.read()
                self.assertFalse(blob.startswith(b"SQLite format 3"), path)
                for plain in (b"Luxima Demo Instance", b"seed.run", b"instance.name"):
                    self.assertNotIn(plain, blob, path)
        with open(self.db, "rb") as f:
            self.assertNotEqual(f.read(16), b"SQLite format 3\0")

    def test_key_generation_warns_and_never_from_argv(self):
        r = self.ok(["migrate", "up"])
        self.assertIn("key sits beside the data", r.stderr)
        r = run_cli(["migrate", "up", "--db-key", HEX_A], data=self.data)
        self.assertEqual(r.returncode, 2)

    def test_key_sources(self):
        # Raw hex key from the environment: no key file is written.
        self.ok(["migrate", "up"], env={"LUXIMA_DB_KEY": HEX_A})
        self.assertFalse(os.path.exists(os.path.join(self.data, "luxima.key")))
        # A key file (with a newline) holding the same key opens it.
        kf = os.path.join(self.data, "k")
        with open(kf, "w") as f:
            f.write(HEX_A + "\n")
        os.chmod(kf, 0o600)
        self.ok(["migrate", "status"], env={"LUXIMA_DB_KEY_FILE": kf})
        # systemd credentials win over the variable.
        creds = os.path.join(self.data, "creds")
        os.mkdir(creds)
        with open(os.path.join(creds, "db.key"), "w") as f:
            f.write(HEX_A)
        self.ok(["migrate", "status"],
                env={"CREDENTIALS_DIRECTORY": creds, "LUXIMA_DB_KEY": HEX_B})
        self.refused(["migrate", "status"], env={"LUXIMA_DB_KEY": HEX_B},
                     expect="wrong database key")

    def test_passphrase(self):
        env = {"LUXIMA_DB_KEY": "a long passphrase, not hex"}
        self.ok(["seed", "defaults"], env=env)
        self.ok(["audit", "verify"], env=env)
        self.refused(["audit", "verify"], env={"LUXIMA_DB_KEY": "another one"},
                     expect="wrong database key")

    def test_wrong_and_missing_key(self):
        self.ok(["seed", "defaults"])
        line = self.refused(["migrate", "up"], env={"LUXIMA_DB_KEY": HEX_B},
                            expect="wrong database key")
        self.assertIn(self.db, line)
        self.assertFalse(os.path.exists(self.db + "-wal"))
        self.assertFalse(os.path.exists(self.db + "-shm"))
        os.rename(os.path.join(self.data, "luxima.key"), os.path.join(self.data, "old.key"))
        self.refused(["seed", "demo"], expect="no database key")
        self.assertFalse(os.path.exists(os.path.join(self.data, "luxima.key")))
        empty = os.path.join(self.data, "empty.key")
        open(empty, "w").close()
        self.refused(["migrate", "up"], env={"LUXIMA_DB_KEY_FILE": empty}, expect="is empty")
        self.refused(["migrate", "up"], env={"LUXIMA_DB_KEY_FILE": empty + ".missing"},
                     expect="cannot read key file")
        self.ok(["audit", "verify"],
                env={"LUXIMA_DB_KEY_FILE": os.path.join(self.data, "old.key")})

    def test_damaged_file(self):
        self.ok(["seed", "defaults"])
        with open(self.db, "r+b") as f:
            f.seek(300)
            f.write(b"\xa5" * 200)
        self.refused(["seed", "demo"], expect="damaged")
        with open(self.db, "wb") as f:
            f.write(b"this is not a database at all" * 100)
        self.refused(["migrate", "status"], expect="not a Luxima database")

    def test_read_only(self):
        self.ok(["migrate", "up"], env={"LUXIMA_DB_KEY": HEX_A})
        if not shutil.which("setpriv"):
            self.skipTest("setpriv not available to drop privileges")
        os.chmod(self.data, 0o755)
        d = os.path.abspath(self.data)
        while d != "/":
            d = os.path.dirname(d)
            if os.stat(d).st_mode & 0o001 == 0:
                self.skipTest("%s is not traversable by nobody" % d)
        nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                  "--inh-caps=-all"]
        before = sha(self.db)
        r = subprocess.run(nobody + [BIN, "seed", "demo", "--data", self.data],
                           env=base_env({"LUXIMA_DB_KEY": HEX_A}), capture_output=True,
                           text=True, timeout=60)
        if "setpriv:" in r.stderr:
            self.skipTest("cannot drop privileges here: " + r.stderr.strip())
        self.assertNotEqual(r.returncode, 0)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("read-only", lines[0])
        self.assertEqual(sha(self.db), before)

    def test_full_disk(self):
        self.ok(["migrate", "up"])

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

        before = sha(self.db)
        r = subprocess.run([BIN, "seed", "demo", "--data", self.data], env=base_env(),
                           capture_output=True, text=True, timeout=60, preexec_fn=limit)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("disk full", lines[0])
        self.assertEqual(sha(self.db), before)
        # With room again, the same command succeeds.
        self.ok(["seed", "demo"])

    def test_migrate_status_up(self):
        r = run_cli(["migrate", "status"], data=self.data)
        self.assertNotEqual(r.returncode, 0)  # no database yet
        self.assertIn("no database", r.stderr)
        r = self.ok(["migrate", "up"])
        self.assertRegex(r.stdout, r"applied [1-9]\d* migrations?")
        r = self.ok(["migrate", "status"])
        self.assertRegex(r.stdout, r"001_init_core_schema\.sql\s+applied\s+20\d\d-")
        r = self.ok(["migrate", "up"])
        self.assertIn("applied 0 migrations", r.stdout)
        r = run_cli(["migrate", "sideways"], data=self.data)
        self.assertEqual(r.returncode, 2)

    def test_migration_changed(self):
        need_sqltool(self)
        self.ok(["migrate", "up"])
        sql(self.data, "UPDATE lx_migrations SET checksum = 'tampered' "
                       "WHERE name = '001_init_core_schema.sql'")
        r = run_cli(["migrate", "status"], data=self.data)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"001_init_core_schema\.sql\s+CHANGED")
        r = run_cli(["migrate", "up"], data=self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("001_init_core_schema.sql was changed", r.stderr)
        r = run_cli(["seed", "defaults"], data=self.data)
        self.assertEqual(r.returncode, 1)

    def test_seed_idempotent(self):
        need_sqltool(self)
        dump = "SELECT key, value FROM settings ORDER BY key"
        self.ok(["seed", "defaults"])
        one = sql(self.data, dump)
        self.assertIn("instance.name|Luxima\n", one)
        self.ok(["seed", "defaults"])
        self.assertEqual(sql(self.data, dump), one)
        self.ok(["seed", "demo"])
        two = sql(self.data, dump)
        self.assertIn("instance.name|Luxima Demo Instance\n", two)
        self.ok(["seed", "demo"])
        self.assertEqual(sql(self.data, dump), two)
        r = run_cli(["seed", "everything"], data=self.data)
        self.assertEqual(r.returncode, 2)

    def test_audit_verify_tampered(self):
        need_sqltool(self)
        self.ok(["seed", "defaults"])
        self.ok(["seed", "demo"])
        self.ok(["seed", "demo"])
        r = self.ok(["audit", "verify"])
        self.assertIn("intact: 3 records", r.stdout)
        with self.assertRaises(AssertionError):
            sql(self.data, "UPDATE audit_logs SET actor = 'mallory' WHERE id = 2")
        sql(self.data, "DROP TRIGGER audit_logs_no_update; "
                       "UPDATE audit_logs SET actor = 'mallory' WHERE id = 2")
        r = run_cli(["audit", "verify"], data=self.data)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("record 2", r.stdout)
        self.assertIn("first broken record 2", r.stderr)

    def test_jobs_list(self):
        need_sqltool(self)
        self.ok(["migrate", "up"])
        r = self.ok(["jobs", "list", "--json"])
        self.assertEqual(json.loads(r.stdout), [])
        sql(self.data, "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, "
                       "run_at, last_error, created_at, updated_at) VALUES "
                       "('webhook.deliver', '{\"url\":\"x\"}', 'dead', 8, 8, 0, "
                       "'HTTP 500', 1, 1), ('invoice.run', '{}', 'queued', 0, 8, 0, "
                       "NULL, 2, 2)")
        jobs = json.loads(self.ok(["jobs", "list", "--json"]).stdout)
        self.assertEqual([j["kind"] for j in jobs], ["invoice.run", "webhook.deliver"])
        dead = json.loads(self.ok(["jobs", "list", "--state", "dead", "--json"]).stdout)
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["last_error"], "HTTP 500")
        self.assertEqual(dead[0]["payload"], {"url": "x"})
        r = self.ok(["jobs", "list", "--state", "queued"])
        self.assertIn("invoice.run", r.stdout)
        self.assertNotIn("webhook.deliver", r.stdout)
        r = run_cli(["jobs", "list", "--state", "bogus"], data=self.data)
        self.assertEqual(r.returncode, 2)

    def test_help(self):
        for cmd in (["migrate"], ["seed"], ["jobs"], ["audit"]):
            r = run_cli(cmd + ["--help"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("usage: luxima " + cmd[0], r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
