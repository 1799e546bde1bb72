"""A private PostgreSQL 15 for tests: a throwaway cluster in a temporary
folder under LUXIMA_TEST_TMP on a free loopback port, stopped and removed
when the `with` block ends, whatever happened (bench/auth.sh starts its
peer's database the same way).

    from pg import PostgreSQL
    with PostgreSQL() as pg:
        pg.psql("SELECT 1")                 # as the cluster's superuser
        pg.psql("SELECT 1", user="app")     # as another login role

initdb refuses to run as root; tests run as root, so the cluster then
belongs to the `postgres` system user (or `nobody`) and every server
command runs through `runuser -u <user> --`.
"""
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

from harness import TMP, free_port

PG_BIN = os.environ.get("LUXIMA_PG_BIN", "/usr/lib/postgresql/15/bin")
OWNER = "lxowner"  # the superuser initdb creates; owns what the test loads


class PostgreSQL:
    def __init__(self):
        self.dir = None
        self.port = None
        self.user = None  # system user the server runs as; None: ourselves
        self.started = False

    def _as_pg(self, args, **kw):
        if self.user is not None:
            args = ["runuser", "-u", self.user, "--"] + args
        return subprocess.run(args, cwd=self.dir, capture_output=True,
                              text=True, timeout=120, **kw)

    def __enter__(self):
        initdb = os.path.join(PG_BIN, "initdb")
        if not os.access(initdb, os.X_OK):
            raise RuntimeError(
                "PostgreSQL 15 is not installed (%s missing): install the "
                "Debian package postgresql (cmake/deps.lock)" % initdb)
        os.makedirs(TMP, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="pg.", dir=TMP)
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                self.user = "nobody"
            # The server user must reach its folder: TMP (made 0700 by
            # the C tests' harness) gets the search bit for others.
            mode = stat.S_IMODE(os.stat(TMP).st_mode)
            os.chmod(TMP, mode | stat.S_IXOTH)
            os.chmod(self.dir, 0o700)
            shutil.chown(self.dir, user=self.user)
        r = self._as_pg([os.path.join(PG_BIN, "initdb"), "-D", "data",
                         "-A", "trust", "-U", OWNER, "-E", "UTF8",
                         "--no-locale"])
        if r.returncode != 0:
            raise RuntimeError("initdb failed:\n" + r.stdout + r.stderr)
        self.port = free_port()
        r = self._as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", "data",
                         "-l", "server.log", "-w", "-t", "60", "-o",
                         "-c listen_addresses=127.0.0.1 -p %d -k %s "
                         "-c fsync=off" % (self.port, self.dir), "start"])
        if r.returncode != 0:
            log = ""
            try:
                with open(os.path.join(self.dir, "server.log")) as f:
                    log = f.read()
            except OSError:
                pass
            raise RuntimeError("pg_ctl start failed:\n" + r.stdout +
                               r.stderr + log)
        self.started = True

    def __exit__(self, *exc):
        if self.started:
            self._as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", "data",
                         "-m", "immediate", "-w", "stop"])
            self.started = False
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return False

    def psql(self, *sql, user=OWNER, input=None, check=True):
        """Runs each of sql as one -c in one session; returns the
        CompletedProcess (stdout: unaligned tuples only). With check, a
        failing statement raises."""
        args = [os.path.join(PG_BIN, "psql"), "-X", "-q", "-t", "-A",
                "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                str(self.port), "-U", user, "-d", "postgres"]
        for s in sql:
            args += ["-c", s]
        if input is not None:
            args += ["-f", "-"]
        r = subprocess.run(args, input=input, capture_output=True, text=True,
                           timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (sql or "(stdin)",
                                                       r.stderr))
        return r
