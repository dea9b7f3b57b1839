"""One job -> the JobPayload GitLab would send for it (spec 4.2), so local and runner mode share the
code from the payload on. Values are not expanded here: the runner expands them (spec 3.1)."""

from __future__ import annotations

import hashlib
from typing import Any

from glrunner.ci.context import PipelineContext
from glrunner.ci.model import ArtifactsDef, CacheDef, ImageDef, JobDefinition, Pipeline, ServiceDef
from glrunner.ci.plan import evaluate_job, evaluate_workflow, find_jobs
from glrunner.ci.predefined import (
    REGISTRY_USER,
    job_predefined,
    job_yaml_variables,
    persisted_variables,
    pipeline_predefined,
    project_predefined,
    repository_url,
    user_predefined,
    yaml_to_job_variables,
)
from glrunner.errors import UsageError
from glrunner.model.payload import (
    Features,
    GitInfo,
    Image,
    JobInfo,
    JobPayload,
    RunnerInfo,
    ServiceVariable,
    Step,
)

# The failure reasons GitLab accepts from runners (sent in `features.failure_reasons`).
FAILURE_REASONS = (
    "unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure", "runner_system_failure",
    "missing_dependency_failure", "runner_unsupported", "stale_schedule", "job_execution_timeout",
    "archived_failure", "unmet_prerequisites", "scheduler_failure", "data_integrity_failure",
    "image_pull_failure", "runner_configuration_error",
)
GIT_DEPTH = 20  # GitLab's default shallow clone depth


def build_payload(pipeline: Pipeline, job_name: str, ctx: PipelineContext, job_id: int) -> JobPayload:
    job = _one_job(pipeline, job_name)
    if job.trigger:
        raise UsageError(f"'{job.name}' is a trigger job: downstream pipelines cannot run locally")
    workflow = evaluate_workflow(pipeline, ctx)
    decision = evaluate_job(pipeline, job, ctx, workflow)
    timeout = job.timeout or ctx.default_timeout
    yaml_variables = job_yaml_variables(job, workflow.global_variables, decision.variables)
    variables = (
        persisted_variables(ctx, job_id)
        + job_predefined(job, decision.when)
        + project_predefined(ctx)
        + pipeline_predefined(ctx, workflow.pipeline_name)
        + yaml_to_job_variables(yaml_variables)
        + user_predefined(ctx)
        + list(ctx.extra_variables)
    )
    return JobPayload(
        id=job_id,
        token=ctx.job_token,
        job_info=_job_info(job, ctx),
        git_info=_git_info(ctx),
        runner_info=RunnerInfo(timeout=timeout),
        variables=tuple(variables),
        steps=_steps(job, timeout),
        image=_image(job.image) if job.image else Image(),
        services=tuple(_service(s) for s in job.services),
        features=Features(trace_sections=True, failure_reasons=FAILURE_REASONS),
        artifacts=_artifacts(job.artifacts) if job.artifacts else (),
        cache=tuple(_cache(c) for c in job.cache),
        credentials=_credentials(ctx),
        local_source=ctx.local_source,
    )


def _one_job(pipeline: Pipeline, name: str) -> JobDefinition:
    job = pipeline.jobs.get(name)
    if job is not None:
        return job
    found = find_jobs(pipeline, [name])
    if len(found) != 1:
        raise UsageError(f"'{name}' is a parallel job; name one instance: {', '.join(j.name for j in found)}")
    return found[0]


def _job_info(job: JobDefinition, ctx: PipelineContext) -> JobInfo:
    return JobInfo(
        name=job.name,
        stage=job.stage,
        project_id=ctx.project_id,
        project_name=ctx.project_name,
        pipeline_id=ctx.pipeline_id,
        project_full_path=ctx.project_path,
        namespace_id=ctx.namespace_id,
        root_namespace_id=ctx.namespace_id,
        user_id=ctx.user_id,
    )


def _git_info(ctx: PipelineContext) -> GitInfo:
    if ctx.ref_is_tag:
        refspec = f"+refs/tags/{ctx.ref_name}:refs/tags/{ctx.ref_name}"
    else:
        refspec = f"+refs/heads/{ctx.ref_name}:refs/remotes/origin/{ctx.ref_name}"
    return GitInfo(
        repo_url=repository_url(ctx),
        ref=ctx.ref_name,
        sha=ctx.commit_sha,
        before_sha=ctx.before_sha,
        ref_type="tag" if ctx.ref_is_tag else "branch",
        refspecs=(refspec,),
        depth=GIT_DEPTH,
        protected=ctx.ref_protected,
    )


def _steps(job: JobDefinition, timeout: int) -> tuple[Step, ...]:
    steps = [Step(name="script", script=(*job.before_script, *job.script), timeout=timeout, when="on_success")]
    if job.after_script:
        steps.append(Step(name="after_script", script=job.after_script, timeout=timeout, when="always",
                          allow_failure=True))
    return tuple(steps)


def _executor_opts(user: str, platform: str, kubernetes_user: str) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    docker = {k: v for k, v in (("platform", platform), ("user", user)) if v}
    if docker:
        opts["docker"] = docker
    if kubernetes_user:
        opts["kubernetes"] = {"user": kubernetes_user}
    return opts


def _image(image: ImageDef) -> Image:
    return Image(
        name=image.name,
        entrypoint=image.entrypoint,
        pull_policy=image.pull_policy,
        executor_opts=_executor_opts(image.docker_user, image.docker_platform, image.kubernetes_user),
    )


def _service(service: ServiceDef) -> Image:
    return Image(
        name=service.name,
        alias=service.alias,
        entrypoint=service.entrypoint,
        command=service.command,
        pull_policy=service.pull_policy,
        variables=tuple(ServiceVariable(key=k, value=v) for k, v in service.variables),
        executor_opts=_executor_opts(service.docker_user, service.docker_platform, service.kubernetes_user),
    )


def _artifacts(artifacts: ArtifactsDef) -> tuple[dict[str, Any], ...]:
    result: list[dict[str, Any]] = []
    if artifacts.paths or artifacts.untracked:
        result.append({
            "name": artifacts.name or "artifacts",
            "untracked": artifacts.untracked,
            "paths": list(artifacts.paths),
            "exclude": list(artifacts.exclude),
            "when": artifacts.when,
            "artifact_type": "archive",
            "artifact_format": "zip",
            "expire_in": artifacts.expire_in,
        })
    for report in artifacts.reports:
        result.append({
            "name": report.kind,
            "untracked": False,
            "paths": list(report.paths),
            "exclude": [],
            "when": "always",
            "artifact_type": report.kind,
            "artifact_format": "raw" if report.kind == "dotenv" else "gzip",
            "expire_in": artifacts.expire_in,
        })
    return tuple(result)


def _cache(cache: CacheDef) -> dict[str, Any]:
    key = cache.key
    if cache.key_files:  # GitLab hashes the files' last commits; locally, a stable hash of the names
        digest = hashlib.sha1("\n".join(cache.key_files).encode(), usedforsecurity=False).hexdigest()
        key = f"{cache.key_prefix}-{digest}" if cache.key_prefix else digest
    return {
        "key": key,
        "untracked": cache.untracked,
        "policy": cache.policy,
        "paths": list(cache.paths),
        "when": cache.when,
        "fallback_keys": list(cache.fallback_keys),
    }


def _credentials(ctx: PipelineContext) -> tuple[dict[str, Any], ...]:
    if not ctx.registry:
        return ()
    return ({"type": "registry", "url": ctx.registry, "username": REGISTRY_USER, "password": ctx.job_token},)
