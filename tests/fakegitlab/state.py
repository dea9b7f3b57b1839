"""What the fake GitLab knows and what it received. Guarded by one lock; handlers run in threads."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it. Header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    at: float


@dataclass(frozen=True)
class Fault:
    """An injected reply: wait `delay` seconds, then answer `status` (None: answer normally)."""

    status: int | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class RunnerRecord:
    """A runner GitLab knows: made by a registration token (legacy) or in the UI (glrt- token)."""

    id: int
    token: str
    description: str = ""
    tag_list: str = ""
    run_untagged: bool = False
    locked: bool = True
    paused: bool = False
    access_level: str = ""
    maximum_timeout: int = 0
    maintenance_note: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    token_expires_at: str | None = None
    managers: dict[str, dict[str, Any]] = field(default_factory=dict)  # system_id -> info


@dataclass(frozen=True)
class TraceFault:
    """What the next `PATCH .../trace` of a job meets instead of a plain success.

    status: answer it (416 comes with the real `Range`); delay: wait, then handle it normally;
    lose: forget the last `lose` bytes of the stored trace, then answer 416 with the new range.
    """

    status: int | None = None
    delay: float = 0.0
    lose: int = 0


@dataclass
class JobRecord:
    """A job in the fake GitLab's queue, and everything the runner told GitLab about it."""

    id: int
    token: str
    payload: dict[str, Any]
    status: str = "pending"  # pending, running, canceling, canceled, success, failed
    runner_id: int | None = None
    trace: bytearray = field(default_factory=bytearray)
    trace_faults: deque[TraceFault] = field(default_factory=deque)
    updates: list[dict[str, Any]] = field(default_factory=list)  # PUT bodies, in order
    patches: list[tuple[str, int]] = field(default_factory=list)  # (Content-Range, answered status)
    failure_reason: str | None = None
    exit_code: int | None = None
    checksum_mismatches: int = 0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("success", "failed", "canceled")


@dataclass
class GitLabState:
    registration_tokens: set[str]
    runners: dict[int, RunnerRecord] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: dict[tuple[str, str], deque[Fault]] = field(default_factory=dict)
    last_update: str = field(default_factory=lambda: secrets.token_hex(8))
    lock: threading.RLock = field(default_factory=threading.RLock)
    next_id: int = 1000
    jobs: dict[int, JobRecord] = field(default_factory=dict)
    job_queue: deque[int] = field(default_factory=deque)
    trace_update_interval: int = 1  # what `X-GitLab-Trace-Update-Interval` says
    running_now: int = 0
    running_max: int = 0  # the most jobs this server saw running at once
    git_root: str | None = None  # bare repositories served at /<namespace>/<project>.git

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get((method, path))
            return queue.popleft() if queue else None

    def touch(self) -> None:
        """Something changed: a new `X-GitLab-Last-Update` value, as GitLab does."""
        self.last_update = secrets.token_hex(8)

    def add_runner(self, token: str | None = None, **attributes: Any) -> RunnerRecord:
        with self.lock:
            self.next_id += 1
            record = RunnerRecord(self.next_id, token or secrets.token_urlsafe(15), **attributes)
            self.runners[record.id] = record
            self.touch()
            return record

    def runner_by_token(self, token: object) -> RunnerRecord | None:
        with self.lock:
            return next((r for r in self.runners.values() if r.token == token), None)

    def remove_runner(self, runner_id: int) -> None:
        with self.lock:
            self.runners.pop(runner_id, None)
            self.touch()


def now() -> float:
    return time.time()
