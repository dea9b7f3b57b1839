"""Running one job: the executor contract driven through GitLab's stages (spec 2.1, 2.7).

prepare_executor -> prepare_script -> get_sources -> step_script -> after_script, then the final
line, then cleanup (always, shielded from cancellation). The job timeout covers everything up to
the end of the script; after_script has its own timeout and runs after failure, timeout and a
graceful cancel. Only a hard abort skips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from glrunner.durations import go_duration
from glrunner.errors import ExecutorError, FailureReason, JobError
from glrunner.model.result import JobResult, JobStatus, StageOutcome
from glrunner.model.spec import JobSpec, StageScript
from glrunner.shells.bash import render_after_script, render_step_script
from glrunner.trace.log import JobLog

T = TypeVar("T")
PREPARE_ATTEMPTS = 3
PREPARE_RETRY_DELAY = 3.0


class Executor(Protocol):
    name: str

    async def prepare(self, spec: JobSpec, log: JobLog) -> None: ...

    async def upload(self, archive: bytes, log: JobLog) -> None: ...

    async def run(self, stage: StageScript, log: JobLog) -> StageOutcome: ...

    async def cleanup(self) -> None: ...


SourceProvider = Callable[[JobSpec, JobLog], Awaitable[bytes | None]]


@dataclass
class JobControl:
    """How the outside asks a running job to stop: `cancel` is graceful (after_script still runs)."""

    cancel: asyncio.Event
    runner_name: str = ""

    @classmethod
    def new(cls, runner_name: str = "") -> JobControl:
        return cls(asyncio.Event(), runner_name)


def job_header(version: str, runner_name: str, short_token: str, system_id: str) -> str:
    """The first lines of every trace, as GitLab Runner writes them."""
    return f"Running with glrunner {version}\n  on {runner_name} {short_token}, system ID: {system_id}"


class _Canceled(Exception):
    pass


async def _until_canceled(work: Awaitable[T], cancel: asyncio.Event) -> T:
    """Run a step; if `cancel` is set first, cancel the step (the executor stops what it was doing)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise _Canceled()
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _prepare(executor: Executor, spec: JobSpec, log: JobLog) -> None:
    for attempt in range(1, PREPARE_ATTEMPTS + 1):
        try:
            await executor.prepare(spec, log)
            return
        except ExecutorError as exc:
            if attempt == PREPARE_ATTEMPTS:
                raise
            log.error(f"Preparation failed: {exc}")
            log.plain(f"Will be retried in {PREPARE_RETRY_DELAY:.0f}s ...")
            await asyncio.shield(executor.cleanup())
            await asyncio.sleep(PREPARE_RETRY_DELAY)


async def run_job(
    spec: JobSpec,
    executor: Executor,
    log: JobLog,
    *,
    sources: SourceProvider,
    control: JobControl | None = None,
    header: str = "",
) -> JobResult:
    control = control or JobControl.new()
    started = time.monotonic()
    status, exit_code, reason, message = JobStatus.FAILED, None, None, ""
    script_started = False
    if header:
        log.plain(header)
    try:
        async with asyncio.timeout(spec.timeout) as deadline:
            try:
                log.section_start("prepare_executor", f'Preparing the "{executor.name}" executor')
                await _until_canceled(_prepare(executor, spec, log), control.cancel)
                log.section_end("prepare_executor")
                log.section_start("prepare_script", "Preparing environment")
                log.plain(f"Running on {spec.docker.hostname if spec.docker else spec.project_unique_name} "
                          f"via {socket.gethostname()}...")
                log.section_end("prepare_script")
                await _until_canceled(_get_sources(spec, executor, log, sources), control.cancel)
                log.section_start("step_script", 'Executing "step_script" stage of the job script')
                script_started = True
                outcome = await _until_canceled(executor.run(_step(spec), log), control.cancel)
                log.section_end("step_script")
                exit_code = outcome.exit_code
                if exit_code == 0:
                    status = JobStatus.SUCCESS
                else:
                    reason, message = FailureReason.SCRIPT_FAILURE, f"exit code {exit_code}"
            except TimeoutError:
                if not deadline.expired():
                    raise
    except TimeoutError:
        status, reason = JobStatus.TIMEDOUT, FailureReason.JOB_EXECUTION_TIMEOUT
        message = f"execution took longer than {go_duration(spec.timeout)} seconds"
    except _Canceled:
        status, reason, message = JobStatus.CANCELED, FailureReason.JOB_CANCELED, "canceled"
    except JobError as exc:
        status, reason, message = JobStatus.FAILED, exc.reason, str(exc)
    except asyncio.CancelledError:
        # hard abort: no after_script, but cleanup still runs
        await _finish_cleanup(executor, log)
        raise
    log.close()
    try:
        if script_started and spec.script.after_script and status is not JobStatus.RUNNING:
            await _after_script(spec, executor, log, status)
    finally:
        _final_line(log, status, reason, message)
        await _finish_cleanup(executor, log)
    return JobResult(status=status, exit_code=exit_code, failure_reason=reason, message=message,
                     duration=time.monotonic() - started)


async def _get_sources(spec: JobSpec, executor: Executor, log: JobLog, sources: SourceProvider) -> None:
    if spec.source.kind == "none":
        return
    log.section_start("get_sources", "Getting source from Git repository")
    archive = await sources(spec, log)
    if archive is not None:
        await executor.upload(archive, log)
    log.section_end("get_sources")


def _step(spec: JobSpec) -> StageScript:
    description = 'Executing "step_script" stage of the job script'
    return StageScript("step_script", description, render_step_script(spec.script))


async def _after_script(spec: JobSpec, executor: Executor, log: JobLog, status: JobStatus) -> None:
    stage = StageScript("after_script", "Running after_script", render_after_script(spec.script, status.value))
    log.section_start("after_script", stage.description)
    try:
        async with asyncio.timeout(spec.after_script_timeout):
            outcome = await executor.run(stage, log)
        if outcome.exit_code != 0:
            log.warning(f"after_script failed, but job will continue unaffected: exit code {outcome.exit_code}")
    except TimeoutError:
        log.warning(
            "after_script failed, but job will continue unaffected: "
            f"execution took longer than {go_duration(spec.after_script_timeout)} seconds"
        )
    except JobError as exc:
        log.warning(f"after_script failed, but job will continue unaffected: {exc}")
    finally:
        log.close()


def _final_line(log: JobLog, status: JobStatus, reason: FailureReason | None, message: str) -> None:
    if status is JobStatus.SUCCESS:
        log.info("Job succeeded")
    elif reason is FailureReason.RUNNER_SYSTEM_FAILURE:
        log.error(f"Job failed (system failure): {message}")
    else:
        log.error(f"Job failed: {message}")


async def _finish_cleanup(executor: Executor, log: JobLog) -> None:
    task = asyncio.ensure_future(executor.cleanup())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
    finally:
        log.close()
