"""A local pipeline (`glrunner exec`): stages in order, the jobs of a stage in parallel.

Each job goes through the same path as a job from GitLab: payload -> compile -> run_job.
GitLab's `when:` rules decide what runs after a failure: `on_success` jobs need every earlier
job to have succeeded (or be allowed to fail), `on_failure` jobs run only after a failure,
`always` jobs always run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from glrunner import __version__
from glrunner.ci import Pipeline, PipelineContext, build_payload
from glrunner.compile import CompileContext, compile_job
from glrunner.config.model import RunnerSettings
from glrunner.errors import RunnerError
from glrunner.model.result import JobResult, JobStatus
from glrunner.runner.executors import create_executor
from glrunner.runner.job import JobControl, job_header, run_job
from glrunner.runner.sources import provide_sources
from glrunner.trace.log import JobLog
from glrunner.trace.masking import Masker
from glrunner.trace.terminal import TerminalSink


@dataclass(frozen=True)
class PlannedRun:
    name: str
    stage: str
    when: str
    allow_failure: bool
    allowed_exit_codes: tuple[int, ...] = ()


@dataclass
class JobOutcome:
    name: str
    stage: str
    status: str  # success | failed | canceled | timedout | skipped | manual
    allowed_to_fail: bool = False
    duration: float = 0.0
    detail: str = ""


@dataclass
class LocalPipeline:
    pipeline: Pipeline
    ctx: PipelineContext
    runner: RunnerSettings
    stages: list[tuple[str, list[PlannedRun]]]
    concurrency: int = 4
    out: BinaryIO = field(default_factory=lambda: sys.stdout.buffer)
    color: bool = False
    system_id: str = "s_000000000000"
    feature_flags: dict[str, bool] = field(default_factory=dict)
    outcomes: list[JobOutcome] = field(default_factory=list)
    _controls: dict[str, JobControl] = field(default_factory=dict)
    _canceled: bool = False
    _free_slots: list[int] = field(default_factory=list)

    def request_cancel(self) -> None:
        """First Ctrl-C: stop running scripts gracefully (after_script runs), start nothing new."""
        self._canceled = True
        for control in self._controls.values():
            control.cancel.set()

    async def run(self) -> list[JobOutcome]:
        self._free_slots = list(range(max(1, self.concurrency)))
        limit = asyncio.Semaphore(max(1, self.concurrency))
        failed_before = False
        job_number = 0
        many = sum(len(jobs) for _, jobs in self.stages) > 1
        for stage, jobs in self.stages:
            runnable = []
            for planned in jobs:
                job_number += 1
                skip = self._skip_reason(planned, failed_before)
                if skip:
                    self.outcomes.append(JobOutcome(planned.name, stage, "skipped", detail=skip))
                else:
                    runnable.append((planned, job_number))
            results = await asyncio.gather(
                *(self._run_one(p, n, limit, many, i) for i, (p, n) in enumerate(runnable))
            )
            for outcome in results:
                self.outcomes.append(outcome)
                if outcome.status != "success" and not outcome.allowed_to_fail:
                    failed_before = True
        return self.outcomes

    def _skip_reason(self, planned: PlannedRun, failed_before: bool) -> str:
        if self._canceled:
            return "pipeline canceled"
        if planned.when == "on_success" and failed_before:
            return "an earlier job failed"
        if planned.when == "on_failure" and not failed_before:
            return "no earlier job failed (when: on_failure)"
        return ""

    async def _run_one(
        self, planned: PlannedRun, number: int, limit: asyncio.Semaphore, many: bool, index: int
    ) -> JobOutcome:
        async with limit:
            if self._canceled:
                return JobOutcome(planned.name, planned.stage, "skipped", detail="pipeline canceled")
            slot = self._free_slots.pop(0)
            try:
                return await self._execute(planned, number, slot, many, index)
            finally:
                self._free_slots.append(slot)
                self._free_slots.sort()

    async def _execute(self, planned: PlannedRun, number: int, slot: int, many: bool, index: int) -> JobOutcome:
        sink = TerminalSink(self.out, color=self.color, prefix=planned.name if many else "", prefix_index=number)
        started = time.monotonic()
        try:
            started_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
            ctx = dataclasses.replace(self.ctx, job_started_at=started_at)
            payload = build_payload(self.pipeline, planned.name, ctx, job_id=self.ctx.pipeline_id * 1000 + number)
            spec = compile_job(payload, self.runner, CompileContext(
                job_uid=secrets.token_hex(8), system_id=self.system_id, concurrent_id=slot,
                concurrent_project_id=slot, runner_version=__version__, feature_flags=self.feature_flags,
            ))
        except RunnerError as exc:
            log = JobLog(sinks=[sink])
            log.error(f"Job failed: {exc}")
            sink.close()
            return JobOutcome(planned.name, planned.stage, "failed", planned.allow_failure, detail=str(exc))
        log = JobLog(Masker(spec.masked, spec.token_prefixes), [sink], sections=spec.trace_sections)
        control = JobControl.new(self.runner.name)
        self._controls[planned.name] = control
        try:
            result = await run_job(spec, create_executor(spec), log, sources=provide_sources, control=control,
                                   header=job_header(__version__, self.runner.name or "local",
                                                     spec.runner_short_token, self.system_id))
        finally:
            self._controls.pop(planned.name, None)
            sink.close()
        return _outcome(planned, result, time.monotonic() - started)


def _outcome(planned: PlannedRun, result: JobResult, duration: float) -> JobOutcome:
    allowed = planned.allow_failure or (
        result.exit_code is not None and result.exit_code in planned.allowed_exit_codes
    )
    status = result.status.value
    return JobOutcome(planned.name, planned.stage, status, allowed and status != JobStatus.SUCCESS.value,
                      duration, result.message)


def exit_status(outcomes: list[JobOutcome]) -> int:
    ran = [o for o in outcomes if o.status not in ("skipped", "manual")]
    return 0 if all(o.status == "success" or o.allowed_to_fail for o in ran) else 1

