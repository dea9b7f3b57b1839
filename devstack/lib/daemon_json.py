#!/usr/bin/python3
"""Merge devstack settings into dockerd's daemon.json without clobbering the rest.

    daemon_json.py FILE mirror URL            add URL to "registry-mirrors"
    daemon_json.py FILE runtime NAME PATH     register runtime NAME and make it the default
    daemon_json.py FILE show KEY              print a key's value as JSON (null if absent)

Prints "changed" or "unchanged"; writes atomically; exits 1 (with file:line) on a file that is not JSON.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any


def load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"{path}:{e.lineno}: not valid JSON ({e.msg}); fix or remove it and re-run devstack/up")
    if not isinstance(data, dict):
        sys.exit(f"{path}: expected a JSON object at the top level")
    return data


def save(path: str, data: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".daemon.json.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def add_mirror(data: dict[str, Any], url: str) -> None:
    mirrors = data.setdefault("registry-mirrors", [])
    if url not in mirrors:
        mirrors.append(url)


def set_runtime(data: dict[str, Any], name: str, path: str) -> None:
    data.setdefault("runtimes", {})[name] = {"path": path}
    data["default-runtime"] = name


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, action, args = argv[1], argv[2], argv[3:]
    data = load(path)
    if action == "show":
        print(json.dumps(data.get(args[0])))
        return 0
    before = json.dumps(data, sort_keys=True)
    if action == "mirror" and len(args) == 1:
        add_mirror(data, args[0])
    elif action == "runtime" and len(args) == 2:
        set_runtime(data, args[0], args[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if json.dumps(data, sort_keys=True) == before:
        print("unchanged")
    else:
        save(path, data)
        print("changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
