"""Fixtures for the devstack's own tests: one label per test, everything removed by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devstack.engine import Labelled


@pytest.fixture
def engine(docker_engine: None) -> Iterator[Labelled]:
    """Objects this test creates in the real engine; removed by label afterwards, and the
    test fails if anything of its own survives the removal."""
    labelled = Labelled()
    yield labelled
    left = labelled.remove_all()
    if left:
        pytest.fail(f"test left objects behind (label {labelled.label}): {', '.join(left)}")
