#!/usr/bin/env python3
"""Edge functions against the real binary (issue #6): deploy with a
compile check (a syntax error is a 400 with its line), versions, rollback,
delete, invocation at ANY /functions/v1/{name} with the caller's identity
and tenant, public functions invoked anonymously with ?tenant=<slug>, the
invocation log, secrets, the per-function document store, background jobs,
quotas from the plan, and the escape attempts of the issue, each ending
its call with a clear error while the server keeps serving and other
tenants see nothing."""
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"

ECHO = """
return function(req)
  return {status = 200, headers = {["X-Fn"] = "echo"}, json = {
    method = req.method, path = req.path, params = req.params,
    json = req.json, body = req.body, user = req.user and req.user.id,
    role = req.user and req.user.role, key = req.service_key,
    tenant = req.tenant.id, fn = req["function"].name,
    version = req["function"].version,
    has_auth = req.headers.authorization ~= nil,
    ua = req.headers["x-test"]}}
end
"""


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class Functions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lx = Luxima(env={"LUXIMA_FUNCTIONS_TIMEOUT_MS": "1500"})
        cls.n = 0
        email = "root@fn.example.com"
        r = run_cli(["admin", "create", "--email", email], data=cls.lx.data, input=PW + "\n")
        assert r.returncode == 0, r.stderr
        cls.admin = cls.login(email)
        r = cls.lx.post("/admin/plans", {
            "code": "fn-tiny", "name": "Tiny", "amount": 100, "currency": "USD",
            "interval": "month",
            "limits": {"functions": {"quota": 2}, "function_invocations": {"quota": 12}}},
            headers=cls.admin)
        assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        rc = cls.lx.stop()
        assert rc == 0, "luxima exited with %s:\n%s" % (rc, cls.lx.output()[-4000:])

    @classmethod
    def login(cls, email):
        r = cls.lx.post("/auth/login", {"email": email, "password": PW})
        assert r.status == 200, r.body
        return bearer(r.json()["access_token"])

    # --- helpers -----------------------------------------------------------

    def user(self):
        Functions.n += 1
        email = "fn%d@example.com" % Functions.n
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        return r.json()["user"]["id"], self.login(email)

    def tenant(self, name="Fn Co"):
        uid, h = self.user()
        Functions.n += 1
        slug = "fn-co-%d" % Functions.n
        r = self.lx.post("/tenants", {"name": name, "slug": slug}, headers=h)
        self.assertEqual(r.status, 201, r.body)
        tid = r.json()["id"]
        return {"id": tid, "slug": slug, "uid": uid, "h": dict(h, **{"X-Tenant-Id": tid})}

    def call(self, t, method, path, body=None, headers=None):
        h = dict(t["h"]) if t is not None else {}
        h.update(headers or {})
        return self.lx.request(method, path, body=body, headers=h)

    def deploy(self, t, name, source, version="1.0.0", public=None, status=None):
        body = {"name": name, "version": version, "source": source}
        if public is not None:
            body["public"] = public
        r = self.call(t, "POST", "/functions", body)
        if status is not None:
            self.assertEqual(r.status, status, r.body)
        else:
            self.assertIn(r.status, (200, 201), r.body)
        return r

    def invoke(self, t, name, method="GET", body=None, query="", headers=None):
        return self.call(t, method, "/functions/v1/%s%s" % (name, query), body, headers)

    def healthy(self):
        self.assertEqual(self.lx.get("/healthz").status, 200)

    # --- deploy, versions, rollback ---------------------------------------

    def test_deploy_and_invoke(self):
        t = self.tenant()
        r = self.deploy(t, "echo", ECHO, status=201)
        fn = r.json()["function"]
        self.assertEqual((fn["name"], fn["active_version"], fn["public"], fn["versions"]),
                         ("echo", "1.0.0", False, 1))
        self.assertEqual(len(r.json()["version"]["sha256"]), 64)
        r = self.invoke(t, "echo", "POST", {"a": [1, 2]}, "?x=1&y=two%20words",
                        {"X-Test": "yes"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.header("x-fn"), "echo")
        self.assertTrue(r.header("content-type").startswith("application/json"))
        d = r.json()
        self.assertEqual(d["method"], "POST")
        self.assertEqual(d["path"], "/functions/v1/echo")
        self.assertEqual(d["params"], {"x": "1", "y": "two words"})
        self.assertEqual(d["json"], {"a": [1, 2]})
        self.assertEqual(d["user"], t["uid"])
        self.assertEqual(d["role"], "owner")
        self.assertEqual(d["tenant"], t["id"])
        self.assertEqual((d["fn"], d["version"]), ("echo", "1.0.0"))
        self.assertFalse(d["has_auth"], "the script must not see the token")
        self.assertEqual(d["ua"], "yes")
        # Text bodies and any content type reach the script as they are.
        r = self.invoke(t, "echo", "PUT", "plain words", headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["body"], "plain words")
        self.assertNotIn("json", r.json())
        # GET, PUT, PATCH, DELETE reach it too.
        for m in ("GET", "PATCH", "DELETE"):
            self.assertEqual(self.invoke(t, "echo", m).json()["method"], m)
        r = self.call(t, "GET", "/functions")
        self.assertEqual([f["name"] for f in r.json()["functions"]], ["echo"])
        r = self.call(t, "GET", "/functions/echo")
        self.assertEqual(r.json()["source"], ECHO)

    def test_text_response_and_status(self):
        t = self.tenant()
        self.deploy(t, "teapot", 'return function(req) return {status = 418, '
                    'headers = {["Content-Type"] = "text/plain"}, body = "short and stout"} end')
        r = self.invoke(t, "teapot")
        self.assertEqual(r.status, 418)
        self.assertEqual(r.body, "short and stout")
        self.assertTrue(r.header("content-type").startswith("text/plain"))

    def test_deploy_refusals_write_nothing(self):
        t = self.tenant()
        r = self.deploy(t, "bad", "return function(req)\n  return {status = 200\nend\n", status=400)
        assert_problem(self, r, 400, "syntax_error")
        self.assertRegex(r.json()["detail"], r"line \d+")
        for body, code in (
                ({"name": "Bad Name", "version": "1.0.0", "source": "return 1"}, "invalid_name"),
                ({"name": "v1", "version": "1.0.0", "source": "return 1"}, "invalid_name"),
                ({"name": "ok", "version": "1.0", "source": "return 1"}, "invalid_version"),
                ({"name": "ok", "version": "01.0.0", "source": "return 1"}, "invalid_version"),
                ({"name": "ok", "version": "1.0.0", "source": "x", "extra": 1}, "unknown_field"),
                ({"name": "ok", "version": 1, "source": "x"}, "wrong_type"),
                ({"name": "ok", "version": "1.0.0"}, "missing_field")):
            r = self.call(t, "POST", "/functions", body)
            self.assertEqual(r.status, 422, (body, r.body))
            self.assertEqual(r.json()["code"], code, r.body)
        r = self.lx.request("POST", "/functions", body="{not json", headers=dict(
            t["h"], **{"Content-Type": "application/json"}))
        assert_problem(self, r, 400, "invalid_json")
        r = self.call(t, "POST", "/functions",
                      {"name": "big", "version": "1.0.0", "source": "x" * (256 * 1024 + 1)})
        self.assertEqual(r.status, 422, r.body)
        self.assertEqual(self.call(t, "GET", "/functions").json()["functions"], [])

    def test_versions_and_rollback(self):
        t = self.tenant()
        src = 'return function(req) return {json = {v = "%s"}} end'
        self.deploy(t, "ver", src % "one", "1.0.0", status=201)
        self.deploy(t, "ver", src % "two", "1.1.0", status=200)
        self.assertEqual(self.invoke(t, "ver").json(), {"v": "two"})
        r = self.deploy(t, "ver", src % "again", "1.1.0", status=409)
        self.assertEqual(r.json()["code"], "version_exists")
        r = self.deploy(t, "ver", src % "old", "1.0.5", status=409)
        self.assertEqual(r.json()["code"], "version_not_newer")
        self.deploy(t, "ver", src % "three", "2.0.0-rc.1", status=200)
        self.deploy(t, "ver", src % "four", "2.0.0", status=200)
        r = self.call(t, "GET", "/functions/ver/versions")
        self.assertEqual(r.status, 200, r.body)
        vs = r.json()["versions"]
        self.assertEqual([v["version"] for v in vs], ["2.0.0", "2.0.0-rc.1", "1.1.0", "1.0.0"])
        self.assertEqual([v["active"] for v in vs], [True, False, False, False])
        # Rollback without a version: the highest below the active one.
        r = self.call(t, "POST", "/functions/ver/rollback", {})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["active_version"], "2.0.0-rc.1")
        self.assertEqual(self.invoke(t, "ver").json(), {"v": "three"})
        r = self.call(t, "POST", "/functions/ver/rollback", {"version": "1.0.0"})
        self.assertEqual(r.json()["active_version"], "1.0.0")
        self.assertEqual(self.invoke(t, "ver").json(), {"v": "one"})
        r = self.call(t, "POST", "/functions/ver/rollback", {})
        self.assertEqual(r.status, 409, r.body)
        self.assertEqual(r.json()["code"], "no_earlier_version")
        r = self.call(t, "POST", "/functions/ver/rollback", {"version": "9.9.9"})
        self.assertEqual(r.status, 404, r.body)
        r = self.call(t, "POST", "/functions/ver/rollback", {"version": "1.0.0"})
        self.assertEqual(r.json()["code"], "version_active")
        # A deploy must be above every version, not only the active one.
        r = self.deploy(t, "ver", src % "x", "1.2.0", status=409)
        self.assertEqual(r.json()["code"], "version_not_newer")
        # Audit records for deploys and rollbacks.
        r = self.lx.get("/tenants/%s/audit-logs?action=function.*" % t["id"], headers=t["h"])
        actions = [a["action"] for a in r.json()["audit_logs"]]
        self.assertEqual(actions.count("function.deploy"), 4)
        self.assertEqual(actions.count("function.rollback"), 2)

    def test_delete(self):
        t = self.tenant()
        self.deploy(t, "gone", 'return function(req) docs.put("c", "k", {a = 1}) '
                    'return {json = {ok = true}} end')
        self.assertEqual(self.invoke(t, "gone").status, 200)
        r = self.call(t, "DELETE", "/functions/gone")
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(self.invoke(t, "gone").status, 404)
        self.assertEqual(self.call(t, "GET", "/functions/gone").status, 404)
        self.assertEqual(self.call(t, "DELETE", "/functions/gone").status, 404)
        # A new function of the same name starts with no documents.
        self.deploy(t, "gone", 'return function(req) return {json = '
                    '{doc = docs.get("c", "k") ~= nil}} end')
        self.assertEqual(self.invoke(t, "gone").json(), {"doc": False})

    # --- identity, tenants, public functions ------------------------------

    def test_public_and_anonymous(self):
        t = self.tenant()
        self.deploy(t, "pub", ECHO, public=True)
        self.deploy(t, "priv", ECHO)
        r = self.lx.get("/functions/v1/pub?tenant=%s&q=1" % t["slug"])
        self.assertEqual(r.status, 200, r.body)
        d = r.json()
        self.assertEqual(d["tenant"], t["id"])
        self.assertNotIn("user", d)
        self.assertEqual(d["params"], {"tenant": t["slug"], "q": "1"})
        for path in ("/functions/v1/priv?tenant=%s" % t["slug"],
                     "/functions/v1/nope?tenant=%s" % t["slug"],
                     "/functions/v1/pub"):
            assert_problem(self, self.lx.get(path), 401, "missing_token")
        assert_problem(self, self.lx.get("/functions/v1/pub?tenant=no-such-slug"), 404)
        # Turning public off takes effect at once.
        r = self.call(t, "PATCH", "/functions/pub", {"public": False})
        self.assertEqual(r.status, 200, r.body)
        self.assertFalse(r.json()["public"])
        assert_problem(self, self.lx.get("/functions/v1/pub?tenant=%s" % t["slug"]), 401)

    def test_members_keys_and_other_tenants(self):
        a, b = self.tenant("A"), self.tenant("B")
        self.deploy(a, "who", ECHO)
        # B's owner naming A's tenant, or calling A's function in B: 404.
        r = self.lx.get("/functions/v1/who", headers=dict(b["h"], **{"X-Tenant-Id": a["id"]}))
        self.assertEqual(r.status, 404, r.body)
        self.assertEqual(self.invoke(b, "who").status, 404)
        self.assertEqual(self.call(b, "GET", "/functions/who").status, 404)
        self.assertEqual(self.call(b, "GET", "/functions").json()["functions"], [])
        # A service key of A with functions.read invokes as the key.
        r = self.lx.post("/tenants/%s/api-keys" % a["id"],
                         {"name": "fn", "permissions": ["functions.read"]}, headers=a["h"])
        self.assertEqual(r.status, 201, r.body)
        key = r.json()
        r = self.lx.get("/functions/v1/who", headers=bearer(key["secret"]))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["key"], key["id"])
        self.assertEqual(r.json()["tenant"], a["id"])
        r = self.lx.post("/functions", {"name": "k", "version": "1.0.0", "source": "return 1"},
                         headers=bearer(key["secret"]))
        assert_problem(self, r, 403, "forbidden")

    # --- the invocation log ------------------------------------------------

    def test_invocation_log(self):
        t = self.tenant()
        self.deploy(t, "logs", """
return function(req)
  log.info("hello", 42)
  log.warn("careful")
  if req.params.fail then error("it broke") end
  return {json = {ok = true}}
end""")
        self.assertEqual(self.invoke(t, "logs").status, 200)
        r = self.invoke(t, "logs", query="?fail=1")
        assert_problem(self, r, 422, "function_error")
        self.assertIn("it broke", r.json()["detail"])
        self.healthy()
        r = self.call(t, "GET", "/functions/logs/invocations")
        self.assertEqual(r.status, 200, r.body)
        inv = r.json()["invocations"]
        self.assertEqual(len(inv), 2)
        bad, good = inv
        self.assertEqual(good["status"], 200)
        self.assertIsNone(good["error"])
        self.assertEqual(good["log"], [{"level": "info", "msg": "hello 42"},
                                       {"level": "warn", "msg": "careful"}])
        self.assertEqual(good["version"], "1.0.0")
        self.assertGreaterEqual(good["duration_us"], 0)
        self.assertEqual(good["actor"], t["uid"])
        self.assertEqual(bad["status"], 422)
        self.assertIn("function_error", bad["error"])
        # Pagination by cursor.
        r = self.call(t, "GET", "/functions/logs/invocations?limit=1")
        self.assertEqual(len(r.json()["invocations"]), 1)
        cur = r.json()["next_cursor"]
        r = self.call(t, "GET", "/functions/logs/invocations?limit=1&cursor=" + cur)
        self.assertEqual(r.json()["invocations"][0]["status"], 200)
        self.assertIsNone(r.json()["next_cursor"])
        for q in ("?limit=0", "?cursor=abc", "?other=1"):
            self.assertEqual(self.call(t, "GET", "/functions/logs/invocations" + q).status, 400)

    # --- secrets -----------------------------------------------------------

    def test_secrets(self):
        a, b = self.tenant("A"), self.tenant("B")
        r = self.call(a, "PUT", "/secrets/API_TOKEN", {"value": "s3cr3t-value"})
        self.assertEqual(r.status, 201, r.body)
        self.assertNotIn("s3cr3t", r.body)
        r = self.call(a, "PUT", "/secrets/API_TOKEN", {"value": "s3cr3t-value-2"})
        self.assertEqual(r.status, 200, r.body)
        r = self.call(a, "GET", "/secrets")
        self.assertEqual([s["name"] for s in r.json()["secrets"]], ["API_TOKEN"])
        self.assertNotIn("s3cr3t", r.body)
        self.assertEqual(len(r.json()["secrets"][0]["digest"]), 64)
        assert_problem(self, self.call(a, "PUT", "/secrets/bad-name", {"value": "x"}), 422)
        src = 'return function(req) return {json = {v = secrets.get("API_TOKEN")}} end'
        self.deploy(a, "sec", src)
        self.deploy(b, "sec", src)
        self.assertEqual(self.invoke(a, "sec").json(), {"v": "s3cr3t-value-2"})
        self.assertEqual(self.invoke(b, "sec").json(), {})  # B has no such secret
        self.assertEqual(self.call(b, "GET", "/secrets").json()["secrets"], [])
        self.assertEqual(self.call(b, "DELETE", "/secrets/API_TOKEN").status, 404)
        self.assertEqual(self.call(a, "DELETE", "/secrets/API_TOKEN").status, 204)
        self.assertEqual(self.invoke(a, "sec").json(), {})

    # --- documents ---------------------------------------------------------

    def test_documents_are_per_tenant_and_function(self):
        a, b = self.tenant("A"), self.tenant("B")
        store = """
return function(req)
  local p = req.params
  if p.op == "put" then docs.put("notes", p.key, {text = p.text}) end
  if p.op == "del" then return {json = {deleted = docs.delete("notes", p.key)}} end
  if p.op == "get" then return {json = {doc = docs.get("notes", p.key)}} end
  local rows = docs.query("notes", {prefix = p.prefix or "", limit = 10})
  local keys = {}
  for i, r in ipairs(rows) do keys[i] = r.key .. "=" .. r.value.text end
  return {json = {keys = keys, n = #rows}}
end"""
        self.deploy(a, "notes", store)
        self.deploy(a, "other", store)
        self.deploy(b, "notes", store)
        for k in ("a1", "a2", "b1"):
            self.assertEqual(self.invoke(a, "notes", query="?op=put&key=%s&text=A-%s" % (k, k)).status, 200)
        self.invoke(b, "notes", query="?op=put&key=a1&text=B")
        r = self.invoke(a, "notes", query="?op=list&prefix=a")
        self.assertEqual(r.json(), {"keys": ["a1=A-a1", "a2=A-a2"], "n": 2})
        self.assertEqual(self.invoke(b, "notes", query="?op=list").json(), {"keys": ["a1=B"], "n": 1})
        self.assertEqual(self.invoke(a, "other", query="?op=list").json(), {"keys": {}, "n": 0})
        self.assertEqual(self.invoke(a, "notes", query="?op=get&key=b1").json(),
                         {"doc": {"text": "A-b1"}})
        self.assertEqual(self.invoke(a, "notes", query="?op=del&key=b1").json(), {"deleted": True})
        self.assertEqual(self.invoke(a, "notes", query="?op=del&key=b1").json(), {"deleted": False})
        r = self.invoke(a, "notes", query="?op=get&key=" + "x" * 200)
        assert_problem(self, r, 422, "function_error")

    def test_background_job(self):
        t = self.tenant()
        self.deploy(t, "bg", """
return function(req)
  if req.job then
    docs.put("jobs", req.job.kind, {seen = req.job.payload.n})
    return {json = {}}
  end
  if req.params.enqueue then
    return {json = {id = jobs.enqueue("count", {n = 7})}}
  end
  return {json = {doc = docs.get("jobs", "count")}}
end""")
        r = self.invoke(t, "bg", query="?enqueue=1")
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["id"])
        import time
        deadline = time.time() + 15
        while time.time() < deadline:
            doc = self.invoke(t, "bg").json().get("doc")
            if doc:
                break
            time.sleep(0.1)
        self.assertEqual(doc, {"seen": 7})

    # --- escape attempts ---------------------------------------------------

    def test_escape_attempts(self):
        a, b = self.tenant("A"), self.tenant("B")
        # More functions than the free plan's five.
        self.assertEqual(self.call(a, "POST", "/subscriptions", {"plan": "business"}).status, 201)
        self.call(b, "PUT", "/secrets/B_ONLY", {"value": "b-secret"})
        self.deploy(b, "keep", 'return function(req) docs.put("c", "k", {x = 1}) return {json = {}} end')
        self.invoke(b, "keep")
        cases = {
            "os_execute": ('return function(req) os.execute("touch /tmp/pwned") return {} end',
                           "function_error", None),
            "io_open": ('return function(req) io.open("/etc/passwd") return {} end',
                        "function_error", None),
            "bytecode": ('return function(req) local f = load("\\27Lua\\84\\0") '
                         'return {json = {f = f == nil}} end', None, None),
            "rep_bomb": ('return function(req) local s = string.rep("x", 1 << 30) return {} end',
                         "function_limit_exceeded", "memory"),
            "loop": ("return function(req) while true do end end",
                     "function_limit_exceeded", None),
            "recursion": ("local function f(n) return f(n + 1) + 1 end "
                          "return function(req) return f(1) end",
                          "function_limit_exceeded", None),  # stack or memory
            "coroutines": ("return function(req) while true do "
                           "coroutine.wrap(function() end)() end end",
                           "function_limit_exceeded", None),
            "string_mt": ('return function(req) local mt = getmetatable("") '
                          'if mt then mt.__index = {} end return {json = {mt = mt}} end',
                          None, None),
            "other_secret": ('return function(req) return {json = {v = secrets.get("B_ONLY")}} end',
                             None, None),
            "other_docs": ('return function(req) return {json = {d = docs.get("c", "k")}} end',
                           None, None),
            "fetch": ('return function(req) return {json = http.fetch("http://127.0.0.1:1/")} end',
                      "host_not_allowed", None),
            "pattern": ('return function(req) return {json = {string.find(string.rep("a", 30000), '
                        'string.rep("a*", 30) .. "b")}} end',
                        "function_limit_exceeded", None),
        }
        for name, (src, code, limit) in cases.items():
            with self.subTest(name=name):
                fn = name.replace("_", "-")
                self.deploy(a, fn, src)
                r = self.invoke(a, fn)
                if code is None:
                    self.assertEqual(r.status, 200, r.body)
                else:
                    self.assertIn(r.status, (403, 422, 504), r.body)
                    self.assertIn(code, r.body)
                    if limit:
                        self.assertIn("limit " + limit, r.json()["detail"])
                self.healthy()
        self.assertEqual(self.invoke(a, "bytecode").json(), {"f": True})
        self.assertEqual(self.invoke(a, "string-mt").json(), {"mt": False})
        self.assertEqual(self.invoke(a, "other-secret").json(), {})
        self.assertEqual(self.invoke(a, "other-docs").json(), {})
        self.assertFalse(os.path.exists("/tmp/pwned"))
        # B's data is as it was.
        self.assertEqual(self.call(b, "GET", "/secrets").json()["secrets"][0]["name"], "B_ONLY")

    # --- the CLI -------------------------------------------------------------

    def test_cli(self):
        t = self.tenant()
        src = os.path.join(new_data_dir("fncli"), "hello.lua")
        with open(src, "w") as f:
            f.write('return function(req) log.info("cli", req.method) return {json = '
                    '{who = req.params.who, n = req.json and req.json.n}} end')
        d = self.lx.data
        r = run_cli(["fn", "deploy", "--tenant", t["slug"], "--name", "hello", "--version",
                     "1.0.0", "--public", src], data=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("created hello version 1.0.0", r.stdout)
        r = run_cli(["fn", "deploy", "--tenant", t["id"], "--name", "hello", "--version",
                     "1.0.0", src], data=d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("version_exists", r.stderr)
        r = run_cli(["fn", "invoke", "--tenant", t["slug"], "hello", "--method", "POST",
                     "--query", "who=cli", "--body", '{"n": 3}'], data=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("200\n"), r.stdout)
        self.assertEqual(json.loads(r.stdout.split("\n\n", 1)[1]), {"who": "cli", "n": 3})
        # The server serves what the CLI deployed, public as asked.
        r = self.lx.get("/functions/v1/hello?tenant=%s&who=web" % t["slug"])
        self.assertEqual(r.json(), {"who": "web"})
        r = run_cli(["fn", "logs", "--tenant", t["slug"], "hello"], data=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"msg":"cli POST"', r.stdout)
        r = run_cli(["fn", "list", "--tenant", t["slug"]], data=d)
        self.assertRegex(r.stdout, r"hello\s+1\.0\.0\s+yes")
        r = run_cli(["fn", "invoke", "--tenant", t["slug"], "nope"], data=d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not_found", r.stderr)
        r = run_cli(["fn", "list", "--tenant", "no-such-tenant"], data=d)
        self.assertEqual(r.returncode, 1)
        r = self.lx.get("/tenants/%s/audit-logs?action=function.deploy" % t["id"], headers=t["h"])
        self.assertEqual([a["actor"] for a in r.json()["audit_logs"]], ["cli"])

    # --- quotas --------------------------------------------------------------

    def test_quotas(self):
        t = self.tenant()
        r = self.call(t, "POST", "/subscriptions", {"plan": "fn-tiny"})
        self.assertEqual(r.status, 201, r.body)
        self.deploy(t, "one", 'return function(req) return {json = {}} end')
        self.deploy(t, "two", 'return function(req) return {json = {}} end')
        r = self.deploy(t, "three", 'return function(req) return {} end', status=403)
        self.assertEqual(r.json()["code"], "quota_exceeded")
        self.assertIn("functions", r.json()["detail"])
        # A new version of an existing function is not a new function.
        self.deploy(t, "two", 'return function(req) return {json = {v = 2}} end', "1.0.1")
        # 12 invocations in the period: exactly 12 pass, however they race.
        results = []

        def hit():
            results.append(self.invoke(t, "one").status)
        threads = [threading.Thread(target=hit) for _ in range(20)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(results.count(200), 12, results)
        self.assertEqual(results.count(403), 8, results)
        r = self.invoke(t, "two")
        assert_problem(self, r, 403, "quota_exceeded")
        r = self.lx.get("/tenants/%s/usage" % t["id"], headers=t["h"])
        u = r.json()["usage"]
        self.assertEqual(u["functions"]["used"], 2)
        self.assertEqual(u["function_invocations"]["used"], 12)
        self.assertEqual(u["function_invocations"]["quota"], 12)


if __name__ == "__main__":
    main()
