"""Bad input (issue 3, test 7): exit 2, file and line, what to fix; and no container started."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.cli import glrunner, write_project
from tests.support.engine import Snapshot

pytestmark = [pytest.mark.docker]


@pytest.fixture
def nothing_started(docker_engine: None):  # type: ignore[no-untyped-def]
    before = Snapshot.take()
    yield
    after = Snapshot.take()
    assert not (after.containers - before.containers), "bad input must not start any container"


@pytest.mark.usefixtures("nothing_started")
@pytest.mark.parametrize(
    ("ci", "expected"),
    [
        ("job:\n  script: [echo hi\n", ".gitlab-ci.yml:"),
        ("image: busybox:latest\njob:\n  image: busybox:latest\n", ".gitlab-ci.yml:2"),
        ("job:\n  script: [echo hi]\n  scriptt: [echo typo]\n", ".gitlab-ci.yml:3"),
        ("job:\n  script: [echo]\n  services:\n    - name: postgres\n      alias: my_db\n", ".gitlab-ci.yml:5"),
    ],
    ids=["invalid-yaml", "no-script", "unknown-key", "bad-alias"],
)
def test_bad_ci_file(tmp_path: Path, ci: str, expected: str) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": ci})
    result = glrunner("exec", "--cwd", str(project))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.usefixtures("nothing_started")
def test_unknown_key_names_the_key_and_suggests(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": "job:\n  script: [echo hi]\n  scriptt: [echo]\n"})
    result = glrunner("exec", "--cwd", str(project))
    assert result.returncode == 2
    assert "scriptt" in result.stderr and "script" in result.stderr


@pytest.mark.usefixtures("nothing_started")
def test_bad_alias_message(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {
        ".gitlab-ci.yml": "job:\n  script: [echo]\n  services:\n    - name: postgres\n      alias: my_db\n"})
    result = glrunner("exec", "--cwd", str(project))
    assert result.returncode == 2
    assert "'my_db' is not a valid DNS label" in result.stderr


@pytest.mark.usefixtures("nothing_started")
def test_missing_ci_file_and_bad_flags(tmp_path: Path) -> None:
    result = glrunner("exec", "--cwd", str(tmp_path))
    assert result.returncode == 2
    assert ".gitlab-ci.yml: no such file" in result.stderr
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": "job:\n  script: [echo]\n"})
    result = glrunner("exec", "--cwd", str(project), "--env", "NOEQUALS")
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr
    result = glrunner("exec", "--cwd", str(project), "--docker-pull-policy", "sometimes")
    assert result.returncode == 2 and "sometimes" in result.stderr
    result = glrunner("exec", "--cwd", str(project), "nosuchjob")
    assert result.returncode == 2 and "nosuchjob" in result.stderr


@pytest.mark.usefixtures("nothing_started")
def test_broken_config_toml_points_at_the_line(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {
        ".gitlab-ci.yml": "job:\n  script: [echo]\n",
        "config.toml": '[[runners]]\n  name = "x"\n  [runners.docker]\n    privileged = "yes"\n',
    })
    result = glrunner("exec", "--cwd", str(project), "-c", str(project / "config.toml"))
    assert result.returncode == 2
    assert "config.toml:4" in result.stderr and "privileged" in result.stderr
