"""`glrunner compile` prints the JobSpec, and never the secrets in it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import glrunner, write_project


def test_compile_prints_json_without_secrets(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {
        ".gitlab-ci.yml": "image: busybox:latest\njob:\n  script: [echo]\n",
        "config.toml": ('[[runners]]\n  name = "k"\n  token = "glrt-runnertoken123"\n  executor = "kubernetes"\n'
                        '  [runners.kubernetes]\n    host = "https://127.0.0.1:6443"\n'
                        '    bearer_token = "k8s-bearer-token-value"\n'),
    })
    result = glrunner("compile", "--cwd", str(project), "-c", str(project / "config.toml"),
                      "--masked-env", "DEPLOY_KEY=deploy-key-value-42")
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert spec["job_name"] == "job" and spec["executor"] == "kubernetes"
    for secret in ("deploy-key-value-42", "k8s-bearer-token-value", "glrt-runnertoken123"):
        assert secret not in result.stdout
    assert not any(key == "CI_JOB_TOKEN" for key, _ in spec["env"]), "Kubernetes: no secrets in the pod spec"
    token = next(v["value"] for v in spec["script"]["variables"] if v["key"] == "CI_JOB_TOKEN")
    assert token.endswith("[MASKED]")


def test_kubernetes_overrides_reach_the_spec(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": "job:\n  script: [echo]\n"})
    result = glrunner("compile", "--cwd", str(project), "--executor", "kubernetes", "--kubernetes-namespace", "ci",
                      "--kubernetes-privileged", "--kubernetes-image", "busybox:latest")
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert spec["kubernetes"]["namespace"] == "ci"
    assert spec["kubernetes"]["build_security"]["privileged"] is True
    assert spec["image"]["name"] == "busybox:latest"
    bad = glrunner("compile", "--cwd", str(project), "--kubernetes-privileged=perhaps")
    assert bad.returncode == 2 and "--kubernetes-privileged" in bad.stderr
