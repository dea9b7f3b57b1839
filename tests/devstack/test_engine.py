"""The devstack engine and registry, on the real engine after devstack/up."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.devstack.engine import Labelled, docker, wait_until

pytestmark = pytest.mark.docker

DEVSTACK = Path(__file__).resolve().parents[2] / "devstack"
ALL_CAPS_BUT_SYS_RESOURCE = 0x3FFEFFFFFF  # CAP_SYS_RESOURCE is bit 24


def containers_registry() -> str:
    """The registry URL baked into the dind stand-in as its --registry-mirror."""
    env = docker("image", "inspect", "--format", "{{json .Config.Env}}", "docker:24.0.5-dind").stdout
    return "http://" + env.split("GLRUNNER_DEVSTACK_REGISTRY_MIRROR=http://")[1].split('"')[0]


def test_privileged_container_runs_with_privileged_powers(engine: Labelled) -> None:
    """`--privileged` works (with the runtime wrapper where the VM lacks CAP_SYS_RESOURCE) and
    really is privileged: it may create network interfaces and mount filesystems."""
    result = engine.run(
        "busybox:latest", "sh", "-c",
        "ip link add devstack0 type bridge && mkdir /m && mount -t tmpfs none /m && grep CapEff /proc/self/status",
        privileged=True,
    )
    effective = int(result.stdout.split()[-1], 16)
    assert effective & ALL_CAPS_BUT_SYS_RESOURCE == ALL_CAPS_BUT_SYS_RESOURCE


def test_exec_into_a_privileged_container(engine: Labelled) -> None:
    """`docker exec` passes its process spec through the wrapper too (runc exec --process)."""
    name = engine.name("exec")
    engine.run("busybox:latest", "sleep", "300", name=name, detach=True, privileged=True)
    assert docker("exec", name, "echo", "exec works").stdout == "exec works\n"


def test_negative_oom_score_adj_starts(engine: Labelled) -> None:
    """Kubernetes' dockershim starts pod sandboxes with oom_score_adj -998 through this engine."""
    result = engine.run("busybox:latest", "cat", "/proc/self/oom_score_adj", extra=["--oom-score-adj=-998"])
    assert int(result.stdout) <= 0


def test_engine_uses_the_local_registry_as_docker_hub_mirror() -> None:
    mirrors = docker("info", "--format", "{{json .RegistryConfig.Mirrors}}").stdout
    assert "http://127.0.0.1:5000/" in mirrors


def test_pull_after_rmi_comes_back_through_the_mirror(engine: Labelled) -> None:
    """A Docker Hub name (docker.io/library/busybox) is pulled from the local registry: there
    is no other way offline. A fresh image (unique label) under a dedicated tag, so other
    users of busybox:latest never see it disappear."""
    ref = "busybox:devstack-pulltest"
    mirror_ref = f"127.0.0.1:5000/library/{ref}"
    dockerfile = f"FROM busybox:latest\nLABEL io.glrunner.test.pulltest={engine.test_id}\n"
    docker("build", "-q", "--label", engine.label, "-t", mirror_ref, "-", stdin=dockerfile)
    docker("push", mirror_ref)
    docker("rmi", mirror_ref)
    assert docker("image", "inspect", ref, check=False).returncode != 0

    pulled = docker("pull", ref)

    assert "docker.io/library/busybox:devstack-pulltest" in pulled.stdout
    label = docker("image", "inspect", "--format",
                   '{{index .Config.Labels "io.glrunner.test.pulltest"}}', ref).stdout.strip()
    assert label == engine.test_id


def test_registry_for_containers_is_reachable_from_a_user_defined_network(engine: Labelled) -> None:
    """The read-only registry on the devstack network's gateway serves a container on any
    user-defined network (this is what a dind daemon's --registry-mirror points at)."""
    network = engine.network()
    result = engine.run("busybox:latest", "wget", "-qO-", f"{containers_registry()}/v2/_catalog", network=network)
    assert '"library/busybox"' in result.stdout


def test_registry_for_containers_refuses_pushes(engine: Labelled) -> None:
    """Jobs must not be able to overwrite the shared mirror's images."""
    network = engine.network()
    result = engine.run(
        "busybox:latest", "wget", "-S", "-qO-", "--post-data=",
        f"{containers_registry()}/v2/library/busybox/blobs/uploads/",
        network=network, check=False,
    )
    assert result.returncode != 0
    assert "405" in result.output or "503" in result.output


def test_status_reports_everything_up() -> None:
    result = subprocess.run([str(DEVSTACK / "status")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine: up (dockerd " in result.stdout
    assert "registry: up (http://127.0.0.1:5000" in result.stdout
    for image in ("busybox:latest", "debian:bookworm-slim", "registry:2",
                  "docker:24.0.5-dind", "docker:24.0.5-cli"):
        assert f"image {image}: present (stand-in " in result.stdout


@pytest.mark.slow
def test_up_on_a_warm_machine_changes_nothing_and_is_fast() -> None:
    start = time.monotonic()
    result = subprocess.run([str(DEVSTACK / "up")], capture_output=True, text=True, timeout=300)
    took = time.monotonic() - start
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if ": built" in line or ": started" in line] == []
    assert any(line.startswith("engine: already running") for line in lines)
    assert took < 15, f"warm devstack/up took {took:.1f} s:\n{result.stdout}"


def test_registry_stand_in_serves_as_a_service(engine: Labelled) -> None:
    """registry:2 runs with its default config on :5000, reachable by alias on the job network."""
    network = engine.network()
    engine.run("registry:2", name=engine.name("registry"), detach=True, network=network, aliases=["registry"])
    probe = ["run", "--rm", "--label", engine.label, "--network", network, "busybox:latest",
             "wget", "-qO-", "http://registry:5000/v2/"]
    wait_until(probe, timeout=30, what="registry:2 service")
