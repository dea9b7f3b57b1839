"""Short tokens (spec 2.2 ShortenToken) and system ids (spec 1.4)."""

from __future__ import annotations

import random

import pytest

from glrunner.config.identity import is_valid_system_id, new_system_id, shorten_token, system_id_from_file_text


@pytest.mark.parametrize(
    ("token", "short"),
    [
        ("glrt-abcdefghijklmnop", "abcdefghi"),
        ("glrt-t1_abcdefghijklmnop", "abcdefghi"),
        ("t2_abcdefghijklmnop", "abcdefghi"),
        ("glrtr-abcdefghijk", "abcdefghi"),
        ("glcbt-abcdefghijk", "abcdefghi"),
        ("GR1348941abcdefghijk", "abcdefghi"),
        ("abcdefghijklmnop", "abcdefghi"),
        ("short", "short"),
        ("", ""),
    ],
)
def test_shorten_token(token: str, short: str) -> None:
    assert shorten_token(token) == short


def test_system_id_from_machine_id_is_stable_hmac() -> None:
    first = new_system_id("3d1219c7c4c5404aaa1f6d2a48adfda4")
    assert first == new_system_id("3d1219c7c4c5404aaa1f6d2a48adfda4")
    assert first.startswith("s_") and is_valid_system_id(first)
    assert first != new_system_id("another-machine")


def test_random_system_id_without_machine_id() -> None:
    value = new_system_id(None, random.SystemRandom())
    assert value.startswith("r_") and is_valid_system_id(value)


def test_system_id_file_text() -> None:
    assert system_id_from_file_text("s_0123456789ab\n") == "s_0123456789ab"
    assert system_id_from_file_text("x_0123456789ab") is None
    assert system_id_from_file_text("s_0123") is None
