"""`glrunner run`: poll GitLab for jobs for every `[[runners]]` entry and run them (spec 4.1).

As GitLab Runner's multi-runner: a feeder hands the runners, in turn, to `concurrent` workers,
sleeping `check_interval / number of runners` between them; a worker asks GitLab for a job for
the runner it got (within the runner's `limit` and `request_concurrency`) and runs it. After a
job arrives the runner is handed on at once (another job may be waiting) unless
`strict_check_interval`. A failing GitLab is asked less and less often (backoff, capped), and a
runner whose requests are refused `unhealthy_requests_limit` times in a row rests for
`unhealthy_interval`. config.toml is re-read when it changes.

Stopping: `stop_gracefully` (SIGQUIT) takes no new jobs and waits for running ones;
`stop_now` (SIGTERM/SIGINT) aborts running jobs (their containers are removed, GitLab is told
they failed) and gives them `shutdown_timeout` to do so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from glrunner.config import Config, RunnerSettings, load_config
from glrunner.config.identity import shorten_token
from glrunner.coordinator.api import ALL_FEATURES, runner_info
from glrunner.coordinator.http import GitLabClient, RetryPolicy, TlsSettings
from glrunner.coordinator.jobs import JobRequestResult, JobsApi
from glrunner.coordinator.trace import TraceTimings
from glrunner.errors import RunnerError
from glrunner.runner.metrics import RunnerLabels, RunnerMetrics
from glrunner.runner.remote import JobOutcome, RemoteJob, Slot, fields, scrub

logger = logging.getLogger("glrunner.runner")

# What glrunner really does with a job (spec 4.1); GitLab sends nothing that needs more.
# Not: artifacts, cache, upload_*, session, terminal, vault_secrets, proxy, shared, native steps.
SUPPORTED_FEATURES = frozenset({
    "variables", "image", "services", "service_variables", "service_multiple_aliases", "multi_build_steps",
    "return_exit_code", "raw_variables", "masking", "trace_reset", "trace_checksum", "trace_size",
    "cancelable", "cancel_gracefully", "refspecs", "image_executor_opts",
})
RELOAD_INTERVAL = 3.0
MAX_BACKOFF = 300.0
DEFAULT_UNHEALTHY_LIMIT = 30
DEFAULT_UNHEALTHY_INTERVAL = 3600.0


def job_request_info(runner: RunnerSettings, global_labels: dict[str, str]) -> dict[str, object]:
    info = runner_info(runner.executor or "docker", runner.shell or None, {**global_labels, **runner.labels})
    info["features"] = {name: name in SUPPORTED_FEATURES for name in ALL_FEATURES}
    return info


def clean_url(url: str) -> str:
    """A URL without the credentials GitLab puts into `repo_url`, for the runner's own log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class SlotTable:
    """CI_CONCURRENT_ID / CI_CONCURRENT_PROJECT_ID: the lowest numbers not taken by a running job."""

    def __init__(self) -> None:
        self._runner: set[int] = set()
        self._projects: dict[int, set[int]] = {}

    def claim(self, project_id: int) -> Slot:
        runner_slot = _lowest_free(self._runner)
        taken = self._projects.setdefault(project_id, set())
        project_slot = _lowest_free(taken)
        self._runner.add(runner_slot)
        taken.add(project_slot)
        return Slot(runner_slot, project_slot)

    def release(self, slot: Slot, project_id: int) -> None:
        self._runner.discard(slot.concurrent_id)
        self._projects.get(project_id, set()).discard(slot.concurrent_project_id)


def _lowest_free(taken: set[int]) -> int:
    number = 0
    while number in taken:
        number += 1
    return number


@dataclass
class RunnerState:
    """What the daemon knows about one `[[runners]]` entry (keyed by its token)."""

    running: int = 0
    requests: int = 0
    failures: int = 0  # failed requests in a row: the backoff
    unhealthy: int = 0  # refused requests in a row: GitLab's health check
    resting_until: float = 0.0
    not_before: float = 0.0
    slots: SlotTable = field(default_factory=SlotTable)


class ConfigSource(Protocol):
    def current(self) -> Config: ...

    def reload(self) -> bool: ...


class FileConfig:
    """config.toml, re-read when its modification time or size changes; a broken edit is reported
    and the last good configuration kept."""

    def __init__(self, path: Path, config: Config) -> None:
        self.path = path
        self._config = config
        self._stamp = self._read_stamp()

    def current(self) -> Config:
        return self._config

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload(self) -> bool:
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            config = load_config(self.path)
        except RunnerError as exc:
            logger.error("Failed to load config %s, keeping the previous one: %s", self.path, exc)
            return False
        for warning in config.warnings:
            logger.warning("%s", warning)
        self._config = config
        return True


class FixedConfig:
    def __init__(self, config: Config) -> None:
        self._config = config

    def current(self) -> Config:
        return self._config

    def reload(self) -> bool:
        return False


@dataclass
class DaemonOptions:
    max_builds: int = 0  # 0: run forever
    wait_timeout: float = 0.0  # exit when no job came for this long (run-single); 0: never
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    http_timeout: float = 60.0
    timings: TraceTimings = field(default_factory=TraceTimings)
    reload_interval: float = RELOAD_INTERVAL


class Daemon:
    def __init__(self, source: ConfigSource, system_id: str, metrics: RunnerMetrics | None = None,
                 options: DaemonOptions | None = None) -> None:
        self.source = source
        self.system_id = system_id
        self.metrics = metrics
        self.options = options or DaemonOptions()
        self._queue: asyncio.Queue[RunnerSettings] = asyncio.Queue(maxsize=1)
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._phase: dict[int, str] = {}
        self._states: dict[str, RunnerState] = {}
        self._clients: dict[tuple[str, str, str, str], GitLabClient] = {}
        self._jobs: set[RemoteJob] = set()
        self._received = 0
        self._last_job = time.monotonic()
        self._stopping = False
        self._stop_reason = ""  # set by stop_now: running jobs are aborted with it
        self._force_deadline: float | None = None
        self._stopped = asyncio.Event()

    @property
    def running_jobs(self) -> int:
        return len(self._jobs)

    # -- control -------------------------------------------------------------------------------

    def stop_gracefully(self) -> None:
        if not self._stopping:
            logger.info("Graceful shutdown: no new jobs, waiting for %d running job(s) to finish", len(self._jobs))
        self._stopping = True
        self._stopped.set()

    def stop_now(self, reason: str) -> None:
        timeout = self.source.current().effective_shutdown_timeout
        logger.warning("Stopping (%s): aborting %d running job(s), %d s to clean up", reason, len(self._jobs), timeout)
        self._stopping = True
        self._stop_reason = reason
        self._force_deadline = time.monotonic() + timeout
        for job in list(self._jobs):
            job.stop(reason)
        for wid, phase in self._phase.items():
            if phase == "requesting":
                self._workers[wid].cancel()
        self._stopped.set()

    # -- main loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        self._update_settings()
        self._adjust_workers()
        feeder = asyncio.create_task(self._feed(), name="feeder")
        reloader = asyncio.create_task(self._watch_config(), name="config-reload")
        try:
            await self._stopped.wait()
        finally:
            feeder.cancel()
            reloader.cancel()
            await asyncio.wait({feeder, reloader})
            await self._drain()
            for client in self._clients.values():
                await client.aclose()
            self._clients.clear()

    async def _drain(self) -> None:
        """Let running jobs end (bounded by shutdown_timeout once stop_now was called)."""
        for wid, phase in self._phase.items():
            if phase == "idle":
                self._workers[wid].cancel()
        try:
            while pending := [t for t in self._workers.values() if not t.done()]:
                await asyncio.wait(pending, timeout=0.5)
                if self._force_deadline is not None and time.monotonic() > self._force_deadline:
                    logger.error("Jobs did not finish within shutdown_timeout; forcing them to stop")
                    self._force_deadline = None
                    for task in pending:
                        task.cancel()
        finally:
            tasks = list(self._workers.values())
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)

    async def _feed(self) -> None:
        while not self._stopping:
            config = self.source.current()
            runners = list(config.runners)
            if not runners:
                await asyncio.sleep(config.effective_check_interval)
                continue
            interval = config.effective_check_interval / len(runners)
            for runner in runners:
                if self._stopping:
                    return
                if self._eligible(runner):
                    await self._queue.put(runner)
                await asyncio.sleep(interval)
            self._check_wait_timeout()

    async def _watch_config(self) -> None:
        while True:
            await asyncio.sleep(self.options.reload_interval)
            if self.source.reload():
                logger.info("Configuration loaded  %s", fields(builds=len(self._jobs)))
                self._update_settings()
                self._adjust_workers()

    def _update_settings(self) -> None:
        config = self.source.current()
        if self.metrics is not None:
            self.metrics.settings(config.concurrent, {self._labels(r): r.limit for r in config.runners})

    def _adjust_workers(self) -> None:
        wanted = max(self.source.current().concurrent, 1)
        for wid in range(wanted):
            if wid not in self._workers or self._workers[wid].done():
                self._workers[wid] = asyncio.create_task(self._worker(wid), name=f"worker-{wid}")
        for wid, task in list(self._workers.items()):
            if wid >= wanted and self._phase.get(wid) == "idle":
                task.cancel()

    def _check_wait_timeout(self) -> None:
        wait = self.options.wait_timeout
        if wait > 0 and not self._jobs and time.monotonic() - self._last_job > wait:
            logger.info("This runner has not received a job in %d seconds, so now exiting", wait)
            self.stop_gracefully()

    # -- one worker ------------------------------------------------------------------------------

    async def _worker(self, wid: int) -> None:
        try:
            while not self._stopping and wid < max(self.source.current().concurrent, 1):
                self._phase[wid] = "idle"
                runner = await self._queue.get()
                try:
                    await self._process(wid, runner)
                except Exception as exc:  # a bug must not silently cost a worker
                    logger.error("Worker %d failed for runner %s: %s", wid, shorten_token(runner.token),
                                 scrub(repr(exc), runner.token))
        finally:
            self._phase.pop(wid, None)

    def _state(self, runner: RunnerSettings) -> RunnerState:
        return self._states.setdefault(runner.token, RunnerState())

    def _eligible(self, runner: RunnerSettings) -> bool:
        state = self._state(runner)
        now = time.monotonic()
        max_builds = self.options.max_builds
        return bool(
            runner.token
            and not self._stopping
            and not (max_builds and self._received >= max_builds)
            and now >= state.not_before
            and now >= state.resting_until
            and not (runner.limit > 0 and state.running >= runner.limit)
            and state.requests < runner.effective_request_concurrency
        )

    async def _process(self, wid: int, runner: RunnerSettings) -> None:
        if not self._eligible(runner):
            return
        state = self._state(runner)
        state.running += 1
        try:
            state.requests += 1
            self._phase[wid] = "requesting"
            try:
                api = await self._api(runner)
                result = await api.request_job(runner.token, self.system_id,
                                               job_request_info(runner, self.source.current().labels))
            finally:
                state.requests -= 1
            self._record_request(runner, state, result)
            if result.job is None:
                return
            self._received += 1
            self._last_job = time.monotonic()
            if not runner.strict_check_interval:
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(runner)  # another job may be waiting: ask again at once
            self._phase[wid] = "running"
            await self._run_job(runner, api, result.job, state)
        finally:
            state.running -= 1
            self._last_job = time.monotonic()
            self._phase[wid] = "idle"
            if self.options.max_builds and self._received >= self.options.max_builds and not self._jobs:
                self.stop_gracefully()

    def _record_request(self, runner: RunnerSettings, state: RunnerState, result: JobRequestResult) -> None:
        short = shorten_token(runner.token)
        now = time.monotonic()
        if result.status in (201, 204):
            state.failures, state.not_before = 0, 0.0
            if result.status == 204:
                logger.debug("Checking for jobs... no content  %s", fields(runner=short))
        else:
            state.failures += 1
            delay = min(self.source.current().effective_check_interval * 2 ** (state.failures - 1), MAX_BACKOFF)
            state.not_before = now + delay
            logger.warning("Checking for jobs... %s  %s", scrub(result.message, runner.token),
                           fields(runner=short, status=result.status, retry_in_s=f"{delay:g}"))
        if result.healthy:
            state.unhealthy = 0
            return
        state.unhealthy += 1
        limit = runner.unhealthy_requests_limit or DEFAULT_UNHEALTHY_LIMIT
        if state.unhealthy >= limit:
            interval = runner.unhealthy_interval
            rest = interval.total_seconds() if interval else DEFAULT_UNHEALTHY_INTERVAL
            state.resting_until, state.unhealthy = now + rest, 0
            logger.error("Runner %s is unhealthy and will be disabled for %g seconds!", short, rest)

    async def _api(self, runner: RunnerSettings) -> JobsApi:
        key = (runner.url, runner.tls_ca_file, runner.tls_cert_file, runner.tls_key_file)
        client = self._clients.get(key)
        if client is None:
            tls = TlsSettings(runner.tls_ca_file, runner.tls_cert_file, runner.tls_key_file)
            client = GitLabClient(runner.url, retry=self.options.retry, tls=tls, timeout=self.options.http_timeout)
            await client.__aenter__()
            self._clients[key] = client
        return JobsApi(client, self._observer(runner))

    def _observer(self, runner: RunnerSettings) -> Callable[[str, str], None]:
        labels = self._labels(runner)
        metrics = self.metrics
        if metrics is None:
            return lambda endpoint, status: None
        return lambda endpoint, status: metrics.api_request(labels, endpoint, status)

    def _labels(self, runner: RunnerSettings) -> RunnerLabels:
        return RunnerLabels(shorten_token(runner.token), runner.name, self.system_id)

    async def _run_job(self, runner: RunnerSettings, api: JobsApi, raw: dict[str, object], state: RunnerState) -> None:
        info = job_request_info(runner, self.source.current().labels)
        job = RemoteJob(raw, runner, api, info, self.system_id, state.slots, self.options.timings)
        repo = raw.get("git_info")
        repo_url = clean_url(str(repo.get("repo_url", ""))) if isinstance(repo, dict) else ""
        logger.info("Checking for jobs... received  %s",
                    fields(job=job.job_id, repo_url=repo_url, runner=shorten_token(runner.token)))
        self._jobs.add(job)
        if self._stop_reason:
            job.stop(self._stop_reason)
        labels = self._labels(runner)
        if self.metrics is not None:
            self.metrics.job_started(labels)
        started = time.monotonic()
        outcome = JobOutcome(job.job_id, 0, "failed", "runner_system_failure")
        try:
            outcome = await job.run()
        except Exception as exc:  # a bug must not take the other jobs down
            logger.error("Job %d crashed the runner's job handling: %s", job.job_id,
                         scrub(repr(exc), runner.token, job.token))
        finally:
            self._jobs.discard(job)
            if self.metrics is not None:
                self.metrics.job_finished(labels, outcome.state or "aborted", outcome.failure_reason,
                                          time.monotonic() - started)
        _log_outcome(outcome, shorten_token(runner.token))


def _log_outcome(outcome: JobOutcome, short_token: str) -> None:
    details = fields(duration_s=f"{outcome.duration:.3f}", job=outcome.job_id, project=outcome.project_id,
                     runner=short_token)
    if outcome.state == "success":
        logger.info("Job succeeded  %s", details)
    elif outcome.state:
        logger.warning("Job failed  %s", fields(failure_reason=outcome.failure_reason,
                                                exit_code=outcome.exit_code) + "  " + details)
