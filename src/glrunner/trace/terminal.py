"""Showing traces on the terminal: colored on a TTY, plain when piped, one prefix per job.

The trace itself keeps GitLab's bytes (colors, section markers); this sink only decides how a
human sees them. Section markers become nothing on screen (GitLab's web view hides them too);
when several jobs run at once, every line is prefixed with its job's name.
"""

from __future__ import annotations

import re
from typing import BinaryIO

_SECTION_MARKER = re.compile(rb"section_(?:start|end):\d+:[A-Za-z0-9_.\-]+(?:\[[^\]]*\])?\r\x1b\[0K")
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")

_PREFIX_COLORS = (b"\x1b[34m", b"\x1b[35m", b"\x1b[36m", b"\x1b[33m", b"\x1b[32m", b"\x1b[94m")


class TerminalSink:
    """A line-oriented view of one job's trace on a shared output stream."""

    def __init__(self, out: BinaryIO, *, color: bool, prefix: str = "", prefix_index: int = 0) -> None:
        self._out = out
        self._color = color
        self._partial = b""
        self._prefix = b""
        self._closed_by_reader = False  # e.g. `glrunner exec | head`: the job goes on, unseen
        if prefix:
            label = prefix.encode() + b" "
            if color:
                label = _PREFIX_COLORS[prefix_index % len(_PREFIX_COLORS)] + label + b"\x1b[0m"
            self._prefix = label

    def __call__(self, data: bytes) -> None:
        data = _SECTION_MARKER.sub(b"", self._partial + data)
        if not self._color:
            data = _ANSI.sub(b"", data)
        lines = data.split(b"\n")
        self._partial = lines.pop()
        if lines:
            self._emit(b"".join(self._prefix + line + b"\n" for line in lines))

    def _emit(self, data: bytes) -> None:
        if self._closed_by_reader:
            return
        try:
            self._out.write(data)
            self._out.flush()
        except (BrokenPipeError, ValueError):
            self._closed_by_reader = True

    def close(self) -> None:
        if self._partial:
            tail = self._partial if self._color else _ANSI.sub(b"", self._partial)
            self._emit(self._prefix + tail + b"\n")
            self._partial = b""
