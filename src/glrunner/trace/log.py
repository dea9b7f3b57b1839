"""The job trace: what executors and the runner write, masked, fanned out to sinks.

Lines look exactly as GitLab Runner writes them (spec 4.4): executor messages start with a color
code and end with `\\e[0;m\\n`; stages are wrapped in `section_start:`/`section_end:` markers.
Every byte passes through one `Masker` before any sink sees it, so no sink can leak a secret.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable

from glrunner.trace.masking import Masker

Sink = Callable[[bytes], None]

BOLD_GREEN = "\x1b[32;1m"
BOLD_CYAN = "\x1b[36;1m"
BOLD_RED = "\x1b[31;1m"
YELLOW = "\x1b[0;33m"
BOLD_YELLOW = "\x1b[33;1m"
RESET = "\x1b[0;m"
CLEAR = "\x1b[0K"


class JobLog:
    """Write side of a job's trace. Not thread-safe: one job, one event loop."""

    def __init__(
        self,
        masker: Masker | None = None,
        sinks: Iterable[Sink] = (),
        *,
        sections: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._masker = masker or Masker(())
        self._sinks = list(sinks)
        self._sections = sections
        self._clock = clock
        self._open_sections: list[str] = []
        self.bytesize = 0
        self._crc = 0

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    @property
    def checksum(self) -> str:
        """GitLab's `output.checksum`: CRC-32 (IEEE) of every byte written so far."""
        return f"crc32:{self._crc:08x}"

    def write(self, data: bytes) -> None:
        """Raw job output (a container's stdout/stderr)."""
        self._emit(self._masker.feed(data))

    def flush(self) -> None:
        self._emit(self._masker.flush())

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        self.bytesize += len(data)
        self._crc = zlib.crc32(data, self._crc)
        for sink in self._sinks:
            sink(data)

    def _line(self, text: str) -> None:
        self.write(text.encode("utf-8", "replace"))
        self.flush()

    def plain(self, message: str) -> None:
        self._line(f"{CLEAR}{message}{RESET}\n")

    def info(self, message: str) -> None:
        self._line(f"{BOLD_GREEN}{message}{RESET}\n")

    def notice(self, message: str) -> None:
        """Bold cyan: the stage descriptions GitLab prints (`Preparing the "docker" executor`)."""
        self._line(f"{CLEAR}{BOLD_CYAN}{message}{RESET}\n")

    def warning(self, message: str) -> None:
        self._line(f"{YELLOW}WARNING: {message}{RESET}\n")

    def error(self, message: str) -> None:
        self._line(f"{BOLD_RED}ERROR: {message}{RESET}\n")

    def section_start(self, name: str, header: str = "") -> None:
        if self._sections:
            self._line(f"section_start:{int(self._clock())}:{name}\r{CLEAR}")
            self._open_sections.append(name)
        if header:
            self.notice(header)

    def section_end(self, name: str) -> None:
        if self._sections and name in self._open_sections:
            self.flush()
            self._line(f"section_end:{int(self._clock())}:{name}\r{CLEAR}")
            self._open_sections.remove(name)

    def close(self) -> None:
        self.flush()
        for name in reversed(list(self._open_sections)):
            self.section_end(name)


class DeferredLog(JobLog):
    """Collects lines while work runs concurrently, so they can be written later in GitLab's order."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self.add_sink(self._chunks.append)

    def replay(self, log: JobLog) -> None:
        for chunk in self._chunks:
            log.write(chunk)
        log.flush()
        self._chunks.clear()
