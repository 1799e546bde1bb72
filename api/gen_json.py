#!/usr/bin/env python3
"""Regenerates api/openapi.json from api/openapi.yaml (the source of truth).

    python3 api/gen_json.py          # write api/openapi.json
    python3 api/gen_json.py --check  # exit 1 if openapi.json is stale
"""
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def render():
    with open(os.path.join(HERE, "openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main():
    out = os.path.join(HERE, "openapi.json")
    text = render()
    if "--check" in sys.argv:
        with open(out) as f:
            if f.read() != text:
                print("api/openapi.json is stale: run python3 api/gen_json.py", file=sys.stderr)
                return 1
        return 0
    with open(out, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
