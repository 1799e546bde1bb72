#!/usr/bin/env python3
"""The SMTP client through `luxima mail test`, against a real SMTP server on
loopback (smtp_sink.py): STARTTLS and implicit TLS with the server's
certificate verified, AUTH PLAIN only inside TLS, clear one-line errors for
an untrusted certificate, a refused login, a relay without STARTTLS and a
relay that never answers."""
import os
import sys
import time
import unittest
from email.header import decode_header, make_header

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import main, make_cert, new_data_dir, run_cli  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

PASSWORD = "relay-secret-Pa55"


class Mail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = new_data_dir("mail")
        cls.cert = make_cert(cls.dir, "smtp", cn="localhost", san="DNS:localhost")
        cls.other = make_cert(cls.dir, "other", cn="localhost", san="DNS:localhost")

    def send(self, sink, tls="starttls", ca=None, user="mailer", password=PASSWORD,
             extra=None, to="someone@example.com"):
        env = {"LUXIMA_SMTP_HOST": "localhost", "LUXIMA_SMTP_PORT": str(sink.port),
               "LUXIMA_SMTP_TLS": tls, "LUXIMA_SMTP_FROM": "noreply@luxima.test",
               "LUXIMA_SMTP_CA_FILE": ca or self.cert[0], "LUXIMA_SMTP_TIMEOUT_MS": "1500"}
        if user:
            env["LUXIMA_SMTP_USER"] = user
            env["LUXIMA_SMTP_PASSWORD"] = password
        env.update(extra or {})
        return run_cli(["mail", "test", "--to", to, "--subject", "Grüße aus Luxima"],
                       data=self.dir, env=env)

    def check_message(self, sink, tls):
        m = sink.wait_message()
        self.assertEqual(m["mail_from"], "noreply@luxima.test")
        self.assertEqual(m["rcpt"], ["someone@example.com"])
        self.assertEqual(m["tls"], tls)
        msg = SmtpSink.parse(m)
        self.assertEqual(msg["To"], "<someone@example.com>")
        self.assertRegex(msg["Message-ID"], r"^<[0-9a-f]{24}@luxima\.test>$")
        self.assertEqual(str(make_header(decode_header(msg["Subject"]))), "Grüße aus Luxima")
        body = msg.get_payload(decode=True).decode()
        self.assertIn("SMTP relay settings work", body)

    def test_starttls_with_auth(self):
        with SmtpSink(cert=self.cert, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.check_message(sink, tls=True)
            self.assertEqual(sink.auth_attempts, [("mailer", PASSWORD, True, True)])
            self.assertNotIn(PASSWORD, r.stdout + r.stderr)

    def test_implicit_tls(self):
        with SmtpSink(cert=self.cert, implicit=True, starttls=False,
                      users={"mailer": PASSWORD}) as sink:
            r = self.send(sink, tls="tls")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.check_message(sink, tls=True)

    def test_untrusted_certificate_is_refused(self):
        with SmtpSink(cert=self.cert, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink, ca=self.other[0])
            self.assertEqual(r.returncode, 1)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("not trusted", r.stderr)
            self.assertEqual(sink.auth_attempts, [], "credentials sent to an untrusted server")
            self.assertEqual(sink.messages, [])

    def test_wrong_host_name_is_refused(self):
        with SmtpSink(cert=self.cert, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink, extra={"LUXIMA_SMTP_HOST": "127.0.0.1"})
            self.assertEqual(r.returncode, 1)
            self.assertIn("not trusted", r.stderr)
            self.assertEqual(sink.auth_attempts, [])

    def test_no_credentials_over_plain_text(self):
        with SmtpSink(cert=None, starttls=False, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink, tls="none")
            self.assertEqual(r.returncode, 1)
            self.assertIn("without TLS", r.stderr)
            self.assertEqual(sink.auth_attempts, [])

    def test_plain_relay_without_auth(self):
        with SmtpSink(cert=None, starttls=False) as sink:
            r = self.send(sink, tls="none", user=None)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.check_message(sink, tls=False)

    def test_missing_starttls_is_an_error(self):
        with SmtpSink(cert=None, starttls=False, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink)
            self.assertEqual(r.returncode, 1)
            self.assertIn("does not offer STARTTLS", r.stderr)
            self.assertEqual(sink.auth_attempts, [])

    def test_refused_login(self):
        with SmtpSink(cert=self.cert, users={"mailer": "another"}) as sink:
            r = self.send(sink)
            self.assertEqual(r.returncode, 1)
            self.assertIn("refused authentication", r.stderr)
            self.assertIn("535", r.stderr)
            self.assertNotIn(PASSWORD, r.stderr)
            self.assertEqual(sink.messages, [])

    def test_silent_relay_times_out(self):
        with SmtpSink(greet=False) as sink:
            t0 = time.time()
            r = self.send(sink)
            self.assertEqual(r.returncode, 1)
            self.assertIn("did not answer", r.stderr)
            self.assertLess(time.time() - t0, 10)

    def test_bad_recipient_and_config(self):
        with SmtpSink(cert=self.cert, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink, to="not an address")
            self.assertEqual(r.returncode, 1)
            self.assertIn("recipient", r.stderr)
            r = self.send(sink, extra={"LUXIMA_SMTP_TLS": "sometimes"})
            self.assertEqual(r.returncode, 1)
            self.assertIn("smtp_tls", r.stderr)
            r = self.send(sink, password="")
            self.assertEqual(r.returncode, 1)
            self.assertIn("no SMTP password", r.stderr)
            self.assertEqual(sink.messages, [])
        r = run_cli(["mail", "test", "--to", "a@b.example"], data=self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no SMTP relay is configured", r.stderr)

    def test_password_from_file(self):
        pw = os.path.join(self.dir, "smtp.pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        with SmtpSink(cert=self.cert, users={"mailer": PASSWORD}) as sink:
            r = self.send(sink, password="", extra={"LUXIMA_SMTP_PASSWORD_FILE": pw})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sink.auth_attempts[0][2], True)


if __name__ == "__main__":
    main()
