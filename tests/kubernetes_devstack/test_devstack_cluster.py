"""devstack/kubernetes itself: idempotent `up`, `status`, loopback-only daemons, the built version."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from kubernetes_asyncio import client

from .helpers import KUBECONFIG

pytestmark = pytest.mark.kubernetes

SCRIPT = Path(__file__).resolve().parents[2] / "devstack" / "kubernetes"
RUN_DIR = KUBECONFIG.parent / "run"
DAEMONS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")


def devstack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_up_on_a_running_cluster_is_a_fast_no_op() -> None:
    started = time.monotonic()
    result = devstack("up")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("kubernetes: already running"), result.stdout
    assert f"kubeconfig {KUBECONFIG}" in result.stdout
    assert elapsed < 3, f"warm up took {elapsed:.1f} s"


def test_status_reports_the_api_the_ready_node_and_the_kubeconfig() -> None:
    result = devstack("status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "kubernetes: API https://127.0.0.1:6443 ready" in lines
    assert "kubernetes: node 127.0.0.1 Ready" in lines
    assert f"kubernetes: kubeconfig {KUBECONFIG}" in lines
    for daemon in DAEMONS:
        assert any(re.fullmatch(rf"kubernetes: {daemon} running \(pid \d+\)", line) for line in lines), lines


def test_every_daemon_listens_on_loopback_only() -> None:
    pids = {daemon: (RUN_DIR / f"{daemon}.pid").read_text().strip() for daemon in DAEMONS}
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    seen = set()
    for line in listening:
        for daemon, pid in pids.items():
            if f"pid={pid}," in line:
                seen.add(daemon)
                local = line.split()[3]
                assert local.startswith("127.0.0.1:"), f"{daemon} listens on {local}"
    assert seen == set(DAEMONS)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_api_server_is_the_kubernetes_built_from_debian_source(api: client.ApiClient) -> None:
    version = await client.VersionApi(api).get_code()
    assert (version.major, version.minor, version.git_version) == ("1", "20", "v1.20.2")


def test_the_pause_image_is_labelled_as_a_devstack_stand_in() -> None:
    labels = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", "glrunner-devstack/pause:3.4.1"],
        capture_output=True,
        text=True,
    )
    assert labels.returncode == 0, labels.stderr
    assert '"io.glrunner.devstack":"kubernetes"' in labels.stdout
    assert "stand-in" in labels.stdout
