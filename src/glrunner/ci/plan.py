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
    planned: dict[str, tuple[PlannedJob, JobDefinition, Decision]] = {}
    skipped_jobs: list[tuple[str, str]] = []
    for job in pipeline.jobs.values():
        if chosen is not None and job.name not in chosen:
            continue
        decision = evaluate_job(pipeline, job, ctx, workflow)
        reason = _skip_reason(job, decision, named=chosen is not None)
        if reason:
            skipped_jobs.append((job.name, reason))
            continue
        planned[job.name] = (_planned(job, decision), job, decision)
    jobs = _resolve_needs(pipeline, planned, strict=chosen is None)
    stages = tuple(
        PlannedStage(stage, tuple(j for j in jobs if j.stage == stage))
        for stage in pipeline.stages
        if any(j.stage == stage for j in jobs)
    )
    return PipelinePlan(stages, tuple(skipped_jobs), pipeline_name=workflow.pipeline_name,
                        warnings=pipeline.warnings)


def _skip_reason(job: JobDefinition, decision: Decision, *, named: bool) -> str:
    if not decision.run:
        return decision.reason
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


def _resolve_needs(
    pipeline: Pipeline, planned: Mapping[str, tuple[PlannedJob, JobDefinition, Decision]], *, strict: bool
) -> list[PlannedJob]:
    """`needs:` as names of planned jobs. In a full pipeline a missing, non-optional need is an error,
    as in GitLab; when jobs are named, needs outside the selection are dropped."""
    problems: list[Problem] = []
    result: list[PlannedJob] = []
    for plan, job, decision in planned.values():
        needs = decision.needs if decision.needs is not None else job.needs
        if needs is None:
            result.append(plan)
            continue
        names: list[str] = []
        for need in needs:
            found = [n for n, (_, j, _) in planned.items() if need.job in (j.name, j.group_name)]
            if not found and strict and not need.optional:
                where = job.location
                problems.append(Problem(
                    where.file if where else pipeline.config_path, where.line if where else None, job.name,
                    f"needs '{need.job}', but '{need.job}' is not in the pipeline (its rules, only or except "
                    "exclude it); use `needs: [{job: " + need.job + ", optional: true}]` if it is sometimes absent",
                ))
            names.extend(found)
        result.append(dataclasses.replace(plan, needs=tuple(dict.fromkeys(names))))
    if problems:
        raise CIConfigError(problems)
    return result
