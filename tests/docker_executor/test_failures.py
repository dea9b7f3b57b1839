"""What users see when things go wrong (issue 3, tests 5-7): exit codes, warnings, cleanup, bad input."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from tests.support.cli import PROJECTS, glrunner, project_ids, start_glrunner, write_project
from tests.support.engine import MANAGED, Snapshot, docker

pytestmark = [pytest.mark.docker]


@pytest.mark.usefixtures("no_leftovers")
def test_script_failure_exit_code_and_after_script_status(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
failing:
  script:
    - echo before the failure
    - exit 3
    - echo never printed
  after_script:
    - echo "after_script saw CI_JOB_STATUS=$CI_JOB_STATUS"
"""})
    result = glrunner("exec", "--cwd", str(project))
    assert result.returncode == 1
    out = result.stdout
    assert "before the failure" in out
    assert "never printed" not in out.replace("$ echo never printed", "")
    assert "after_script saw CI_JOB_STATUS=failed" in out
    assert "ERROR: Job failed: exit code 3" in out
    summary_row = next(line for line in reversed(out.splitlines()) if "failing" in line)
    assert "failed" in summary_row and "test" in summary_row


@pytest.mark.usefixtures("no_leftovers")
def test_service_that_never_opens_its_port_warns_and_job_runs(tmp_path: Path) -> None:
    """spec 2.6: a failed health check is a warning with the service's logs; the job goes on."""
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
services:
  - name: busybox:latest
    alias: silent
    entrypoint: ["sh", "-c", "echo silent service started; sleep 600"]
variables:
  HEALTHCHECK_TCP_PORT: "5555"
job:
  script:
    - echo the job ran anyway
"""})
    started = time.monotonic()
    result = glrunner("exec", "--cwd", str(project), "--docker-wait-for-services-timeout", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Waiting for services to be up and running (timeout 3 seconds)..." in out
    assert "*** WARNING: Service runner-" in out and "probably didn't start properly." in out
    assert "Health check error:" in out and "-wait-for-service\" timeout" in out
    assert "Service container logs:" in out and "silent service started" in out
    assert "the job ran anyway" in out
    assert time.monotonic() - started < 60


@pytest.mark.usefixtures("no_leftovers")
def test_missing_image_with_never_policy_fails_clearly(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: glrunner-test/does-not-exist:1.0
job:
  script: [echo hi]
"""})
    result = glrunner("exec", "--cwd", str(project), "--docker-pull-policy", "never")
    assert result.returncode == 1
    assert "Using effective pull policy of [never] for container glrunner-test/does-not-exist:1.0" in result.stdout
    assert ('ERROR: Job failed: failed to pull image "glrunner-test/does-not-exist:1.0" with specified '
            "policies [never]: Error response from daemon: No such image") in result.stdout


@pytest.mark.usefixtures("no_leftovers")
def test_job_level_never_policy_needs_runner_permission(tmp_path: Path) -> None:
    """GitLab's own test: a job's pull_policy outside allowed_pull_policies is a configuration error."""
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
job:
  image:
    name: busybox:latest
    pull_policy: never
  script: [echo hi]
"""})
    result = glrunner("exec", "--cwd", str(project))
    assert result.returncode == 1
    assert ('invalid pull policy for image "busybox:latest": pull_policy ([never]) defined in GitLab '
            "pipeline config is not one of the allowed_pull_policies ([always])") in result.stdout


@pytest.mark.usefixtures("no_leftovers")
def test_allow_failure_does_not_fail_the_pipeline(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
stages: [test, deploy]
flaky:
  stage: test
  allow_failure: true
  script: [exit 1]
picky:
  stage: test
  allow_failure:
    exit_codes: [42]
  script: [exit 42]
deploy:
  stage: deploy
  script: [echo deployed]
"""})
    result = glrunner("exec", "--cwd", str(project), "--docker-pull-policy", "if-not-present")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployed" in result.stdout
    assert result.stdout.count("failed (allowed to fail)") == 2


@pytest.mark.usefixtures("docker_engine")
def test_sigint_mid_job_cleans_up(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
services:
  - name: busybox:latest
    alias: sleeper
    entrypoint: ["sh", "-c", "sleep 600"]
variables:
  HEALTHCHECK_TCP_PORT: "1"
long:
  script:
    - echo started-long-job
    - sleep 600
  after_script:
    - echo "after_script on cancel saw $CI_JOB_STATUS"
"""})
    PROJECTS[:] = [project]
    before = Snapshot.take()
    process, seen = start_glrunner("exec", "--cwd", str(project), "--docker-wait-for-services-timeout", "1",
                                   "--docker-pull-policy", "if-not-present", until="started-long-job")
    running = docker("ps", "-q", "--filter", MANAGED).stdout.split()
    assert len(running) >= 2, "the build and service containers should be running"
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=90)
    output = seen + rest
    assert process.returncode == 130
    assert "after_script on cancel saw canceled" in output
    assert "ERROR: Job failed: canceled" in output
    assert not Snapshot.take().new_since(before, project_ids()), "SIGINT left containers, networks or volumes behind"


@pytest.mark.dind
@pytest.mark.usefixtures("no_leftovers")
def test_unprivileged_dind_is_explained(tmp_path: Path) -> None:
    """The classic mistake: dind without privileged. The port opens for a moment, so readiness passes;
    then dockerd dies. glrunner says which service died, shows its errors and what to change."""
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: docker:24.0.5-cli
services:
  - docker:24.0.5-dind
variables:
  DOCKER_HOST: tcp://docker:2375
  DOCKER_TLS_CERTDIR: ""
job:
  script:
    - sleep 2
    - docker info
"""})
    result = glrunner("exec", "--cwd", str(project), "--docker-pull-policy", "if-not-present")
    assert result.returncode == 1
    out = result.stdout
    assert "-docker-0 exited with code 1 during the job; its last log lines:" in out
    assert "failed to start daemon" in out
    assert "Hint: Docker-in-Docker needs a privileged container: set `privileged = true`" in out


@pytest.mark.usefixtures("docker_engine")
def test_leftovers_of_a_killed_glrunner_are_removed_by_the_next_one(tmp_path: Path) -> None:
    """Beyond GitLab Runner (spec 6 row 9): kill -9 leaves containers; the next glrunner removes them."""
    victim = write_project(tmp_path / "victim", {".gitlab-ci.yml": """
image: busybox:latest
services:
  - name: busybox:latest
    alias: idle
    entrypoint: ["sh", "-c", "nc -ll -p 7000 -e true"]
    variables: {HEALTHCHECK_TCP_PORT: "7000"}
long:
  script: [echo victim-started, sleep 600]
"""})
    PROJECTS[:] = [victim]
    before = Snapshot.take()
    process, _ = start_glrunner("exec", "--cwd", str(victim), "--docker-pull-policy", "if-not-present",
                                until="victim-started")
    process.kill()
    process.wait(timeout=30)
    left = Snapshot.take().new_since(before, project_ids())
    assert left.get("containers") and left.get("networks"), "a killed glrunner leaves its job behind"

    other = write_project(tmp_path / "other", {".gitlab-ci.yml": "image: busybox:latest\nj:\n  script: [\"true\"]\n"})
    result = glrunner("exec", "--cwd", str(other), "--docker-pull-policy", "if-not-present")
    assert result.returncode == 0, result.stdout + result.stderr
    PROJECTS[:] = [victim, other]
    deadline = time.monotonic() + 30
    while Snapshot.take().new_since(before, project_ids()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not Snapshot.take().new_since(before, project_ids())


@pytest.mark.usefixtures("docker_engine")
def test_sigint_while_waiting_for_services_stops_at_once(tmp_path: Path) -> None:
    """A graceful cancel during prepare does not wait for the 30 s health check to give up."""
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
services:
  - name: busybox:latest
    alias: mute
    entrypoint: ["sh", "-c", "sleep 600"]
    variables: {HEALTHCHECK_TCP_PORT: "5555"}
job:
  script: [echo never-runs]
"""})
    PROJECTS[:] = [project]
    before = Snapshot.take()
    process, _ = start_glrunner("exec", "--cwd", str(project), "--docker-pull-policy", "if-not-present",
                                until="Waiting for services to be up and running")
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert time.monotonic() - interrupted < 10
    assert process.returncode == 130
    assert "ERROR: Job failed: canceled" in rest and "never-runs" not in rest.replace("$ echo never-runs", "")
    assert not Snapshot.take().new_since(before, project_ids())
