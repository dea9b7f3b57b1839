"""Fixtures for the Kubernetes executor on the devstack's real cluster (devstack/kubernetes up).

Each test module gets its own namespace `glrunner-k8s-exec-<random>`, deleted at the end. After every
job test, what glrunner made (pods, secrets, namespaces; found by its `app.kubernetes.io/managed-by`
label) must be gone within the cleanup grace period. Tests fail, not skip, when the cluster is
missing: a suite that silently skips proves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.kubernetes_executor import cluster

CLEANUP_GRACE = 3  # cleanup_grace_period_seconds in the tests' config.toml
GONE_WITHIN = CLEANUP_GRACE + 12  # deletion is asynchronous: the kubelet needs a few seconds more


@pytest.fixture(scope="session")
def kubernetes_cluster() -> None:
    problem = cluster.cluster_answers()
    if problem:
        pytest.fail(f"no Kubernetes cluster: {problem}; start it with devstack/kubernetes up")


@pytest.fixture(scope="session", autouse=True)
def nothing_of_ours_left_after_the_suite() -> Iterator[None]:
    """Issue 6 test 5: after the suite, no pod, secret or namespace made by glrunner (found by its
    label) and no test namespace remains anywhere in the cluster."""
    yield
    if cluster.cluster_answers():
        return  # the suite already failed on the missing cluster
    deadline = time.monotonic() + 90
    while (left := cluster.everything_of_ours()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"left in the cluster after the suite: {left}"


@pytest.fixture(scope="module")
def namespace(kubernetes_cluster: None) -> Iterator[str]:
    name = cluster.create_namespace("glrunner-k8s-exec")
    try:
        yield name
    finally:
        cluster.delete_namespace(name)


@pytest.fixture
def k8s_no_leftovers(namespace: str) -> Iterator[None]:
    """Fails a test whose job left a pod, secret or namespace of glrunner's behind."""
    namespaces_before = set(cluster.our_namespaces())
    yield
    seconds, left = cluster.wait_until_none_left(namespace, GONE_WITHIN)
    assert not any(left.values()), f"left behind in {namespace} after {seconds:.0f} s: {left}"
    deadline = time.monotonic() + 90  # a namespace goes only after everything in it has
    while (new := set(cluster.our_namespaces()) - namespaces_before) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not new, f"namespaces left behind: {new}"
