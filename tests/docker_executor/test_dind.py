"""GitLab's Docker-in-Docker configurations, end to end: `glrunner exec`, the real engine, real dind.

Each test writes a project (a .gitlab-ci.yml, a Dockerfile, a test script baked into the image)
and a config.toml as GitLab's "Use Docker-in-Docker" page shows them (spec 2.5, 2.8, 6 rows 1-2),
runs the real glrunner process and checks what a user sees: the exit status, the trace lines,
the output of the container built and run inside dind, and that nothing was left behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.cli import glrunner, write_project

pytestmark = [pytest.mark.docker, pytest.mark.dind, pytest.mark.usefixtures("no_leftovers")]

DOCKERFILE = """FROM busybox:latest
COPY run-tests.sh /script/to/run/tests
RUN chmod +x /script/to/run/tests
"""
TESTS_SCRIPT = """#!/bin/sh
echo "inner tests ran in $(hostname) with ${GREETING:-no greeting}"
"""
TLS_CONFIG = """[[runners]]
  name = "tls-docker-runner"
  url = "https://gitlab.example.com"
  token = "glrt-tlsdockerrunner0001"
  executor = "docker"
  [runners.docker]
    tls_verify = false
    image = "docker:24.0.5-cli"
    privileged = true
    disable_cache = false
    volumes = ["/certs/client", "/cache"]
"""
BUILD_AND_RUN = """    - docker build -t my-docker-image .
    - docker run --rm -e GREETING=hello-from-dind my-docker-image /script/to/run/tests
"""


def _project(tmp_path: Path, ci: str, config: str = TLS_CONFIG) -> Path:
    return write_project(tmp_path / "project", {
        ".gitlab-ci.yml": ci, "Dockerfile": DOCKERFILE, "run-tests.sh": TESTS_SCRIPT, "config.toml": config,
    })


def _exec(project: Path, *args: str, timeout: float = 300):  # type: ignore[no-untyped-def]
    return glrunner("exec", "--cwd", str(project), "-c", str(project / "config.toml"), *args, timeout=timeout)


def test_docs_tls_configuration(tmp_path: Path) -> None:
    """The docs' TLS setup: DOCKER_TLS_CERTDIR=/certs, /certs/client shared, the cli image finds the certs."""
    project = _project(tmp_path, f"""
default:
  image: docker:24.0.5-cli
  services:
    - docker:24.0.5-dind
  before_script:
    - docker info
variables:
  DOCKER_TLS_CERTDIR: "/certs"
build:
  stage: build
  script:
    - echo "host=$DOCKER_HOST verify=$DOCKER_TLS_VERIFY certs=$DOCKER_CERT_PATH"
{BUILD_AND_RUN}""")
    result = _exec(project)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Using Docker executor with image docker:24.0.5-cli ..." in out
    assert "Starting service docker:24.0.5-dind..." in out
    assert "Waiting for services to be up and running (timeout 30 seconds)..." in out
    assert "probably didn't start properly" not in out
    assert "host=tcp://docker:2376 verify=1 certs=/certs/client" in out
    assert "$ docker info" in out and "Server Version:" in out
    assert "inner tests ran in" in out and "with hello-from-dind" in out
    assert "Job succeeded" in out


def test_tls_disabled(tmp_path: Path) -> None:
    project = _project(tmp_path, f"""
image: docker:24.0.5-cli
services:
  - docker:24.0.5-dind
variables:
  DOCKER_HOST: tcp://docker:2375
  DOCKER_TLS_CERTDIR: ""
build:
  before_script:
    - docker info --format 'tls={{{{.SecurityOptions}}}}'
  script:
{BUILD_AND_RUN}""")
    result = _exec(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "inner tests ran in" in result.stdout
    assert "Job succeeded" in result.stdout


def test_unix_socket_on_shared_volume(tmp_path: Path) -> None:
    config = TLS_CONFIG.replace('volumes = ["/certs/client", "/cache"]', 'volumes = ["/runner/services/docker"]')
    project = _project(tmp_path, f"""
image: docker:24.0.5-cli
services:
  - name: docker:24.0.5-dind
variables:
  DOCKER_HOST: "unix:///runner/services/docker/docker.sock"
  DOCKER_TLS_CERTDIR: ""
socket:
  script:
    - docker version
    - ls -l /runner/services/docker/docker.sock
{BUILD_AND_RUN}""", config)
    result = _exec(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Server:" in result.stdout
    assert "docker.sock" in result.stdout
    assert "inner tests ran in" in result.stdout


def test_mount_point_under_builds_is_shared_with_dind(tmp_path: Path) -> None:
    """/builds is shared with services, so dind can bind-mount a directory the job wrote."""
    project = _project(tmp_path, """
image: docker:24.0.5-cli
services:
  - docker:24.0.5-dind
variables:
  DOCKER_TLS_CERTDIR: "/certs"
  MOUNT_POINT: /builds/$CI_PROJECT_PATH/mnt
mount:
  script:
    - mkdir -p "$MOUNT_POINT"
    - echo "written by the job $CI_JOB_ID" > "$MOUNT_POINT/hello.txt"
    - docker run --rm -v "$MOUNT_POINT:/mnt" busybox:latest cat /mnt/hello.txt
""")
    result = _exec(project)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("written by the job ") for line in lines)


def test_dind_mtu_command_and_alias(tmp_path: Path) -> None:
    """Service `command` reaches dockerd, `alias` adds a name (spec 6 row 13)."""
    project = _project(tmp_path, """
image: docker:24.0.5-cli
services:
  - name: docker:24.0.5-dind
    alias: dind-engine
    command: ["--mtu=1400"]
variables:
  DOCKER_HOST: tcp://dind-engine:2375
  DOCKER_TLS_CERTDIR: ""
mtu:
  script:
    - docker network inspect bridge --format 'mtu={{index .Options "com.docker.network.driver.mtu"}}'
""")
    result = _exec(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mtu=1400" in result.stdout


def test_dind_layer_cache_keeps_images_and_layers_between_jobs(tmp_path: Path) -> None:
    """glrunner extension: `dind_layer_cache = true` gives dind a persistent /var/lib/docker per project slot."""
    from tests.support.engine import docker

    config = TLS_CONFIG.replace("    privileged = true\n", "    privileged = true\n    dind_layer_cache = true\n")
    project = _project(tmp_path, f"""
image: docker:24.0.5-cli
services:
  - docker:24.0.5-dind
variables:
  DOCKER_TLS_CERTDIR: "/certs"
build:
  script:
    - docker images --format 'cached image {{{{.Repository}}}}:{{{{.Tag}}}}'
{BUILD_AND_RUN}""", config)
    first = _exec(project)
    second = _exec(project)
    volumes = docker("volume", "ls", "-q", "--filter", "label=com.gitlab.gitlab-runner.reusable=true",
                     "--filter", "label=com.gitlab.gitlab-runner.destination=/var/lib/docker").stdout.split()
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        assert second.returncode == 0, second.stdout + second.stderr
        assert "Pulling from library/busybox" in first.stdout
        assert "cached image busybox:latest" in second.stdout and "cached image my-docker-image:latest" in second.stdout
        assert "Pulling from library/busybox" not in second.stdout
        assert "Using cache" in second.stdout
        assert "inner tests ran in" in second.stdout
    finally:
        project_id = str(__import__("glrunner.cli.exec_cmd", fromlist=["_local_project_id"])
                         ._local_project_id(project.resolve()))
        for volume in volumes:
            labels = docker("volume", "inspect", "--format", '{{index .Labels "com.gitlab.gitlab-runner.project.id"}}',
                            volume, check=False).stdout.strip()
            if labels == project_id:  # only the volume this test's project made
                docker("volume", "rm", volume, check=False)
