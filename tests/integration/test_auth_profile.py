#!/usr/bin/env python3
"""The deployment profile: the embedded default (development) and demos let
a new account log in at once; production requires a confirmed email unless
the setting says otherwise; an unknown profile stops start-up with one
clear line."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"


def register_and_login(lx, email):
    r = lx.post("/auth/register", {"email": email, "password": PW})
    assert r.status == 201, r.body
    return lx.post("/auth/login", {"email": email, "password": PW})


class Profiles(unittest.TestCase):
    def test_default_logs_in_at_once(self):
        with Luxima() as lx:
            self.assertEqual(register_and_login(lx, "dev@example.com").status, 200)
        with Luxima(env={"LUXIMA_PROFILE": "demo"}) as lx:
            self.assertEqual(register_and_login(lx, "demo@example.com").status, 200)

    def test_production_requires_confirmed_email(self):
        with Luxima(env={"LUXIMA_PROFILE": "production"}) as lx:
            r = register_and_login(lx, "prod@example.com")
            assert_problem(self, r, 403, "email_not_confirmed")

    def test_production_from_the_config_file(self):
        data = new_data_dir("profile")
        with open(os.path.join(data, "luxima.conf"), "w") as f:
            f.write("profile = production\n")
        with Luxima(data=data) as lx:
            assert_problem(self, register_and_login(lx, "conf@example.com"), 403,
                           "email_not_confirmed")

    def test_explicit_setting_wins_over_the_profile(self):
        with Luxima(env={"LUXIMA_PROFILE": "production",
                         "LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION": "false"}) as lx:
            self.assertEqual(register_and_login(lx, "explicit@example.com").status, 200)

    def test_unknown_profile_stops_start_up(self):
        r = run_cli(["serve", "--listen", "127.0.0.1:0"], data=new_data_dir("badprofile"),
                    env={"LUXIMA_PROFILE": "prod"}, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("profile must be development, demo or production", r.stderr)


if __name__ == "__main__":
    main()
