"""A small SMTP server for tests: a real listener on loopback that speaks
enough of RFC 5321 (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET,
NOOP, QUIT) to receive what Luxima sends, and records every message and
every AUTH attempt.

    with SmtpSink(cert=(crt, key), starttls=True, users={"u": "p"}) as sink:
        ... luxima sends to 127.0.0.1:sink.port ...
        msg = sink.wait_message()

Modes: implicit=True (TLS from the first byte), starttls=False (not
offered), greet=False (accept and never answer: for timeouts).
"""
import base64
import email
import socket
import ssl
import threading
import time


class SmtpSink:
    def __init__(self, cert=None, implicit=False, starttls=True, users=None, greet=True):
        self.cert = cert
        self.implicit = implicit
        self.starttls = starttls and cert is not None
        self.users = users or {}
        self.greet = greet
        self.messages = []  # dicts: mail_from, rcpt, data (bytes), tls, user
        self.auth_attempts = []  # (user, password, accepted, tls)
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.held = []

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.sock.close()
        for c in self.held:
            try:
                c.close()
            except OSError:
                pass
        return False

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.cert)
        return ctx

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        conn.settimeout(20)
        if not self.greet:
            self.held.append(conn)
            return
        tls = False
        try:
            if self.implicit:
                conn = self.context().wrap_socket(conn, server_side=True)
                tls = True
            f = conn.makefile("rb")
            send = lambda line: conn.sendall(line.encode() + b"\r\n")  # noqa: E731
            send("220 sink.test ESMTP ready")
            mail_from, rcpt, user = None, [], None
            while True:
                raw = f.readline()
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    ext = ["250-sink.test"]
                    if self.starttls and not tls:
                        ext.append("250-STARTTLS")
                    ext.append("250-AUTH PLAIN")
                    ext.append("250 8BITMIME")
                    for e in ext:
                        send(e)
                elif verb == "STARTTLS" and self.starttls and not tls:
                    send("220 go ahead")
                    conn = self.context().wrap_socket(conn, server_side=True)
                    f = conn.makefile("rb")
                    send = lambda line, c=conn: c.sendall(line.encode() + b"\r\n")  # noqa: E731
                    tls = True
                elif verb == "AUTH":
                    parts = line.split(" ")
                    if len(parts) != 3 or parts[1].upper() != "PLAIN":
                        send("504 only AUTH PLAIN with an initial response")
                        continue
                    try:
                        _, u, p = base64.b64decode(parts[2]).decode().split("\0")
                    except ValueError:
                        send("501 malformed")
                        continue
                    ok = self.users.get(u) == p
                    with self.lock:
                        self.auth_attempts.append((u, p, ok, tls))
                    if ok:
                        user = u
                        send("235 authenticated")
                    else:
                        send("535 5.7.8 authentication failed")
                elif verb == "MAIL":
                    if self.users and user is None:
                        send("530 5.7.0 authentication required")
                        continue
                    mail_from = line[10:].strip("<>")
                    send("250 ok")
                elif verb == "RCPT":
                    rcpt.append(line[8:].strip("<>"))
                    send("250 ok")
                elif verb == "DATA":
                    send("354 end with .")
                    chunks = []
                    while True:
                        d = f.readline()
                        if d in (b".\r\n", b".\n", b""):
                            break
                        if d.startswith(b".."):
                            d = d[1:]
                        chunks.append(d)
                    with self.lock:
                        self.messages.append({"mail_from": mail_from, "rcpt": rcpt,
                                              "data": b"".join(chunks), "tls": tls,
                                              "user": user})
                    send("250 queued")
                    mail_from, rcpt = None, []
                elif verb == "RSET":
                    mail_from, rcpt = None, []
                    send("250 ok")
                elif verb == "NOOP":
                    send("250 ok")
                elif verb == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("502 command not implemented")
        except (OSError, ssl.SSLError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def wait_message(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if self.messages:
                    return self.messages[0]
            time.sleep(0.05)
        raise AssertionError("no message reached the SMTP sink")

    @staticmethod
    def parse(msg):
        """The received message as an email.message.Message."""
        return email.message_from_bytes(msg["data"])
