"""The seed's Docker-in-Docker configurations on Kubernetes, end to end (issue 6, tests 1-2; spec 5, 6).

`glrunner exec` (the real process) runs each job as one pod on the devstack's real cluster: the
docker:24.0.5-cli build container beside a privileged docker:24.0.5-dind service, reached as
`docker` through the pod's hostAliases, waited for through its own `HEALTHCHECK_TCP_PORT`. The job
builds an image FROM busybox:latest inside dind and runs it. Asserted: what a user sees (exit
status, trace lines) and that no pod or secret is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kubernetes_devstack.helpers import require_images
from tests.kubernetes_executor import cluster
from tests.kubernetes_executor.conftest import CLEANUP_GRACE
from tests.support.cli import glrunner, write_project

pytestmark = [pytest.mark.kubernetes, pytest.mark.dind, pytest.mark.usefixtures("k8s_no_leftovers")]

DOCKERFILE = """FROM busybox:latest
COPY run-tests.sh /script/to/run/tests
RUN chmod +x /script/to/run/tests
"""
TESTS_SCRIPT = """#!/bin/sh
echo "inner tests ran with ${GREETING:-no greeting}"
"""


def tls_config(namespace: str) -> str:
    return f"""[[runners]]
  name = "kubernetes-tls"
  url = "https://gitlab.example.com"
  token = "glrt-kubernetestls00001"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "{namespace}"
    image = "docker:24.0.5-cli"
    privileged = true
    cleanup_grace_period_seconds = {CLEANUP_GRACE}
    [[runners.kubernetes.volumes.empty_dir]]
      name = "docker-certs"
      mount_path = "/certs/client"
      medium = "Memory"
"""


def tls_off_config(namespace: str) -> str:
    return f"""[[runners]]
  name = "kubernetes-tls-off"
  url = "https://gitlab.example.com"
  token = "glrt-kubernetesnotls001"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "{namespace}"
    image = "docker:24.0.5-cli"
    privileged = true
    cleanup_grace_period_seconds = {CLEANUP_GRACE}
"""


BUILD_AND_RUN = """    - docker build -t my-docker-image .
    - docker run --rm -e GREETING=hello-from-dind my-docker-image /script/to/run/tests
"""


def run_project(tmp_path: Path, ci: str, config: str) -> tuple[int, str]:
    require_images("docker:24.0.5-cli", "docker:24.0.5-dind", "busybox:latest")
    project = write_project(tmp_path / "project", {
        ".gitlab-ci.yml": ci, "Dockerfile": DOCKERFILE, "run-tests.sh": TESTS_SCRIPT, "config.toml": config,
    })
    result = glrunner("exec", "--cwd", str(project), "-c", str(project / "config.toml"),
                      env=cluster.env(), timeout=300)
    return result.returncode, result.stdout + result.stderr


def test_seed_tls_configuration(tmp_path: Path, namespace: str) -> None:
    """privileged, emptyDir docker-certs (Memory) at /certs/client, dind on 2376 with TLS (spec 5, 6 row 2)."""
    code, out = run_project(tmp_path, f"""
image: docker:24.0.5-cli
services:
  - name: docker:24.0.5-dind
    variables:
      HEALTHCHECK_TCP_PORT: "2376"
variables:
  DOCKER_HOST: tcp://docker:2376
  DOCKER_TLS_CERTDIR: "/certs"
  DOCKER_TLS_VERIFY: 1
  DOCKER_CERT_PATH: "$DOCKER_TLS_CERTDIR/client"
build:
  script:
    - echo "host=$DOCKER_HOST verify=$DOCKER_TLS_VERIFY certs=$DOCKER_CERT_PATH"
    - grep " /certs/client " /proc/mounts
    - ls /certs/client
    - docker info
{BUILD_AND_RUN}""", tls_config(namespace))
    assert code == 0, out
    assert f"Using Kubernetes namespace: {namespace}" in out
    assert "Using Kubernetes executor with image docker:24.0.5-cli ..." in out
    assert f"Waiting for pod {namespace}/runner-kubernete-project-" in out
    assert "Waiting for services to be up and running (svc-0 on 2376)..." in out
    assert "host=tcp://docker:2376 verify=1 certs=/certs/client" in out
    assert any(line.startswith("tmpfs /certs/client tmpfs") for line in out.splitlines()), out
    assert "ca.pem" in out and "cert.pem" in out and "key.pem" in out
    assert "$ docker info" in out and "Server Version:" in out
    assert "Successfully built" in out
    assert "inner tests ran with hello-from-dind" in out
    assert "Job succeeded" in out


def test_seed_tls_off_configuration(tmp_path: Path, namespace: str) -> None:
    """DOCKER_TLS_CERTDIR empty: dind listens on 2375 without TLS (spec 6 row 1)."""
    code, out = run_project(tmp_path, f"""
image: docker:24.0.5-cli
services:
  - name: docker:24.0.5-dind
    variables:
      HEALTHCHECK_TCP_PORT: "2375"
variables:
  DOCKER_HOST: tcp://docker:2375
  DOCKER_TLS_CERTDIR: ""
build:
  script:
    - docker info --format 'server={{{{.ServerVersion}}}}'
{BUILD_AND_RUN}""", tls_off_config(namespace))
    assert code == 0, out
    assert "Waiting for services to be up and running (svc-0 on 2375)..." in out
    assert "server=" in out
    assert "inner tests ran with hello-from-dind" in out
    assert "Job succeeded" in out


def test_service_alias_names_the_container_and_resolves(tmp_path: Path, namespace: str) -> None:
    """A user alias names the service's container and resolves to 127.0.0.1 like the derived one (spec 5)."""
    code, out = run_project(tmp_path, """
image: docker:24.0.5-cli
services:
  - name: docker:24.0.5-dind
    alias: dind-engine
    command: ["--tls=false"]
    variables:
      HEALTHCHECK_TCP_PORT: "2375"
      DOCKER_TLS_CERTDIR: ""
variables:
  DOCKER_HOST: tcp://dind-engine:2375
aliases:
  script:
    - grep -E "docker.*dind-engine" /etc/hosts
    - docker version --format 'server {{.Server.Version}}'
""", tls_off_config(namespace))
    assert code == 0, out
    assert "Waiting for services to be up and running (dind-engine on 2375)..." in out
    assert any(line.startswith("127.0.0.1") and "docker" in line and "dind-engine" in line
               for line in out.splitlines()), out
    assert "server " in out
