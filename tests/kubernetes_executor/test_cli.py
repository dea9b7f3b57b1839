"""The Kubernetes executor through the two ways users start jobs (issue 6 test 4).

`glrunner exec --executor kubernetes` with no config.toml: namespace `default` (with GitLab's
warning), the cluster from KUBECONFIG. `glrunner run` against the fake GitLab (a real HTTP server,
spec 4) with an `executor = "kubernetes"` runner: the job is cloned from the fake GitLab's git,
runs in a pod with a dind service, and GitLab learns the result and the whole trace.
"""

from __future__ import annotations

import re
import time
import zlib
from pathlib import Path

import pytest

from tests.kubernetes_devstack.helpers import require_images
from tests.kubernetes_executor import cluster
from tests.kubernetes_executor.conftest import CLEANUP_GRACE, GONE_WITHIN
from tests.runner_api.conftest import RunnerProcess, Server, server, start_runner  # noqa: F401 (fixtures)
from tests.support.cli import glrunner, write_project

pytestmark = [pytest.mark.kubernetes]

POD_LINE = re.compile(r"Waiting for pod (\S+)/(\S+) to be running")


def _pods_named(namespace: str, name: str) -> list[str]:
    return [p for p in cluster.ours(namespace)["pods"] if p == name]


def test_exec_with_executor_flag_and_no_config(tmp_path: Path, kubernetes_cluster: None) -> None:
    require_images("busybox:latest")
    root = write_project(tmp_path / "project", {".gitlab-ci.yml": """
image: busybox:latest
hello:
  script:
    - echo "hello from $(hostname) in pod"
"""})
    result = glrunner("exec", "--cwd", str(root), "--executor", "kubernetes", env=cluster.env(), timeout=240)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "WARNING: Namespace is empty, therefore assuming 'default'." in out
    assert "Using Kubernetes namespace: default" in out
    match = POD_LINE.search(out)
    assert match and match.group(1) == "default", out
    pod = match.group(2)
    assert f"hello from {pod} in pod" in out
    assert "Job succeeded" in out
    # No cleanup_grace_period_seconds: the pod's own grace (Kubernetes' default, 30 s) applies, but
    # the build container stops at once on SIGTERM, so the pod goes in seconds.
    start = time.monotonic()
    while _pods_named("default", pod) and time.monotonic() - start < GONE_WITHIN:
        time.sleep(0.2)
    assert not _pods_named("default", pod), f"pod {pod} still in default after {GONE_WITHIN} s"


def kubernetes_runner_config(server: Server, namespace: str) -> str:  # noqa: F811 (the fixture name)
    return f"""concurrent = 1
check_interval = 1
shutdown_timeout = 60

[[runners]]
  name = "kubernetes-runner"
  url = "{server.url}"
  token = "{server.runner.token}"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "{namespace}"
    image = "busybox:latest"
    privileged = true
    pull_policy = ["if-not-present"]
    cleanup_grace_period_seconds = {CLEANUP_GRACE}
    [[runners.kubernetes.volumes.empty_dir]]
      name = "docker-certs"
      mount_path = "/certs/client"
      medium = "Memory"
"""


@pytest.mark.dind
@pytest.mark.usefixtures("k8s_no_leftovers")
def test_glrunner_run_takes_a_job_from_gitlab_and_runs_it_in_a_pod(
    server: Server, start_runner: object, namespace: str  # noqa: F811
) -> None:
    from tests.fakegitlab.payloads import JobSpecification, Var

    require_images("docker:24.0.5-cli", "docker:24.0.5-dind")
    job = server.add_job(JobSpecification(
        image="docker:24.0.5-cli",
        services=[{"name": "docker:24.0.5-dind", "alias": "", "entrypoint": None, "command": None,
                   "variables": [{"key": "HEALTHCHECK_TCP_PORT", "value": "2376"}]}],
        variables=[Var("DOCKER_HOST", "tcp://docker:2376"), Var("DOCKER_TLS_CERTDIR", "/certs"),
                   Var("DOCKER_TLS_VERIFY", "1"), Var("DOCKER_CERT_PATH", "/certs/client")],
        script=["docker info --format 'server {{.ServerVersion}}'", "docker build -t my-docker-image .",
                "docker run --rm my-docker-image /hello.sh from-job-$CI_JOB_ID"],
    ))
    runner: RunnerProcess = start_runner(  # type: ignore[operator]
        kubernetes_runner_config(server, namespace), env={"KUBECONFIG": cluster.env()["KUBECONFIG"]})
    server.jobs.wait_finished([job.id], timeout=240)
    trace = bytes(job.trace)
    text = re.sub(r"\x1b\[[0-9;]*[mK]", "", trace.decode(errors="replace"))
    assert job.status == "success", text
    assert f"Using Kubernetes namespace: {namespace}" in text
    assert f"Checking out {server.sha[:8]} as detached HEAD (ref is main)..." in text
    assert "Waiting for services to be up and running (svc-0 on 2376)..." in text
    assert f"hello from the image built in dind, from-job-{job.id}" in text
    finals = [u for u in job.updates if u.get("state") in ("success", "failed")]
    assert finals and finals[-1]["output"] == {"checksum": f"crc32:{zlib.crc32(trace):08x}",
                                                "bytesize": len(trace)}
    runner.wait_log(rf"Job succeeded .*job={job.id}")
    _, left = cluster.wait_until_none_left(namespace, GONE_WITHIN)
    assert not any(left.values()), left
