#!/usr/bin/env python3
"""The plugin registry against the real binary: publishers and their
signing keys, signed bundles made with `luxima plugin keygen|pack|sign`,
upload -> validation job -> publish -> install in a tenant (config
validated) -> the plugin's routes under /plugins/v1/{plugin}/..., disable
and enable, upgrade keeping the config, downgrade refused, uninstall; the
refusals (tampered bundle, unknown key, malformed manifest, another
publisher's name, an undeclared permission, the plan's plugins quota), each
with a clear error and nothing installed or published; an event hook
that runs when the billing API emits subscription.created; jobs a plugin
route enqueues (with the jobs.enqueue permission only) and the plugin
invocation log of routes, hooks and jobs, which another tenant does not
see.

The hook scripts plugins/validatePlugin, installPlugin and publishPlugin
(lua_scripts/README.md): their defaults with the built-ins (not run), with
the built-in files as overrides and with the hooks turned off; overrides
in <data>/lua_scripts/plugins/ refusing a plugin that asks for http.fetch
at validation, an install or upgrade, a publish; broken overrides failing
closed while the server keeps serving."""
import base64
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE, Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"

# A route that shows what it sees; docs.read lets it read its documents.
ROUTE_SHOW = """
return function(req)
  return {status = 200, json = {
    config = req.config, plugin = req.plugin.name, version = req.plugin.version,
    route = req.route, method = req.method, tenant = req.tenant.id,
    user = req.user and req.user.id, json = req.json,
    doc = docs.get("notes", "last")}}
end
"""
# Writes a document: needs docs.write.
ROUTE_WRITE = """
return function(req)
  docs.put("notes", "last", {by = "route"})
  return {status = 201, json = {written = true}}
end
"""
# The subscription.created hook: records the event in a document.
HOOK_SUB = """
return function(req)
  docs.put("notes", "last", {event = req.event.type, plan = req.event.data.plan,
                             greeting = req.config.greeting})
  return {}
end
"""
# Enqueues a job (logging it); the job, run from the same file, logs and
# writes a document. Needs jobs.enqueue and docs.write.
ROUTE_JOBS = """
return function(req)
  if req.job then
    log.info("job " .. req.job.kind .. " for " .. req.config.greeting)
    docs.put("notes", "job", {kind = req.job.kind, text = req.job.payload.text,
                              version = req.plugin.version})
    return {}
  end
  log.info("enqueueing")
  local id = jobs.enqueue("note", {text = "from the job"})
  return {status = 202, json = {job = id}}
end
"""
# Reads what the job wrote.
ROUTE_NOTE = """
return function(req)
  return {status = 200, json = {doc = docs.get("notes", "job")}}
end
"""
# A hook that only logs.
HOOK_LOG = """
return function(req)
  log.warn("hooked " .. req.event.type)
  return {}
end
"""
CONFIG = {
    "greeting": {"type": "string", "required": True, "max": 20},
    "times": {"type": "integer", "default": 1},
}
# The platform's validation checks, in report order.
BUILTIN_CHECKS = ["manifest", "signature", "permissions", "lua", "size", "min_luxima",
                  "routes", "hooks"]
FETCH = ("docs.read", "http.fetch")
HOOKS = ("plugins/validatePlugin", "plugins/installPlugin", "plugins/publishPlugin")


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def data_with(files):
    """A new data folder with lua_scripts/<hook>.lua files {hook: text}."""
    data = new_data_dir("plugins-data")
    for hook, text in files.items():
        path = os.path.join(data, "lua_scripts", hook + ".lua")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return data


class Base(unittest.TestCase):
    """A server (with the hook scripts of FILES in its data folder), its
    platform admin and the helpers the cases share."""
    FILES = {}
    n = 0

    @classmethod
    def setUpClass(cls):
        cls.dir = new_data_dir("plugins")
        cls.lx = Luxima(data=data_with(cls.FILES) if cls.FILES else None)
        email = "root@plugins.example.com"
        r = run_cli(["admin", "create", "--email", email], data=cls.lx.data, input=PW + "\n")
        assert r.returncode == 0, r.stderr
        cls.admin = cls.login(email)
        r = cls.lx.post("/admin/plans", {
            "code": "plug-one", "name": "One plugin", "amount": 100, "currency": "USD",
            "interval": "month", "limits": {"plugins": {"quota": 1}}}, headers=cls.admin)
        assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        rc = cls.lx.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, "luxima exited with %s:\n%s" % (rc, cls.lx.output()[-4000:])

    @classmethod
    def login(cls, email):
        r = cls.lx.post("/auth/login", {"email": email, "password": PW})
        assert r.status == 200, r.body
        return bearer(r.json()["access_token"])

    # --- helpers -----------------------------------------------------------

    def uniq(self, prefix):
        Base.n += 1
        return "%s-%d" % (prefix, Base.n)

    def user(self):
        email = self.uniq("plug") + "@example.com"
        r = self.lx.post("/auth/register", {"email": email, "password": PW})
        self.assertEqual(r.status, 201, r.body)
        return {"id": r.json()["user"]["id"], "email": email, "h": self.login(email)}

    def tenant(self, u=None):
        u = u or self.user()
        r = self.lx.post("/tenants", {"name": "Plug Co", "slug": self.uniq("plug-co")}, headers=u["h"])
        self.assertEqual(r.status, 201, r.body)
        tid = r.json()["id"]
        return {"id": tid, "u": u, "h": dict(u["h"], **{"X-Tenant-Id": tid})}

    def keygen(self):
        prefix = os.path.join(self.dir, self.uniq("key"))
        r = run_cli(["plugin", "keygen", "--out", prefix])
        self.assertEqual(r.returncode, 0, r.stderr)
        return prefix

    def publisher(self, u):
        """A publisher of u with one registered key: (name, key prefix)."""
        name = self.uniq("pub")
        r = self.lx.post("/publishers", {"name": name, "display_name": "Pub " + name}, headers=u["h"])
        self.assertEqual(r.status, 201, r.body)
        key = self.keygen()
        with open(key + ".pub") as f:
            r = self.lx.post("/publishers/%s/keys" % name, {"public_key": f.read()}, headers=u["h"])
        self.assertEqual(r.status, 201, r.body)
        return name, key

    def manifest(self, name, publisher, version="1.0.0", perms=("docs.read",), routes=None,
                 hooks=(), config=None):
        return {"name": name, "version": version, "description": "The %s plugin." % name,
                "publisher": publisher, "min_luxima": "0.1.0", "permissions": list(perms),
                "hooks": [{"event": e, "file": f} for e, f in hooks],
                "routes": routes if routes is not None else
                [{"method": "GET", "path": "/show", "file": "routes/show.lua"}],
                "config": CONFIG if config is None else config}

    def bundle(self, manifest, files=None, key=None):
        """The bundle text `luxima plugin pack` (and `sign` with key)
        makes of manifest and files {path: source}."""
        files = files if files is not None else {"routes/show.lua": ROUTE_SHOW}
        d = os.path.join(self.dir, self.uniq("src"))
        os.makedirs(d)
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        for path, src in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
            with open(os.path.join(d, path), "w") as f:
                f.write(src)
        out = d + ".lxp"
        r = run_cli(["plugin", "pack", d, "--out", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        if key is not None:
            r = run_cli(["plugin", "sign", out, "--key", key + ".key"])
            self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            return f.read()

    def upload(self, u, text, status=202):
        r = self.lx.request("POST", "/plugins", body=text,
                            headers=dict(u["h"], **{"Content-Type": "application/json"}))
        self.assertEqual(r.status, status, r.body)
        return r

    def validated(self, u, plugin, version):
        """The version once its validation job ran (GET ?wait=)."""
        deadline = time.time() + 20
        while time.time() < deadline:
            r = self.lx.get("/plugins/%s?wait=5" % plugin, headers=u["h"])
            self.assertEqual(r.status, 200, r.body)
            v = [x for x in r.json()["versions"] if x["version"] == version][0]
            if v["status"] != "validating":
                return v
        self.fail("version %s of %s is still validating" % (version, plugin))

    def release(self, u, manifest, files=None, key=None):
        """Uploads, waits for validation, publishes: the published version."""
        self.upload(u, self.bundle(manifest, files, key))
        v = self.validated(u, manifest["name"], manifest["version"])
        self.assertEqual(v["status"], "valid", v["report"])
        r = self.lx.post("/plugins/%s/publish" % manifest["name"], {"version": manifest["version"]},
                         headers=u["h"])
        self.assertEqual(r.status, 200, r.body)
        return r.json()["version"]

    def call(self, t, method, path, body=None):
        return self.lx.request(method, path, body=body, headers=t["h"])

    def installed(self, t):
        r = self.call(t, "GET", "/plugins/installed")
        self.assertEqual(r.status, 200, r.body)
        return r.json()["installations"]

    def check(self, report, name):
        return [c for c in report["checks"] if c["name"] == name][0]

    def invalid(self, dev, manifest, files=None, key=None, tamper=None):
        """Uploads a bundle that validates invalid; returns its report."""
        text = self.bundle(manifest, files, key)
        if tamper:
            doc = json.loads(text)
            tamper(doc)
            text = json.dumps(doc)
        self.upload(dev, text)
        v = self.validated(dev, manifest["name"], manifest["version"])
        self.assertEqual(v["status"], "invalid", v["report"])
        self.assertEqual(v["report"]["status"], "invalid")
        # Nothing can publish or install it.
        assert_problem(self, self.lx.post("/plugins/%s/publish" % manifest["name"],
                                          {"version": manifest["version"]}, headers=dev["h"]),
                       409, "invalid_version_state")
        t = self.tenant()
        assert_problem(self, self.call(t, "POST", "/plugins/%s/install" % manifest["name"],
                                       {"config": {"greeting": "hi"}}), 404)
        self.assertEqual(self.installed(t), [])
        self.assertIsNone(self.lx.get("/plugins/" + manifest["name"], headers=dev["h"])
                          .json()["latest_version"])
        return v["report"]

    def hook_log(self, hook, prefix):
        """What the script of hook logged, starting with prefix (without
        the prefix), oldest first."""
        tag, out = "hook %s: %s" % (hook, prefix), []
        for line in self.lx.output().splitlines():
            try:
                msg = json.loads(line).get("msg", "")
            except (ValueError, AttributeError):
                continue
            if msg.startswith(tag):
                out.append(msg[len(tag):])
        return out

    def usage(self, t):
        r = self.lx.get("/tenants/%s/usage" % t["id"], headers=t["h"])
        self.assertEqual(r.status, 200, r.body)
        return r.json()["usage"]["plugins"]

    def defaults_hold(self):
        """What the three plugins/ hooks do by default: the platform's
        checks decide validity (http.fetch is allowed), installs,
        upgrades and publishing pass."""
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("fetcher")
        m = self.manifest(name, pub, perms=FETCH)
        v = self.release(dev, m, key=key)
        self.assertEqual([c["name"] for c in v["report"]["checks"]], BUILTIN_CHECKS)
        self.assertEqual(v["permissions"], list(FETCH))
        t = self.tenant()
        r = self.call(t, "POST", "/plugins/%s/install" % name, {"config": {"greeting": "hi"}})
        self.assertEqual(r.status, 201, r.body)
        self.release(dev, self.manifest(name, pub, "1.1.0", perms=FETCH), key=key)
        r = self.call(t, "POST", "/plugins/%s/upgrade" % name, {"version": "1.1.0"})
        self.assertEqual((r.status, r.json()["version"]), (200, "1.1.0"), r.body)
        self.assertEqual(self.usage(t)["used"], 1)
        self.assertNotIn("hook_failed", self.lx.output())


class Plugins(Base):
    """The registry with the built-in hook scripts."""

    # --- publishers and keys ---------------------------------------------

    def test_publishers_and_keys(self):
        u, other = self.user(), self.user()
        name = self.uniq("acme")
        r = self.lx.post("/publishers", {"name": name}, headers=u["h"])
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual((r.json()["name"], r.json()["owner_id"]), (name, u["id"]))
        assert_problem(self, self.lx.post("/publishers", {"name": name}, headers=other["h"]),
                       409, "publisher_exists")
        for bad in ("A", "Bad Name", "9lives", "x_y"):
            assert_problem(self, self.lx.post("/publishers", {"name": bad}, headers=u["h"]),
                           422, "invalid_name")
        assert_problem(self, self.lx.post("/publishers", {"name": "x" * 65}, headers=u["h"]),
                       422, "too_long")
        assert_problem(self, self.lx.post("/publishers", {"name": self.uniq("ok"), "extra": 1},
                                          headers=u["h"]), 422, "unknown_field")
        assert_problem(self, self.lx.get("/publishers"), 401)
        # Each sees their own; a platform admin sees all.
        mine = [p["name"] for p in self.lx.get("/publishers", headers=u["h"]).json()["publishers"]]
        self.assertEqual(mine, [name])
        self.assertEqual(self.lx.get("/publishers", headers=other["h"]).json()["publishers"], [])
        every = self.lx.get("/publishers?limit=100", headers=self.admin).json()["publishers"]
        self.assertIn(name, [p["name"] for p in every])
        # Keys: the .pub line or the bare base64 of 32 bytes.
        key = self.keygen()
        with open(key + ".pub") as f:
            line = f.read()
        b64 = line.split()[1]
        r = self.lx.post("/publishers/%s/keys" % name, {"public_key": line}, headers=u["h"])
        self.assertEqual(r.status, 201, r.body)
        k = r.json()
        self.assertRegex(k["key_id"], "^[0-9a-f]{16}$")
        self.assertEqual((k["public_key"], k["revoked_at"]), (b64, None))
        assert_problem(self, self.lx.post("/publishers/%s/keys" % name, {"public_key": b64},
                                          headers=u["h"]), 409, "key_exists")
        k2 = self.keygen()
        with open(k2 + ".pub") as f:
            r = self.lx.post("/publishers/%s/keys" % name, {"public_key": f.read().split()[1]},
                             headers=u["h"])
        self.assertEqual(r.status, 201, r.body)
        for bad in ("", "not base64!", base64.b64encode(b"x" * 31).decode(),
                    "luxima-ed25519-secret " + b64):
            assert_problem(self, self.lx.post("/publishers/%s/keys" % name, {"public_key": bad},
                                              headers=u["h"]), 422, "invalid_key")
        # Another user: the publisher is not there for them.
        assert_problem(self, self.lx.get("/publishers/%s/keys" % name, headers=other["h"]), 404)
        assert_problem(self, self.lx.post("/publishers/%s/keys" % name, {"public_key": b64},
                                          headers=other["h"]), 404)
        assert_problem(self, self.lx.request("DELETE", "/publishers/%s/keys/%s" % (name, k["key_id"]),
                                              headers=other["h"]), 404)
        assert_problem(self, self.lx.get("/publishers/nobody-here/keys", headers=u["h"]), 404)
        # Revoking.
        r = self.lx.request("DELETE", "/publishers/%s/keys/%s" % (name, k["key_id"]), headers=u["h"])
        self.assertEqual(r.status, 204, r.body)
        assert_problem(self, self.lx.request("DELETE", "/publishers/%s/keys/%s" % (name, k["key_id"]),
                                             headers=u["h"]), 409, "key_revoked")
        assert_problem(self, self.lx.request("DELETE", "/publishers/%s/keys/%s" % (name, "0" * 16),
                                             headers=u["h"]), 404, "key_not_found")
        keys = self.lx.get("/publishers/%s/keys" % name, headers=u["h"]).json()["keys"]
        self.assertEqual(len(keys), 2)
        self.assertIsNotNone(keys[0]["revoked_at"])
        self.assertIsNone(keys[1]["revoked_at"])
        # The admin acts for any publisher.
        r = self.lx.get("/publishers/%s/keys" % name, headers=self.admin)
        self.assertEqual(r.status, 200, r.body)
        # A bundle signed by the revoked key does not validate.
        plug = self.uniq("revoked")
        self.upload(u, self.bundle(self.manifest(plug, name), key=key))
        v = self.validated(u, plug, "1.0.0")
        self.assertEqual(v["status"], "invalid")
        self.assertEqual(self.check(v["report"], "signature")["code"], "key_revoked")

    # --- the whole life of a plugin ---------------------------------------

    def test_lifecycle(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("greeter")
        m = self.manifest(name, pub, perms=("docs.read",), routes=[
            {"method": "GET", "path": "/show", "file": "routes/show.lua"},
            {"method": "POST", "path": "/a/b/c/d", "file": "routes/show.lua"}])
        r = self.upload(dev, self.bundle(m, key=key))
        body = r.json()
        self.assertEqual(body["plugin"]["name"], name)
        self.assertIsNone(body["plugin"]["latest_version"])
        self.assertEqual((body["version"]["version"], body["version"]["status"]), ("1.0.0", "validating"))
        self.assertEqual(body["version"]["permissions"], ["docs.read"])
        self.assertEqual(len(body["version"]["digest"]), 64)
        v = self.validated(dev, name, "1.0.0")
        self.assertEqual(v["status"], "valid", v["report"])
        self.assertEqual(v["report"]["status"], "valid")
        self.assertEqual([c["name"] for c in v["report"]["checks"]],
                         ["manifest", "signature", "permissions", "lua", "size", "min_luxima",
                          "routes", "hooks"])
        self.assertTrue(all(c["ok"] for c in v["report"]["checks"]), v["report"])
        # Not published: others do not see it, nobody may install it.
        a, b = self.tenant(), self.tenant()
        assert_problem(self, self.lx.get("/plugins/" + name, headers=a["h"]), 404)
        self.assertNotIn(name, [p["name"] for p in self.lx.get("/plugins", headers=a["h"]).json()["plugins"]])
        assert_problem(self, self.call(a, "POST", "/plugins/%s/install" % name, {}), 404)
        self.assertIn(name, [p["name"] for p in self.lx.get("/plugins", headers=dev["h"]).json()["plugins"]])
        # Only its owner publishes.
        assert_problem(self, self.lx.post("/plugins/%s/publish" % name, {"version": "1.0.0"},
                                          headers=a["h"]), 404)
        assert_problem(self, self.lx.post("/plugins/%s/publish" % name, {"version": "9.9.9"},
                                          headers=dev["h"]), 404, "version_not_found")
        r = self.lx.post("/plugins/%s/publish" % name, {"version": "1.0.0"}, headers=dev["h"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["plugin"]["latest_version"], "1.0.0")
        self.assertEqual(r.json()["version"]["status"], "published")
        assert_problem(self, self.lx.post("/plugins/%s/publish" % name, {"version": "1.0.0"},
                                          headers=dev["h"]), 409, "already_published")
        # Published: everyone sees it, by name or id; others may not publish.
        r = self.lx.get("/plugins/" + name, headers=a["u"]["h"])
        self.assertEqual(r.status, 200, r.body)
        pid = r.json()["id"]
        self.assertEqual(self.lx.get("/plugins/" + pid, headers=a["h"]).json()["name"], name)
        self.assertEqual(r.json()["publisher"], pub)
        assert_problem(self, self.lx.post("/plugins/%s/publish" % name, {"version": "1.0.0"},
                                          headers=a["h"]), 403, "not_publisher")
        # Install in A: a bad config is 422 naming the field and installs nothing.
        for cfg, code, field in (({}, "missing_field", "greeting"),
                                 ({"greeting": 5}, "wrong_type", "greeting"),
                                 ({"greeting": "x" * 21}, "too_long", "greeting"),
                                 ({"greeting": "hi", "colour": "red"}, "unknown_field", "colour")):
            r = self.call(a, "POST", "/plugins/%s/install" % name, {"config": cfg})
            p = assert_problem(self, r, 422, code)
            self.assertIn("config." + field, p["detail"])
        self.assertEqual(self.installed(a), [])
        assert_problem(self, self.call(a, "POST", "/plugins/%s/install" % name,
                                       {"version": "2.0.0", "config": {"greeting": "hi"}}), 404)
        r = self.call(a, "POST", "/plugins/%s/install" % name, {"config": {"greeting": "hello"}})
        self.assertEqual(r.status, 201, r.body)
        inst = r.json()
        self.assertEqual((inst["plugin"], inst["version"], inst["status"]), (name, "1.0.0", "enabled"))
        self.assertEqual(inst["config"], {"greeting": "hello", "times": 1})
        self.assertEqual(inst["permissions"], ["docs.read"])
        assert_problem(self, self.call(a, "POST", "/plugins/%s/install" % pid,
                                       {"config": {"greeting": "again"}}), 409, "already_installed")
        self.assertEqual([i["plugin"] for i in self.installed(a)], [name])
        # Its routes in A.
        r = self.call(a, "GET", "/plugins/v1/%s/show?x=1" % name)
        self.assertEqual(r.status, 200, r.body)
        d = r.json()
        self.assertEqual(d["config"], {"greeting": "hello", "times": 1})
        self.assertEqual((d["plugin"], d["version"], d["route"], d["method"]),
                         (name, "1.0.0", "/show", "GET"))
        self.assertEqual((d["tenant"], d["user"]), (a["id"], a["u"]["id"]))
        r = self.call(a, "POST", "/plugins/v1/%s/a/b/c/d" % name, {"n": 1})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json()["route"], r.json()["json"]), ("/a/b/c/d", {"n": 1}))
        for method, path in (("POST", "/show"), ("GET", "/nope"), ("GET", "/a/b/c")):
            assert_problem(self, self.call(a, method, "/plugins/v1/%s%s" % (name, path)), 404, "not_found")
        # B has not installed it: 404 on its routes and its installation.
        assert_problem(self, self.call(b, "GET", "/plugins/v1/%s/show" % name), 404, "not_found")
        assert_problem(self, self.call(b, "PATCH", "/plugins/%s/install" % name, {"status": "disabled"}), 404)
        assert_problem(self, self.call(b, "DELETE", "/plugins/%s/install" % name), 404)
        assert_problem(self, self.call(b, "POST", "/plugins/%s/upgrade" % name, {"version": "1.0.0"}), 404)
        self.assertEqual(self.installed(b), [])
        # B naming A's tenant: 404.
        r = self.lx.get("/plugins/v1/%s/show" % name, headers=dict(b["u"]["h"], **{"X-Tenant-Id": a["id"]}))
        assert_problem(self, r, 404)
        # Disable: its routes are gone at once; enable brings them back.
        r = self.call(a, "PATCH", "/plugins/%s/install" % name, {"status": "disabled"})
        self.assertEqual((r.status, r.json()["status"]), (200, "disabled"), r.body)
        assert_problem(self, self.call(a, "GET", "/plugins/v1/%s/show" % name), 404, "not_found")
        assert_problem(self, self.call(a, "PATCH", "/plugins/%s/install" % name, {"status": "off"}),
                       422, "invalid_status")
        assert_problem(self, self.call(a, "PATCH", "/plugins/%s/install" % name,
                                       {"config": {"greeting": 1}}), 422, "wrong_type")
        r = self.call(a, "PATCH", "/plugins/%s/install" % name, {"status": "enabled",
                                                                 "config": {"greeting": "hey", "times": 3}})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["config"], {"greeting": "hey", "times": 3})
        self.assertEqual(self.call(a, "GET", "/plugins/v1/%s/show" % name).json()["config"],
                         {"greeting": "hey", "times": 3})
        # 1.1.0 adds a setting with a default; 1.2.0 makes greeting shorter.
        cfg11 = dict(CONFIG, colour={"type": "string", "default": "blue"})
        self.release(dev, self.manifest(name, pub, "1.1.0", config=cfg11), key=key)
        cfg12 = dict(cfg11, greeting={"type": "string", "required": True, "max": 2})
        self.release(dev, self.manifest(name, pub, "1.2.0", config=cfg12), key=key)
        self.assertEqual(self.lx.get("/plugins/" + name, headers=a["h"]).json()["latest_version"], "1.2.0")
        r = self.call(a, "POST", "/plugins/%s/upgrade" % name, {"version": "1.1.0"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json()["version"], r.json()["config"]),
                         ("1.1.0", {"greeting": "hey", "times": 3, "colour": "blue"}))
        d = self.call(a, "GET", "/plugins/v1/%s/show" % name).json()
        self.assertEqual((d["version"], d["config"]["greeting"]), ("1.1.0", "hey"))
        # The kept config no longer fits 1.2.0: 422, nothing changes.
        p = assert_problem(self, self.call(a, "POST", "/plugins/%s/upgrade" % name, {"version": "1.2.0"}),
                           422, "too_long")
        self.assertIn("config.greeting", p["detail"])
        self.assertEqual(self.installed(a)[0]["version"], "1.1.0")
        # Downgrades and same-version upgrades are refused.
        for ver in ("1.0.0", "1.1.0"):
            assert_problem(self, self.call(a, "POST", "/plugins/%s/upgrade" % name, {"version": ver}),
                           409, "downgrade_refused")
        # Uninstall: its routes stop at once, its documents go with it.
        r = self.call(a, "DELETE", "/plugins/%s/install" % name)
        self.assertEqual(r.status, 204, r.body)
        assert_problem(self, self.call(a, "GET", "/plugins/v1/%s/show" % name), 404)
        assert_problem(self, self.call(a, "DELETE", "/plugins/%s/install" % name), 404)
        self.assertEqual(self.installed(a), [])
        # Every change is in the tenant's audit log.
        r = self.lx.get("/tenants/%s/audit-logs?action=plugin.*" % a["id"], headers=a["h"])
        actions = sorted(x["action"] for x in r.json()["audit_logs"])
        self.assertEqual(actions, ["plugin.install", "plugin.uninstall", "plugin.update",
                                   "plugin.update", "plugin.upgrade"])

    def test_versions_visible_to_their_owner_only(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("drafts")
        self.release(dev, self.manifest(name, pub), key=key)
        self.upload(dev, self.bundle(self.manifest(name, pub, "1.1.0"), key=self.keygen()))
        self.assertEqual(self.validated(dev, name, "1.1.0")["status"], "invalid")
        other = self.user()
        r = self.lx.get("/plugins/" + name, headers=other["h"])
        self.assertEqual([v["version"] for v in r.json()["versions"]], ["1.0.0"])
        r = self.lx.get("/plugins/" + name, headers=dev["h"])
        self.assertEqual([v["version"] for v in r.json()["versions"]], ["1.1.0", "1.0.0"])
        r = self.lx.get("/plugins/" + name, headers=self.admin)
        self.assertEqual(len(r.json()["versions"]), 2)
        assert_problem(self, self.lx.post("/plugins/%s/publish" % name, {"version": "1.1.0"},
                                          headers=dev["h"]), 409, "invalid_version_state")
        assert_problem(self, self.lx.get("/plugins/%s?wait=99" % name, headers=dev["h"]), 400)
        assert_problem(self, self.lx.get("/plugins/%s?other=1" % name, headers=dev["h"]), 400)

    # --- refusals ----------------------------------------------------------

    def test_upload_refusals(self):
        dev, rival = self.user(), self.user()
        pub, key = self.publisher(dev)
        rpub, rkey = self.publisher(rival)
        name = self.uniq("taken")
        text = self.bundle(self.manifest(name, pub), key=key)
        # Malformed: 400 at upload, nothing stored.
        bad = json.loads(text)
        bad["manifest"]["version"] = "1.0"
        assert_problem(self, self.upload(dev, json.dumps(bad), 400), 400, "invalid_manifest")
        assert_problem(self, self.upload(dev, "{not json", 400), 400, "invalid_bundle")
        bad = json.loads(text)
        bad["files"]["routes/extra.lua"] = base64.b64encode(b"return 1").decode()
        assert_problem(self, self.upload(dev, json.dumps(bad), 400), 400, "unused_file")
        assert_problem(self, self.lx.get("/plugins/" + name, headers=dev["h"]), 404)
        r = self.lx.request("POST", "/plugins", body=text, headers=dict(dev["h"], **{
            "Content-Type": "text/plain"}))
        assert_problem(self, r, 415)
        assert_problem(self, self.upload(dev, self.bundle(self.manifest("installed", pub), key=key), 400),
                       400, "invalid_manifest")
        # Another publisher's name, or one nobody has: 403.
        assert_problem(self, self.upload(rival, text, 403), 403, "not_publisher")
        assert_problem(self, self.upload(dev, self.bundle(self.manifest(name, "no-such-pub"), key=key), 403),
                       403, "not_publisher")
        assert_problem(self, self.lx.get("/plugins/" + name, headers=dev["h"]), 404)
        # The first upload of a name keeps it for its publisher.
        self.upload(dev, text)
        assert_problem(self, self.upload(rival, self.bundle(self.manifest(name, rpub, "2.0.0"), key=rkey), 409),
                       409, "name_taken")
        assert_problem(self, self.upload(dev, text, 409), 409, "version_exists")
        assert_problem(self, self.upload(dev, self.bundle(self.manifest(name, pub, "1.0.0+build.2"),
                                                          key=key), 409), 409, "version_exists")
        self.assertEqual(self.validated(dev, name, "1.0.0")["status"], "valid")

    def test_validation_refusals(self):
        dev = self.user()
        pub, key = self.publisher(dev)

        def flip(doc):  # one byte of a Lua file, after signing
            src = bytearray(base64.b64decode(doc["files"]["routes/show.lua"]))
            src[src.index(b"200")] = ord("4")
            doc["files"]["routes/show.lua"] = base64.b64encode(bytes(src)).decode()

        rep = self.invalid(dev, self.manifest(self.uniq("tampered"), pub), key=key, tamper=flip)
        c = self.check(rep, "signature")
        self.assertEqual((c["ok"], c["code"]), (False, "bad_signature"))
        # Signed by a key the publisher never registered.
        rep = self.invalid(dev, self.manifest(self.uniq("stranger"), pub), key=self.keygen())
        self.assertEqual(self.check(rep, "signature")["code"], "unknown_key")
        # Not signed at all.
        rep = self.invalid(dev, self.manifest(self.uniq("unsigned"), pub))
        self.assertEqual(self.check(rep, "signature")["code"], "unsigned_bundle")
        # Lua that does not compile: the file and line in the report.
        rep = self.invalid(dev, self.manifest(self.uniq("syntax"), pub),
                           {"routes/show.lua": "return function(req)\n  return {status = 200\nend\n"}, key)
        c = self.check(rep, "lua")
        self.assertEqual(c["code"], "syntax_error")
        self.assertRegex(c["detail"], r"^routes/show\.lua: line \d+:")
        self.assertTrue(self.check(rep, "signature")["ok"])
        # A route no URL reaches (5 segments), a newer Luxima: each named,
        # all in one report; a member event is one Luxima emits.
        m = self.manifest(self.uniq("reach"), pub, routes=[
            {"method": "GET", "path": "/a/b/c/d/e", "file": "routes/show.lua"}],
            hooks=[("member.added", "routes/show.lua")])
        m["min_luxima"] = "99.0.0"
        rep = self.invalid(dev, m, key=key)
        self.assertEqual(self.check(rep, "routes")["code"], "unreachable_route")
        self.assertIn("GET /a/b/c/d/e", self.check(rep, "routes")["detail"])
        self.assertEqual(self.check(rep, "min_luxima")["code"], "luxima_too_old")
        self.assertTrue(self.check(rep, "hooks")["ok"])
        self.assertEqual(sum(1 for c in rep["checks"] if not c["ok"]), 2)

    def test_undeclared_permission(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("sneaky")
        m = self.manifest(name, pub, perms=("docs.read",), routes=[
            {"method": "POST", "path": "/write", "file": "routes/write.lua"},
            {"method": "GET", "path": "/show", "file": "routes/show.lua"}])
        self.release(dev, m, {"routes/write.lua": ROUTE_WRITE, "routes/show.lua": ROUTE_SHOW}, key)
        t = self.tenant()
        self.assertEqual(self.call(t, "POST", "/plugins/%s/install" % name,
                                   {"config": {"greeting": "hi"}}).status, 201)
        r = self.call(t, "POST", "/plugins/v1/%s/write" % name, {})
        p = assert_problem(self, r, 403, "permission_denied")
        self.assertIn("docs.write", p["detail"])
        self.assertIsNone(self.call(t, "GET", "/plugins/v1/%s/show" % name).json().get("doc"))

    def test_quota(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        names = [self.uniq("quota"), self.uniq("quota")]
        for n in names:
            self.release(dev, self.manifest(n, pub), key=key)
        t = self.tenant()
        r = self.call(t, "POST", "/subscriptions", {"plan": "plug-one"})
        self.assertEqual(r.status, 201, r.body)
        r = self.call(t, "POST", "/plugins/%s/install" % names[0], {"config": {"greeting": "a"}})
        self.assertEqual(r.status, 201, r.body)
        r = self.call(t, "POST", "/plugins/%s/install" % names[1], {"config": {"greeting": "b"}})
        p = assert_problem(self, r, 403, "quota_exceeded")
        self.assertIn("plugins", p["detail"])
        self.assertEqual([i["plugin"] for i in self.installed(t)], [names[0]])
        # Room again once one is uninstalled.
        self.assertEqual(self.call(t, "DELETE", "/plugins/%s/install" % names[0]).status, 204)
        r = self.call(t, "POST", "/plugins/%s/install" % names[1], {"config": {"greeting": "b"}})
        self.assertEqual(r.status, 201, r.body)
        r = self.lx.get("/tenants/%s/usage" % t["id"], headers=t["h"])
        self.assertEqual(r.json()["usage"]["plugins"]["used"], 1)

    def test_viewer_reads_but_cannot_install(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("viewed")
        self.release(dev, self.manifest(name, pub), key=key)
        t = self.tenant()
        viewer = self.user()
        r = self.lx.post("/tenants/%s/members" % t["id"], {"email": viewer["email"], "role": "viewer"},
                         headers=t["h"])
        self.assertEqual(r.status, 201, r.body)
        vh = dict(viewer["h"], **{"X-Tenant-Id": t["id"]})
        r = self.lx.post("/plugins/%s/install" % name, {"config": {"greeting": "v"}}, headers=vh)
        assert_problem(self, r, 403, "forbidden")
        self.assertEqual(self.call(t, "POST", "/plugins/%s/install" % name,
                                   {"config": {"greeting": "v"}}).status, 201)
        r = self.lx.get("/plugins/v1/%s/show" % name, headers=vh)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["user"], viewer["id"])

    # --- hooks -------------------------------------------------------------

    def test_hook_runs_on_billing_event(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("hooked")
        m = self.manifest(name, pub, perms=("docs.read", "docs.write"),
                          hooks=[("subscription.created", "hooks/sub.lua")])
        self.release(dev, m, {"routes/show.lua": ROUTE_SHOW, "hooks/sub.lua": HOOK_SUB}, key)
        a, b = self.tenant(), self.tenant()
        for t in (a, b):
            self.assertEqual(self.call(t, "POST", "/plugins/%s/install" % name,
                                       {"config": {"greeting": "hooked"}}).status, 201)
        # B disables it: its hook does not run there.
        self.assertEqual(self.call(b, "PATCH", "/plugins/%s/install" % name,
                                   {"status": "disabled"}).status, 200)
        self.assertIsNone(self.call(a, "GET", "/plugins/v1/%s/show" % name).json().get("doc"))
        for t in (a, b):
            r = self.call(t, "POST", "/subscriptions", {"plan": "pro"})
            self.assertEqual(r.status, 201, r.body)
        deadline, doc = time.time() + 15, None
        while time.time() < deadline and doc is None:
            doc = self.call(a, "GET", "/plugins/v1/%s/show" % name).json().get("doc")
            time.sleep(0.1)
        self.assertEqual(doc, {"event": "subscription.created", "plan": "pro", "greeting": "hooked"})
        time.sleep(0.5)
        self.assertEqual(self.call(b, "PATCH", "/plugins/%s/install" % name,
                                   {"status": "enabled"}).status, 200)
        self.assertIsNone(self.call(b, "GET", "/plugins/v1/%s/show" % name).json().get("doc"))
        # Uninstalling removes the plugin's documents in the tenant.
        self.assertEqual(self.call(a, "DELETE", "/plugins/%s/install" % name).status, 204)
        self.assertEqual(self.call(a, "POST", "/plugins/%s/install" % name,
                                   {"config": {"greeting": "again"}}).status, 201)
        self.assertIsNone(self.call(a, "GET", "/plugins/v1/%s/show" % name).json().get("doc"))


    # --- jobs and the invocation log ---------------------------------------

    def jobs_plugin(self, perms):
        """A plugin whose POST /enqueue queues a job that writes the note
        GET /note reads, and whose hook of subscription.created logs."""
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("jobber")
        m = self.manifest(name, pub, perms=perms, routes=[
            {"method": "POST", "path": "/enqueue", "file": "routes/enqueue.lua"},
            {"method": "GET", "path": "/note", "file": "routes/note.lua"}],
            hooks=[("subscription.created", "hooks/log.lua")])
        self.release(dev, m, {"routes/enqueue.lua": ROUTE_JOBS, "routes/note.lua": ROUTE_NOTE,
                              "hooks/log.lua": HOOK_LOG}, key)
        return name

    def note(self, t, name):
        r = self.call(t, "GET", "/plugins/v1/%s/note" % name)
        self.assertEqual(r.status, 200, r.body)
        return r.json().get("doc")

    def invocations(self, t, name, query=""):
        r = self.call(t, "GET", "/plugins/%s/invocations%s" % (name, query))
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def test_jobs_and_invocation_log(self):
        name = self.jobs_plugin(("docs.read", "docs.write", "jobs.enqueue"))
        a, b = self.tenant(), self.tenant()
        self.assertEqual(self.call(a, "POST", "/plugins/%s/install" % name,
                                   {"config": {"greeting": "hi"}}).status, 201)
        # Nothing ran yet: an empty log (installed, so not 404).
        self.assertEqual(self.invocations(a, name), {"invocations": [], "next_cursor": None})
        r = self.call(a, "POST", "/plugins/v1/%s/enqueue" % name, {})
        self.assertEqual(r.status, 202, r.body)
        self.assertRegex(r.json()["job"], "^[0-9]+$")
        deadline, doc = time.time() + 15, None
        while time.time() < deadline and doc is None:
            doc = self.note(a, name)
            time.sleep(0.1)
        self.assertEqual(doc, {"kind": "note", "text": "from the job", "version": "1.0.0"})
        # A hook run.
        r = self.call(a, "POST", "/subscriptions", {"plan": "pro"})
        self.assertEqual(r.status, 201, r.body)
        deadline, recs = time.time() + 15, []
        while time.time() < deadline and "hook" not in [x["kind"] for x in recs]:
            recs = self.invocations(a, name)["invocations"]
            time.sleep(0.1)
        by = {}
        for x in recs:
            by.setdefault((x["kind"], x["target"]), x)
        route = by[("route", "POST /enqueue")]
        self.assertEqual((route["status"], route["version"], route["actor"], route["error"]),
                         (202, "1.0.0", a["u"]["id"], None))
        self.assertEqual(route["log"], [{"level": "info", "msg": "enqueueing"}])
        self.assertIsNotNone(route["request_id"])
        job = by[("job", "note")]
        self.assertEqual(job["log"], [{"level": "info", "msg": "job note for hi"}])
        self.assertEqual((job["actor"], job["request_id"], job["error"]), (a["u"]["id"], None, None))
        hook = by[("hook", "subscription.created")]
        self.assertEqual(hook["log"], [{"level": "warn", "msg": "hooked subscription.created"}])
        self.assertEqual(hook["actor"], "system")
        self.assertIn(("route", "GET /note"), by)
        for x in recs:
            self.assertEqual(sorted(x), ["actor", "duration_us", "error", "id", "kind", "log", "memory",
                                         "request_id", "started_at", "status", "target", "version"])
        # Newest first, by pages.
        ids = [int(x["id"]) for x in recs]
        self.assertEqual(ids, sorted(ids, reverse=True))
        page = self.invocations(a, name, "?limit=1")
        self.assertEqual([x["id"] for x in page["invocations"]], [recs[0]["id"]])
        page = self.invocations(a, name, "?limit=1&cursor=" + page["next_cursor"])
        self.assertEqual([x["id"] for x in page["invocations"]], [recs[1]["id"]])
        for q, code in (("?limit=0", "invalid_limit"), ("?cursor=x", "invalid_cursor"),
                        ("?other=1", "unknown_parameter")):
            assert_problem(self, self.call(a, "GET", "/plugins/%s/invocations%s" % (name, q)),
                           400, code)
        # Another tenant sees none of them: 404 without an installation,
        # its own (empty) log once it installs the plugin.
        assert_problem(self, self.call(b, "GET", "/plugins/%s/invocations" % name), 404, "not_found")
        r = self.lx.get("/plugins/%s/invocations" % name,
                        headers=dict(b["u"]["h"], **{"X-Tenant-Id": a["id"]}))
        assert_problem(self, r, 404)
        self.assertEqual(self.call(b, "POST", "/plugins/%s/install" % name,
                                   {"config": {"greeting": "b"}}).status, 201)
        self.assertEqual(self.invocations(b, name)["invocations"], [])
        self.assertIsNone(self.note(b, name))
        # Uninstalled, the tenant still reads its records.
        self.assertEqual(self.call(a, "DELETE", "/plugins/%s/install" % name).status, 204)
        self.assertEqual(len(self.invocations(a, name)["invocations"]), len(recs))

    def test_jobs_need_the_permission(self):
        name = self.jobs_plugin(("docs.read", "docs.write"))
        t = self.tenant()
        self.assertEqual(self.call(t, "POST", "/plugins/%s/install" % name,
                                   {"config": {"greeting": "hi"}}).status, 201)
        p = assert_problem(self, self.call(t, "POST", "/plugins/v1/%s/enqueue" % name, {}),
                           403, "permission_denied")
        self.assertIn("jobs.enqueue", p["detail"])
        time.sleep(0.5)
        self.assertIsNone(self.note(t, name))
        recs = self.invocations(t, name)["invocations"]
        self.assertEqual([(x["kind"], x["target"]) for x in recs],
                         [("route", "GET /note"), ("route", "POST /enqueue")])
        self.assertEqual(recs[1]["status"], 403)
        self.assertTrue(recs[1]["error"].startswith("permission_denied: "), recs[1]["error"])
        self.assertEqual(recs[1]["log"], [{"level": "info", "msg": "enqueueing"}])

    def test_hook_defaults(self):
        # The built-in scripts add nothing, so they are not run.
        self.defaults_hold()
        self.assertNotIn("hook plugins/", self.lx.output())


# --- the hook scripts plugins/* --------------------------------------------

def builtin(hook):
    with open(os.path.join(SOURCE, "lua_scripts", hook + ".lua")) as f:
        return f.read()


class BuiltinFilesAsOverrides(Base):
    """The built-ins' own text, read from the data folder: each runs, and
    answers as the platform does without it."""
    FILES = {hook: builtin(hook) for hook in HOOKS}

    def test_defaults(self):
        self.defaults_hold()
        for hook in HOOKS:
            self.assertIn("hook %s: using the override" % hook, self.lx.output())


class HooksTurnedOff(Base):
    """Empty files turn the hooks off: the platform's defaults."""
    FILES = {hook: "" for hook in HOOKS}

    def test_defaults(self):
        self.defaults_hold()
        for hook in HOOKS:
            self.assertIn("hook %s: turned off by the empty" % hook, self.lx.output())


VALIDATE = """
return function(req)
	log.info(string.format("%s %s by %s: %d checks, %s ok=%s, %s %d bytes",
		req.plugin.name, req.version, req.plugin.publisher, #req.checks,
		req.checks[2].name, tostring(req.checks[2].ok), req.files[1].path,
		req.files[1].size))
	for _, p in ipairs(req.manifest.permissions) do
		if p == "http.fetch" then
			return { json = { checks = { { name = "no_network", ok = false,
				code = "permission_refused",
				detail = "this platform does not run plugins that call http.fetch" } } } }
		end
	end
	return { json = { checks = {} } }
end
"""
INSTALL = """
return function(req)
	log.info("request " .. json.encode(req))
	if req.tenant.plan == "restricted" then
		return { json = { allow = false, code = "plan_without_plugins",
			reason = "the restricted plan does not include plugins" } }
	end
	if req.action == "upgrade" and req.version == "2.0.0" then
		return { json = { allow = false, reason = "major upgrades are reviewed first" } }
	end
	return { json = { allow = true } }
end
"""
PUBLISH = """
return function(req)
	log.info(string.format("%s %s by %s <%s> admin=%s: report %s, %d checks, manifest %s",
		req.plugin.name, req.version, req.actor.id, req.actor.email,
		tostring(req.actor.platform_admin), req.report.status, #req.report.checks,
		req.manifest.name))
	if string.find(req.version, "-", 1, true) then
		-- status is not taken: a refusal here is always 403
		return { json = { allow = false, status = 422, code = "prerelease_not_published",
			reason = "pre-releases stay unpublished here" } }
	end
	return { json = { allow = true } }
end
"""


class HookOverrides(Base):
    """Overrides in <data>/lua_scripts/plugins/ decide."""
    FILES = {"plugins/validatePlugin": VALIDATE, "plugins/installPlugin": INSTALL,
             "plugins/publishPlugin": PUBLISH}

    def test_validate_refuses_http_fetch(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("fetcher")
        # Invalid: cannot be published or installed (self.invalid checks).
        rep = self.invalid(dev, self.manifest(name, pub, perms=FETCH), key=key)
        self.assertEqual([c["name"] for c in rep["checks"]], BUILTIN_CHECKS + ["no_network"])
        self.assertTrue(all(c["ok"] for c in rep["checks"][:-1]), rep)
        self.assertEqual(rep["checks"][-1], {
            "name": "no_network", "ok": False, "code": "permission_refused",
            "detail": "this platform does not run plugins that call http.fetch"})
        self.assertEqual(self.hook_log("plugins/validatePlugin", name + " "), [
            "1.0.0 by %s: 8 checks, signature ok=true, routes/show.lua %d bytes"
            % (pub, len(ROUTE_SHOW.encode()))])
        # Without http.fetch: valid, the platform's checks only.
        other = self.uniq("quiet")
        v = self.release(dev, self.manifest(other, pub), key=key)
        self.assertEqual([c["name"] for c in v["report"]["checks"]], BUILTIN_CHECKS)
        # The script sees the platform's failures too (here: unsigned).
        unsigned = self.uniq("unsigned")
        rep = self.invalid(dev, self.manifest(unsigned, pub))
        self.assertEqual([c["name"] for c in rep["checks"]], BUILTIN_CHECKS)
        self.assertEqual(self.hook_log("plugins/validatePlugin", unsigned + " "), [
            "1.0.0 by %s: 8 checks, signature ok=false, routes/show.lua %d bytes"
            % (pub, len(ROUTE_SHOW.encode()))])

    def test_install_refused_for_a_tenant(self):
        r = self.lx.post("/admin/plans", {
            "code": "restricted", "name": "Restricted", "amount": 100, "currency": "USD",
            "interval": "month", "limits": {"plugins": {"quota": 3}}}, headers=self.admin)
        self.assertEqual(r.status, 201, r.body)
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("gated")
        self.release(dev, self.manifest(name, pub), key=key)
        t, ok = self.tenant(), self.tenant()
        r = self.call(t, "POST", "/subscriptions", {"plan": "restricted"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual((self.usage(t)["used"], self.usage(t)["quota"]), (0, 3))
        # Refused: 403 with the script's code and reason, nothing written.
        r = self.call(t, "POST", "/plugins/%s/install" % name, {"config": {"greeting": "hi"}})
        p = assert_problem(self, r, 403, "plan_without_plugins")
        self.assertEqual(p["detail"], "the restricted plan does not include plugins")
        self.assertEqual(self.installed(t), [])
        self.assertEqual(self.usage(t)["used"], 0)
        r = self.lx.get("/tenants/%s/audit-logs?action=plugin.*" % t["id"], headers=t["h"])
        self.assertEqual(r.json()["audit_logs"], [])
        assert_problem(self, self.call(t, "GET", "/plugins/v1/%s/show" % name), 404)
        # Another tenant installs it; what the script saw.
        r = self.call(ok, "POST", "/plugins/%s/install" % name, {"config": {"greeting": "hi"}})
        self.assertEqual(r.status, 201, r.body)
        plan = self.lx.get("/tenants/" + ok["id"], headers=ok["h"]).json()["plan"]
        seen = [json.loads(x) for x in self.hook_log("plugins/installPlugin", "request ")]
        self.assertEqual([x["tenant"]["id"] for x in seen[-2:]], [t["id"], ok["id"]])
        self.assertEqual(seen[-2]["tenant"]["plan"], "restricted")
        self.assertEqual(seen[-1], {
            "action": "install", "tenant": {"id": ok["id"], "plan": plan},
            "plugin": {"name": name, "publisher": pub}, "version": "1.0.0",
            "permissions": ["docs.read"], "config": {"greeting": "hi", "times": 1}})
        # Upgrades ask too: 2.0.0 refused (the default code), 1.1.0 passes.
        for ver in ("1.1.0", "2.0.0"):
            self.release(dev, self.manifest(name, pub, ver), key=key)
        r = self.call(ok, "POST", "/plugins/%s/upgrade" % name, {"version": "2.0.0"})
        p = assert_problem(self, r, 403, "plugin_upgrade_denied")
        self.assertEqual(p["detail"], "major upgrades are reviewed first")
        self.assertEqual(self.installed(ok)[0]["version"], "1.0.0")
        r = self.call(ok, "POST", "/plugins/%s/upgrade" % name,
                      {"version": "1.1.0", "config": {"greeting": "yo", "times": 2}})
        self.assertEqual((r.status, r.json()["version"]), (200, "1.1.0"), r.body)
        seen = json.loads(self.hook_log("plugins/installPlugin", "request ")[-1])
        self.assertEqual(seen, {
            "action": "upgrade", "tenant": {"id": ok["id"], "plan": plan},
            "plugin": {"name": name, "publisher": pub}, "version": "1.1.0",
            "from_version": "1.0.0", "permissions": ["docs.read"],
            "config": {"greeting": "yo", "times": 2}})
        self.assertIn("hook plugins/installPlugin refused installing %s 1.0.0 in tenant %s: "
                      "plan_without_plugins" % (name, t["id"]), self.lx.output())

    def test_publish_refused(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("early")
        self.upload(dev, self.bundle(self.manifest(name, pub, "1.0.0-beta.1"), key=key))
        self.assertEqual(self.validated(dev, name, "1.0.0-beta.1")["status"], "valid")
        r = self.lx.post("/plugins/%s/publish" % name, {"version": "1.0.0-beta.1"}, headers=dev["h"])
        p = assert_problem(self, r, 403, "prerelease_not_published")
        self.assertEqual(p["detail"], "pre-releases stay unpublished here")
        # It stays valid and unpublished: nobody else sees it.
        r = self.lx.get("/plugins/" + name, headers=dev["h"])
        self.assertIsNone(r.json()["latest_version"])
        self.assertEqual([(v["status"], v["published_at"]) for v in r.json()["versions"]],
                         [("valid", None)])
        assert_problem(self, self.lx.get("/plugins/" + name, headers=self.user()["h"]), 404)
        self.assertEqual(self.hook_log("plugins/publishPlugin", name + " "), [
            "1.0.0-beta.1 by %s <%s> admin=false: report valid, 8 checks, manifest %s"
            % (dev["id"], dev["email"], name)])
        # A release publishes.
        self.release(dev, self.manifest(name, pub, "1.0.0"), key=key)
        self.assertEqual(self.lx.get("/plugins/" + name, headers=dev["h"]).json()["latest_version"],
                         "1.0.0")


class BrokenHooks(Base):
    """Broken overrides fail closed; the server keeps serving."""
    FILES = {
        "plugins/validatePlugin": """
return function(req)
	if string.find(req.plugin.name, "^boom") then error("boom in " .. req.plugin.name) end
	if string.find(req.plugin.name, "^shadow") then
		return { json = { checks = { { name = "signature", ok = true } } } }
	end
	return { json = { checks = {} } }
end
""",
        "plugins/installPlugin": "return function(req) return { json = ",
        "plugins/publishPlugin": """
return function(req)
	if string.find(req.plugin.name, "^bad") then return { json = { allow = "yes" } } end
	return { json = { allow = true } }
end
""",
    }

    def test_validate_fails_closed(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        for prefix, why in (("boom", "boom in "), ("shadow", "a finding is named as one of "
                                                              "the platform's checks")):
            name = self.uniq(prefix)
            rep = self.invalid(dev, self.manifest(name, pub), key=key)
            self.assertEqual([c["name"] for c in rep["checks"]], BUILTIN_CHECKS + ["validatePlugin"])
            self.assertTrue(all(c["ok"] for c in rep["checks"][:-1]), rep)
            c = rep["checks"][-1]
            self.assertEqual((c["ok"], c["code"]), (False, "hook_failed"))
            self.assertIn("server log", c["detail"])
            self.assertIn(why, self.lx.output())
        self.assertIn("hook plugins/validatePlugin (%s) failed: function_error:"
                      % os.path.join(self.lx.data, "lua_scripts", "plugins", "validatePlugin.lua"),
                      self.lx.output())
        # Others still validate.
        self.release(dev, self.manifest(self.uniq("fine"), pub), key=key)
        self.assertEqual(self.lx.get("/healthz").status, 200)

    def test_publish_fails_closed(self):
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("bad")
        self.upload(dev, self.bundle(self.manifest(name, pub), key=key))
        self.assertEqual(self.validated(dev, name, "1.0.0")["status"], "valid")
        r = self.lx.post("/plugins/%s/publish" % name, {"version": "1.0.0"}, headers=dev["h"])
        assert_problem(self, r, 503, "hook_failed")
        r = self.lx.get("/plugins/" + name, headers=dev["h"])
        self.assertEqual((r.json()["latest_version"], r.json()["versions"][0]["status"]),
                         (None, "valid"))
        self.assertIn("allow must be true or false", self.lx.output())
        self.assertEqual(self.lx.get("/healthz").status, 200)

    def test_install_fails_closed(self):
        self.assertIn("hook plugins/installPlugin:", self.lx.output())
        self.assertIn("does not compile", self.lx.output())
        dev = self.user()
        pub, key = self.publisher(dev)
        name = self.uniq("stuck")
        self.release(dev, self.manifest(name, pub), key=key)
        t = self.tenant()
        r = self.call(t, "POST", "/plugins/%s/install" % name, {"config": {"greeting": "hi"}})
        assert_problem(self, r, 503, "hook_failed")
        self.assertEqual(self.installed(t), [])
        self.assertEqual(self.usage(t)["used"], 0)
        assert_problem(self, self.call(t, "GET", "/plugins/v1/%s/show" % name), 404)
        self.assertEqual(self.lx.get("/healthz").status, 200)
        r = self.lx.get("/plugins/" + name, headers=t["h"])
        self.assertEqual((r.status, r.json()["latest_version"]), (200, "1.0.0"), r.body)


if __name__ == "__main__":
    main()
