"""Pipeline -> PipelinePlan: which jobs run, stage by stage, after rules/when/only/except."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from glrunner.ci.context import PipelineContext
from glrunner.ci.evaluate import Decision, decide_job, decide_workflow
from glrunner.ci.model import JobDefinition, Pipeline, VariableDef
from glrunner.ci.predefined import (
    as_lookup,
    global_yaml_variables,
    job_predefined,
    job_yaml_variables,
    pipeline_predefined,
    project_predefined,
    user_predefined,
    yaml_to_job_variables,
)
from glrunner.ci.variables import expand
from glrunner.errors import CIConfigError, Problem, UsageError


@dataclass(frozen=True)
class PlannedJob:
    name: str
    stage: str
    when: str  # on_success, on_failure or always (a named manual job runs as on_success)
    allow_failure: bool = False
    allow_failure_exit_codes: tuple[int, ...] = ()  # allowed to fail only with these exit codes
    needs: tuple[str, ...] | None = None  # planned jobs it waits for; None: the whole previous stage
    manual: bool = False  # a `when: manual` job run because it was named
    delayed: bool = False  # `when: delayed`, run without waiting


@dataclass(frozen=True)
class PlannedStage:
    name: str
    jobs: tuple[PlannedJob, ...]


@dataclass(frozen=True)
class PipelinePlan:
    stages: tuple[PlannedStage, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (job, reason)
    workflow_blocked: str = ""  # why no pipeline at all (workflow:rules), else ""
    pipeline_name: str = ""  # workflow:name, expanded
    warnings: tuple[str, ...] = ()

    @property
    def jobs(self) -> tuple[PlannedJob, ...]:
        return tuple(job for stage in self.stages for job in stage.jobs)


@dataclass(frozen=True)
class WorkflowResult:
    decision: Decision
    global_variables: tuple[VariableDef, ...]
    pipeline_name: str


def evaluate_workflow(pipeline: Pipeline, ctx: PipelineContext) -> WorkflowResult:
    base = project_predefined(ctx) + pipeline_predefined(ctx, "")
    extra = list(ctx.extra_variables)
    lookup = as_lookup(base + yaml_to_job_variables(pipeline.variables) + user_predefined(ctx) + extra)
    decision = decide_workflow(pipeline.workflow, lookup, ctx)
    global_variables = global_yaml_variables(pipeline, decision.variables)
    lookup = as_lookup(base + yaml_to_job_variables(global_variables) + user_predefined(ctx) + extra)
    return WorkflowResult(decision, global_variables, expand(pipeline.workflow.name, lookup))


def evaluate_job(pipeline: Pipeline, job: JobDefinition, ctx: PipelineContext, workflow: WorkflowResult
                 ) -> Decision:
    """The job's decision, with the variables GitLab offers to `rules:` (no persisted ones)."""
    variables = (
        job_predefined(job, job.when)
        + project_predefined(ctx)
        + pipeline_predefined(ctx, workflow.pipeline_name)
        + yaml_to_job_variables(job_yaml_variables(job, workflow.global_variables))
        + user_predefined(ctx)
        + list(ctx.extra_variables)
    )
    has_workflow_rules = pipeline.workflow.rules is not None
    return decide_job(job, as_lookup(variables), ctx, has_workflow_rules=has_workflow_rules)


def find_jobs(pipeline: Pipeline, names: Sequence[str]) -> list[JobDefinition]:
    """The jobs named (a `parallel` job by its own name means all its instances); UsageError otherwise."""
    unknown = [n for n in names if n not in pipeline.jobs and not _group(pipeline, n)]
    if unknown:
        known = ", ".join(_display_names(pipeline)) or "(none)"
        raise UsageError(f"{pipeline.config_path}: no job named {', '.join(repr(n) for n in unknown)}; "
                         f"the jobs are: {known}")
    wanted = set(names)
    return [job for job in pipeline.jobs.values() if job.name in wanted or job.group_name in wanted]


def _group(pipeline: Pipeline, name: str) -> bool:
    return any(job.group_name == name for job in pipeline.jobs.values())


def _display_names(pipeline: Pipeline) -> list[str]:
    return list(dict.fromkeys(job.group_name if job.node_total > 1 else job.name for job in pipeline.jobs.values()))


def plan_pipeline(pipeline: Pipeline, ctx: PipelineContext, selected: Sequence[str] = ()) -> PipelinePlan:
    chosen = {job.name for job in find_jobs(pipeline, selected)} if selected else None
    workflow = evaluate_workflow(pipeline, ctx)
    if not workflow.decision.run:
        skipped = tuple((name, workflow.decision.reason) for name in pipeline.jobs)
        return PipelinePlan((), skipped, workflow_blocked=workflow.decision.reason, warnings=pipeline.warnings)
    entries: dict[str, _Entry] = {}
    for job in pipeline.jobs.values():
        if chosen is None or job.name in chosen:
            decision = evaluate_job(pipeline, job, ctx, workflow)
            entries[job.name] = _Entry(job, decision, _skip_reason(job, decision, named=chosen is not None))
    needs = _resolve_needs(pipeline, entries, strict=chosen is None)
    if chosen is None:
        _block_after_manual_gate(pipeline, entries, needs)
    _skip_dependents(entries, needs)
    jobs = [
        dataclasses.replace(_planned(e.job, e.decision), needs=needs.get(name))
        for name, e in entries.items()
        if not e.skip
    ]
    stages = tuple(
        PlannedStage(stage, tuple(j for j in jobs if j.stage == stage))
        for stage in pipeline.stages
        if any(j.stage == stage for j in jobs)
    )
    skipped = tuple((name, e.skip) for name, e in entries.items() if e.skip)
    return PipelinePlan(stages, skipped, pipeline_name=workflow.pipeline_name, warnings=pipeline.warnings)


@dataclasses.dataclass
class _Entry:
    job: JobDefinition
    decision: Decision
    skip: str  # why it does not run, "" when it runs

    @property
    def in_pipeline(self) -> bool:
        """GitLab creates manual jobs (and their dependents) too; rules/only/except leave jobs out."""
        return self.decision.run


def _skip_reason(job: JobDefinition, decision: Decision, *, named: bool) -> str:
    if not decision.run:
        return decision.reason
    if job.trigger:
        if named:
            raise UsageError(f"'{job.name}' is a trigger job: downstream pipelines cannot run locally")
        return "trigger: downstream pipelines cannot run locally"
    if decision.when == "manual" and not named:
        return f"manual job; run it by naming it: glrunner exec '{job.group_name}'"
    return ""


def _planned(job: JobDefinition, decision: Decision) -> PlannedJob:
    when = decision.when
    return PlannedJob(
        name=job.name,
        stage=job.stage,
        when=when if when in ("on_success", "on_failure", "always") else "on_success",
        allow_failure=decision.allow_failure,
        allow_failure_exit_codes=job.allow_failure_exit_codes,
        manual=when == "manual",
        delayed=when == "delayed",
    )


def _resolve_needs(pipeline: Pipeline, entries: Mapping[str, _Entry], *, strict: bool) -> dict[str, tuple[str, ...]]:
    """`needs:` as job names. In a full pipeline a non-optional need left out by rules is an error, as
    in GitLab; when jobs are named, needs outside the selection are dropped."""
    problems: list[Problem] = []
    resolved: dict[str, tuple[str, ...]] = {}
    for name, entry in entries.items():
        needs = entry.decision.needs if entry.decision.needs is not None else entry.job.needs
        if needs is None or not entry.in_pipeline:
            continue
        found: list[str] = []
        for need in needs:
            matches = [n for n, e in entries.items() if e.in_pipeline and need.job in (e.job.name, e.job.group_name)]
            if not matches and strict and not need.optional:
                problems.append(_missing_need(pipeline, entry.job, need.job))
            found.extend(matches)
        resolved[name] = tuple(dict.fromkeys(found))
    if problems:
        raise CIConfigError(problems)
    return resolved


def _skip_dependents(entries: Mapping[str, _Entry], needs: Mapping[str, tuple[str, ...]]) -> None:
    """A job waiting for one that does not run does not run either (transitively)."""
    changed = True
    while changed:
        changed = False
        for name, needed in needs.items():
            entry = entries[name]
            blocker = next((n for n in needed if entries[n].skip), None)
            if blocker and not entry.skip:
                entry.skip = f"needs '{blocker}', which does not run"
                changed = True


def _missing_need(pipeline: Pipeline, job: JobDefinition, need: str) -> Problem:
    where = job.location
    return Problem(
        where.file if where else pipeline.config_path, where.line if where else None, job.name,
        f"needs '{need}', but '{need}' is not in the pipeline (its rules, only or except exclude it); use "
        f"`needs: [{{job: {need}, optional: true}}]` if it is sometimes absent",
    )


def _block_after_manual_gate(
    pipeline: Pipeline, entries: Mapping[str, _Entry], needs: Mapping[str, tuple[str, ...]]
) -> None:
    """A manual job that may not fail (`allow_failure: false`) blocks the later stages until it runs,
    as GitLab blocks the pipeline; jobs with `needs:` only wait for what they need."""
    order = {stage: index for index, stage in enumerate(pipeline.stages)}
    gates = [e for e in entries.values() if e.in_pipeline and e.decision.when == "manual"
             and not e.decision.allow_failure and e.skip]
    if not gates:
        return
    gate = min(gates, key=lambda e: order.get(e.job.stage, 0))
    for name, entry in entries.items():
        if not entry.skip and name not in needs and order.get(entry.job.stage, 0) > order.get(gate.job.stage, 0):
            entry.skip = (f"blocked: manual job '{gate.job.name}' (allow_failure: false) in stage "
                          f"'{gate.job.stage}' must run first; name it to run it")
