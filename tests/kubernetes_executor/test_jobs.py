"""Jobs on Kubernetes that fail, time out or are cancelled, and what the pod spec may hold (issue 6 test 3).

Every test runs the real `glrunner exec` against the devstack's real cluster and checks what a user
sees: the exit status, GitLab's trace lines (spec 2.7 for after_script and CI_JOB_STATUS, 5 for the
pod), and that the pod is gone within the cleanup grace period (`k8s_no_leftovers`).
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.kubernetes_devstack.helpers import require_images
from tests.kubernetes_executor import cluster
from tests.kubernetes_executor.conftest import CLEANUP_GRACE, GONE_WITHIN
from tests.support.cli import GLRUNNER, glrunner, write_project

pytestmark = [pytest.mark.kubernetes, pytest.mark.usefixtures("k8s_no_leftovers")]


def config(namespace: str, extra: str = "") -> str:
    return f"""[[runners]]
  name = "kubernetes-jobs"
  url = "https://gitlab.example.com"
  token = "glrt-kubernetesjobs0001"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "{namespace}"
    image = "busybox:latest"
    pull_policy = ["if-not-present"]
    cleanup_grace_period_seconds = {CLEANUP_GRACE}
{extra}"""


def project(tmp_path: Path, ci: str, namespace: str, extra: str = "") -> Path:
    require_images("busybox:latest")
    return write_project(tmp_path / "project", {".gitlab-ci.yml": ci, "config.toml": config(namespace, extra)})


def exec_job(root: Path, *args: str, timeout: float = 240) -> tuple[int, str]:
    result = glrunner("exec", "--cwd", str(root), "-c", str(root / "config.toml"), *args,
                      env=cluster.env(), timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def test_script_failure_exit_code_and_after_script(tmp_path: Path, namespace: str) -> None:
    """The script's exit code is exact; after_script runs in the build container with CI_JOB_STATUS=failed."""
    root = project(tmp_path, """
failing:
  script:
    - echo "before the failure"
    - sh -c 'exit 42'
    - echo "never printed"
  after_script:
    - echo "after_script sees CI_JOB_STATUS=$CI_JOB_STATUS in $(hostname)"
""", namespace)
    code, out = exec_job(root)
    assert code == 1, out
    assert "before the failure" in out
    assert "never printed" not in out.replace('echo "never printed"', "")
    assert "Running after script..." in out
    assert "after_script sees CI_JOB_STATUS=failed in runner-kubernete-project-" in out
    assert "ERROR: Job failed: exit code 42" in out


def test_after_script_failure_does_not_change_the_result(tmp_path: Path, namespace: str) -> None:
    root = project(tmp_path, """
ok:
  script:
    - echo fine
  after_script:
    - echo "after_script status=$CI_JOB_STATUS"
    - exit 7
""", namespace)
    code, out = exec_job(root)
    assert code == 0, out
    assert "after_script status=success" in out
    assert "WARNING: after_script failed, but job will continue unaffected: exit code 7" in out
    assert "Job succeeded" in out


def test_job_timeout(tmp_path: Path, namespace: str) -> None:
    """The job timeout stops the script; after_script runs with CI_JOB_STATUS=timedout (spec 2.7)."""
    root = project(tmp_path, """
slow:
  timeout: 12s
  script:
    - echo started
    - sleep 300
  after_script:
    - echo "after_script status=$CI_JOB_STATUS"
""", namespace)
    started = time.monotonic()
    code, out = exec_job(root)
    assert code == 1, out
    assert time.monotonic() - started < 30, "the timeout did not stop the job in time"
    assert "started" in out
    assert "after_script status=timedout" in out
    assert "ERROR: Job failed: execution took longer than 12s seconds" in out


def test_cancel_stops_the_script_runs_after_script_and_removes_the_pod(tmp_path: Path, namespace: str) -> None:
    """Ctrl-C: the running stage gets SIGTERM, after_script runs (canceled), the pod goes."""
    root = project(tmp_path, """
long:
  script:
    - echo "sleeping now"
    - sleep 300
  after_script:
    - echo "after_script status=$CI_JOB_STATUS"
""", namespace)
    env = {**cluster.env(), "NO_COLOR": "1"}
    process = subprocess.Popen([GLRUNNER, "exec", "--cwd", str(root), "-c", str(root / "config.toml")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"sleeping now\n" not in seen and time.monotonic() < deadline:
        chunk = process.stdout.read1(4096)
        if not chunk:
            break
        seen += chunk
    assert b"sleeping now\n" in seen, seen.decode(errors="replace")
    assert len(cluster.ours(namespace)["pods"]) == 1
    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    rest, _ = process.communicate(timeout=60)
    ended = time.monotonic()
    # SIGTERM ends `sleep` at once: the stage stops, after_script runs, the pod is deleted
    assert ended - interrupted < 8, f"glrunner took {ended - interrupted:.1f} s to stop the job"
    out = (seen + rest).decode(errors="replace")
    assert process.returncode == 130, out
    assert "after_script status=canceled" in out
    assert "ERROR: Job failed: canceled" in out
    seconds, left = cluster.wait_until_none_left(namespace, GONE_WITHIN)
    assert not left["pods"], f"pod still there {seconds:.1f} s after glrunner ended: {left}"
    assert time.monotonic() - ended < GONE_WITHIN


def test_non_public_values_stay_out_of_the_pod_spec(tmp_path: Path, namespace: str) -> None:
    """Spec 5: the build container's env holds public and internal variables; secrets come by export."""
    secret = "Sup3r-S3cret-Value-42"
    root = project(tmp_path, """
peek:
  variables:
    PUBLIC_THING: visible-value
  script:
    - echo "public=$PUBLIC_THING"
    - test "$MY_SECRET" = "Sup3r-S3cret-Value-42" && echo "the script has the secret"
    - sleep 8
""", namespace)
    process = subprocess.Popen([GLRUNNER, "exec", "--cwd", str(root), "-c", str(root / "config.toml"),
                                "--masked-env", f"MY_SECRET={secret}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=cluster.env())
    pods: list[dict[str, object]] = []
    deadline = time.monotonic() + 60
    while not pods and time.monotonic() < deadline:
        pods = cluster.pods(namespace)
        time.sleep(0.2)
    out, _ = process.communicate(timeout=120)
    text = out.decode(errors="replace")
    assert process.returncode == 0, text
    assert pods, "the job's pod was never seen"
    pod_json = json.dumps(pods)
    assert "visible-value" in pod_json
    assert secret not in pod_json
    assert "the script has the secret" in text
    assert secret not in text


def test_registry_credentials_become_a_pull_secret_that_is_removed(tmp_path: Path, namespace: str) -> None:
    """DOCKER_AUTH_CONFIG makes the job's image pull secret, owned by the pod and deleted at cleanup."""
    auth = json.dumps({"auths": {"registry.example.com": {"username": "robot", "password": "robot-pass"}}})
    root = project(tmp_path, """
pull:
  script:
    - sleep 6
""", namespace)
    process = subprocess.Popen([GLRUNNER, "exec", "--cwd", str(root), "-c", str(root / "config.toml"),
                                "--masked-env", f"DOCKER_AUTH_CONFIG={auth}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=cluster.env())
    found: list[dict[str, Any]] = []
    pods: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    # the secret is made first, then the pod, then the pod becomes its owner
    while not (found and found[0]["metadata"].get("ownerReferences")) and time.monotonic() < deadline:
        found, pods = cluster.secrets_json(namespace), cluster.pods(namespace)
        time.sleep(0.1)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out.decode(errors="replace")
    assert len(found) == 1, found
    secret = found[0]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths["registry.example.com"]["username"] == "robot"
    assert [(o["kind"], o["name"]) for o in secret["metadata"]["ownerReferences"]] == [
        ("Pod", pods[0]["metadata"]["name"])]
    assert pods[0]["spec"]["imagePullSecrets"] == [{"name": secret["metadata"]["name"]}]


def test_service_that_exits_fails_the_job_with_its_logs(tmp_path: Path, namespace: str) -> None:
    """A waited-for service that dies fails prepare: GitLab's 'Error in container' text and the service's log."""
    root = project(tmp_path, """
broken:
  services:
    - name: busybox:latest
      alias: broken-db
      entrypoint: ["sh", "-c"]
      command: ["echo 'database refused to start'; exit 3"]
      variables:
        HEALTHCHECK_TCP_PORT: "5432"
  script:
    - echo "never runs"
""", namespace)
    code, out = exec_job(root)
    assert code == 1, out
    assert "Waiting for services to be up and running (broken-db on 5432)..." in out
    assert "Error in container broken-db: exit code: 3" in out
    assert "database refused to start" in out
    assert "never runs\n" not in out.replace('echo "never runs"', "")


def test_missing_image_fails_as_an_image_pull_failure(tmp_path: Path, namespace: str) -> None:
    root = project(tmp_path, """
nothing:
  image: glrunner-test/no-such-image:1
  script:
    - echo "never runs"
""", namespace, extra='    allowed_pull_policies = ["never", "if-not-present"]\n')
    code, out = exec_job(root)
    root_never = project(tmp_path / "never", """
nothing:
  image:
    name: glrunner-test/no-such-image:1
    pull_policy: never
  script:
    - echo "never runs"
""", namespace, extra='    allowed_pull_policies = ["never", "if-not-present"]\n')
    code_never, out_never = exec_job(root_never)
    for status, text in ((code, out), (code_never, out_never)):
        assert status == 1, text
        assert "ERROR: Job failed: image pull failed:" in text
    assert "Using effective pull policy of [Never] for container build" in out_never


def test_namespace_per_job_is_created_and_deleted(tmp_path: Path, namespace: str) -> None:
    """`namespace_per_job`: the job runs in ci-job-<id>, which is gone afterwards (spec 5)."""
    root = project(tmp_path, """
isolated:
  script:
    - echo "job $CI_JOB_ID runs"
""", namespace, extra="    namespace_per_job = true\n")
    code, out = exec_job(root)
    assert code == 0, out
    assert "Using Kubernetes namespace: ci-job-" in out


MIRROR_ONLY_IMAGE = "127.0.0.1:5000/library/busybox:latest"  # in the devstack registry, not in the engine


def _remove_mirror_only_image() -> None:
    """This test's own image reference, pulled by the kubelet; removed by its exact name only."""
    subprocess.run(["docker", "image", "rm", MIRROR_ONLY_IMAGE], capture_output=True)


def test_next_pull_policy_is_tried_in_a_new_pod(tmp_path: Path, namespace: str) -> None:
    """Spec 2.4: policies are tried in order; on Kubernetes each one gets its own pod (GitLab's way)."""
    _remove_mirror_only_image()
    root = project(tmp_path, f"""
fallback:
  image:
    name: {MIRROR_ONLY_IMAGE}
    pull_policy: [never, if-not-present]
  script:
    - echo "running from the pulled image"
""", namespace, extra='    allowed_pull_policies = ["never", "if-not-present"]\n')
    try:
        code, out = exec_job(root)
    finally:
        _remove_mirror_only_image()
    assert code == 0, out
    assert "Using effective pull policy of [Never IfNotPresent] for container build" in out
    assert 'WARNING: Failed to pull image with policy "Never": image pull failed:' in out
    assert 'Attempt #2: Trying "IfNotPresent" pull policy' in out
    assert "running from the pulled image" in out
