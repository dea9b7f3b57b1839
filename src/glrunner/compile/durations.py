"""Go durations in job variables (`RUNNER_AFTER_SCRIPT_TIMEOUT: 10m`)."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d*)?)(h|m|s|ms)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration_seconds(text: str) -> int | None:
    """`1h30m` -> 5400; a bare number is seconds; None when unparsable."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        return None
    return int(total)
