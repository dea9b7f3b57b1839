"""The trace buffer and patcher against the fake GitLab over real HTTP (spec 4.3, 4.4, 7 rows 11-12).

Each test drives `JobTrace` tick by tick (no sleeping) and checks what the server assembled.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glrunner.coordinator.http import GitLabClient, RetryPolicy
from glrunner.coordinator.jobs import JobsApi
from glrunner.coordinator.trace import JobTrace, TraceBuffer, TraceTimings, limit_message
from tests.fakegitlab import FakeGitLab, Fault
from tests.fakegitlab.jobs import FakeJobs
from tests.fakegitlab.state import JobRecord, TraceFault

NO_WAIT = RetryPolicy(min_backoff=0.0, max_backoff=0.0)


async def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    gitlab: FakeGitLab
    jobs: FakeJobs
    api: JobsApi
    clock: Clock = field(default_factory=Clock)

    def running_job(self) -> JobRecord:
        job_id, token = self.jobs.new_identity()
        record = self.jobs.add({"id": job_id, "token": token})
        with self.gitlab.state.lock:
            self.gitlab.state.job_queue.remove(job_id)
            record.status = "running"
            self.gitlab.state.running_now += 1
        return record

    def trace(self, record: JobRecord, limit: int = 4 * 1024 * 1024, patch_limit: int = 1024 * 1024,
              **kwargs: object) -> JobTrace:
        timings = TraceTimings(update_interval=0.01, patch_limit=patch_limit, final_retry_limit=30,
                               final_backoff=(0.0, 0.0))
        return JobTrace(self.api, record.id, record.token, TraceBuffer(limit), {"name": "glrunner"}, timings,
                        clock=self.clock, sleep=_no_sleep, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        yield server


@pytest.fixture
async def harness(gitlab: FakeGitLab) -> AsyncIterator[Harness]:
    async with GitLabClient(gitlab.url, retry=NO_WAIT) as client:
        yield Harness(gitlab, FakeJobs(gitlab), JobsApi(client))


def _patch_ranges(gitlab: FakeGitLab, job: JobRecord) -> list[str]:
    return [r.headers["content-range"] for r in gitlab.requests_to("PATCH", f"/api/v4/jobs/{job.id}/trace")]


async def test_content_range_is_inclusive_without_unit_spec_4_4(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job)
    trace.buffer.write(b"x" * 100)
    assert await trace.incremental_update()
    trace.buffer.write(b"y" * 10)
    assert await trace.incremental_update()
    assert _patch_ranges(harness.gitlab, job) == ["0-99", "100-109"]
    request = harness.gitlab.requests_to("PATCH", f"/api/v4/jobs/{job.id}/trace")[0]
    assert request.headers["job-token"] == job.token
    assert request.headers["content-type"] == "text/plain"
    assert request.query == {"debug_trace": ["false"]}
    assert bytes(job.trace) == b"x" * 100 + b"y" * 10


async def test_empty_trace_sends_no_patch(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job)
    assert await trace.incremental_update()
    assert _patch_ranges(harness.gitlab, job) == []


async def test_416_resumes_from_the_servers_range_spec_7_11(harness: Harness) -> None:
    """The server lost the last 50 bytes: it answers 416 `Range: 0-50`; the next patch starts at 50."""
    job = harness.running_job()
    trace = harness.trace(job)
    trace.buffer.write(b"a" * 100)
    assert await trace.incremental_update()
    harness.jobs.fail_trace(job.id, TraceFault(lose=50))
    trace.buffer.write(b"b" * 20)
    assert await trace.incremental_update()
    assert trace.sent == 50
    assert await trace.incremental_update()
    assert _patch_ranges(harness.gitlab, job) == ["0-99", "100-119", "50-119"]
    assert bytes(job.trace) == b"a" * 100 + b"b" * 20


async def test_patches_are_at_most_the_limit(harness: Harness) -> None:
    """1 MiB per PATCH (spec 4.4): 2.5 MiB go in three patches, the final flush sends them all."""
    job = harness.running_job()
    trace = harness.trace(job, limit=8 * 1024 * 1024)
    data = (b"0123456789abcdef" * 64 + b"\n") * 2500  # about 2.5 MiB
    trace.buffer.write(data)
    assert await trace.finish("success")
    ranges = _patch_ranges(harness.gitlab, job)
    mib = 1024 * 1024
    assert ranges[:2] == [f"0-{mib - 1}", f"{mib}-{2 * mib - 1}"]
    assert ranges[-1] == f"{2 * mib}-{len(data) - 1}"
    assert bytes(job.trace) == data and job.status == "success"


async def test_final_update_carries_checksum_and_size_spec_7_12(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job)
    trace.buffer.write(b"line one\nline two\n")
    assert await trace.finish("failed", "script_failure", 3)
    body = job.updates[-1]
    expected = f"crc32:{zlib.crc32(b'line one' + bytes([10]) + b'line two' + bytes([10])):08x}"
    assert body["output"] == {"checksum": expected, "bytesize": 18}
    assert body["checksum"] == expected
    assert (body["state"], body["failure_reason"], body["exit_code"]) == ("failed", "script_failure", 3)
    assert job.status == "failed" and job.exit_code == 3


async def test_success_sends_no_failure_reason_or_exit_code(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job)
    assert await trace.finish("success", None, None)
    assert "failure_reason" not in job.updates[-1] and "exit_code" not in job.updates[-1]


async def test_412_resends_the_whole_trace_spec_7_12(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job)
    trace.buffer.write(b"0123456789")
    assert await trace.incremental_update()
    harness.gitlab.inject("PUT", f"/api/v4/jobs/{job.id}", Fault(status=412))
    assert await trace.finish("success")
    assert _patch_ranges(harness.gitlab, job) == ["0-9", "0-9"]
    assert job.status == "success" and bytes(job.trace) == b"0123456789"


async def test_output_limit_with_gitlabs_message(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job, limit=1000)
    trace.buffer.write(b"a" * 600)
    trace.buffer.write(b"b" * 600)
    trace.buffer.write(b"never collected")
    assert await trace.finish("success")
    expected = b"a" * 600 + b"b" * 400 + limit_message(1000)
    assert bytes(job.trace) == expected
    assert b"Job's log exceeded limit of 1000 bytes." in expected
    assert b"Job execution will continue but no more output will be collected." in expected
    assert job.status == "success"  # checksum and size describe the truncated trace


def test_output_limit_does_not_split_a_character() -> None:
    buffer = TraceBuffer(limit=5)
    buffer.write("abcdé".encode())  # é is two bytes: bytes 4 and 5 of 6
    assert buffer.getvalue().startswith(b"abcd\n")


def test_invalid_utf8_is_replaced_and_split_characters_kept() -> None:
    buffer = TraceBuffer()
    buffer.write(b"ok \xff ")
    buffer.write("é".encode()[:1])
    buffer.write("é".encode()[1:] + b"\n")
    buffer.finish()
    assert buffer.getvalue() == "ok \ufffd é\n".encode()


async def test_403_aborts_the_job(harness: Harness) -> None:
    job = harness.running_job()
    aborted: list[bool] = []
    trace = harness.trace(job, on_abort=lambda: aborted.append(True))
    trace.buffer.write(b"output")
    with harness.gitlab.state.lock:
        job.status = "canceled"
    assert not await trace.incremental_update()
    assert aborted == [True] and trace.aborted


async def test_canceling_asks_for_a_graceful_cancel_and_update_interval_is_honoured(harness: Harness) -> None:
    job = harness.running_job()
    canceled: list[bool] = []
    trace = harness.trace(job, on_cancel=lambda: canceled.append(True))
    harness.gitlab.state.trace_update_interval = 7
    try:
        trace.buffer.write(b"output")
        harness.jobs.cancel(job.id)
        assert await trace.incremental_update()
    finally:
        harness.gitlab.state.trace_update_interval = 1
    assert canceled == [True] and trace.update_interval == 7


async def test_touch_keeps_a_quiet_job_alive_spec_4_3(harness: Harness) -> None:
    job = harness.running_job()
    trace = harness.trace(job)
    trace.buffer.write(b"first")
    assert await trace.incremental_update()
    assert job.updates == []
    harness.clock.now += 31  # nothing sent for longer than the force-send interval
    assert await trace.incremental_update()
    assert job.updates[-1]["state"] == "running"
    assert job.updates[-1]["output"] == {"checksum": f"crc32:{zlib.crc32(b'first'):08x}", "bytesize": 5}


PATCH_FAULTS = st.one_of(
    st.builds(TraceFault, status=st.sampled_from([416, 500, 502, 404])),
    st.builds(TraceFault, lose=st.integers(min_value=1, max_value=40)),
)
PUT_FAULTS = st.sampled_from([Fault(status=500), Fault(status=202), Fault(status=412)])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(TEXT, min_size=1, max_size=12),
       faults=st.lists(PATCH_FAULTS, max_size=12),
       put_faults=st.lists(PUT_FAULTS, max_size=3),
       patch_limit=st.integers(min_value=3, max_value=64))
async def test_no_byte_is_lost_whatever_the_server_answers(
    harness: Harness, chunks: list[str], faults: list[TraceFault], put_faults: list[Fault], patch_limit: int
) -> None:
    """Property: after the final update the server holds exactly what was written, and accepted it."""
    job = harness.running_job()
    harness.jobs.fail_trace(job.id, *faults)
    harness.gitlab.inject("PUT", f"/api/v4/jobs/{job.id}", *put_faults)
    trace = harness.trace(job, patch_limit=patch_limit)
    written = b""
    for chunk in chunks:
        data = chunk.encode()
        trace.buffer.write(data)
        written += data
        assert await trace.incremental_update()
    assert await trace.finish("success")
    assert bytes(job.trace) == written == trace.buffer.getvalue()
    assert job.status == "success"
