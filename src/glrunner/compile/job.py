"""payload + runner settings -> JobSpec: every decision about a job, made in one pure place."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from glrunner.compile import variables as v
from glrunner.compile.context import CompileContext
from glrunner.compile.durations import parse_duration_seconds
from glrunner.compile.features import resolve_feature_flags
from glrunner.compile.names import project_unique_name, shorten_token
from glrunner.config.model import RunnerSettings
from glrunner.durations import go_duration
from glrunner.errors import JobConfigurationError
from glrunner.model.payload import JobPayload
from glrunner.model.spec import JobSpec, ScriptPlan, ScriptVariable, SourceSpec
from glrunner.trace.masking import DEFAULT_TOKEN_PREFIXES

DEFAULT_BUILDS_DIR = "/builds"
DEFAULT_CACHE_DIR = "/cache"
SUPPORTED_EXECUTORS = ("docker", "kubernetes")


@dataclass(frozen=True)
class JobFacts:
    """What every executor's compilation shares: names, directories, variables."""

    payload: JobPayload
    runner: RunnerSettings
    ctx: CompileContext
    short_token: str
    unique_name: str
    builds_dir: str
    project_dir: str
    cache_dir: str
    variables: tuple[v.Variable, ...]  # expanded, last occurrence of each key wins
    feature_flags: dict[str, bool]
    warnings: tuple[str, ...]

    def flag(self, name: str) -> bool:
        return self.feature_flags.get(name, False)

    def value(self, key: str) -> str | None:
        var = v.lookup(self.variables, key)
        return None if var is None else var.value


def project_path_of(payload: JobPayload) -> str:
    """`group/project`: the repo URL's path, else job_info.project_full_path, else `project-<id>`."""
    path = urlsplit(payload.git_info.repo_url).path.strip("/") if payload.git_info.repo_url else ""
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path or payload.job_info.project_full_path or f"project-{payload.job_info.project_id}"


def project_url(payload: JobPayload) -> str:
    """The project's web URL, never with the credentials `repo_url` carries."""
    for var in reversed(payload.variables):
        if var.key == "CI_PROJECT_URL" and var.value:
            return var.value
    parts = urlsplit(payload.git_info.repo_url) if payload.git_info.repo_url else None
    if parts is None or not parts.hostname:
        return ""
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    path = parts.path[: -len(".git")] if parts.path.endswith(".git") else parts.path
    return f"{parts.scheme}://{host}{path}"


def _project_dir(payload: JobPayload, builds_dir: str, clone_path: str | None) -> str:
    if clone_path:
        normalized = posixpath.normpath(clone_path)
        if normalized != builds_dir and not normalized.startswith(builds_dir.rstrip("/") + "/"):
            raise JobConfigurationError(
                f"the GIT_CLONE_PATH={clone_path!r} has to be within {builds_dir!r}; "
                f"set it to a path under {builds_dir}"
            )
        return normalized
    return posixpath.join(builds_dir, project_path_of(payload))


def _runner_variables_before(facts_image: str, short_token: str, runner: RunnerSettings,
                             builds_dir: str, project_dir: str, ctx: CompileContext,
                             timeout: int) -> list[v.Variable]:
    out = []
    if facts_image:
        out.append(v.internal("CI_JOB_IMAGE", facts_image))
    out.append(v.internal("CI_RUNNER_SHORT_TOKEN", short_token))
    out += [v.internal(k, val) for k, val in v.parse_env_entries(runner.environment)]
    out += [
        v.internal("CI_BUILDS_DIR", builds_dir),
        v.internal("CI_PROJECT_DIR", project_dir),
        v.internal("CI_CONCURRENT_ID", str(ctx.concurrent_id)),
        v.internal("CI_CONCURRENT_PROJECT_ID", str(ctx.concurrent_project_id)),
        v.internal("CI_SERVER", "yes"),
        v.internal("CI_JOB_STATUS", "running"),
        v.internal("CI_JOB_TIMEOUT", str(timeout)),
    ]
    return out


def gather_facts(payload: JobPayload, runner: RunnerSettings, ctx: CompileContext, image: str) -> JobFacts:
    short_token = shorten_token(runner.token)
    unique = project_unique_name(short_token, payload.job_info.project_id, ctx.concurrent_project_id)
    builds_dir = runner.builds_dir or DEFAULT_BUILDS_DIR
    job_vars = v.from_payload(payload.variables)
    environment = [v.internal(k, val) for k, val in v.parse_env_entries(runner.environment)]
    flags, flag_warnings = resolve_feature_flags(runner.feature_flags, job_vars, environment, ctx.feature_flags)
    clone_path = v.lookup(v.expand_all(job_vars), "GIT_CLONE_PATH")
    project_dir = _project_dir(payload, builds_dir, clone_path.value if clone_path else None)
    timeout = payload.runner_info.timeout
    assembled = [v.internal(name, "true" if value else "false") for name, value in flags.items()]
    assembled += _runner_variables_before(image, short_token, runner, builds_dir, project_dir, ctx, timeout)
    assembled += [var for var in job_vars if not var.key.startswith("FF_")]
    assembled += [
        v.internal("CI_DISPOSABLE_ENVIRONMENT", "true"),
        v.internal("CI_RUNNER_VERSION", ctx.runner_version),
        v.internal("CI_RUNNER_REVISION", ctx.runner_revision),
        v.internal("CI_RUNNER_EXECUTABLE_ARCH", ctx.architecture),
        v.internal("RUNNER_TEMP_PROJECT_DIR", project_dir + ".tmp"),
    ]
    expanded = v.deduplicated(v.expand_all(assembled))
    return JobFacts(
        payload=payload,
        runner=runner,
        ctx=ctx,
        short_token=short_token,
        unique_name=unique,
        builds_dir=builds_dir,
        project_dir=project_dir,
        cache_dir=runner.cache_dir or DEFAULT_CACHE_DIR,
        variables=tuple(expanded),
        feature_flags=flags,
        warnings=tuple(flag_warnings),
    )


def with_network_variable(facts: JobFacts, network_name: str) -> JobFacts:
    if not network_name:
        return facts
    extra = v.internal("CI_BUILD_NETWORK_NAME", network_name)
    return JobFacts(**{**facts.__dict__, "variables": (*facts.variables, extra)})


def build_script_plan(facts: JobFacts) -> ScriptPlan:
    payload = facts.payload
    step = payload.step("script")
    after = payload.step("after_script")
    debug = facts.value("CI_DEBUG_TRACE") == "true" and not facts.runner.debug_trace_disabled
    return ScriptPlan(
        shell=facts.runner.shell or "bash",
        variables=tuple(ScriptVariable(x.key, x.value, x.file) for x in facts.variables),
        project_dir=facts.project_dir,
        tmp_dir=facts.project_dir + ".tmp",
        script=step.script if step else (),
        after_script=after.script if after else (),
        pre_build_script=_script_lines(facts.runner.pre_build_script),
        post_build_script=_script_lines(facts.runner.post_build_script),
        debug_trace=debug,
    )


def _script_lines(script: str) -> tuple[str, ...]:
    return (script,) if script.strip() else ()


def build_source(facts: JobFacts) -> SourceSpec:
    payload = facts.payload
    strategy = facts.value("GIT_STRATEGY") or ("fetch" if payload.allow_git_fetch else "clone")
    if strategy not in ("clone", "fetch", "none", "empty"):
        raise JobConfigurationError(f"GIT_STRATEGY={strategy!r} is not valid; use clone, fetch, none or empty")
    if payload.local_source is not None:
        return SourceSpec(
            kind="local",
            local_path=payload.local_source.path,
            files=payload.local_source.files,
            strategy="clone" if strategy in ("clone", "fetch") else strategy,  # type: ignore[arg-type]
        )
    if not payload.git_info.repo_url:
        return SourceSpec(kind="none", strategy="none")
    depth_text = facts.value("GIT_DEPTH")
    depth = int(depth_text) if depth_text and depth_text.isdigit() else payload.git_info.depth
    return SourceSpec(
        kind="git",
        repo_url=payload.git_info.repo_url,
        ref=payload.git_info.ref,
        sha=payload.git_info.sha,
        refspecs=payload.git_info.refspecs,
        depth=depth,
        strategy=strategy,  # type: ignore[arg-type]
    )


def token_prefixes(facts: JobFacts) -> tuple[str, ...]:
    prefixes = list(DEFAULT_TOKEN_PREFIXES if facts.flag("FF_MASK_ALL_DEFAULT_TOKENS") else ("glpat-",))
    prefixes += list(facts.payload.features.token_mask_prefixes[:15])
    return tuple(dict.fromkeys(prefixes))


def base_labels(facts: JobFacts) -> dict[str, str]:
    """GitLab's labels (spec 2.2) on everything a job creates; `type` is added per object."""
    p = facts.payload
    prefix = "com.gitlab.gitlab-runner."
    labels = {
        "job.id": str(p.id),
        "job.url": f"{project_url(p)}/-/jobs/{p.id}",
        "job.sha": p.git_info.sha,
        "job.before_sha": p.git_info.before_sha,
        "job.ref": p.git_info.ref,
        "job.timeout": go_duration(p.runner_info.timeout),
        "project.id": str(p.job_info.project_id),
        "project.runner_id": str(facts.ctx.concurrent_project_id),
        "pipeline.id": str(p.job_info.pipeline_id),
        "runner.id": facts.short_token,
        "runner.local_id": str(facts.ctx.concurrent_id),
        "runner.system_id": facts.ctx.system_id,
        "managed": "true",
    }
    out = {prefix + k: val for k, val in labels.items()}
    out["io.glrunner.job-uid"] = facts.ctx.job_uid
    return out


def assemble(facts: JobFacts, **executor_parts: object) -> JobSpec:
    payload = facts.payload
    return JobSpec(
        executor=facts.runner.executor,
        job_id=payload.id,
        job_name=payload.job_info.name,
        stage=payload.job_info.stage,
        pipeline_id=payload.job_info.pipeline_id,
        project_id=payload.job_info.project_id,
        project_path=project_path_of(payload),
        runner_short_token=facts.short_token,
        project_unique_name=facts.unique_name,
        job_uid=facts.ctx.job_uid,
        labels=base_labels(facts),
        timeout=payload.runner_info.timeout,
        builds_dir=facts.builds_dir,
        project_dir=facts.project_dir,
        cache_dir=facts.cache_dir,
        env=tuple(_container_env(facts)),
        script=build_script_plan(facts),
        source=build_source(facts),
        masked=v.masked_phrases(facts.variables),
        token_prefixes=token_prefixes(facts),
        trace_sections=payload.features.trace_sections,
        after_script_timeout=_after_script_timeout(facts),
        **executor_parts,  # type: ignore[arg-type]
    )


def _container_env(facts: JobFacts) -> list[tuple[str, str]]:
    """All variables; file variables hold the path their content is written to."""
    tmp = facts.project_dir + ".tmp"
    return [(x.key, f"{tmp}/{x.key}" if x.file else x.value) for x in facts.variables]


def _after_script_timeout(facts: JobFacts) -> int:
    text = facts.value("RUNNER_AFTER_SCRIPT_TIMEOUT")
    if text:
        seconds = parse_duration_seconds(text)
        if seconds is not None:
            return seconds
    return 300


def choose_executor(runner: RunnerSettings) -> str:
    executor = runner.executor or "docker"
    if executor not in SUPPORTED_EXECUTORS:
        raise JobConfigurationError(
            f"executor {executor!r} is not supported by glrunner; use one of: {', '.join(SUPPORTED_EXECUTORS)}"
        )
    return executor
