"""The devstack cluster runs what the Kubernetes executor needs: a build container beside a privileged
Docker-in-Docker sidecar sharing one network namespace, an emptyDir ``medium: Memory`` for the client
certificates, exec with exact exit codes, and container logs (spec section 5's pod shape).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kubernetes_asyncio import client

from .helpers import TEST_LABEL, pod_exec, require_images

pytestmark = [pytest.mark.kubernetes, pytest.mark.dind, pytest.mark.asyncio(loop_scope="module")]

CLI_IMAGE = "docker:24.0.5-cli"
DIND_IMAGE = "docker:24.0.5-dind"
POD = "dind-pair"
MARKER = "glrunner-devstack-build-container-started"


def dind_pod() -> client.V1Pod:
    certs = client.V1VolumeMount(name="docker-certs", mount_path="/certs/client")
    build = client.V1Container(
        name="build",
        image=CLI_IMAGE,
        image_pull_policy="IfNotPresent",
        command=["sh", "-c", f"echo {MARKER}; exec sleep 3600"],
        env=[
            client.V1EnvVar(name="DOCKER_HOST", value="tcp://localhost:2376"),
            client.V1EnvVar(name="DOCKER_TLS_VERIFY", value="1"),
            client.V1EnvVar(name="DOCKER_CERT_PATH", value="/certs/client"),
        ],
        volume_mounts=[certs],
    )
    dind = client.V1Container(
        name="docker",
        image=DIND_IMAGE,
        image_pull_policy="IfNotPresent",
        security_context=client.V1SecurityContext(privileged=True),
        env=[client.V1EnvVar(name="DOCKER_TLS_CERTDIR", value="/certs")],
        volume_mounts=[certs],
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=POD, labels={TEST_LABEL: "kubernetes-devstack"}),
        spec=client.V1PodSpec(
            containers=[build, dind],
            restart_policy="Never",
            termination_grace_period_seconds=1,
            automount_service_account_token=False,
            volumes=[client.V1Volume(name="docker-certs", empty_dir=client.V1EmptyDirVolumeSource(medium="Memory"))],
        ),
    )


async def wait_running(core: client.CoreV1Api, namespace: str) -> client.V1Pod:
    """Running with both containers ready, or fail with the pod's state and the namespace's events."""
    pod = None
    try:
        async with asyncio.timeout(90):
            while True:
                pod = await core.read_namespaced_pod(POD, namespace)
                statuses = pod.status.container_statuses or []
                if pod.status.phase == "Running" and len(statuses) == 2 and all(s.ready for s in statuses):
                    return pod
                if pod.status.phase in ("Failed", "Succeeded"):
                    break
                await asyncio.sleep(0.5)
    except TimeoutError:
        pass
    events = await core.list_namespaced_event(namespace)
    pytest.fail(
        f"pod {POD} not running with 2/2 ready: {pod.status if pod else None}; events: "
        + "; ".join(f"{e.reason}: {e.message}" for e in events.items)
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running_pod(api: client.ApiClient, namespace: str) -> AsyncIterator[client.V1Pod]:
    require_images(CLI_IMAGE, DIND_IMAGE)
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, dind_pod())
    yield await wait_running(core, namespace)


async def test_pod_with_privileged_dind_sidecar_runs_both_containers(running_pod: client.V1Pod) -> None:
    statuses = {s.name: s for s in running_pod.status.container_statuses}
    assert sorted(statuses) == ["build", "docker"]
    assert all(s.ready and s.state.running for s in statuses.values())
    assert running_pod.spec.node_name == "127.0.0.1"


@pytest.mark.parametrize("code", [0, 1, 3, 42])
async def test_exec_returns_the_exact_exit_code(running_pod: client.V1Pod, namespace: str, code: int) -> None:
    result = await pod_exec(namespace, POD, "build", ["sh", "-c", f"echo out-{code}; echo err-{code} >&2; exit {code}"])
    assert result.exit_code == code
    assert result.stdout == f"out-{code}\n"
    assert result.stderr == f"err-{code}\n"


async def test_container_logs_are_readable(running_pod: client.V1Pod, api: client.ApiClient, namespace: str) -> None:
    logs = await client.CoreV1Api(api).read_namespaced_pod_log(POD, namespace, container="build")
    assert logs.splitlines()[0] == MARKER


async def test_build_container_reaches_the_sidecar_daemon_over_localhost_with_tls(
    running_pod: client.V1Pod, namespace: str
) -> None:
    """dind writes its client certificates into the shared emptyDir; the build container uses them."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        result = await pod_exec(namespace, POD, "build", ["docker", "version", "--format", "{{.Server.Version}}"])
        if result.exit_code == 0 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(1)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()[:1].isdigit(), result.stdout
    certs = await pod_exec(namespace, POD, "build", ["ls", "/certs/client"])
    assert {"ca.pem", "cert.pem", "key.pem"} <= set(certs.stdout.split())


@pytest.mark.parametrize("container", ["build", "docker"])
async def test_memory_emptydir_is_a_tmpfs_in_every_container(
    running_pod: client.V1Pod, namespace: str, container: str
) -> None:
    result = await pod_exec(namespace, POD, container, ["grep", " /certs/client ", "/proc/mounts"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split()[2] == "tmpfs", result.stdout
