#!/usr/bin/env python3
"""The contract test: api/openapi.yaml, api/openapi.json, the document
embedded in the binary and the routes the modules register must agree.

Fails when a registered route is missing from the spec, when the spec names
a route that does not exist, when openapi.json is stale, when the binary
embeds an old document, or when a $ref does not resolve.
"""
import json
import os
import subprocess
import sys
import unittest

import yaml

SOURCE = os.environ.get("LUXIMA_SOURCE", os.getcwd())
BIN = os.environ.get("LUXIMA_BIN", os.path.join(SOURCE, "build", "luxima"))
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def load_yaml():
    with open(os.path.join(SOURCE, "api", "openapi.yaml")) as f:
        return yaml.safe_load(f)


def spec_routes(doc):
    out = set()
    for path, item in doc["paths"].items():
        for m in item:
            if m in METHODS:
                out.add((m.upper(), path))
    return out


def registered_routes():
    p = subprocess.run([BIN, "openapi", "routes"], capture_output=True, text=True, check=True)
    out = set()
    for line in p.stdout.splitlines():
        method, path, _module, _need = line.split(" ")
        out.add((method, path))
    return out


def walk_refs(node, found):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                found.append(v)
            else:
                walk_refs(v, found)
    elif isinstance(node, list):
        for v in node:
            walk_refs(v, found)


class OpenAPIContract(unittest.TestCase):
    def setUp(self):
        self.doc = load_yaml()

    def test_routes_match_spec(self):
        spec = spec_routes(self.doc)
        routes = registered_routes()
        self.assertTrue(routes, "no routes registered")
        # HEAD is implied by GET and OPTIONS answers CORS preflight for every
        # route; they are documented only where a route declares them.
        implied = {(m, p) for (m, p) in routes if m in ("HEAD", "OPTIONS")}
        missing = sorted((routes - implied) - spec)
        extra = sorted(spec - routes)
        self.assertEqual(missing, [], "routes registered but missing from api/openapi.yaml")
        self.assertEqual(extra, [], "routes in api/openapi.yaml that no module registers")

    def test_json_is_generated_from_yaml(self):
        with open(os.path.join(SOURCE, "api", "openapi.json")) as f:
            self.assertEqual(json.load(f), self.doc,
                             "api/openapi.json is stale: run python3 api/gen_json.py")

    def test_binary_embeds_current_document(self):
        p = subprocess.run([BIN, "openapi"], capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(p.stdout), self.doc,
                         "the binary embeds an old openapi.json: rebuild")

    def test_document_shape(self):
        d = self.doc
        self.assertEqual(d["openapi"], "3.1.0")
        for k in ("title", "version"):
            self.assertIn(k, d["info"])
        ids = []
        for path, item in d["paths"].items():
            self.assertTrue(path.startswith("/"), path)
            for m, op in item.items():
                if m not in METHODS:
                    continue
                self.assertIn("operationId", op, "%s %s" % (m, path))
                self.assertIn("responses", op, "%s %s" % (m, path))
                ids.append(op["operationId"])
                params = [s[1:-1] for s in path.split("/") if s.startswith("{")]
                declared = [p["name"] for p in op.get("parameters", []) + item.get("parameters", [])
                            if isinstance(p, dict) and p.get("in") == "path"]
                for p in params:
                    self.assertIn(p, declared, "%s %s: path parameter {%s} undeclared" % (m, path, p))
        self.assertEqual(len(ids), len(set(ids)), "duplicate operationId")

    def test_refs_resolve(self):
        refs = []
        walk_refs(self.doc, refs)
        for ref in refs:
            self.assertTrue(ref.startswith("#/"), ref)
            node = self.doc
            for part in ref[2:].split("/"):
                self.assertIn(part, node, "unresolved $ref " + ref)
                node = node[part]


if __name__ == "__main__":
    unittest.main(verbosity=2)
