"""Fixtures for the register/verify/unregister/list suite: the real `glrunner` process against a
real HTTP server (tests.fakegitlab) on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakegitlab import FakeGitLab

REGISTRATION_TOKEN = "GR1348941abcdefghij"
GLRUNNER = str(Path(sys.executable).with_name("glrunner"))


@dataclass
class Glrunner:
    """Runs `glrunner` as a user would, with a clean environment and a config in a temp dir."""

    home: Path
    config: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            # GitLab's backoff is 100 ms .. 60 s; tests keep the 5 attempts but not the waits.
            "GLRUNNER_HTTP_BACKOFF": "0.01,0.05",
        }
        env.update(extra or {})
        return env

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GLRUNNER, *args],
            env=self.env(env),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
        )


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab(registration_tokens={REGISTRATION_TOKEN}) as server:
        yield server


@pytest.fixture
def glrunner(tmp_path: Path) -> Glrunner:
    home = tmp_path / "home"
    home.mkdir()
    return Glrunner(home=home, config=tmp_path / "etc" / "config.toml")
