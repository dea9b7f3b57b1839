"""Fixtures for the devstack's real single-node Kubernetes (devstack/kubernetes up).

The cluster, its kubeconfig and the stand-in images come from the devstack; nothing here is faked.
Each test module gets its own namespace ``glrunner-devstack-test-<random>``, deleted in a finalizer.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from .helpers import KUBECONFIG, TEST_LABEL


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api() -> AsyncIterator[client.ApiClient]:
    if not KUBECONFIG.is_file():
        pytest.fail(f"{KUBECONFIG} not found: start the cluster with devstack/kubernetes up")
    await config.load_kube_config(config_file=str(KUBECONFIG))
    async with client.ApiClient() as api_client:
        yield api_client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def namespace(api: client.ApiClient) -> AsyncIterator[str]:
    core = client.CoreV1Api(api)
    name = f"glrunner-devstack-test-{secrets.token_hex(4)}"
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: "kubernetes-devstack"}))
    await core.create_namespace(body)
    try:
        await wait_for_default_service_account(core, name)
        yield name
    finally:
        await delete_namespace(core, name)


async def delete_namespace(core: client.CoreV1Api, namespace: str) -> None:
    """Leave nothing behind: the pods first (the namespace controller retries with a growing back-off
    while pods terminate, ~30 s), then the namespace; wait until both are really gone."""
    try:
        async with asyncio.timeout(90):
            await core.delete_collection_namespaced_pod(namespace)
            while True:
                if not (await core.list_namespaced_pod(namespace)).items:
                    break
                await asyncio.sleep(0.2)
            await core.delete_namespace(namespace)
            while True:
                await core.read_namespace(namespace)
                await asyncio.sleep(0.2)
    except ApiException as exc:
        if exc.status != 404:
            raise
    except TimeoutError:
        pytest.fail(f"namespace {namespace} or its pods still present 90 s after deletion")


async def wait_for_default_service_account(core: client.CoreV1Api, namespace: str) -> None:
    """Pods are refused until the controller-manager has made the namespace's ``default`` account."""
    try:
        async with asyncio.timeout(30):
            while True:
                accounts = await core.list_namespaced_service_account(namespace)
                if any(sa.metadata.name == "default" for sa in accounts.items):
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        pytest.fail(f"no default service account in {namespace} after 30 s (is kube-controller-manager up?)")
