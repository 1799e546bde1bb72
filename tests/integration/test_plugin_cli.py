#!/usr/bin/env python3
"""luxima plugin keygen | pack | sign | verify, run as the real binary on a
temporary folder: a key pair, a bundle packed from a plugin folder, signed
and verified, its digest and canonical form checked independently (json +
hashlib); then one tampered byte, the wrong key, an unsigned bundle, a Lua
syntax error and a bad manifest each fail with exit status 1 and one clear
line on stderr."""
import base64
import hashlib
import json
import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import main, new_data_dir, run_cli  # noqa: E402

MANIFEST = {
    "name": "hello-world",
    "version": "1.2.0",
    "description": "Says hello.",
    "publisher": "acme",
    "min_luxima": "0.1.0",
    "permissions": ["docs.read", "events.emit"],
    "hooks": [{"event": "invoice.finalized", "file": "hooks/invoice.lua"}],
    "routes": [{"method": "GET", "path": "/hello", "file": "routes/hello.lua"}],
    "config": {"greeting": {"type": "string", "required": False, "default": "hi", "max": 100}},
}
FILES = {
    "hooks/invoice.lua": "return function(ev) return { ok = true } end\n",
    "routes/hello.lua": "return function(req)\n  return { status = 200, json = { greeting = 'hi' } }\nend\n",
}


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(manifest, files):
    """The canonical digest, computed the way the format describes it."""
    h = hashlib.sha256()
    h.update(b"luxima-plugin/1\n" + canonical(manifest).encode() + b"\n")
    for path in sorted(files):
        data = files[path].encode()
        h.update(path.encode() + b"\n" + str(len(data)).encode() + b"\n" + data + b"\n")
    return h.hexdigest()


class PluginCli(unittest.TestCase):
    def setUp(self):
        self.dir = new_data_dir("plugin")
        self.src = self.path("hello")
        self.write_plugin(self.src, MANIFEST, FILES)
        # A file nothing names: pack leaves it out.
        with open(os.path.join(self.src, "notes.lua"), "w") as f:
            f.write("-- not part of the plugin\n")

    def path(self, *names):
        return os.path.join(self.dir, *names)

    @staticmethod
    def write_plugin(folder, manifest, files):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)

    def cli(self, *args):
        return run_cli(["plugin"] + list(args))

    def ok(self, *args):
        r = self.cli(*args)
        self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.stderr))
        return r

    def fails(self, *args, msg):
        """Expects exit status 1 and one stderr line containing msg."""
        r = self.cli(*args)
        self.assertEqual(r.returncode, 1, "%s: %s%s" % (args, r.stdout, r.stderr))
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(msg, lines[0])
        self.assertTrue(lines[0].startswith("luxima plugin "), lines[0])
        return r

    def keygen(self, name="key"):
        r = self.ok("keygen", "--out", self.path(name))
        kid = r.stdout.split()[2]
        self.assertRegex(kid, r"^[0-9a-f]{16}$")
        return kid

    def packed(self, name="hello.lxp"):
        self.ok("pack", self.src, "--out", self.path(name))
        return self.path(name)

    def signed(self, name="hello.lxp", key="key"):
        out = self.packed(name)
        self.ok("sign", out, "--key", self.path(key + ".key"))
        return out

    def test_help_and_usage(self):
        r = self.ok("--help")
        for c in ("keygen", "pack", "sign", "verify"):
            self.assertRegex(r.stdout, r"(?m)^\s+%s\s" % c)
        r = self.ok("verify", "--help")
        self.assertIn("usage: luxima plugin verify", r.stdout)
        self.assertIn("--pub", r.stdout)
        self.assertEqual(self.cli().returncode, 2)
        self.assertEqual(self.cli("frobnicate").returncode, 2)
        self.assertEqual(self.cli("verify").returncode, 2)
        self.assertEqual(self.cli("keygen").returncode, 2)
        r = run_cli(["--help"])
        self.assertRegex(r.stdout, r"(?m)^\s+plugin\s")

    def test_keygen(self):
        kid = self.keygen()
        key, pub = self.path("key.key"), self.path("key.pub")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(pub) as f:
            line = f.read()
        self.assertRegex(line, r"^luxima-ed25519-public [A-Za-z0-9+/]{43}=\n$")
        pk = base64.b64decode(line.split()[1])
        self.assertEqual(kid, hashlib.sha256(pk).hexdigest()[:16])
        with open(key) as f:
            secret = f.read()
        self.assertRegex(secret, r"^luxima-ed25519-secret [A-Za-z0-9+/]{86}==\n$")
        self.assertEqual(base64.b64decode(secret.split()[1])[32:], pk)
        # Never overwritten.
        self.fails("keygen", "--out", self.path("key"), msg="already exists")
        with open(key) as f:
            self.assertEqual(f.read(), secret)

    def test_pack_sign_verify(self):
        kid = self.keygen()
        out = self.packed()
        with open(out) as f:
            text = f.read()
        bundle = json.loads(text)
        self.assertEqual(text, canonical(bundle))
        self.assertEqual(bundle["format"], "luxima-plugin/1")
        self.assertEqual(bundle["manifest"], MANIFEST)
        self.assertEqual(sorted(bundle["files"]), sorted(FILES))
        self.assertNotIn("signature", bundle)
        for name, text64 in bundle["files"].items():
            self.assertEqual(base64.b64decode(text64).decode(), FILES[name])
        # Not overwritten without --force.
        self.fails("pack", self.src, "--out", out, msg="--force")
        self.ok("pack", self.src, "--out", out, "--force")

        want = digest(MANIFEST, FILES)
        r = self.ok("verify", out)
        self.assertRegex(r.stdout, r"(?m)^name\s+hello-world$")
        self.assertRegex(r.stdout, r"(?m)^version\s+1\.2\.0$")
        self.assertRegex(r.stdout, r"(?m)^publisher\s+acme$")
        self.assertRegex(r.stdout, r"(?m)^digest\s+%s$" % want)
        self.assertRegex(r.stdout, r"(?m)^permissions\s+docs\.read, events\.emit$")
        self.assertRegex(r.stdout, r"(?m)^hook\s+invoice\.finalized -> hooks/invoice\.lua$")
        self.assertRegex(r.stdout, r"(?m)^route\s+GET /hello -> routes/hello\.lua$")
        self.assertRegex(r.stdout, r"(?m)^signature\s+not checked")

        r = self.ok("sign", out, "--key", self.path("key.key"))
        self.assertIn(kid, r.stdout)
        with open(out) as f:
            text = f.read()
        bundle = json.loads(text)
        self.assertEqual(text, canonical(bundle))
        self.assertEqual(bundle["signature"]["alg"], "ed25519")
        self.assertEqual(bundle["signature"]["key_id"], kid)
        self.assertEqual(len(base64.b64decode(bundle["signature"]["sig"])), 64)
        r = self.ok("verify", out, "--pub", self.path("key.pub"))
        self.assertRegex(r.stdout, r"(?m)^digest\s+%s$" % want)
        self.assertRegex(r.stdout, r"(?m)^key id\s+%s$" % kid)
        self.assertRegex(r.stdout, r"(?m)^lua\s+2 files compile$")
        self.assertRegex(r.stdout, r"(?m)^signature\s+valid$")

        # --out leaves the input alone and refuses to overwrite.
        self.packed("plain.lxp")
        self.ok("sign", self.path("plain.lxp"), "--key", self.path("key.key"),
                "--out", self.path("copy.lxp"))
        self.fails("verify", self.path("plain.lxp"), "--pub", self.path("key.pub"),
                   msg="the bundle is not signed")
        self.ok("verify", self.path("copy.lxp"), "--pub", self.path("key.pub"))
        self.fails("sign", self.path("plain.lxp"), "--key", self.path("key.key"),
                   "--out", self.path("copy.lxp"), msg="--force")

    def test_tampered_byte_fails(self):
        self.keygen()
        out = self.signed()
        with open(out, "rb") as f:
            good = f.read()
        pub = self.path("key.pub")

        # One byte of a Lua file ("greeting" -> "greetinG").
        bundle = json.loads(good)
        lua = base64.b64decode(bundle["files"]["routes/hello.lua"])
        i = lua.index(b"greeting") + 7
        bundle["files"]["routes/hello.lua"] = base64.b64encode(
            lua[:i] + b"G" + lua[i + 1:]).decode()
        with open(out, "w") as f:
            f.write(canonical(bundle))
        self.fails("verify", out, "--pub", pub, msg="signature does not match")

        # One byte of the manifest, in the file as it is.
        i = good.index(b"Says hello.")
        with open(out, "wb") as f:
            f.write(good[:i] + b"s" + good[i + 1:])
        self.fails("verify", out, "--pub", pub, msg="signature does not match")

        # One byte of the signature.
        i = good.index(b'"sig":"') + 7
        with open(out, "wb") as f:
            f.write(good[:i] + (b"B" if good[i:i + 1] == b"A" else b"A") + good[i + 1:])
        self.fails("verify", out, "--pub", pub, msg="signature does not match")

        # Any single byte flipped anywhere is refused.
        for i in range(0, len(good), 37):
            with open(out, "wb") as f:
                f.write(good[:i] + bytes([good[i] ^ 0x01]) + good[i + 1:])
            r = self.cli("verify", out, "--pub", pub)
            self.assertEqual(r.returncode, 1, "byte %d: %s" % (i, r.stdout))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

        with open(out, "wb") as f:
            f.write(good)
        self.ok("verify", out, "--pub", pub)

    def test_wrong_key_and_unsigned(self):
        kid = self.keygen()
        other = self.keygen("other")
        out = self.signed()
        self.fails("verify", out, "--pub", self.path("other.pub"),
                   msg="signed by key %s, not by key %s" % (kid, other))
        unsigned = self.packed("unsigned.lxp")
        self.fails("verify", unsigned, "--pub", self.path("key.pub"),
                   msg="the bundle is not signed")
        # A public key is not a signing key; a readable secret key is refused.
        self.fails("sign", unsigned, "--key", self.path("key.pub"), msg="public key file")
        os.chmod(self.path("key.key"), 0o644)
        self.fails("sign", unsigned, "--key", self.path("key.key"), msg="chmod 600")

    def test_lua_syntax_error(self):
        files = dict(FILES)
        files["routes/hello.lua"] = "return function(req)\n  local x =\n  return 1 end end\n"
        self.write_plugin(self.src, MANIFEST, files)
        out = self.packed()
        self.fails("verify", out, msg="routes/hello.lua: line 3:")

    def test_bad_manifest_and_missing_file(self):
        manifest = json.loads(json.dumps(MANIFEST))
        manifest["routes"][0]["path"] = "hello"
        self.write_plugin(self.src, manifest, FILES)
        self.fails("pack", self.src, "--out", self.path("x.lxp"),
                   msg="manifest.routes[0].path: must start with '/'")
        manifest["routes"][0]["path"] = "/hello"
        manifest["permissions"] = ["docs.read", "root"]
        self.write_plugin(self.src, manifest, FILES)
        self.fails("pack", self.src, "--out", self.path("x.lxp"),
                   msg='manifest.permissions[1]: unknown permission "root"')
        self.write_plugin(self.src, MANIFEST, FILES)
        os.unlink(os.path.join(self.src, "hooks/invoice.lua"))
        self.fails("pack", self.src, "--out", self.path("x.lxp"), msg="hooks/invoice.lua")
        self.assertFalse(os.path.exists(self.path("x.lxp")))
        self.fails("verify", self.path("none.lxp"), msg="cannot read")


if __name__ == "__main__":
    main()
