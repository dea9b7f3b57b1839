"""Running a command in a pod's container over the exec websocket (channel protocol v4).

The command's output streams to a callback as it comes; stdin, when given, is sent whole (the
commands read an exact byte count, since v4 cannot close stdin alone). The exit status is the one
the kubelet reports on the status channel, exactly: a connection that ends without it is an
infrastructure error, never taken for success (GitLab's legacy exec mode had that bug, #4119).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient

from glrunner.errors import ExecutorError
from glrunner.executors.kubernetes.client import translate

STDIN, STDOUT, STDERR, STATUS = 0, 1, 2, 3
CHUNK = 64 * 1024

OutputSink = Callable[[bytes], None]


class ExecFailed(ExecutorError):
    """The command could not run, or its end was not reported (container gone, connection lost)."""


def exit_code_of(status: dict[str, Any]) -> int:
    """metav1.Status on channel 3: Success, or NonZeroExitCode with the code among the causes."""
    if status.get("status") == "Success":
        return 0
    details = status.get("details") or {}
    for cause in details.get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", "1"))
    raise ExecFailed(str(status.get("message") or status))


async def _send(ws: aiohttp.ClientWebSocketResponse, data: bytes) -> None:
    for start in range(0, len(data), CHUNK):
        await ws.send_bytes(bytes([STDIN]) + data[start:start + CHUNK])


async def _read(ws: aiohttp.ClientWebSocketResponse, output: OutputSink) -> dict[str, Any] | None:
    status: dict[str, Any] | None = None
    async for message in ws:
        if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
            break
        data: bytes = message.data if isinstance(message.data, bytes) else message.data.encode()
        if len(data) < 2:
            continue
        channel, payload = data[0], data[1:]
        if channel in (STDOUT, STDERR):
            output(payload)
        elif channel == STATUS:
            status = json.loads(payload)
    return status


async def run_in_container(
    ws_api: WsApiClient,
    namespace: str,
    pod: str,
    container: str,
    command: list[str],
    output: OutputSink,
    stdin: bytes | None = None,
) -> int:
    """Run `command`; return its exit code. Cancelling closes the connection (the process may go on)."""
    core = client.CoreV1Api(ws_api)
    try:
        connect: Any = await core.connect_get_namespaced_pod_exec(
            pod, namespace, container=container, command=command,  # type: ignore[arg-type]
            stdin=stdin is not None, stdout=True, stderr=True, tty=False, _preload_content=False,
        )
        async with connect as ws:
            sender = asyncio.ensure_future(_send(ws, stdin)) if stdin else None
            try:
                status = await _read(ws, output)
            finally:
                if sender is not None:
                    sender.cancel()
                    await asyncio.gather(sender, return_exceptions=True)
    except aiohttp.WSServerHandshakeError as exc:
        raise ExecFailed(f"exec in {pod}/{container}: {exc.status} {exc.message}") from exc
    except (ApiException, aiohttp.ClientError, OSError) as exc:
        raise translate(f"exec in {pod}/{container}", exc) from exc
    if status is None:
        raise ExecFailed(f"the connection to {pod}/{container} ended before the command did")
    return exit_code_of(status)
