"""Fixtures for `glrunner run` against the fake GitLab: the server with a runner, a project and a
job queue; the real `glrunner run` process with a config.toml in a temp dir."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from glrunner.cli.exec_cmd import _local_project_id
from tests.fakegitlab import FakeGitLab, RunnerRecord
from tests.fakegitlab.gitrepo import add_project
from tests.fakegitlab.jobs import FakeJobs
from tests.fakegitlab.payloads import JobSpecification, job_payload
from tests.fakegitlab.state import JobRecord
from tests.support.cli import PROJECTS

GLRUNNER = str(Path(sys.executable).with_name("glrunner"))
PROJECT_FILES = {
    "README.md": "a project served by the fake GitLab\n",
    "Dockerfile": "FROM busybox:latest\nCOPY hello.sh /hello.sh\nRUN chmod +x /hello.sh\n",
    "hello.sh": "#!/bin/sh\necho \"hello from the image built in dind, $1\"\n",
}


@dataclass
class Server:
    """The fake GitLab with one runner (a `glrt-` token) and the project `group/project`."""

    gitlab: FakeGitLab
    runner: RunnerRecord
    jobs: FakeJobs
    sha: str
    project_id: int

    @property
    def url(self) -> str:
        return self.gitlab.url

    def add_job(self, spec: JobSpecification) -> JobRecord:
        job_id, token = self.jobs.new_identity()
        spec = JobSpecification(**{**spec.__dict__, "sha": spec.sha or self.sha, "project_id": self.project_id})
        return self.jobs.add(job_payload(self.url, job_id, token, spec))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Jobs carry a project id `no_leftovers` knows (tests.support.cli.PROJECTS), so it counts only
    this test's objects, not those of other test runs sharing the engine."""
    project_dir = tmp_path / "project"
    PROJECTS.append(project_dir)
    with FakeGitLab() as gitlab:
        sha = add_project(gitlab.state, "group/project", PROJECT_FILES)
        try:
            yield Server(gitlab, gitlab.create_runner(), FakeJobs(gitlab), sha, _local_project_id(project_dir))
        finally:
            if gitlab.state.git_root:
                shutil.rmtree(gitlab.state.git_root, ignore_errors=True)


def runner_config(server: Server, *, concurrent: int = 1, docker: str = "", extra: str = "",
                  top: str = "") -> str:
    return f"""concurrent = {concurrent}
check_interval = 1
shutdown_timeout = 60
{top}
[[runners]]
  name = "test-runner"
  url = "{server.url}"
  token = "{server.runner.token}"
  executor = "docker"
{extra}
  [runners.docker]
    image = "busybox:latest"
    pull_policy = ["if-not-present"]
{docker}
"""


@dataclass
class RunnerProcess:
    """`glrunner run -c CONFIG` as a user starts it; its log is kept in a file."""

    config: Path
    log_path: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    secrets: tuple[str, ...] = ()

    def start(self) -> RunnerProcess:
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "GLRUNNER_HTTP_BACKOFF": "0.01,0.05",  # GitLab's 5 attempts, not its waits
            **self.env,
        }
        command = self.args or ("run", "-c", str(self.config))
        self.process = subprocess.Popen([GLRUNNER, *command], stdout=subprocess.DEVNULL,
                                        stderr=self.log_path.open("wb"), env=env)
        return self

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log)
            if match:
                return match
            assert self.process is not None
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not in the runner's log:\n{self.log}")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 90) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 90) -> int:
        """SIGQUIT (finish running jobs, exit), as an operator stops a runner gracefully."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def assert_no_secrets_logged(self) -> None:
        log = self.log
        for secret in self.secrets:
            assert secret not in log, "a token or masked value is in the runner's log"


@pytest.fixture
def start_runner(tmp_path: Path, server: Server) -> Iterator[object]:
    """`start_runner(config_text, *args, env=...)` -> a running `glrunner run`; stopped at the end."""
    started: list[RunnerProcess] = []

    def start(config_text: str, *args: str, env: dict[str, str] | None = None) -> RunnerProcess:
        config = tmp_path / f"config-{len(started)}.toml"
        config.write_text(config_text)
        process = RunnerProcess(config, tmp_path / f"runner-{len(started)}.log", args, env or {},
                                secrets=(server.runner.token,))
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()
        tokens = tuple(job.token for job in server.gitlab.state.jobs.values())
        process.secrets += tokens
        process.assert_no_secrets_logged()
    if started:
        assert_nothing_left_by(server.runner.token)


def assert_nothing_left_by(runner_token: str) -> None:
    """No container, network or temporary volume labelled with this runner's short token remains.

    `no_leftovers` compares the whole engine before and after, so other people's tests running at
    the same time show up there; this looks only at what this test's runner created.
    """
    from glrunner.config.identity import shorten_token
    from tests.support.engine import docker

    label = f"label=com.gitlab.gitlab-runner.runner.id={shorten_token(runner_token)}"
    containers = docker("ps", "-a", "-q", "--filter", label).stdout.split()
    networks = docker("network", "ls", "-q", "--filter", label).stdout.split()
    volumes = set(docker("volume", "ls", "-q", "--filter", label).stdout.split())
    volumes -= set(docker("volume", "ls", "-q", "--filter", label,
                          "--filter", "label=com.gitlab.gitlab-runner.reusable=true").stdout.split())
    assert not (containers or networks or volumes), f"left behind: {containers} {networks} {volumes}"
