"""Helpers for the devstack cluster tests: exec with exact exit status, stand-in image checks."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.stream import WsApiClient

STDOUT, STDERR, STATUS = 1, 2, 3
KUBECONFIG = Path(os.environ.get("GLRUNNER_K8S_KUBECONFIG", "/var/lib/glrunner-devstack/kubernetes/admin.kubeconfig"))
TEST_LABEL = "io.glrunner.test"


def require_images(*images: str) -> None:
    """Fail (not skip) with the fix when a stand-in image the test needs is missing from the engine."""
    missing = [
        image
        for image in images
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0
    ]
    if missing:
        pytest.fail(f"stand-in image(s) {', '.join(missing)} missing from the Docker engine: run devstack/up")


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def exit_code_of(status: dict[str, object]) -> int:
    """The v4 channel protocol ends with a metav1.Status: Success, or NonZeroExitCode with the code."""
    if status.get("status") == "Success":
        return 0
    details = status.get("details")
    causes = details.get("causes", []) if isinstance(details, dict) else []
    for cause in causes:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    raise AssertionError(f"exec failed without an exit code: {status}")


async def pod_exec(namespace: str, pod: str, container: str, command: list[str]) -> ExecResult:
    out: list[bytes] = []
    err: list[bytes] = []
    status: dict[str, object] | None = None
    async with WsApiClient() as ws_api:
        core = client.CoreV1Api(ws_api)
        connect: Any = await core.connect_get_namespaced_pod_exec(
            pod,
            namespace,
            container=container,
            command=command,  # type: ignore[arg-type]  # the websocket client expands a list
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )
        async with connect as ws:
            async for message in ws:
                data: bytes = message.data if isinstance(message.data, bytes) else message.data.encode()
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel == STDOUT:
                    out.append(payload)
                elif channel == STDERR:
                    err.append(payload)
                elif channel == STATUS and payload:
                    status = json.loads(payload)
    if status is None:
        raise AssertionError(f"exec {command} ended without a status message")
    return ExecResult(exit_code_of(status), b"".join(out).decode(), b"".join(err).decode())
