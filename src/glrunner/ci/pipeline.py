""".gitlab-ci.yml text -> Pipeline: compose (include, extends, !reference), read, cross-check jobs.

Pure: included files come from a `read` callable. Every problem is collected before one
CIConfigError is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from glrunner.ci import fields
from glrunner.ci.compose import ReadInclude, resolve_extends, resolve_includes, resolve_references
from glrunner.ci.conditions import read_workflow
from glrunner.ci.jobs import DEFAULT_KEYS, Defaults, read_defaults, read_job
from glrunner.ci.model import JobDefinition, Pipeline, VariableDef, WorkflowDef
from glrunner.ci.problems import Problems, suggest
from glrunner.ci.variables import GLOBAL_DATA_KEYS, read_variables
from glrunner.ci.yamltree import Loc, YMap, parse_yaml

LEGACY_GLOBAL_KEYS = ("image", "services", "before_script", "after_script", "cache")
RESERVED_KEYS = ("default", "include", "variables", "stages", "workflow", "types", *LEGACY_GLOBAL_KEYS)
DEFAULT_STAGES = ("build", "test", "deploy")
MAX_JOB_NAME = 255


def parse_pipeline(text: str, filename: str = ".gitlab-ci.yml", *, includes: Mapping[str, str] | None = None
                   ) -> Pipeline:
    """The validated pipeline; CIConfigError listing every problem found. `includes`: path -> text."""
    files = dict(includes or {})
    return compose_pipeline(text, filename, lambda path: files.get(path, files.get("/" + path)))


def compose_pipeline(text: str, filename: str, read: ReadInclude) -> Pipeline:
    problems = Problems()
    root = parse_yaml(text, filename, problems)
    if root is None:
        if not problems:
            problems.add(Loc(filename, 1), "", "the file is empty; add at least one job with a `script:`")
        problems.raise_if_any()
    if not isinstance(root, YMap):
        problems.add(Loc(filename, 1), "", "Invalid configuration format: the top level must be a mapping of "
                     "keywords and jobs")
        problems.raise_if_any()
    root = resolve_includes(root, read, problems)
    root = resolve_extends(root, problems)
    root = resolve_references(root, problems)
    pipeline = _read_root(root, filename, problems)
    problems.raise_if_any()
    return pipeline


def _read_root(root: YMap, filename: str, problems: Problems) -> Pipeline:
    stages = _read_stages(root, problems)
    variables: tuple[VariableDef, ...] = ()
    if root.get("variables") is not None:
        variables = read_variables(root["variables"], root.key_loc("variables"), "variables", problems,
                                   data_keys=GLOBAL_DATA_KEYS)
    workflow = WorkflowDef()
    if root.get("workflow") is not None:
        workflow = read_workflow(root["workflow"], root.key_loc("workflow"), problems)
    defaults = _read_defaults(root, problems)
    jobs, nodes = _read_jobs(root, stages, defaults, problems)
    if not jobs and not problems:
        problems.add(root.loc, "jobs", "config should contain at least one visible job; a job is a top-level "
                     "hash with a `script:`, and names starting with '.' are hidden")
    _check_needs(jobs, nodes, stages, problems)
    return Pipeline(
        stages=stages,
        jobs=MappingProxyType(jobs),
        variables=variables,
        workflow=workflow,
        config_path=filename,
        warnings=tuple(problems.warnings),
    )


def _read_stages(root: YMap, problems: Problems) -> tuple[str, ...]:
    keyword = "stages" if "stages" in root or "types" not in root else "types"
    stages: tuple[str, ...] = DEFAULT_STAGES
    if root.get(keyword) is not None:
        stages = fields.strings(root[keyword], root.key_loc(keyword), keyword, problems, single=False) or ()
    if ".pre" not in stages:
        stages = (".pre", *stages)
    if ".post" not in stages:
        stages = (*stages, ".post")
    return tuple(dict.fromkeys(stages))


def _read_defaults(root: YMap, problems: Problems) -> Defaults:
    node = YMap(root.loc)
    if root.get("default") is not None:
        default = fields.mapping(root["default"], root.key_loc("default"), "default", problems)
        if default is not None:
            fields.check_keys(default, (*DEFAULT_KEYS, "extends"), "default", problems)
            for key in DEFAULT_KEYS:
                if key in default:
                    node.put(key, default[key], default.key_loc(key))
    for key in LEGACY_GLOBAL_KEYS:
        if root.get(key) is None:
            continue
        if key in node:
            problems.add(root.key_loc(key), key, f"is defined both at the top level and in `default:`; keep only "
                         f"`default:{key}`")
        else:
            node.put(key, root[key], root.key_loc(key))
    return read_defaults(node, "default", problems)


def _read_jobs(
    root: YMap, stages: tuple[str, ...], defaults: Defaults, problems: Problems
) -> tuple[dict[str, JobDefinition], dict[str, YMap]]:
    jobs: dict[str, JobDefinition] = {}
    nodes: dict[str, YMap] = {}
    for name, value in root.items():
        if name in RESERVED_KEYS or name.startswith("."):
            continue
        loc = root.key_loc(name)
        if not isinstance(value, YMap):
            hint = suggest(name, RESERVED_KEYS) or "; a job is a hash of keywords with at least `script:`"
            problems.add(loc, name, f"config should be a hash of job keywords, not {fields.describe(value)}{hint}")
            continue
        if len(name) > MAX_JOB_NAME:
            problems.add(loc, name[:40] + "...", f"the job name is longer than {MAX_JOB_NAME} characters")
        for job in read_job(name, value, loc, defaults, problems):
            if job.name in jobs:
                problems.add(loc, job.name, "a job with this name already exists (from `parallel`?); rename one")
            jobs[job.name] = job
            nodes[job.name] = value
        _check_stage(name, value, loc, stages, problems)
    return jobs, nodes


def _check_stage(name: str, node: YMap, loc: Loc, stages: tuple[str, ...], problems: Problems) -> None:
    keyword = "stage" if "stage" in node else "type"
    stage = node.get(keyword, "test")
    if isinstance(stage, str) and stage not in stages:
        problems.add(node.key_loc(keyword) if keyword in node else loc, name,
                     f"chosen stage {stage} does not exist; available stages are {', '.join(stages)}"
                     f"{suggest(stage, stages)}")


def _check_needs(
    jobs: Mapping[str, JobDefinition], nodes: Mapping[str, YMap], stages: tuple[str, ...], problems: Problems
) -> None:
    groups: dict[str, list[str]] = {}
    for job in jobs.values():
        groups.setdefault(job.group_name, []).append(job.name)
    order = {stage: index for index, stage in enumerate(stages)}
    for job in jobs.values():
        node = nodes[job.name]
        for need in job.needs or ():
            targets = [jobs[n] for n in groups.get(need.job, [need.job] if need.job in jobs else [])]
            loc = node.key_loc("needs")
            if not targets and not need.optional:
                fix = suggest(need.job, groups) or "; define it or mark the need `optional: true`"
                problems.add(loc, job.group_name, f"needs '{need.job}', but '{need.job}' does not exist in the "
                             f"pipeline{fix}")
            for target in targets:
                if order.get(target.stage, 0) > order.get(job.stage, 0):
                    problems.add(loc, job.group_name, f"need {need.job} is not defined in current or prior stages "
                                 f"('{target.stage}' comes after '{job.stage}')")
        _check_dependencies(job, node, groups, jobs, order, problems)


def _check_dependencies(
    job: JobDefinition, node: YMap, groups: Mapping[str, list[str]], jobs: Mapping[str, JobDefinition],
    order: Mapping[str, int], problems: Problems,
) -> None:
    loc = node.key_loc("dependencies")
    needed = {n.job for n in job.needs or ()}
    for dependency in job.dependencies or ():
        targets = [jobs[n] for n in groups.get(dependency, [dependency] if dependency in jobs else [])]
        if not targets:
            problems.add(loc, job.group_name, f"undefined dependency: {dependency}{suggest(dependency, groups)}")
        elif any(order.get(t.stage, 0) >= order.get(job.stage, 0) for t in targets):
            problems.add(loc, job.group_name, f"dependency {dependency} is not defined in prior stages")
        if job.needs is not None and dependency not in needed:
            problems.add(loc, job.group_name, f"dependencies: the {dependency} should be part of needs")
