"""GitLab's `timeout:` durations (ChronicDuration)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glrunner.ci.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3600", 3600),
        (3600, 3600),
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("90 minutes", 5400),
        ("1 hour and 30 minutes", 5400),
        ("2 days", 172800),
        ("1 week", 604800),
        ("1.5h", 5400),
        ("10m 30s", 630),
        ("1:30", 90),
        ("1:30:00", 5400),
        ("3 mins, 4 secs", 184),
        ("1 month", 2592000),
    ],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "forever", "1 fortnight", "h", "10 minutes please", "-5"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_unit_forms_agree(hours: int, minutes: int, seconds: int) -> None:
    total = hours * 3600 + minutes * 60 + seconds
    assert parse_duration(f"{hours}h {minutes}m {seconds}s") == total
    assert parse_duration(f"{hours} hours {minutes} minutes {seconds} seconds") == total
    assert parse_duration(f"{hours}:{minutes:02d}:{seconds:02d}") == total
    assert parse_duration(str(total)) == total
