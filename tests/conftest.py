"""Fixtures for every suite. Tests marked `docker`/`dind` need the devstack's real engine (scripts/test
brings it up); they fail, not skip, when it is missing: a suite that silently skips proves nothing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.cli import PROJECTS, project_ids
from tests.support.engine import Snapshot, describe_containers


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not _engine_answers():
        pytest.fail("no Docker engine answers `docker info`; run devstack/up (scripts/test does)")


@pytest.fixture
def no_leftovers(docker_engine: None) -> Iterator[None]:
    """Fails the test if glrunner left a container, network or temporary volume of its own behind."""
    PROJECTS.clear()
    before = Snapshot.take()
    yield
    left = Snapshot.take().new_since(before, project_ids())
    if left:
        detail = describe_containers(left.get("containers", set()))
        pytest.fail(f"glrunner left objects behind: {left} {detail}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden expected files from the current output instead of comparing")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
