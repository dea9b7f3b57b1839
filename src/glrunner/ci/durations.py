"""GitLab's human durations (ChronicDuration): "1h 30m", "90 minutes", "3600", "1 day and 2 hours"."""

from __future__ import annotations

import re

_UNITS: dict[str, float] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "wk", "wks", "week", "weeks"), 7 * 86400),
    (("mo", "mos", "month", "months"), 30 * 86400),
    (("y", "yr", "yrs", "year", "years"), 365.25 * 86400),
):
    for _name in _names:
        _UNITS[_name] = _seconds

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)")
_CLOCK = re.compile(r"^(\d+):(\d{1,2})(?::(\d{1,2}))?$")


def parse_duration(value: str | int | float) -> int | None:
    """Seconds, or None when `value` is not a duration. A bare number means seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    text = value.strip().lower().replace(",", " ").replace(" and ", " ")
    if not text:
        return None
    clock = _CLOCK.match(text)
    if clock:
        first, second, third = (int(g) if g else None for g in clock.groups())
        if third is None:  # mm:ss
            return (first or 0) * 60 + (second or 0)
        return (first or 0) * 3600 + (second or 0) * 60 + third
    total = 0.0
    position = 0
    for match in _PART.finditer(text):
        if text[position : match.start()].strip():
            return None
        number, unit = match.groups()
        if unit and unit not in _UNITS:
            return None
        total += float(number) * _UNITS.get(unit or "s", 1)
        position = match.end()
    if position == 0 or text[position:].strip():
        return None
    return int(total)
