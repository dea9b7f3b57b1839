"""Readers for the job keywords glrunner passes on without running logic of its own:
`cache`, `artifacts`, `retry`, `environment`, `release`, `allow_failure`, `parallel`."""

from __future__ import annotations

from typing import Any

from glrunner.ci import fields
from glrunner.ci.model import ArtifactReport, ArtifactsDef, CacheDef, EnvironmentDef, ReleaseDef, RetryDef
from glrunner.ci.problems import Problems
from glrunner.ci.yamltree import Loc, YMap, YSeq, ruby_to_s

MAX_CACHES = 4
MAX_PARALLEL = 200
ARTIFACT_WHEN = ("on_success", "on_failure", "always")
CACHE_POLICIES = ("pull", "push", "pull-push")
_CACHE_KEYS = ("key", "paths", "untracked", "policy", "when", "fallback_keys", "unprotect")
_ARTIFACT_KEYS = ("name", "paths", "exclude", "untracked", "when", "expire_in", "expose_as", "reports",
                  "public", "access")
_ENVIRONMENT_KEYS = ("name", "url", "action", "deployment_tier", "on_stop", "auto_stop_in", "kubernetes")


def read_cache(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[CacheDef, ...]:
    if isinstance(value, YSeq):
        items = fields.flatten(value)
        if len(items) > MAX_CACHES:
            problems.add(loc, key, f"has {len(items)} caches; GitLab allows at most {MAX_CACHES}")
        caches = (_read_one_cache(v, item_loc, f"{key}[{i}]", problems) for i, (v, item_loc) in enumerate(items))
        return tuple(c for c in caches if c is not None)
    cache = _read_one_cache(value, loc, key, problems)
    return (cache,) if cache is not None else ()


def _read_one_cache(value: Any, loc: Loc, key: str, problems: Problems) -> CacheDef | None:
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, _CACHE_KEYS, key, problems)
    cache_key, key_prefix = "default", ""
    key_files: tuple[str, ...] = ()
    if "key" in node:
        raw, key_loc = node["key"], node.key_loc("key")
        if isinstance(raw, YMap):
            fields.check_keys(raw, ("files", "prefix"), f"{key}.key", problems)
            key_files = fields.strings(raw.get("files"), raw.key_loc("files"), f"{key}.key.files", problems) or ()
            if "prefix" in raw:
                key_prefix = fields.string(raw["prefix"], raw.key_loc("prefix"), f"{key}.key.prefix", problems) or ""
            cache_key = ""
        else:
            cache_key = fields.string(raw, key_loc, f"{key}.key", problems, numbers=True) or "default"
    return CacheDef(
        key=cache_key,
        key_files=key_files,
        key_prefix=key_prefix,
        paths=_strings(node, "paths", key, problems),
        untracked=_bool(node, "untracked", key, problems),
        policy=_choice(node, "policy", key, CACHE_POLICIES, "pull-push", problems),
        when=_choice(node, "when", key, ARTIFACT_WHEN, "on_success", problems),
        fallback_keys=_strings(node, "fallback_keys", key, problems),
        unprotect=_bool(node, "unprotect", key, problems),
    )


def read_artifacts(value: Any, loc: Loc, key: str, problems: Problems) -> ArtifactsDef | None:
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, _ARTIFACT_KEYS, key, problems)
    reports: list[ArtifactReport] = []
    if "reports" in node:
        report_node = fields.mapping(node["reports"], node.key_loc("reports"), f"{key}.reports", problems)
        reports = _reports(report_node, f"{key}.reports", problems) if report_node is not None else []
    return ArtifactsDef(
        name=_string(node, "name", key, problems),
        paths=_strings(node, "paths", key, problems),
        exclude=_strings(node, "exclude", key, problems),
        untracked=_bool(node, "untracked", key, problems),
        when=_choice(node, "when", key, ARTIFACT_WHEN, "on_success", problems),
        expire_in=_string(node, "expire_in", key, problems),
        expose_as=_string(node, "expose_as", key, problems),
        reports=tuple(reports),
    )


def _reports(node: YMap, key: str, problems: Problems) -> list[ArtifactReport]:
    reports: list[ArtifactReport] = []
    for kind, paths in node.items():
        if isinstance(paths, str | YSeq):  # hash-valued reports (coverage_report) carry no paths list
            found = fields.strings(paths, node.key_loc(kind), f"{key}.{kind}", problems) or ()
            reports.append(ArtifactReport(kind, found))
    return reports


def read_retry(value: Any, loc: Loc, key: str, problems: Problems) -> RetryDef:
    if not isinstance(value, YMap):
        count = fields.integer(value, loc, key, problems, 0, 2)
        return RetryDef(max=count or 0)
    fields.check_keys(value, ("max", "when", "exit_codes"), key, problems)
    count = 0
    if "max" in value:
        count = fields.integer(value["max"], value.key_loc("max"), f"{key}.max", problems, 0, 2) or 0
    when: tuple[str, ...] = ("always",)
    if "when" in value:  # failure reasons: GitLab adds new ones, so any name is accepted
        when = fields.strings(value["when"], value.key_loc("when"), f"{key}.when", problems) or ()
    exit_codes = read_exit_codes(value, "exit_codes", key, problems)
    return RetryDef(max=count, when=when, exit_codes=exit_codes)


def read_exit_codes(node: YMap, name: str, key: str, problems: Problems) -> tuple[int, ...]:
    if name not in node:
        return ()
    value, loc = node[name], node.key_loc(name)
    items = fields.flatten(value) if isinstance(value, YSeq) else [(value, loc)]
    codes = [fields.integer(v, item_loc, f"{key}.{name}", problems, 0, 255) for v, item_loc in items]
    return tuple(c for c in codes if c is not None)


def read_allow_failure(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[bool, tuple[int, ...]]:
    """(allowed, exit codes): `true`/`false`, or `exit_codes:` (allowed only for those codes)."""
    if isinstance(value, YMap):
        fields.check_keys(value, ("exit_codes",), key, problems)
        return False, read_exit_codes(value, "exit_codes", key, problems)
    return fields.boolean(value, loc, key, problems) is True, ()


def read_environment(value: Any, loc: Loc, key: str, problems: Problems) -> EnvironmentDef | None:
    if isinstance(value, str):
        return EnvironmentDef(name=value)
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, _ENVIRONMENT_KEYS, key, problems)
    name = _string(node, "name", key, problems)
    if not name:
        problems.add(node.loc, key, "config is missing the environment `name:`")
        return None
    action = _choice(node, "action", key, ("start", "prepare", "stop", "verify", "access"), "start", problems)
    return EnvironmentDef(
        name=name,
        url=_string(node, "url", key, problems),
        action=action,
        deployment_tier=_string(node, "deployment_tier", key, problems),
        on_stop=_string(node, "on_stop", key, problems),
        auto_stop_in=_string(node, "auto_stop_in", key, problems),
    )


def read_release(value: Any, loc: Loc, key: str, problems: Problems) -> ReleaseDef | None:
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    tag_name = _string(node, "tag_name", key, problems)
    if not tag_name:
        problems.add(node.loc, key, "config is missing `tag_name:`")
        return None
    return ReleaseDef(tag_name=tag_name, description=_string(node, "description", key, problems),
                      name=_string(node, "name", key, problems), ref=_string(node, "ref", key, problems))


def read_parallel(value: Any, loc: Loc, key: str, problems: Problems) -> int | list[list[tuple[str, str]]] | None:
    """A count, or the matrix as a list of variable combinations (in GitLab's order)."""
    if not isinstance(value, YMap):
        return fields.integer(value, loc, key, problems, 1, MAX_PARALLEL)
    fields.check_keys(value, ("matrix",), key, problems)
    if "matrix" not in value:
        problems.add(loc, key, "config should be a number or have `matrix:`")
        return None
    matrix, matrix_loc = value["matrix"], value.key_loc("matrix")
    if not isinstance(matrix, YSeq):
        problems.add(matrix_loc, f"{key}.matrix", "should be an array of hashes of variables")
        return None
    combinations: list[list[tuple[str, str]]] = []
    for index, (entry, entry_loc) in enumerate(fields.flatten(matrix)):
        combinations.extend(_matrix_entry(entry, entry_loc, f"{key}.matrix[{index}]", problems))
    if len(combinations) > MAX_PARALLEL:
        problems.add(matrix_loc, f"{key}.matrix",
                     f"makes {len(combinations)} jobs; GitLab allows at most {MAX_PARALLEL}")
        return None
    return combinations


def _matrix_entry(value: Any, loc: Loc, key: str, problems: Problems) -> list[list[tuple[str, str]]]:
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return []
    combinations: list[list[tuple[str, str]]] = [[]]
    for name, values in node.items():
        if isinstance(values, int | float) and not isinstance(values, bool):
            found: tuple[str, ...] = (ruby_to_s(values),)
        else:
            found = fields.strings(values, node.key_loc(name), f"{key}.{name}", problems, numbers=True) or ()
        combinations = [[*combo, (name, item)] for combo in combinations for item in found]
    return combinations


def _string(node: YMap, name: str, key: str, problems: Problems) -> str:
    if name not in node:
        return ""
    return fields.string(node[name], node.key_loc(name), f"{key}.{name}", problems, numbers=True) or ""


def _strings(node: YMap, name: str, key: str, problems: Problems) -> tuple[str, ...]:
    if name not in node:
        return ()
    return fields.strings(node[name], node.key_loc(name), f"{key}.{name}", problems) or ()


def _bool(node: YMap, name: str, key: str, problems: Problems) -> bool:
    if name not in node:
        return False
    return fields.boolean(node[name], node.key_loc(name), f"{key}.{name}", problems) is True


def _choice(node: YMap, name: str, key: str, allowed: tuple[str, ...], default: str, problems: Problems) -> str:
    if name not in node:
        return default
    return fields.one_of(node[name], node.key_loc(name), f"{key}.{name}", allowed, problems) or default
