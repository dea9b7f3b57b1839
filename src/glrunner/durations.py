"""Go's `time.Duration` text ("1h0m0s", "15m0s", "300ms"): config.toml values, labels, trace messages."""

from __future__ import annotations

from datetime import timedelta


def format_go_duration(value: timedelta) -> str:
    """The text Go's Duration.String() gives for whole-millisecond durations ("15m0s", "1h0m0s")."""
    total_us = round(value.total_seconds() * 1_000_000)
    if total_us == 0:
        return "0s"
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    if total_us < 1_000_000:
        return f"{sign}{_trim(total_us / 1000)}ms" if total_us >= 1000 else f"{sign}{total_us}µs"
    hours, rest = divmod(total_us, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    secs = _trim(rest / 1_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def go_duration(seconds: float) -> str:
    """`go_duration(3600)` == "1h0m0s", as GitLab Runner prints timeouts."""
    return format_go_duration(timedelta(seconds=seconds))


def _trim(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".")
