#!/usr/bin/env python3
"""Runs every JSON API test suite in api/tests/*.test.json against a fresh
server. A suite is {"name", "cases": [...]}; a case is:

    {"name": "...",
     "request": {"method": "GET", "path": "/x", "headers": {...},
                 "json": {...} | "body": "raw text"},
     "expect": {"status": 200,
                "content_type": "application/json",      # prefix
                "headers": {"X-Request-Id": "^[a-f0-9]{32}$"},  # regex
                "headers_absent": ["Server"],
                "json": {...},            # subset: every key/value must match
                "json_keys": ["a", "b"],  # keys that must be present
                "problem": "code",        # problem+json with this code
                "body_contains": "text"},
     "save": {"var": "json.path.to.value"}}

A suite may list "platform_admins": [{"email", "password"}], created with
`luxima admin create` in the server's data folder before it starts.

`${var}` in a later request's path, headers or body, or in an expectation,
is replaced by a saved value. A list of objects in "json" matches a list of
the same length whose items each match as a subset; other lists must be
equal. Cases run in order on one server, so a suite can build up state.
"""
import glob
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE, Luxima, main, new_data_dir, run_cli  # noqa: E402

SUITES = sorted(glob.glob(os.path.join(SOURCE, "api", "tests", "*.test.json")))


def subst(value, env):
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: str(env[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: subst(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [subst(v, env) for v in value]
    return value


def dig(doc, path):
    for part in path.split(".")[1:] if path.startswith("json.") else path.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def subset(tc, want, got, where):
    if isinstance(want, dict):
        tc.assertIsInstance(got, dict, where)
        for k, v in want.items():
            tc.assertIn(k, got, "%s.%s missing" % (where, k))
            subset(tc, v, got[k], "%s.%s" % (where, k))
    elif isinstance(want, list) and want and all(isinstance(w, dict) for w in want):
        tc.assertIsInstance(got, list, where)
        tc.assertEqual(len(got), len(want), where)
        for i, (w, g) in enumerate(zip(want, got)):
            subset(tc, w, g, "%s[%d]" % (where, i))
    else:
        tc.assertEqual(got, want, where)


class ApiSuites(unittest.TestCase):
    def test_suites_exist(self):
        self.assertTrue(SUITES, "no api/tests/*.test.json suites found")

    def run_suite(self, path):
        with open(path) as f:
            suite = json.load(f)
        env = {}
        data = new_data_dir("suite")
        for a in suite.get("platform_admins", []):
            r = run_cli(["admin", "create", "--email", a["email"]], data=data,
                        input=a["password"] + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
        with Luxima(data=data) as lx:
            for case in suite["cases"]:
                with self.subTest(suite=os.path.basename(path), case=case["name"]):
                    self.run_case(lx, case, env)

    def run_case(self, lx, case, env):
        req = subst(case["request"], env)
        headers = dict(req.get("headers", {}))
        body = None
        if "json" in req:
            body = json.dumps(req["json"])
            headers.setdefault("Content-Type", "application/json")
        elif "body" in req:
            body = req["body"]
        r = lx.request(req["method"], req["path"], body=body, headers=headers)
        exp = subst(case.get("expect", {}), env)
        where = "%s %s" % (req["method"], req["path"])
        if "status" in exp:
            self.assertEqual(r.status, exp["status"], "%s: %s" % (where, r.body[:500]))
        ct = r.header("content-type") or ""
        if "content_type" in exp:
            self.assertTrue(ct.startswith(exp["content_type"]), "%s: content-type %s" % (where, ct))
        for name, pattern in exp.get("headers", {}).items():
            v = r.header(name)
            self.assertIsNotNone(v, "%s: header %s missing" % (where, name))
            self.assertRegex(v, pattern, "%s: header %s" % (where, name))
        for name in exp.get("headers_absent", []):
            self.assertIsNone(r.header(name), "%s: header %s present" % (where, name))
        if "problem" in exp:
            self.assertTrue(ct.startswith("application/problem+json"), "%s: %s" % (where, ct))
            p = r.json()
            for k in ("type", "title", "status", "detail", "code"):
                self.assertIn(k, p, where)
            self.assertEqual(p["status"], r.status, where)
            self.assertEqual(p["code"], exp["problem"], "%s: %s" % (where, p))
        if "json" in exp or "json_keys" in exp:
            doc = r.json()
            if "json" in exp:
                subset(self, exp["json"], doc, "body")
            for k in exp.get("json_keys", []):
                self.assertIn(k, doc, where)
        if "body_contains" in exp:
            self.assertIn(exp["body_contains"], r.body, where)
        for var, path in case.get("save", {}).items():
            env[var] = dig(r.json(), path)


for _path in SUITES:
    _name = "test_" + re.sub(r"\W", "_", os.path.basename(_path).replace(".test.json", ""))
    setattr(ApiSuites, _name, lambda self, p=_path: self.run_suite(p))

if __name__ == "__main__":
    main()
