"""A job's trace on its way to GitLab (spec 4.3, 4.4): the buffer, and the patcher that sends it.

`TraceBuffer` keeps every byte GitLab is to receive (already masked by the `JobLog` in front of
it), with invalid UTF-8 replaced and GitLab's `output_limit` applied; its CRC-32 and size are
the `output.checksum`/`output.bytesize` of the final update, so they describe exactly what the
server assembled.

`JobTrace` sends it: a PATCH every update interval from the last acknowledged offset (at most
1 MiB each, `Content-Range: start-end` inclusive), 416 resumes from the server's `Range`, 403 or
`Job-Status: canceled|failed` aborts the job, `Job-Status: canceling` cancels it gracefully, a
"touch" PUT keeps a quiet job alive, and `finish` flushes everything and sends the final state,
starting over from offset 0 when GitLab answers 412.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from glrunner.coordinator.jobs import JobOutput, JobsApi, PatchResult, PatchState, UpdateResult, UpdateState

DEFAULT_OUTPUT_LIMIT = 4 * 1024 * 1024
PATCH_LIMIT = 1024 * 1024
DEFAULT_UPDATE_INTERVAL = 3.0
MAX_UPDATE_INTERVAL = 15 * 60.0
FORCE_SEND_INTERVAL = 30.0
FINAL_UPDATE_RETRY_LIMIT = 10
FINAL_UPDATE_BACKOFF = (1.0, 3600.0)

_BOLD_YELLOW = b"\x1b[33;1m"
_RESET = b"\x1b[0;m"


def limit_message(limit: int) -> bytes:
    """GitLab's words when a trace reaches `output_limit` (spec 4.4)."""
    return (
        b"\n" + _BOLD_YELLOW + f"Job's log exceeded limit of {limit} bytes.\n".encode()
        + b"Job execution will continue but no more output will be collected." + _RESET + b"\n"
    )


def _truncate_utf8(data: bytes, capacity: int) -> bytes:
    """The first `capacity` bytes, up to three fewer rather than cut a UTF-8 character in two.

    `data` is valid UTF-8 (the buffer replaced anything else), so only its end can be broken.
    """
    cut = data[:capacity]
    for _ in range(3):
        try:
            cut.decode("utf-8")
            return cut
        except UnicodeDecodeError:
            cut = cut[:-1]
    return cut


class TraceBuffer:
    """The trace as GitLab receives it. `write` is a `JobLog` sink; `finish` ends it."""

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._data = bytearray()
        self._crc = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._full = False
        self._finished = False

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def checksum(self) -> str:
        return f"crc32:{self._crc:08x}"

    @property
    def output(self) -> JobOutput:
        return JobOutput(self.checksum, self.size)

    def write(self, data: bytes) -> None:
        if self._full or self._finished or not data:
            return
        self._append(self._decoder.decode(data).encode("utf-8"))

    def finish(self) -> None:
        """No more output: bytes held back as the start of a UTF-8 character are written (replaced)."""
        if not self._finished and not self._full:
            self._append(self._decoder.decode(b"", final=True).encode("utf-8"))
        self._finished = True

    def read(self, offset: int, size: int) -> bytes:
        return bytes(self._data[offset : offset + size])

    def getvalue(self) -> bytes:
        return bytes(self._data)

    def _append(self, data: bytes) -> None:
        if not data:
            return
        capacity = self.limit - len(self._data)
        if len(data) >= capacity:
            self._store(_truncate_utf8(data, max(capacity, 0)))
            self._store(limit_message(self.limit))
            self._full = True
            return
        self._store(data)

    def _store(self, data: bytes) -> None:
        self._data += data
        self._crc = zlib.crc32(data, self._crc)


@dataclass
class TraceTimings:
    """How often to talk to GitLab; GitLab's defaults, shorter in tests."""

    update_interval: float = DEFAULT_UPDATE_INTERVAL
    force_send_interval: float = FORCE_SEND_INTERVAL
    patch_limit: int = PATCH_LIMIT
    final_retry_limit: int = FINAL_UPDATE_RETRY_LIMIT
    final_backoff: tuple[float, float] = FINAL_UPDATE_BACKOFF


@dataclass
class JobTrace:
    """Sends one job's `TraceBuffer` to GitLab and relays what GitLab says about the job."""

    api: JobsApi
    job_id: int
    job_token: str
    buffer: TraceBuffer
    info: Mapping[str, object]
    timings: TraceTimings = field(default_factory=TraceTimings)
    debug_trace: bool = False
    on_cancel: Callable[[], None] = lambda: None  # GitLab asks for a graceful cancel
    on_abort: Callable[[], None] = lambda: None  # GitLab no longer wants the job: stop everything
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    sent: int = 0
    aborted: bool = False
    cancel_requested: bool = False

    def __post_init__(self) -> None:
        self._interval = self.timings.update_interval
        self._sent_time = self.clock()
        self._stop = asyncio.Event()

    @property
    def update_interval(self) -> float:
        return self._interval

    # -- while the job runs ------------------------------------------------------------------

    async def start(self) -> UpdateResult:
        """`PUT state=running` before the job starts; GitLab may already want it gone or canceled."""
        result = await self.api.update_job(self.job_id, self.job_token, self.info, "running")
        self._set_interval(result.update_interval)
        return result

    async def watch(self) -> None:
        """Patch every update interval until `stop()`, or until GitLab aborts the job."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval)
                return
            if not await self.incremental_update():
                return

    def stop(self) -> None:
        self._stop.set()

    async def incremental_update(self) -> bool:
        """One tick: patch, touch when due. False when the job is to be aborted."""
        patch = await self._send_patch()
        if patch.cancel_requested:
            self._cancel()
        if patch.state is PatchState.ABORT:
            self._abort()
            return False
        if patch.state is PatchState.SUCCEEDED:
            touch = await self._touch()
            if touch.cancel_requested:
                self._cancel()
            if touch.state is UpdateState.ABORT:
                self._abort()
                return False
        return True

    def _cancel(self) -> None:
        self.cancel_requested = True
        self.on_cancel()

    def _abort(self) -> None:
        if not self.aborted:
            self.aborted = True
            self.on_abort()

    def _set_interval(self, interval: float | None) -> None:
        if interval is not None and interval > 0:
            self._interval = min(interval, MAX_UPDATE_INTERVAL)

    async def _send_patch(self) -> PatchResult:
        offset = self.sent
        content = self.buffer.read(offset, self.timings.patch_limit)
        if not content:
            return PatchResult(PatchState.SUCCEEDED, offset)
        result = await self.api.patch_trace(self.job_id, self.job_token, content, offset, debug_trace=self.debug_trace)
        self._set_interval(result.update_interval)
        if result.state in (PatchState.SUCCEEDED, PatchState.RANGE_MISMATCH):
            self._sent_time = self.clock()
            # GitLab may claim more than we have (a bogus Range): never skip bytes we did not send
            self.sent = min(max(result.sent_offset, 0), self.buffer.size)
        return result

    async def _touch(self) -> UpdateResult:
        if self.clock() - self._sent_time <= self.timings.force_send_interval:
            return UpdateResult(UpdateState.SUCCEEDED)
        result = await self.api.update_job(
            self.job_id, self.job_token, self.info, "running", output=self.buffer.output
        )
        self._set_interval(result.update_interval)
        if result.state is UpdateState.SUCCEEDED:
            self._sent_time = self.clock()
        return result

    # -- the end -------------------------------------------------------------------------------

    async def finish(self, state: str, failure_reason: str | None = None, exit_code: int | None = None) -> bool:
        """Flush the whole trace and send the final state; True once GitLab has taken it."""
        self.stop()
        self.buffer.finish()
        low, high = self.timings.final_backoff
        for attempt in range(1, max(self.timings.final_retry_limit, 1) + 1):
            if await self._final_update(state, failure_reason, exit_code):
                return True
            if attempt < self.timings.final_retry_limit:
                delay = min(low * 2 ** (attempt - 1), high) * random.uniform(0.9, 1.1)  # jitter, not crypto
                await self.sleep(delay)
        return False

    async def _final_update(self, state: str, failure_reason: str | None, exit_code: int | None) -> bool:
        self._interval = self.timings.update_interval  # GitLab may raise it again in its answers
        while True:
            if not await self._flush():
                return False
            result = await self.api.update_job(
                self.job_id, self.job_token, self.info, state,
                failure_reason=failure_reason, exit_code=exit_code, output=self.buffer.output,
            )
            self._set_interval(result.update_interval)
            if result.state in (UpdateState.SUCCEEDED, UpdateState.ABORT):
                return True
            if result.state is UpdateState.TRACE_VALIDATION_FAILED:
                self.sent = 0  # GitLab's copy is broken: send all of it again
            await self.sleep(self._interval)
            if result.state is UpdateState.FAILED:
                return False

    async def _flush(self) -> bool:
        """Send what is left. False on a failed patch (the final update is retried later)."""
        while self.sent != self.buffer.size:
            result = await self._send_patch()
            if result.state in (PatchState.ABORT, PatchState.NOT_FOUND):
                return True
            if result.state is PatchState.RANGE_MISMATCH:
                await self.sleep(self._interval)
            elif result.state is PatchState.FAILED:
                await self.sleep(self._interval)
                return False
        return True
