"""`glrunner exec` and `glrunner compile`: jobs of a local .gitlab-ci.yml, through the runner's own path."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from glrunner.errors import UsageError

COMMON_OPTIONS = [
    click.argument("jobs", nargs=-1),
    click.option("--cwd", "cwd", type=click.Path(file_okay=False), default=".", show_default=True,
                 help="Directory holding .gitlab-ci.yml."),
    click.option("-c", "--config", "config", type=click.Path(dir_okay=False), default=None,
                 help="A config.toml; its first [[runners]] (or --runner) supplies executor settings."),
    click.option("--runner", "runner_name", default=None, help="Which [[runners]] of --config to use, by name."),
    click.option("--executor", type=click.Choice(["docker", "kubernetes"]), default=None),
    click.option("--docker-image", default=None, help="Default image for jobs without one."),
    click.option("--docker-privileged", is_flag=False, flag_value="true", default=None, metavar="[=BOOL]",
                 help="Run containers privileged (needed for docker:dind)."),
    click.option("--docker-volumes", multiple=True, help="Volume for every container (repeatable)."),
    click.option("--docker-pull-policy", multiple=True, help="always, if-not-present or never (repeatable)."),
    click.option("--docker-wait-for-services-timeout", type=int, default=None,
                 help="Seconds to wait for services; -1: do not wait."),
    click.option("--kubernetes-image", default=None, help="Default image for jobs without one (Kubernetes)."),
    click.option("--kubernetes-namespace", default=None, help="Namespace for the job pods (Kubernetes)."),
    click.option("--kubernetes-privileged", is_flag=False, flag_value="true", default=None, metavar="[=BOOL]",
                 help="Run the pod's containers privileged (Kubernetes; needed for docker:dind)."),
    click.option("--env", "env", multiple=True, metavar="KEY=VALUE", help="A project CI/CD variable (repeatable)."),
    click.option("--masked-env", "masked_env", multiple=True, metavar="KEY=VALUE",
                 help="A masked project CI/CD variable (repeatable)."),
]


def _with_common(func: Any) -> Any:
    for option in reversed(COMMON_OPTIONS):
        func = option(func)
    return func


@dataclasses.dataclass
class ExecArgs:
    jobs: tuple[str, ...]
    cwd: str
    config: str | None
    runner_name: str | None
    executor: str | None
    docker_image: str | None
    docker_privileged: str | None
    docker_volumes: tuple[str, ...]
    docker_pull_policy: tuple[str, ...]
    docker_wait_for_services_timeout: int | None
    kubernetes_image: str | None
    kubernetes_namespace: str | None
    kubernetes_privileged: str | None
    env: tuple[str, ...]
    masked_env: tuple[str, ...]


def _parse_bool_flag(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("1", "t", "true", "yes"):
        return True
    if lowered in ("0", "f", "false", "no"):
        return False
    raise UsageError(f"--{name}: expected true or false, got {value!r}")


def _parse_env(values: tuple[str, ...], *, masked: bool, flag: str) -> list[Any]:
    from glrunner.model.payload import JobVariable

    out = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise UsageError(f"--{flag} {item!r}: write it as KEY=VALUE (letters, digits and _ in KEY)")
        out.append(JobVariable(key=key, value=value, public=False, masked=masked))
    return out


def _runner_settings(args: ExecArgs) -> tuple[Any, Any]:
    from glrunner.config import DockerConfig, KubernetesConfig, RunnerSettings, load_config

    config = load_config(args.config) if args.config else None
    if config is not None:
        for warning in config.warnings:
            click.secho(f"WARNING: {warning}", fg="yellow", err=True)
        runner = config.find_runner(args.runner_name)
    elif args.runner_name:
        raise UsageError("--runner needs --config: it names a [[runners]] entry of that file")
    else:
        runner = RunnerSettings(name="local", token="local", executor="docker")
    docker = runner.docker or DockerConfig()
    updates: dict[str, Any] = {}
    if args.docker_image:
        updates["image"] = args.docker_image
    privileged = _parse_bool_flag("docker-privileged", args.docker_privileged)
    if privileged is not None:
        updates["privileged"] = privileged
    if args.docker_volumes:
        updates["volumes"] = list(args.docker_volumes)
    if args.docker_pull_policy:
        policies = [p.strip() for item in args.docker_pull_policy for p in item.split(",") if p.strip()]
        bad = [p for p in policies if p not in ("always", "if-not-present", "never")]
        if bad:
            raise UsageError(f"--docker-pull-policy {bad[0]!r}: use always, if-not-present or never")
        updates["pull_policy"] = policies
    if args.docker_wait_for_services_timeout is not None:
        updates["wait_for_services_timeout"] = args.docker_wait_for_services_timeout
    runner_updates: dict[str, Any] = {"docker": docker.model_copy(update=updates)}
    kubernetes_updates = _kubernetes_updates(args)
    if kubernetes_updates:
        runner_updates["kubernetes"] = (runner.kubernetes or KubernetesConfig()).model_copy(update=kubernetes_updates)
    if args.executor:
        runner_updates["executor"] = args.executor
    elif not runner.executor:
        runner_updates["executor"] = "docker"
    return runner.model_copy(update=runner_updates), config


def _kubernetes_updates(args: ExecArgs) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if args.kubernetes_image:
        updates["image"] = args.kubernetes_image
    if args.kubernetes_namespace:
        updates["namespace"] = args.kubernetes_namespace
    privileged = _parse_bool_flag("kubernetes-privileged", args.kubernetes_privileged)
    if privileged is not None:
        updates["privileged"] = privileged
    return updates


def _system_id(config_path: str | None) -> str:
    """As `gitlab-runner run` would: `.runner_system_id` beside config.toml, else from the machine id."""
    from glrunner.config.files import load_or_create_system_id, read_machine_id
    from glrunner.config.identity import new_system_id

    if config_path:
        system_id, warning = load_or_create_system_id(Path(config_path).resolve())
        if warning:
            click.secho(f"WARNING: {warning}", fg="yellow", err=True)
        return system_id
    return new_system_id(read_machine_id())


def _local_project_id(root: Path) -> int:
    """Stable per working tree, so persistent volumes (/cache, /certs/client) are per project."""
    return int(hashlib.sha256(str(root).encode()).hexdigest()[:7], 16)


def _prepare(args: ExecArgs) -> tuple[Any, Any, Any, list[Any]]:
    from glrunner.ci import load_pipeline, plan_pipeline
    from glrunner.runner.workdir import build_context

    root = Path(args.cwd).resolve()
    ci_file = root / ".gitlab-ci.yml"
    if not ci_file.is_file():
        raise UsageError(f"{ci_file}: no such file; run glrunner exec in a directory with .gitlab-ci.yml or use --cwd")
    extra = [
        *_parse_env(args.env, masked=False, flag="env"),
        *_parse_env(args.masked_env, masked=True, flag="masked-env"),
    ]
    runner, _ = _runner_settings(args)
    pipeline = load_pipeline(ci_file)
    ctx = build_context(root, tuple(extra))
    ctx = dataclasses.replace(ctx, project_id=_local_project_id(root))
    plan = plan_pipeline(pipeline, ctx, args.jobs)
    for warning in plan.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)
    if plan.workflow_blocked:
        click.secho(f"No pipeline: {plan.workflow_blocked}", fg="yellow", err=True)
    return pipeline, ctx, runner, _planned_stages(plan)


def _planned_stages(plan: Any) -> list[Any]:
    from glrunner.runner.pipeline import PlannedRun

    stages = []
    skipped = {name: reason for name, reason in plan.skipped}
    for stage in plan.stages:
        jobs = [
            PlannedRun(
                name=job.name, stage=stage.name, when=job.when, allow_failure=job.allow_failure,
                allowed_exit_codes=tuple(getattr(job, "allow_failure_exit_codes", ()) or ()),
            )
            for job in stage.jobs
        ]
        if jobs:
            stages.append((stage.name, jobs))
    if skipped:
        click.echo("Not run: " + "; ".join(f"{name} ({reason})" for name, reason in skipped.items()), err=True)
    return stages


@click.command("exec", context_settings={"help_option_names": ["-h", "--help"]})
@_with_common
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="Jobs of one stage run in parallel, at most this many.")
@click.option("--color/--no-color", default=None, help="Colors (default: when stdout is a terminal).")
def exec_command(concurrency: int, color: bool | None, **kwargs: Any) -> int:
    """Run the jobs of .gitlab-ci.yml (all of them, stage by stage, or the JOBs named)."""
    args = ExecArgs(**kwargs)
    pipeline, ctx, runner, stages = _prepare(args)
    if not stages:
        click.echo("No jobs to run.", err=True)
        return 0
    use_color = sys.stdout.isatty() if color is None else color
    return asyncio.run(_run_pipeline(pipeline, ctx, runner, stages, concurrency, use_color, args.config))


async def _run_pipeline(pipeline: Any, ctx: Any, runner: Any, stages: list[Any], concurrency: int,
                        color: bool, config_path: str | None) -> int:
    from glrunner.runner.pipeline import LocalPipeline, exit_status
    from glrunner.runner.summary import print_summary

    local = LocalPipeline(pipeline=pipeline, ctx=ctx, runner=runner, stages=stages, concurrency=concurrency,
                          color=color, system_id=_system_id(config_path))
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_signal(signum: int) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1 and signum == signal.SIGINT:
            click.secho("\nInterrupted: stopping jobs (after_script runs, then cleanup); "
                        "press Ctrl-C again to skip after_script.", fg="yellow", err=True)
            local.request_cancel()
        elif task is not None:
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        outcomes = await local.run()
    except asyncio.CancelledError:
        click.secho("Aborted; containers were removed.", fg="red", err=True)
        return 130
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    print_summary(outcomes, color=color)
    return 130 if interrupts else exit_status(outcomes)


@click.command("compile", context_settings={"help_option_names": ["-h", "--help"]})
@_with_common
def compile_command(**kwargs: Any) -> int:
    """Print the JobSpec of each named job (or of every job) as JSON: what glrunner will run."""
    import secrets

    from glrunner import __version__
    from glrunner.ci import build_payload
    from glrunner.compile import CompileContext, compile_job
    from glrunner.model.codec import spec_to_json

    args = ExecArgs(**kwargs)
    pipeline, ctx, runner, stages = _prepare(args)
    specs = []
    number = 0
    for _, jobs in stages:
        for job in jobs:
            number += 1
            payload = build_payload(pipeline, job.name, ctx, job_id=ctx.pipeline_id * 1000 + number)
            spec = compile_job(payload, runner, CompileContext(
                job_uid=secrets.token_hex(8), system_id=_system_id(args.config), runner_version=__version__))
            specs.append(_redacted(spec, json.dumps(spec_to_json(spec), indent=2)))
    click.echo(specs[0] if len(specs) == 1 else "[\n" + ",\n".join(specs) + "\n]")
    return 0


def _redacted(spec: Any, text: str) -> str:
    """The JobSpec as JSON with every secret it holds masked, as the trace would mask it."""
    from urllib.parse import urlsplit

    from glrunner.trace.masking import Masker

    secrets_ = list(spec.masked)
    if spec.kubernetes is not None:
        secrets_ += [spec.kubernetes.bearer_token, *(auth.password for auth in spec.kubernetes.registry_auths)]
    if spec.source.repo_url:
        secrets_.append(urlsplit(spec.source.repo_url).password or "")
    masker = Masker([s for s in secrets_ if s], spec.token_prefixes)
    return (masker.feed(text.encode()) + masker.flush()).decode()


