"""Prometheus metrics of `glrunner run`, served at `/metrics` when `listen_address` is set.

Names and labels are GitLab Runner's where it has the metric (so existing dashboards keep
working): `gitlab_runner_jobs`, `gitlab_runner_jobs_total`, `gitlab_runner_failed_jobs_total`,
`gitlab_runner_job_duration_seconds`, `gitlab_runner_api_request_statuses_total`,
`gitlab_runner_concurrent`, `gitlab_runner_limit`, `gitlab_runner_version_info`. Jobs finished by
final state are glrunner's own: `glrunner_jobs_finished_total`. `runner` is the short token,
never the token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric

from glrunner import __version__
from glrunner.errors import UsageError

_RUNNER = ("runner", "runner_name", "system_id")
DURATION_BUCKETS = (30, 60, 300, 600, 1800, 3600, 7200, 10800, 18000, 36000)


@dataclass(frozen=True)
class RunnerLabels:
    short_token: str
    name: str
    system_id: str

    def values(self) -> tuple[str, str, str]:
        return self.short_token, self.name, self.system_id


class _RunningJobs:
    """`gitlab_runner_jobs`: a gauge whose name is also the stem of the `gitlab_runner_jobs_total`
    counter, which prometheus-client's name check would refuse; a collector without `describe`
    is not checked."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}

    def add(self, labels: tuple[str, str, str], delta: int) -> None:
        self.counts[labels] = self.counts.get(labels, 0) + delta

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("gitlab_runner_jobs", "The current number of running builds.", labels=_RUNNER)
        for labels, count in sorted(dict(self.counts).items()):  # a copy: the loop thread adds
            family.add_metric(labels, count)
        yield family


class RunnerMetrics:
    """One registry per process; the HTTP server runs in prometheus-client's own thread."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs_running = _RunningJobs()
        r.register(self.jobs_running)
        self.jobs_total = Counter("gitlab_runner_jobs", "Total number of handled jobs", _RUNNER, registry=r)
        self.jobs_failed = Counter("gitlab_runner_failed_jobs", "Total number of failed jobs",
                                   (*_RUNNER, "failure_reason"), registry=r)
        self.jobs_finished = Counter("glrunner_jobs_finished", "Jobs finished, by the state reported to GitLab",
                                     (*_RUNNER, "state", "failure_reason"), registry=r)
        self.job_duration = Histogram("gitlab_runner_job_duration_seconds", "Histogram of job durations",
                                      _RUNNER, buckets=DURATION_BUCKETS, registry=r)
        self.api_requests = Counter("gitlab_runner_api_request_statuses", "The total number of api requests, "
                                    "partitioned by runner, system_id, endpoint and status.",
                                    ("runner", "system_id", "endpoint", "status"), registry=r)
        self.concurrent = Gauge("gitlab_runner_concurrent", "The current value of concurrent setting", registry=r)
        self.limit = Gauge("gitlab_runner_limit", "The current value of limit setting", _RUNNER, registry=r)
        version = Gauge("gitlab_runner_version_info", "Runner version information",
                        ("name", "version"), registry=r)
        version.labels("glrunner", __version__).set(1)
        self._server: Any = None

    def job_started(self, runner: RunnerLabels) -> None:
        self.jobs_running.add(runner.values(), 1)
        self.jobs_total.labels(*runner.values()).inc()

    def job_finished(self, runner: RunnerLabels, state: str, failure_reason: str | None, duration: float) -> None:
        self.jobs_running.add(runner.values(), -1)
        self.jobs_finished.labels(*runner.values(), state, failure_reason or "").inc()
        if state != "success":
            self.jobs_failed.labels(*runner.values(), failure_reason or "").inc()
        self.job_duration.labels(*runner.values()).observe(duration)

    def api_request(self, runner: RunnerLabels, endpoint: str, status: str) -> None:
        self.api_requests.labels(runner.short_token, runner.system_id, endpoint, status).inc()

    def settings(self, concurrent: int, limits: dict[RunnerLabels, int]) -> None:
        self.concurrent.set(concurrent)
        for runner, limit in limits.items():
            self.limit.labels(*runner.values()).set(limit)

    def serve(self, listen_address: str) -> str:
        """Start `/metrics` on `host:port` (`:port` = all addresses); returns the address bound."""
        host, port = parse_listen_address(listen_address)
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise UsageError(f"listen_address {listen_address!r}: cannot listen there ({exc.strerror or exc}); "
                             "pick a free port, e.g. listen_address = \"127.0.0.1:9252\"") from None
        bound_host, bound_port = self._server.server_address[:2]
        return f"{bound_host}:{bound_port}"

    def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.shutdown()
                self._server.server_close()
            self._server = None


def parse_listen_address(value: str) -> tuple[str, int]:
    host, sep, port_text = value.strip().rpartition(":")
    if not sep:
        host, port_text = value.strip(), ""
    host = host.strip("[]") or "0.0.0.0"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"listen_address {value!r}: expected host:port such as \"127.0.0.1:9252\" or \":9252\"")
    return host, int(port_text)
