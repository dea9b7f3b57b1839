"""Looking at the devstack's real cluster from the tests, synchronously, by glrunner's labels only."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubernetes_devstack.helpers import KUBECONFIG

T = TypeVar("T")
OURS = "app.kubernetes.io/managed-by=glrunner"
TEST_LABEL = "io.glrunner.test"


@asynccontextmanager
async def core_api() -> AsyncIterator[client.CoreV1Api]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(KUBECONFIG), client_configuration=configuration,
                                  persist_config=False)
    async with client.ApiClient(configuration) as api:
        yield client.CoreV1Api(api)


def with_core(fn: Callable[[client.CoreV1Api], Awaitable[T]]) -> T:
    async def main() -> T:
        async with core_api() as core:
            return await fn(core)

    return asyncio.run(main())


def env() -> dict[str, str]:
    """The environment `glrunner` gets: the kubeconfig, as a user exports it."""
    return {**os.environ, "KUBECONFIG": str(KUBECONFIG)}


def cluster_answers() -> str:
    """"" when the API server lists namespaces; else why not."""
    if not KUBECONFIG.is_file():
        return f"{KUBECONFIG} not found"
    try:
        with_core(lambda core: core.list_namespace(limit=1))
    except Exception as exc:
        return f"the API server did not answer: {exc}"
    return ""


def create_namespace(prefix: str) -> str:
    name = f"{prefix}-{secrets.token_hex(4)}"

    async def create(core: client.CoreV1Api) -> None:
        await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=name, labels={TEST_LABEL: "kubernetes-executor"})))
        for _ in range(300):  # pods are refused until the default service account exists
            if (await core.list_namespaced_service_account(name, field_selector="metadata.name=default")).items:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"no default service account in {name} after 30 s")

    with_core(create)
    return name


def delete_namespace(name: str, timeout: float = 120) -> None:
    async def delete(core: client.CoreV1Api) -> None:
        try:
            await core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
            await core.delete_namespace(name)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                await core.read_namespace(name)
                await asyncio.sleep(0.5)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        raise AssertionError(f"namespace {name} still present {timeout} s after deletion")

    with_core(delete)


def ours(namespace: str) -> dict[str, list[str]]:
    """glrunner's pods and secrets in `namespace` (terminating ones included)."""
    async def read(core: client.CoreV1Api) -> dict[str, list[str]]:
        pods = await core.list_namespaced_pod(namespace, label_selector=OURS)
        found = await core.list_namespaced_secret(namespace, label_selector=OURS)
        return {"pods": [p.metadata.name for p in pods.items], "secrets": [s.metadata.name for s in found.items]}

    return with_core(read)


def our_namespaces() -> list[str]:
    return with_core(lambda core: _names(core.list_namespace(label_selector=OURS)))


async def _names(request: Awaitable[Any]) -> list[str]:
    return [item.metadata.name for item in (await request).items]


def everything_of_ours() -> dict[str, list[str]]:
    """Cluster-wide: glrunner's pods, secrets and namespaces, and the tests' own namespaces."""
    async def read(core: client.CoreV1Api) -> dict[str, list[str]]:
        found = {
            "pods": await _qualified(core.list_pod_for_all_namespaces(label_selector=OURS)),
            "secrets": await _qualified(core.list_secret_for_all_namespaces(label_selector=OURS)),
            "namespaces": await _names(core.list_namespace(label_selector=OURS)),
            "test namespaces": await _names(core.list_namespace(label_selector=f"{TEST_LABEL}=kubernetes-executor")),
        }
        return {kind: names for kind, names in found.items() if names}

    return with_core(read)


async def _qualified(request: Awaitable[Any]) -> list[str]:
    return [f"{item.metadata.namespace}/{item.metadata.name}" for item in (await request).items]


def wait_until_none_left(namespace: str, timeout: float) -> tuple[float, dict[str, list[str]]]:
    """Seconds until no pod or secret of ours is left (or `timeout`), and what is left then."""
    start = time.monotonic()
    while True:
        left = ours(namespace)
        if not any(left.values()) or time.monotonic() - start > timeout:
            return time.monotonic() - start, left
        time.sleep(0.2)


def pods(namespace: str) -> list[dict[str, Any]]:
    """Our pods as the API returns them (JSON form)."""
    async def read(core: client.CoreV1Api) -> list[dict[str, Any]]:
        found = await core.list_namespaced_pod(namespace, label_selector=OURS)
        return [core.api_client.sanitize_for_serialization(p) for p in found.items]

    return with_core(read)


def secrets_json(namespace: str) -> list[dict[str, Any]]:
    async def read(core: client.CoreV1Api) -> list[dict[str, Any]]:
        found = await core.list_namespaced_secret(namespace, label_selector=OURS)
        return [core.api_client.sanitize_for_serialization(s) for s in found.items]

    return with_core(read)


def dry_run_create(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the API server makes of `body` (validated, defaulted, not stored)."""
    body = {**body, "metadata": {**body["metadata"], "namespace": namespace}}

    async def create(core: client.CoreV1Api) -> Any:
        if body["kind"] == "Pod":
            made = await core.create_namespaced_pod(namespace, body, dry_run="All")
        elif body["kind"] == "Secret":
            made = await core.create_namespaced_secret(namespace, body, dry_run="All")
        else:
            made = await core.create_namespace(body, dry_run="All")
        return core.api_client.sanitize_for_serialization(made)

    result: dict[str, Any] = with_core(create)
    return result


def create_service_account(namespace: str, name: str) -> None:
    with_core(lambda core: core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))))
