"""Composing the raw configuration as GitLab does, in its order: `include` -> `extends` -> `!reference`.

All three work on the located tree (`yamltree`), so problems keep their file and line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glrunner.ci.problems import Problems
from glrunner.ci.yamltree import Loc, Reference, YMap, YSeq, parse_yaml

MAX_INCLUDES = 150  # GitLab's limit of included files per pipeline
MAX_INCLUDE_DEPTH = 100
MAX_EXTENDS_LEVELS = 10
MAX_REFERENCE_LEVELS = 10

ReadInclude = Callable[[str], "str | None"]

_REMOTE_KINDS = ("remote", "project", "template", "component", "artifact")
_INCLUDE_KEYS = {"local", "file", "ref", "rules", "inputs", "integrity", "cache", *_REMOTE_KINDS}


def deep_merge(base: YMap, over: YMap) -> YMap:
    """Rails' `deep_merge`: hashes merge key by key, anything else (lists too) is replaced.

    Keys keep the order of `base`; keys only in `over` follow in their order.
    """
    result = YMap(over.loc)
    for key, value in base.items():
        if key not in over:
            result.put(key, value, base.key_loc(key))
            continue
        new = over[key]
        if isinstance(value, YMap) and isinstance(new, YMap):
            new = deep_merge(value, new)
        result.put(key, new, over.key_loc(key))
    for key, value in over.items():
        if key not in base:
            result.put(key, value, over.key_loc(key))
    return result


# --- include -----------------------------------------------------------------------------------


class _IncludeState:
    def __init__(self, read: ReadInclude, problems: Problems) -> None:
        self.read = read
        self.problems = problems
        self.seen: set[str] = set()


def resolve_includes(root: YMap, read: ReadInclude, problems: Problems) -> YMap:
    """`root` with its `include:` files merged in: included files first, then `root` on top."""
    return _resolve_includes(root, _IncludeState(read, problems), 0)


def _resolve_includes(root: YMap, state: _IncludeState, depth: int) -> YMap:
    if "include" not in root:
        return root
    loc = root.key_loc("include")
    merged = YMap(root.loc)
    for path, item_loc in _local_paths(root["include"], loc, state.problems):
        tree = _load_include(path, item_loc, state, depth)
        if tree is not None:
            merged = deep_merge(merged, tree)
    rest = YMap(root.loc)
    for key, value in root.items():
        if key != "include":
            rest.put(key, value, root.key_loc(key))
    return deep_merge(merged, rest)


def _load_include(path: str, loc: Loc, state: _IncludeState, depth: int) -> YMap | None:
    problems = state.problems
    if path in state.seen:
        return None  # already included: once is enough
    if len(state.seen) >= MAX_INCLUDES or depth >= MAX_INCLUDE_DEPTH:
        problems.add(loc, "include", f"too many includes (at most {MAX_INCLUDES} files, {MAX_INCLUDE_DEPTH} levels)")
        return None
    state.seen.add(path)
    if not path.endswith((".yml", ".yaml")):
        problems.add(loc, "include", f"Included file `{path}` does not have YAML extension! Rename it to .yml")
        return None
    if any(ch in path for ch in "*?[") or ".." in path.split("/"):
        problems.add(
            loc, "include", f"local: `{path}`: wildcards and '..' are not supported; name each file in the project"
        )
        return None
    text = state.read(path)
    if text is None:
        problems.add(loc, "include", f"Local file `{path}` does not exist! The path is relative to the project root")
        return None
    tree = parse_yaml(text, path, problems)
    if tree is None:
        if not problems:
            problems.add(Loc(path, 1), "", f"Included file `{path}` is empty")
        return None
    if not isinstance(tree, YMap):
        problems.add(Loc(path, 1), "", f"Included file `{path}` does not have valid YAML syntax! It must be a mapping")
        return None
    return _resolve_includes(tree, state, depth + 1)


def _local_paths(value: Any, loc: Loc, problems: Problems) -> list[tuple[str, Loc]]:
    is_list = isinstance(value, YSeq)
    items = [(item, value.item_loc(i)) for i, item in enumerate(value)] if is_list else [(value, loc)]
    paths: list[tuple[str, Loc]] = []
    for item, item_loc in items:
        path = _local_path(item, item_loc, problems)
        if path is not None:
            paths.append((path.lstrip("/"), item_loc))
    return paths


def _local_path(item: Any, loc: Loc, problems: Problems) -> str | None:
    if isinstance(item, str):
        if item.startswith(("http://", "https://")):
            _not_offline(loc, "remote", item, problems)
            return None
        return item
    if not isinstance(item, YMap):
        problems.add(loc, "include", "should be a file path, a `local:` hash or a list of them")
        return None
    for key in item:
        if key not in _INCLUDE_KEYS:
            problems.add(item.key_loc(key), "include", f"config contains unknown keys: {key}")
    for kind in _REMOTE_KINDS:
        if kind in item:
            _not_offline(item.key_loc(kind), kind, item[kind], problems)
            return None
    if "inputs" in item:
        problems.add(item.key_loc("inputs"), "include", "`inputs` are not supported by glrunner; remove them")
    if "rules" in item:
        problems.warn(item.key_loc("rules"), "include", "`rules` are not evaluated locally; the file is included")
    local = item.get("local")
    if not isinstance(local, str) or not local:
        problems.add(loc, "include", "needs `local: path/to/file.yml`")
        return None
    return local


def _not_offline(loc: Loc, kind: str, what: Any, problems: Problems) -> None:
    problems.add(
        loc,
        f"include:{kind}",
        f"{what!s} cannot be included: glrunner runs offline; copy the file into the project and use "
        "`include: local:`",
    )


# --- extends -----------------------------------------------------------------------------------


def resolve_extends(root: YMap, problems: Problems) -> YMap:
    """Every top-level hash with `extends:` deep-merged onto its bases, as GitLab's Extendable does."""
    done: dict[str, YMap] = {}
    result = YMap(root.loc)
    for key, value in root.items():
        if isinstance(value, YMap) and "extends" in value:
            value = _extend(key, root, done, (), problems)
        result.put(key, value, root.key_loc(key))
    return result


def _extend(key: str, root: YMap, done: dict[str, YMap], ancestors: tuple[str, ...], problems: Problems) -> YMap:
    value: YMap = root[key]
    if key in done:
        return done[key]
    if "extends" not in value:
        return value
    loc = value.key_loc("extends")
    bases = _extends_names(value["extends"], loc, key, problems)
    unknown = [b for b in bases if b not in root]
    invalid = [b for b in bases if b in root and not isinstance(root[b], YMap)]
    if unknown:
        problems.add(loc, key, f"unknown keys in `extends` ({', '.join(unknown)}); define them or fix the names")
    if invalid:
        problems.add(loc, key, f"invalid base hashes in `extends` ({', '.join(invalid)}); they must be mappings")
    if len(ancestors) > MAX_EXTENDS_LEVELS:
        problems.add(loc, key, f"nesting too deep in `extends` (at most {MAX_EXTENDS_LEVELS} levels)")
    if key in ancestors:
        problems.add(loc, key, f"circular dependency detected in `extends` ({' -> '.join((*ancestors, key))})")
    if unknown or invalid or key in ancestors or len(ancestors) > MAX_EXTENDS_LEVELS:
        return value
    merged = YMap(value.loc)
    for base in bases:
        merged = deep_merge(merged, _extend(base, root, done, (*ancestors, key), problems))
    done[key] = deep_merge(merged, value)
    return done[key]


def _extends_names(value: Any, loc: Loc, key: str, problems: Problems) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, YSeq) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.add(loc, f"{key}.extends", "should be a job name or a list of job names")
    return []


# --- !reference --------------------------------------------------------------------------------


def resolve_references(root: YMap, problems: Problems) -> YMap:
    resolver = _References(root, problems)
    resolved = resolver.walk(root, 0)
    assert isinstance(resolved, YMap)
    return resolved


class _References:
    def __init__(self, root: YMap, problems: Problems) -> None:
        self.root = root
        self.problems = problems
        self.active: set[tuple[str, ...]] = set()

    def walk(self, value: Any, level: int) -> Any:
        if isinstance(value, Reference):
            return self.resolve(value, level)
        if isinstance(value, YMap):
            out = YMap(value.loc)
            for key, item in value.items():
                out.put(key, self.walk(item, level), value.key_loc(key))
            return out
        if isinstance(value, YSeq):
            seq = YSeq(value.loc)
            for index, item in enumerate(value):
                resolved = self.walk(item, level)
                if resolved is not None or not isinstance(item, Reference):  # a failed one is reported
                    seq.push(resolved, value.item_loc(index))
            return seq
        return value

    def resolve(self, ref: Reference, level: int) -> Any:
        shown = "!reference [" + ", ".join(f'"{p}"' for p in ref.path) + "]"
        if level >= MAX_REFERENCE_LEVELS:
            self.problems.add(ref.loc, "", f"{shown} is nested too deep (at most {MAX_REFERENCE_LEVELS} levels)")
            return None
        if ref.path in self.active:
            self.problems.add(ref.loc, "", f"{shown} is part of a circular chain")
            return None
        target: Any = self.root
        for part in ref.path:
            if not isinstance(target, YMap) or part not in target:
                self.problems.add(ref.loc, "", f"{shown} could not be found; check the job and key names")
                return None
            target = target[part]
        if target is None:  # GitLab: a reference to nothing is missing
            self.problems.add(ref.loc, "", f"{shown} could not be found; check the job and key names")
            return None
        self.active.add(ref.path)
        try:
            return self.walk(target, level + 1)
        finally:
            self.active.discard(ref.path)
