"""payload + runner configuration -> JobSpec (pure; see DESIGN.md)."""

from __future__ import annotations

from glrunner.compile.context import CompileContext
from glrunner.compile.job import choose_executor
from glrunner.config.model import RunnerSettings
from glrunner.model.payload import JobPayload
from glrunner.model.spec import JobSpec


def compile_job(payload: JobPayload, runner: RunnerSettings, ctx: CompileContext) -> JobSpec:
    """Decide everything about one job for the runner's executor."""
    executor = choose_executor(runner)
    if executor == "kubernetes":
        from glrunner.compile.kubernetes import compile_kubernetes

        return compile_kubernetes(payload, runner, ctx)
    from glrunner.compile.docker import compile_docker

    return compile_docker(payload, runner, ctx)


__all__ = ["CompileContext", "compile_job"]
