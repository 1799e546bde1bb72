#!/usr/bin/env python3
"""Graceful stop: on SIGTERM the server refuses new work, lets a request in
flight finish, stops the jobs, closes the database and exits 0.

The request in flight is a slow upload: the headers and half the body are
sent, then SIGTERM, then the rest; the answer must still arrive. It goes to
POST /_test/echo (LUXIMA_TEST_ROUTES=1), the only route that reads a body.
"""
import json
import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, main  # noqa: E402


def read_all(s):
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            return data
        data += c


class Shutdown(unittest.TestCase):
    def slow_upload(self, sig):
        lx = Luxima(env={"LUXIMA_TEST_ROUTES": "1"})
        try:
            body = json.dumps({"text": "z" * 20000}).encode()
            s = socket.create_connection(("127.0.0.1", lx.port), timeout=20)
            s.sendall(b"POST /_test/echo HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            half = len(body) // 2
            s.sendall(body[:half])
            time.sleep(0.3)  # the server is now reading the body
            lx.proc.send_signal(sig)
            time.sleep(0.5)
            self.assertIsNone(lx.proc.poll(), "exited with a request in flight")
            s.sendall(body[half:])
            data = read_all(s)
            s.close()
            head, _, rest = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), data[:300])
            self.assertIn(b"Connection: close", head)  # no more requests
            self.assertEqual(json.loads(rest), {"text": "z" * 20000})
            lx.proc.wait(20)
            self.assertEqual(lx.proc.returncode, 0, lx.output())
            out = lx.output()
            self.assertIn('"msg":"stopped"', out)
        finally:
            lx.stop()

    def test_sigterm_finishes_in_flight_upload(self):
        self.slow_upload(signal.SIGTERM)

    def test_sigint_finishes_in_flight_upload(self):
        self.slow_upload(signal.SIGINT)

    def test_stops_promptly_under_load(self):
        import threading
        lx = Luxima()
        stop = threading.Event()
        statuses = []

        def hammer():
            while not stop.is_set():
                try:
                    c = lx.connection(timeout=5)
                    for _ in range(50):
                        c.request("GET", "/healthz")
                        r = c.getresponse()
                        r.read()
                        statuses.append(r.status)
                        if r.getheader("connection") == "close":
                            break
                    c.close()
                except OSError:
                    if stop.is_set():
                        return
                    time.sleep(0.01)
                except Exception:
                    time.sleep(0.01)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.time()
        try:
            self.assertEqual(lx.stop(), 0, lx.output())
            self.assertLess(time.time() - t0, 5)  # new work does not hold the stop up
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertIn(200, statuses)
        self.assertTrue(set(statuses) <= {200, 503}, set(statuses))

    def test_idle_server_stops_quickly(self):
        lx = Luxima()
        # An idle keep-alive connection does not hold the stop up.
        c = lx.connection()
        c.request("GET", "/healthz")
        c.getresponse().read()
        t0 = time.time()
        self.assertEqual(lx.stop(), 0, lx.output())
        self.assertLess(time.time() - t0, 5)
        c.close()
        # The database was closed cleanly: the next start finds it intact.
        with Luxima(data=lx.data) as again:
            self.assertEqual(again.get("/readyz").status, 200)


if __name__ == "__main__":
    main()
