#!/usr/bin/env python3
"""Durability of the store through the real server: what the server
acknowledged survives kill -9 and a restart, and a clean stop leaves a
checkpointed database with nothing left in the WAL."""
import os
import signal
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, main, new_data_dir, run_cli  # noqa: E402


class Durability(unittest.TestCase):
    def test_acknowledged_writes_survive_kill_9(self):
        data = new_data_dir("durable")
        lx = Luxima(data=data)
        # Start-up applied migrations and seeded defaults (with an audit
        # record) before the server said it was serving: acknowledged.
        self.assertEqual(lx.get("/readyz").status, 200)
        # Kill it in the middle of traffic.
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    lx.get("/metrics")
                except OSError:
                    return

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        rc = lx.kill()
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(rc, -signal.SIGKILL)

        r = run_cli(["migrate", "status"], data=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("pending", r.stdout)
        self.assertNotIn("CHANGED", r.stdout)
        r = run_cli(["audit", "verify"], data=data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # The restarted server finds everything current, and the second
        # start adds no migration.
        with Luxima(data=data) as lx2:
            ready = lx2.get("/readyz")
            self.assertEqual(ready.status, 200, ready.body)

    def test_clean_stop_checkpoints_the_wal(self):
        data = new_data_dir("cleanstop")
        lx = Luxima(data=data)
        self.assertEqual(lx.get("/readyz").status, 200)
        self.assertEqual(lx.stop(), 0)
        wal = os.path.join(data, "luxima.db-wal")
        self.assertTrue(not os.path.exists(wal) or os.path.getsize(wal) == 0,
                        "WAL not checkpointed on a clean stop")
        r = run_cli(["audit", "verify"], data=data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    main()
