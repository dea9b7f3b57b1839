"""One job from GitLab, start to end: payload -> JobSpec -> run_job, its trace sent as it grows.

The payload is parsed once (`parse_payload`) and compiled as `glrunner exec` compiles a local
job; from there on both modes share `run_job`. Around it: `PUT running` first (GitLab may already
want the job gone or canceled), the trace patcher (`coordinator.trace.JobTrace`) running beside
the job and relaying GitLab's cancel (graceful: after_script still runs) and abort (hard: only
cleanup runs), and the final `PUT` with GitLab's failure reason, exit code and trace checksum.

`interrupt` is the runner process being stopped (SIGTERM/SIGINT): the job is aborted, its
containers removed, and GitLab told it failed (`runner_interrupted`, or what GitLab accepts).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from glrunner import __version__
from glrunner.compile import CompileContext, compile_job
from glrunner.config.identity import shorten_token
from glrunner.config.model import RunnerSettings
from glrunner.coordinator.jobs import JobsApi, UpdateState, map_failure_reason
from glrunner.coordinator.trace import JobTrace, TraceBuffer, TraceTimings
from glrunner.errors import FailureReason, JobError, RunnerError
from glrunner.model.codec import parse_payload
from glrunner.model.result import JobResult, JobStatus
from glrunner.model.spec import JobSpec
from glrunner.runner.executors import create_executor
from glrunner.runner.job import JobControl, job_header, run_job
from glrunner.runner.sources import provide_sources
from glrunner.trace.log import JobLog
from glrunner.trace.masking import DEFAULT_TOKEN_PREFIXES, Masker

logger = logging.getLogger("glrunner.runner")


@dataclass(frozen=True)
class Slot:
    concurrent_id: int  # CI_CONCURRENT_ID: unique among this runner's running jobs
    concurrent_project_id: int  # CI_CONCURRENT_PROJECT_ID: unique among them for one project


class SlotSource(Protocol):
    def claim(self, project_id: int) -> Slot: ...

    def release(self, slot: Slot, project_id: int) -> None: ...


@dataclass(frozen=True)
class JobOutcome:
    """What became of a job: `state` as reported to GitLab ("" when GitLab took it back first)."""

    job_id: int
    project_id: int
    state: str
    failure_reason: str | None = None
    exit_code: int | None = None
    duration: float = 0.0
    reported: bool = False


def fields(**values: object) -> str:
    """GitLab Runner's log style: `key=value` pairs after the message."""
    return "  ".join(f"{key}={value}" for key, value in values.items() if value not in (None, ""))


_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def scrub(text: str, *secrets_: str) -> str:
    """Text for the runner's own log: no `user:password@` in URLs, none of `secrets_`."""
    text = _URL_CREDENTIALS.sub("", text)
    for secret in secrets_:
        if secret:
            text = text.replace(secret, "[MASKED]")
    return text


@dataclass(eq=False)  # identity, not value: the daemon keeps running jobs in a set
class RemoteJob:
    raw: dict[str, Any]
    runner: RunnerSettings
    api: JobsApi
    info: Mapping[str, object]
    system_id: str
    slots: SlotSource
    timings: TraceTimings = field(default_factory=TraceTimings)
    interrupt: asyncio.Event = field(default_factory=asyncio.Event)
    interrupt_reason: str = "terminated"

    @property
    def job_id(self) -> int:
        value = self.raw.get("id")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @property
    def token(self) -> str:
        value = self.raw.get("token")
        return value if isinstance(value, str) else ""

    def stop(self, reason: str) -> None:
        """The runner is shutting down: abort the job (cleanup still runs) and report it failed."""
        self.interrupt_reason = reason
        self.interrupt.set()

    async def run(self) -> JobOutcome:
        started = time.monotonic()
        project_id = _project_id(self.raw)
        buffer = TraceBuffer(self.runner.effective_output_limit_bytes)
        trace = JobTrace(self.api, self.job_id, self.token, buffer, self.info, self.timings)
        begun = await trace.start()
        if begun.state is UpdateState.ABORT:
            logger.warning("Job is no longer running on GitLab, not starting it  %s",
                           fields(job=self.job_id, runner=self._short_token))
            return JobOutcome(self.job_id, project_id, "")
        if begun.cancel_requested:
            result = JobResult(JobStatus.CANCELED, failure_reason=FailureReason.JOB_CANCELED, message="canceled")
        else:
            result = await self._execute(trace, buffer)
        return await self._report(trace, result, project_id, time.monotonic() - started)

    @property
    def _short_token(self) -> str:
        return shorten_token(self.runner.token)

    def _header(self) -> str:
        return job_header(__version__, self.runner.name, self._short_token, self.system_id)

    async def _execute(self, trace: JobTrace, buffer: TraceBuffer) -> JobResult:
        early_log = JobLog(_payload_masker(self.raw, self.token), [buffer.write])
        try:
            payload = parse_payload(self.raw)
        except RunnerError as exc:
            return _fail_early(early_log, self._header(), exc, FailureReason.RUNNER_SYSTEM_FAILURE)
        slot = self.slots.claim(payload.job_info.project_id)
        try:
            try:
                spec = compile_job(payload, self.runner, self._compile_context(slot))
                executor = create_executor(spec)
            except JobError as exc:
                return _fail_early(early_log, self._header(), exc, exc.reason)
            except RunnerError as exc:
                return _fail_early(early_log, self._header(), exc, FailureReason.RUNNER_SYSTEM_FAILURE)
            log = JobLog(Masker(spec.masked, spec.token_prefixes), [buffer.write], sections=spec.trace_sections)
            trace.debug_trace = spec.script.debug_trace
            return await self._run(spec, executor, log, trace)
        finally:
            self.slots.release(slot, payload.job_info.project_id)

    def _compile_context(self, slot: Slot) -> CompileContext:
        return CompileContext(
            job_uid=secrets.token_hex(8),
            system_id=self.system_id,
            concurrent_id=slot.concurrent_id,
            concurrent_project_id=slot.concurrent_project_id,
            runner_version=__version__,
        )

    async def _run(self, spec: JobSpec, executor: Any, log: JobLog, trace: JobTrace) -> JobResult:
        control = JobControl.new(self.runner.name)
        job = asyncio.ensure_future(
            run_job(spec, executor, log, sources=provide_sources, control=control, header=self._header())
        )
        trace.on_cancel = control.cancel.set

        def abort() -> None:
            job.cancel()

        trace.on_abort = abort
        watcher = asyncio.ensure_future(trace.watch())
        interrupted = asyncio.ensure_future(self.interrupt.wait())
        try:
            await asyncio.wait({job, interrupted}, return_when=asyncio.FIRST_COMPLETED)
            if not job.done():
                job.cancel()
            try:
                return await job
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
            return self._stopped_result(log, trace)
        finally:
            interrupted.cancel()
            if not job.done():  # we are being cancelled ourselves: the job's cleanup must still run
                job.cancel()
                await asyncio.wait({job})
            trace.stop()
            try:
                await watcher  # stops at its next tick; nobody else cancels it
            except Exception as exc:  # the final update still goes out
                logger.error("Trace updates for job %d stopped: %s", self.job_id, scrub(repr(exc), self.token))

    def _stopped_result(self, log: JobLog, trace: JobTrace) -> JobResult:
        if trace.aborted:
            log.error("Job failed: canceled")
            return JobResult(JobStatus.CANCELED, failure_reason=FailureReason.JOB_CANCELED, message="canceled")
        message = f"aborted: {self.interrupt_reason}"
        log.error(f"Job failed: {message}")
        return JobResult(JobStatus.FAILED, failure_reason=FailureReason.RUNNER_INTERRUPTED, message=message)

    async def _report(self, trace: JobTrace, result: JobResult, project_id: int, duration: float) -> JobOutcome:
        success = result.status is JobStatus.SUCCESS
        state = "success" if success else "failed"
        reason = None if success else map_failure_reason(result.failure_reason, _supported_reasons(self.raw))
        exit_code = result.exit_code if not success and result.exit_code else None
        reported = await trace.finish(state, reason, exit_code)
        if not reported:
            logger.error("Could not report the job's final state to GitLab  %s",
                         fields(job=self.job_id, state=state, runner=self._short_token))
        return JobOutcome(self.job_id, project_id, state, reason, exit_code, duration, reported)


def _fail_early(log: JobLog, header: str, exc: RunnerError, reason: FailureReason) -> JobResult:
    """The job could not even start (bad payload, a configuration the runner refuses)."""
    log.plain(header)
    system = " (system failure)" if reason is FailureReason.RUNNER_SYSTEM_FAILURE else ""
    log.error(f"Job failed{system}: {exc}")
    log.close()
    return JobResult(JobStatus.FAILED, failure_reason=reason, message=str(exc))


def _payload_masker(raw: Mapping[str, Any], token: str) -> Masker:
    """Before the payload is compiled: mask its masked variables and the job token anyway."""
    variables = raw.get("variables")
    phrases = [token] if token else []
    if isinstance(variables, list):
        phrases += [str(v.get("value", "")) for v in variables if isinstance(v, dict) and v.get("masked") is True]
    features = raw.get("features")
    extra = features.get("token_mask_prefixes") if isinstance(features, dict) else None
    prefixes = [*DEFAULT_TOKEN_PREFIXES, *(p for p in (extra or []) if isinstance(p, str))]
    return Masker(phrases, prefixes)


def _supported_reasons(raw: Mapping[str, Any]) -> tuple[str, ...]:
    features = raw.get("features")
    reasons = features.get("failure_reasons") if isinstance(features, dict) else None
    return tuple(r for r in reasons if isinstance(r, str)) if isinstance(reasons, list) else ()


def _project_id(raw: Mapping[str, Any]) -> int:
    info = raw.get("job_info")
    value = info.get("project_id") if isinstance(info, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
