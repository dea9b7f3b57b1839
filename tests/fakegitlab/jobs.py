"""Job endpoints of the fake GitLab (spec 4.1, 4.3, 4.4) and the controls tests use on them.

    jobs = FakeJobs(gitlab)
    record = jobs.add(payload)                  # queued; the next jobs/request gets it
    jobs.fail_trace(record.id, TraceFault(status=416), TraceFault(status=500))
    jobs.cancel(record.id)                      # next PATCH/PUT answers Job-Status: canceling
    jobs.wait_finished([record.id], timeout=120)
    record.trace, record.status, record.failure_reason

The server behaves as GitLab does where the runner can tell: a trace patch must start where the
stored trace ends (else 416 with the current `Range`; a patch from 0 resets it, GitLab's
trace_reset), the final PUT's `output.checksum`/`bytesize` must match the assembled trace (else
412), a finished or canceled job answers 403 with its `Job-Status`.
"""

from __future__ import annotations

import re
import secrets
import time
import zlib
from collections.abc import Iterable
from typing import Any

from tests.fakegitlab import gitrepo
from tests.fakegitlab.routing import Reply, Router
from tests.fakegitlab.state import GitLabState, JobRecord, RecordedRequest, TraceFault

FORBIDDEN = {"message": "403 Forbidden"}
_CONTENT_RANGE = re.compile(r"^(\d+)-(\d+)$")
FINAL_STATES = ("success", "failed")


def add_routes(router: Router) -> None:
    router.add("POST", "/api/v4/jobs/request", request_job)
    router.add("PUT", "/api/v4/jobs/{id}", update_job)
    router.add("PATCH", "/api/v4/jobs/{id}/trace", patch_trace)
    gitrepo.add_routes(router)


# -- handlers ----------------------------------------------------------------------------------


def request_job(state: GitLabState, request: RecordedRequest, _params: dict[str, str]) -> Reply:
    body = request.json if isinstance(request.json, dict) else {}
    runner = state.runner_by_token(body.get("token"))
    if runner is None or request.headers.get("runner-token") != body.get("token"):
        return Reply.json(403, FORBIDDEN)
    with state.lock:
        if not state.job_queue:  # GitLab tells the queue version with "no job" too
            return Reply(204, b"", {"X-GitLab-Last-Update": state.last_update})
        job = state.jobs[state.job_queue.popleft()]
        job.status, job.runner_id, job.started_at = "running", runner.id, time.time()
        state.running_now += 1
        state.running_max = max(state.running_max, state.running_now)
        state.touch()
        return Reply.json(201, job.payload)


def _job_for(state: GitLabState, request: RecordedRequest, params: dict[str, str]) -> JobRecord | Reply:
    try:
        job = state.jobs.get(int(params["id"]))
    except ValueError:
        job = None
    if job is None:
        return Reply.json(404, {"message": "404 Not found"})
    if request.headers.get("job-token") != job.token:
        return Reply.json(403, FORBIDDEN)
    return job


def _job_headers(state: GitLabState, job: JobRecord) -> dict[str, str]:
    return {"Job-Status": job.status, "X-GitLab-Trace-Update-Interval": str(state.trace_update_interval)}


def patch_trace(state: GitLabState, request: RecordedRequest, params: dict[str, str]) -> Reply:
    found = _job_for(state, request, params)
    if isinstance(found, Reply):
        return found
    job = found
    content_range = request.headers.get("content-range", "")
    with state.lock:
        fault = job.trace_faults.popleft() if job.trace_faults else None
    if fault is not None and fault.delay:
        time.sleep(fault.delay)
    with state.lock:
        reply = _apply_patch(state, job, content_range, request.body, fault)
        job.patches.append((content_range, reply.status))
        return reply


def _apply_patch(state: GitLabState, job: JobRecord, content_range: str, body: bytes,
                 fault: TraceFault | None) -> Reply:
    headers = _job_headers(state, job)
    if job.status not in ("running", "canceling"):
        return Reply(403, b"", headers)
    if fault is not None and fault.lose:
        del job.trace[max(len(job.trace) - fault.lose, 0):]
        return Reply(416, b"", {**headers, "Range": f"0-{len(job.trace)}"})
    if fault is not None and fault.status is not None:
        extra = {"Range": f"0-{len(job.trace)}"} if fault.status == 416 else {}
        return Reply(fault.status, b"", {**headers, **extra})
    match = _CONTENT_RANGE.match(content_range)
    if match is None or int(match.group(2)) - int(match.group(1)) + 1 != len(body):
        return Reply.json(400, {"message": f"bad Content-Range {content_range!r} for {len(body)} bytes"})
    start = int(match.group(1))
    if start == 0:
        job.trace.clear()  # trace_reset: a runner may start over
    if start != len(job.trace):
        return Reply(416, b"", {**headers, "Range": f"0-{len(job.trace)}"})
    job.trace += body
    return Reply(202, b"", {**headers, "Range": f"0-{len(job.trace)}"})


def update_job(state: GitLabState, request: RecordedRequest, params: dict[str, str]) -> Reply:
    found = _job_for(state, request, params)
    if isinstance(found, Reply):
        return found
    job = found
    body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
    with state.lock:
        job.updates.append(body)
        headers = _job_headers(state, job)
        if job.status not in ("running", "canceling"):
            return Reply(403, b"", headers)
        new_state = body.get("state")
        if new_state == "running":
            return Reply(200, b"", headers)
        if new_state not in FINAL_STATES:
            return Reply.json(400, {"message": f"state {new_state!r} is not valid"})
        if not _output_matches(job, body.get("output")):
            job.checksum_mismatches += 1
            return Reply(412, b"", headers)
        _finish(state, job, body)
        return Reply(200, b"", _job_headers(state, job))


def _output_matches(job: JobRecord, output: object) -> bool:
    if not isinstance(output, dict):
        return False
    return output.get("checksum") == f"crc32:{zlib.crc32(job.trace):08x}" and output.get("bytesize") == len(job.trace)


def _finish(state: GitLabState, job: JobRecord, body: dict[str, Any]) -> None:
    job.status = "canceled" if job.status == "canceling" else str(body["state"])
    job.failure_reason = body.get("failure_reason")
    job.exit_code = body.get("exit_code")
    job.finished_at = time.time()
    state.running_now -= 1
    state.touch()


# -- controls for tests ------------------------------------------------------------------------


class FakeJobs:
    """The test's side of the job queue of one `FakeGitLab`."""

    def __init__(self, gitlab: Any) -> None:
        self.gitlab = gitlab
        self.state: GitLabState = gitlab.state

    def new_identity(self) -> tuple[int, str]:
        """An id and a job token (`glcbt-...`, as GitLab's CI job tokens) for a payload."""
        with self.state.lock:
            self.state.next_id += 1
            return self.state.next_id, "glcbt-" + secrets.token_hex(10)

    def add(self, payload: dict[str, Any]) -> JobRecord:
        record = JobRecord(id=int(payload["id"]), token=str(payload["token"]), payload=payload)
        with self.state.lock:
            self.state.jobs[record.id] = record
            self.state.job_queue.append(record.id)
            self.state.touch()
        return record

    def get(self, job_id: int) -> JobRecord:
        with self.state.lock:
            return self.state.jobs[job_id]

    def fail_trace(self, job_id: int, *faults: TraceFault) -> None:
        with self.state.lock:
            self.state.jobs[job_id].trace_faults.extend(faults)

    def cancel(self, job_id: int) -> None:
        """A user pressed "Cancel": the runner hears `Job-Status: canceling` on its next call."""
        with self.state.lock:
            job = self.state.jobs[job_id]
            if job.status == "running":
                job.status = "canceling"

    def wait_until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.state.lock:
                if predicate():
                    return
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def wait_finished(self, job_ids: Iterable[int], timeout: float = 180) -> None:
        ids = list(job_ids)
        self.wait_until(lambda: all(self.state.jobs[i].finished for i in ids), timeout, f"jobs {ids} to finish")

    def wait_trace(self, job_id: int, text: bytes, timeout: float = 120) -> None:
        job = self.get(job_id)
        self.wait_until(lambda: text in job.trace, timeout, f"{text!r} in the trace of job {job_id}")

    def request_bodies(self) -> list[dict[str, Any]]:
        return [r.json for r in self.gitlab.requests_to("POST", "/api/v4/jobs/request") if isinstance(r.json, dict)]
