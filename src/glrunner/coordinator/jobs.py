"""GitLab's job endpoints (spec 4.1, 4.3, 4.4): request a job, update it, append to its trace.

Each call returns a typed result that says what GitLab Runner would do next (`PatchState`,
`UpdateState`), never raises for an HTTP status, and logs nothing: the caller decides. A server
that cannot be reached (after the client's own retries) is a `FAILED` result, as in GitLab Runner.
`observe(endpoint, status)` is called once per call, for metrics (`status` "error" when no answer).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from glrunner.coordinator.http import ApiResponse, GitLabClient
from glrunner.errors import CoordinatorError, FailureReason

UPDATE_INTERVAL_HEADER = "x-gitlab-trace-update-interval"
JOB_STATUS_HEADER = "job-status"
RANGE_HEADER = "range"

Observer = Callable[[str, str], None]

# Reasons every GitLab accepts, whatever the payload's `features.failure_reasons` says (spec 4.3).
ALWAYS_SUPPORTED_REASONS = (
    FailureReason.SCRIPT_FAILURE,
    FailureReason.RUNNER_SYSTEM_FAILURE,
    FailureReason.JOB_EXECUTION_TIMEOUT,
)
# Newer reasons fall back to older, more general ones when GitLab does not know them.
_COMPATIBLE_REASONS: dict[str, FailureReason] = {
    FailureReason.IMAGE_PULL_FAILURE: FailureReason.RUNNER_SYSTEM_FAILURE,
    FailureReason.RUNNER_CONFIGURATION_ERROR: FailureReason.SCRIPT_FAILURE,
    FailureReason.RUNNER_EXTERNAL_DEPENDENCY_FAILURE: FailureReason.RUNNER_SYSTEM_FAILURE,
}


def map_failure_reason(reason: str | None, supported: Iterable[str]) -> str:
    """The `failure_reason` to send: as is when GitLab supports it, else its fallback, else unknown."""
    if not reason:
        return FailureReason.SCRIPT_FAILURE.value
    accepted = {str(r) for r in (*supported, *ALWAYS_SUPPORTED_REASONS)}
    current: str | None = str(reason)
    for _ in range(10):  # the fallback chain is short; a bound keeps a bad table from looping
        if current is None:
            break
        if current in accepted:
            return current
        fallback = _COMPATIBLE_REASONS.get(current)
        current = str(fallback) if fallback is not None else None
    return FailureReason.UNKNOWN_FAILURE.value


class PatchState(enum.Enum):
    SUCCEEDED = "succeeded"
    RANGE_MISMATCH = "range_mismatch"
    NOT_FOUND = "not_found"
    ABORT = "abort"
    FAILED = "failed"


class UpdateState(enum.Enum):
    SUCCEEDED = "succeeded"
    ACCEPTED = "accepted"  # 202: accepted but not yet completed, ask again later
    TRACE_VALIDATION_FAILED = "trace_validation_failed"  # 412: send the whole trace again
    ABORT = "abort"  # 403, 404, other client errors, Job-Status canceled|failed
    FAILED = "failed"  # anything else: try again


@dataclass(frozen=True)
class PatchResult:
    state: PatchState
    sent_offset: int  # where the next patch starts
    update_interval: float | None = None
    cancel_requested: bool = False


@dataclass(frozen=True)
class UpdateResult:
    state: UpdateState
    update_interval: float | None = None
    cancel_requested: bool = False


@dataclass(frozen=True)
class JobRequestResult:
    """`job` is the payload GitLab sent (201) or None; `healthy` False counts against the runner."""

    job: dict[str, Any] | None
    healthy: bool
    status: int | None
    message: str


@dataclass(frozen=True)
class JobOutput:
    checksum: str
    bytesize: int


def _update_interval(headers: Mapping[str, str]) -> float | None:
    raw = headers.get(UPDATE_INTERVAL_HEADER, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return float(value) if value > 0 else None


def _remote_state(headers: Mapping[str, str]) -> str:
    return headers.get(JOB_STATUS_HEADER, "").strip().lower()


def _is_failed(reply: ApiResponse) -> bool:
    return _remote_state(reply.headers) in ("canceled", "failed") or reply.status == 403


def range_end(value: str) -> int:
    """The number after `-` in a `Range: 0-4242` header (0 when there is none, as GitLab Runner)."""
    parts = value.split("-")
    if len(parts) == 2:
        try:
            return int(parts[1].strip())
        except ValueError:
            return 0
    return 0


class JobsApi:
    """jobs/request, PUT jobs/:id and PATCH jobs/:id/trace over a `GitLabClient`."""

    def __init__(self, client: GitLabClient, observe: Observer | None = None) -> None:
        self.client = client
        self._observe = observe or (lambda endpoint, status: None)

    async def request_job(self, token: str, system_id: str, info: Mapping[str, object]) -> JobRequestResult:
        body: dict[str, object] = {"info": dict(info), "token": token, "system_id": system_id}
        if self.client.last_update:
            body["last_update"] = self.client.last_update
        try:
            reply = await self.client.request(
                "POST", "jobs/request", json=body, runner_token=token, expect_json=True
            )
        except CoordinatorError as exc:
            self._observe("request_job", "error")
            return JobRequestResult(None, True, None, f"failed: {exc}")
        self._observe("request_job", str(reply.status))
        # GitLab Runner keeps the queue version from every answer, 204 included (no JSON body there)
        last_update = reply.headers.get("x-gitlab-last-update")
        if last_update:
            self.client.last_update = last_update
        if reply.status == 201 and reply.is_json and isinstance(reply.json, dict):
            return JobRequestResult(reply.json, True, 201, "received")
        if reply.status == 204:
            return JobRequestResult(None, True, 204, "no content")
        if reply.status == 403:
            return JobRequestResult(None, False, 403, "forbidden")
        if reply.status == 503:
            return JobRequestResult(None, True, 503, "GitLab instance currently unavailable")
        if 400 <= reply.status < 500 or reply.status == 201:
            return JobRequestResult(None, False, reply.status, "client error")
        return JobRequestResult(None, True, reply.status, "failed")

    async def update_job(
        self,
        job_id: int,
        job_token: str,
        info: Mapping[str, object],
        state: str,
        *,
        failure_reason: str | None = None,
        exit_code: int | None = None,
        output: JobOutput | None = None,
    ) -> UpdateResult:
        body: dict[str, object] = {"info": dict(info), "token": job_token, "state": state}
        if failure_reason:
            body["failure_reason"] = failure_reason
        if output is not None:
            body["checksum"] = output.checksum  # deprecated duplicate GitLab still reads
            body["output"] = {"checksum": output.checksum, "bytesize": output.bytesize}
        if exit_code:
            body["exit_code"] = exit_code
        try:
            reply = await self.client.request("PUT", f"jobs/{job_id}", json=body, job_token=job_token)
        except CoordinatorError:
            self._observe("update_job", "error")
            return UpdateResult(UpdateState.FAILED)
        self._observe("update_job", str(reply.status))
        return UpdateResult(
            _update_state(reply), _update_interval(reply.headers), _remote_state(reply.headers) == "canceling"
        )

    async def patch_trace(
        self, job_id: int, job_token: str, content: bytes, offset: int, *, debug_trace: bool = False
    ) -> PatchResult:
        if not content:
            return PatchResult(PatchState.SUCCEEDED, offset)
        end = offset + len(content)
        headers = {"Content-Type": "text/plain", "Content-Range": f"{offset}-{end - 1}"}
        params = {"debug_trace": "true" if debug_trace else "false"}
        try:
            reply = await self.client.request(
                "PATCH", f"jobs/{job_id}/trace", content=content, job_token=job_token, headers=headers, params=params
            )
        except CoordinatorError:
            self._observe("patch_trace", "error")
            return PatchResult(PatchState.FAILED, offset)
        self._observe("patch_trace", str(reply.status))
        interval = _update_interval(reply.headers)
        canceling = _remote_state(reply.headers) == "canceling"
        if _is_failed(reply):
            return PatchResult(PatchState.ABORT, offset, interval, canceling)
        if reply.status == 202:
            return PatchResult(PatchState.SUCCEEDED, end, interval, canceling)
        if reply.status == 404:
            return PatchResult(PatchState.NOT_FOUND, offset, interval, canceling)
        if reply.status == 416:
            new_offset = range_end(reply.headers.get(RANGE_HEADER, ""))
            return PatchResult(PatchState.RANGE_MISMATCH, new_offset, interval, canceling)
        return PatchResult(PatchState.FAILED, offset, interval, canceling)


def _update_state(reply: ApiResponse) -> UpdateState:
    if _is_failed(reply):
        return UpdateState.ABORT
    if reply.status == 200:
        return UpdateState.SUCCEEDED
    if reply.status == 202:
        return UpdateState.ACCEPTED
    if reply.status == 412:
        return UpdateState.TRACE_VALIDATION_FAILED
    if 400 <= reply.status < 500:
        return UpdateState.ABORT
    return UpdateState.FAILED
