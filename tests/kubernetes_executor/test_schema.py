"""The golden pods are what the API server accepts, field for field (issue 6: generated pods validate
against the server's schema).

Each golden case's Pod and Secret are created on the devstack's real API server with `dryRun=All`:
validation and admission run, nothing is stored. Kubernetes 1.20 drops unknown fields silently
instead of refusing them, so the test also checks that every field sent comes back: a misspelt
field would otherwise pass unnoticed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubernetes_executor import cluster
from tests.kubernetes_executor.test_golden import CASES, rendered

pytestmark = [pytest.mark.kubernetes]


def missing_fields(sent: Any, returned: Any, path: str = "") -> list[str]:
    """Paths of `sent` that are absent from `returned` (the server may only add, never drop)."""
    if isinstance(sent, dict):
        if not isinstance(returned, dict):
            return [path or "/"]
        out = []
        for key, value in sent.items():
            if value == "":
                continue  # the API omits empty strings (Go's omitempty)
            if key not in returned:
                out.append(f"{path}/{key}")
            else:
                out += missing_fields(value, returned[key], f"{path}/{key}")
        return out
    if isinstance(sent, list):
        if not isinstance(returned, list) or len(returned) < len(sent):
            return [path]
        if all(isinstance(item, dict) and "name" in item for item in sent):
            # named entries (containers, volumes, mounts): the server may add its own, e.g. the
            # service account token volume
            by_name = {item.get("name"): item for item in returned if isinstance(item, dict)}
            return [p for item in sent
                    for p in missing_fields(item, by_name.get(item["name"]), f"{path}[{item['name']}]")]
        return [p for i, item in enumerate(sent) for p in missing_fields(item, returned[i], f"{path}[{i}]")]
    return []


def test_missing_fields_sees_a_dropped_field() -> None:
    assert missing_fields({"spec": {"a": 1, "b": [{"c": 2}]}}, {"spec": {"a": 1, "b": [{}]}}) == ["/spec/b[0]/c"]
    assert missing_fields({"v": [{"name": "x", "k": 1}]}, {"v": [{"name": "token"}, {"name": "x"}]}) == ["/v[x]/k"]
    assert missing_fields({"v": [{"name": "x"}]}, {"v": [{"name": "token"}, {"name": "x"}]}) == []


@pytest.mark.parametrize("case", CASES)
def test_golden_pod_is_accepted_by_the_api_server(case: str, namespace: str) -> None:
    pod = rendered(case)["pod"]
    account = pod["spec"].get("serviceAccountName")
    if account and account != "default":
        cluster.create_service_account(namespace, account)  # admission checks that it exists
    made = cluster.dry_run_create(namespace, pod)
    assert made["metadata"]["name"] == pod["metadata"]["name"]
    sent = {**pod, "metadata": {**pod["metadata"], "namespace": namespace}}
    assert missing_fields(sent, made) == []


@pytest.mark.parametrize("case", [c for c in CASES if rendered(c)["secret"] is not None])
def test_golden_pull_secret_is_accepted_by_the_api_server(case: str, namespace: str) -> None:
    secret = rendered(case)["secret"]
    made = cluster.dry_run_create(namespace, secret)
    sent = {**secret, "metadata": {**secret["metadata"], "namespace": namespace}}
    assert missing_fields(sent, made) == []
