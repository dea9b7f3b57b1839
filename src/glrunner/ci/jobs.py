"""One job's hash -> JobDefinition(s): keywords checked, `default:` inherited, `parallel` expanded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from glrunner.ci import conditions, extras, fields
from glrunner.ci.durations import parse_duration
from glrunner.ci.images import read_image, read_services
from glrunner.ci.model import (
    WHEN_VALUES,
    ArtifactsDef,
    CacheDef,
    ImageDef,
    JobDefinition,
    Location,
    RetryDef,
    ServiceDef,
    VariableDef,
)
from glrunner.ci.problems import Problems
from glrunner.ci.variables import merge_variables, read_variables
from glrunner.ci.yamltree import Loc, YMap

DEFAULT_KEYS = ("after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens", "image",
                "interruptible", "retry", "services", "tags", "timeout", "identity")
JOB_KEYS = (*DEFAULT_KEYS, "script", "type", "start_in", "dependencies", "environment", "coverage", "parallel",
            "release", "secrets", "extends", "stage", "only", "except", "rules", "variables", "inherit",
            "allow_failure", "when", "needs", "resource_group", "pages", "publish", "dast_configuration",
            "manual_confirmation", "trigger", "run", "inputs")


@dataclass(frozen=True)
class Defaults:
    """`default:` (and the legacy top-level keywords), read once for all jobs."""

    image: ImageDef | None = None
    services: tuple[ServiceDef, ...] = ()
    before_script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    timeout: int | None = None
    interruptible: bool | None = None
    retry: RetryDef | None = None
    cache: tuple[CacheDef, ...] = ()
    artifacts: ArtifactsDef | None = None


def read_defaults(node: YMap, key: str, problems: Problems) -> Defaults:
    """`node` holds default keywords only (unknown ones were reported by the caller)."""
    values: dict[str, Any] = {}
    for name in node:
        if node[name] is not None and name in _READERS:
            values[name] = _READERS[name](node[name], node.key_loc(name), f"{key}.{name}", problems)
    _warn_unsupported(node, key, problems)
    known = {f.name for f in dataclasses.fields(Defaults)}
    return Defaults(**{k: v for k, v in values.items() if k in known})


def read_job(name: str, node: YMap, loc: Loc, defaults: Defaults, problems: Problems) -> list[JobDefinition]:
    """The job (defined at `loc`), or its `parallel` instances; problems recorded, never raised."""
    key = name
    fields.check_keys(node, JOB_KEYS, key, problems)
    _check_unsupported(node, key, problems)
    if node.get("script") is None and "trigger" not in node:
        problems.add(loc, key, "config should implement the script: keyword; add `script:` with the "
                     "commands to run (or hide the job by starting its name with a dot)")
    inherit_default, inherit_variables = _read_inherit(node, key, problems)

    def inherited(keyword: str) -> Any:
        if node.get(keyword) is not None:
            return _READERS[keyword](node[keyword], node.key_loc(keyword), f"{key}.{keyword}", problems)
        allowed = inherit_default is True or (isinstance(inherit_default, tuple) and keyword in inherit_default)
        return getattr(defaults, keyword) if allowed else None

    job = JobDefinition(
        name=name,
        group_name=name,
        stage=_stage(node, key, problems),
        script=_read_script(node, loc, key, problems),
        before_script=inherited("before_script") or (),
        after_script=inherited("after_script") or (),
        image=inherited("image"),
        services=inherited("services") or (),
        tags=inherited("tags") or (),
        timeout=inherited("timeout"),
        interruptible=inherited("interruptible"),
        retry=inherited("retry") or RetryDef(),
        cache=inherited("cache") or (),
        artifacts=inherited("artifacts"),
        variables=_optional(node, "variables", key, problems, read_variables) or (),
        inherit_variables=inherit_variables,
        location=Location(loc.file, loc.line),
        trigger="trigger" in node,
        **_conditions(node, key, problems),
        **_behaviour(node, key, problems),
    )
    return _expand_parallel(job, node, key, problems)


def _read_script(node: YMap, loc: Loc, key: str, problems: Problems) -> tuple[str, ...]:
    if node.get("script") is None:
        return ()
    before = len(problems.items)
    script = fields.commands(node["script"], node.key_loc("script"), f"{key}.script", problems)
    if script == () and len(problems.items) == before:
        problems.add(node.key_loc("script"), f"{key}.script", "can't be blank; add at least one command")
    return script or ()


def _stage(node: YMap, key: str, problems: Problems) -> str:
    for keyword in ("stage", "type"):  # `type` is GitLab's deprecated name for `stage`
        if node.get(keyword) is not None:
            return fields.string(node[keyword], node.key_loc(keyword), f"{key}.{keyword}", problems) or "test"
    return "test"


def _conditions(node: YMap, key: str, problems: Problems) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if node.get("rules") is not None:
        for keyword in ("only", "except", "start_in"):
            if keyword in node:
                problems.add(node.key_loc(keyword), key, f"{keyword} key may not be used with `rules`; "
                             "express the condition as a rule")
        values["rules"] = conditions.read_rules(node["rules"], node.key_loc("rules"), f"{key}.rules", problems)
    for keyword, field in (("only", "only"), ("except", "except_")):
        if node.get(keyword) is not None:
            values[field] = conditions.read_policy(node[keyword], node.key_loc(keyword), f"{key}.{keyword}",
                                                   problems)
    if node.get("needs") is not None:
        values["needs"] = conditions.read_needs(node["needs"], node.key_loc("needs"), f"{key}.needs", problems)
    if node.get("dependencies") is not None:
        loc = node.key_loc("dependencies")
        values["dependencies"] = fields.strings(node["dependencies"], loc, f"{key}.dependencies", problems,
                                                single=False) or ()
    return values


def _behaviour(node: YMap, key: str, problems: Problems) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if node.get("when") is not None:
        values["when"] = fields.one_of(node["when"], node.key_loc("when"), f"{key}.when", WHEN_VALUES,
                                       problems) or "on_success"
    if node.get("start_in") is not None:
        values["start_in"] = fields.string(node["start_in"], node.key_loc("start_in"), f"{key}.start_in",
                                           problems) or ""
    if node.get("allow_failure") is not None:
        allowed, codes = extras.read_allow_failure(node["allow_failure"], node.key_loc("allow_failure"),
                                                   f"{key}.allow_failure", problems)
        values.update(allow_failure=allowed, allow_failure_exit_codes=codes, allow_failure_defined=True)
    for keyword, reader in (("environment", extras.read_environment), ("release", extras.read_release)):
        if node.get(keyword) is not None:
            values[keyword] = reader(node[keyword], node.key_loc(keyword), f"{key}.{keyword}", problems)
    for keyword in ("coverage", "resource_group"):
        if node.get(keyword) is not None:
            values[keyword] = fields.string(node[keyword], node.key_loc(keyword), f"{key}.{keyword}", problems) or ""
    if isinstance(node.get("secrets"), YMap):
        values["secrets"] = tuple(node["secrets"])
    return values


def _optional(node: YMap, keyword: str, key: str, problems: Problems, reader: Any) -> Any:
    if node.get(keyword) is None:
        return None
    return reader(node[keyword], node.key_loc(keyword), f"{key}.{keyword}", problems)


def _read_inherit(node: YMap, key: str, problems: Problems) -> tuple[bool | tuple[str, ...], bool | tuple[str, ...]]:
    if node.get("inherit") is None:
        return True, True
    inherit = fields.mapping(node["inherit"], node.key_loc("inherit"), f"{key}.inherit", problems)
    if inherit is None:
        return True, True
    fields.check_keys(inherit, ("default", "variables"), f"{key}.inherit", problems)
    result: list[bool | tuple[str, ...]] = []
    for keyword in ("default", "variables"):
        value, loc = inherit.get(keyword, True), inherit.key_loc(keyword)
        if isinstance(value, bool):
            result.append(value)
        else:
            result.append(fields.strings(value, loc, f"{key}.inherit.{keyword}", problems, single=False) or ())
    return result[0], result[1]


def _check_unsupported(node: YMap, key: str, problems: Problems) -> None:
    if "trigger" in node:
        problems.warn(node.key_loc("trigger"), key, "trigger: downstream pipelines cannot run locally; the job "
                      "is skipped")
    if "run" in node:
        problems.add(node.key_loc("run"), key, "run: CI/CD steps are not supported by glrunner; use `script:`")
    if "inputs" in node:
        problems.add(node.key_loc("inputs"), key, "inputs: job inputs are not supported by glrunner")
    if node.get("secrets") is not None:
        problems.warn(node.key_loc("secrets"), key, "secrets: external secrets are not fetched locally; pass them "
                      "with --masked-env NAME=VALUE")
    if node.get("when") == "delayed":
        problems.warn(node.key_loc("when"), key, "when: delayed runs without delay locally (as on_success)")
    _warn_unsupported(node, key, problems)


def _warn_unsupported(node: YMap, key: str, problems: Problems) -> None:
    for keyword in ("id_tokens", "hooks", "identity"):
        if node.get(keyword) is not None:
            problems.warn(node.key_loc(keyword), key, f"{keyword}: not supported locally; ignored")


def _expand_parallel(job: JobDefinition, node: YMap, key: str, problems: Problems) -> list[JobDefinition]:
    if node.get("parallel") is None:
        return [job]
    parallel = extras.read_parallel(node["parallel"], node.key_loc("parallel"), f"{key}.parallel", problems)
    if parallel is None:
        return [job]
    if isinstance(parallel, int):
        return [
            dataclasses.replace(job, name=f"{job.name} {index}/{parallel}", node_index=index, node_total=parallel)
            for index in range(1, parallel + 1)
        ]
    total = len(parallel)
    jobs = []
    for index, combination in enumerate(parallel, start=1):
        values = ", ".join(value for _, value in combination)
        matrix_vars = [VariableDef(name, value) for name, value in combination]
        jobs.append(dataclasses.replace(
            job,
            name=f"{job.name}: [{values}]",
            variables=merge_variables(job.variables, matrix_vars),
            node_index=index,
            node_total=total,
        ))
    return jobs


def _read_timeout(value: Any, loc: Loc, key: str, problems: Problems) -> int | None:
    seconds = parse_duration(value) if isinstance(value, str | int | float) else None
    if seconds is None or seconds <= 0:
        problems.add(loc, key, f"{value!s} is not a duration; write it like `1h 30m`, `90 minutes` or `3600`")
        return None
    return seconds


def _read_tags(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[str, ...]:
    return fields.strings(value, loc, key, problems, single=False) or ()


def _read_commands(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[str, ...]:
    return fields.commands(value, loc, key, problems) or ()


def _read_bool(value: Any, loc: Loc, key: str, problems: Problems) -> bool | None:
    return fields.boolean(value, loc, key, problems)


def _ignored(value: Any, loc: Loc, key: str, problems: Problems) -> None:
    return None


_READERS: dict[str, Any] = {
    "image": read_image,
    "services": read_services,
    "before_script": _read_commands,
    "after_script": _read_commands,
    "tags": _read_tags,
    "timeout": _read_timeout,
    "interruptible": _read_bool,
    "retry": extras.read_retry,
    "cache": extras.read_cache,
    "artifacts": extras.read_artifacts,
    "hooks": _ignored,
    "id_tokens": _ignored,
    "identity": _ignored,
}
