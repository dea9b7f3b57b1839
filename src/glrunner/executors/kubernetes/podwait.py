"""Waiting for the job's pod to run, and telling why it does not (spec 5).

The pod is followed with a watch, so a pod that starts is noticed at once rather than at the next
3-second poll; GitLab's status lines (`Waiting for pod <ns>/<name> to be running, status is
Pending` and the reasons under it) are still written every `poll_interval` while it waits. An image
that cannot be pulled, or a build container that stops, ends the wait with an error; `poll_timeout`
bounds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client, watch

from glrunner.errors import ExecutorError, ImagePullError, JobConfigurationError
from glrunner.executors.kubernetes.build import BUILD_CONTAINER
from glrunner.executors.kubernetes.client import call
from glrunner.trace.log import JobLog

Pod = Any  # a kubernetes_asyncio V1Pod
PULL_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"}
CONFIG_FAILURES = {"CreateContainerConfigError", "CreateContainerError"}
WATCH_SECONDS = 60


class ContainerImagePullError(ImagePullError):
    """A container's image could not be pulled with its current pull policy."""

    def __init__(self, message: str, container: str) -> None:
        super().__init__(message)
        self.container = container


def _statuses(pod: Pod) -> list[Any]:
    status = pod.status
    return list((status.init_container_statuses or []) + (status.container_statuses or [])) if status else []


def container_failure(pod: Pod, containers: Callable[[str], bool]) -> str | None:
    """GitLab's podContainerError text for the first matching container that has stopped."""
    for cs in _statuses(pod):
        terminated = cs.state.terminated if cs.state else None
        if containers(cs.name) and terminated is not None:
            return (f"Error in container {cs.name}: exit code: {terminated.exit_code}, "
                    f"reason: '{terminated.reason or ''}'")
    return None


def check_pod(pod: Pod) -> bool:
    """True when the build container runs; raise when the pod cannot get there."""
    name, phase = pod.metadata.name, pod.status.phase if pod.status else None
    for cs in _statuses(pod):
        waiting = cs.state.waiting if cs.state else None
        if waiting is not None and waiting.reason in PULL_FAILURES:
            raise ContainerImagePullError(f"image pull failed: {waiting.message or waiting.reason}", cs.name)
        if waiting is not None and waiting.reason in CONFIG_FAILURES:
            raise JobConfigurationError(
                f"container {cs.name} could not be created: {waiting.message or waiting.reason}")
    failure = container_failure(pod, lambda c: c == BUILD_CONTAINER)
    if failure:
        raise ExecutorError(failure)
    if phase in ("Failed", "Succeeded"):
        reason = f": {pod.status.reason} {pod.status.message or ''}".rstrip() if pod.status.reason else ""
        raise ExecutorError(f'pod "{name}" status is "{phase}"{reason}')
    build = next((cs for cs in _statuses(pod) if cs.name == BUILD_CONTAINER), None)
    return phase == "Running" and build is not None and build.state is not None and build.state.running is not None


def status_lines(pod: Pod) -> list[str]:
    meta, status = pod.metadata, pod.status
    lines = [f"Waiting for pod {meta.namespace}/{meta.name} to be running, status is {status.phase if status else ''}"]
    for condition in (status.conditions or []) if status else []:
        if condition.reason:
            lines.append(f"\t{condition.reason}: {json.dumps(condition.message or '')}")
    return lines


class PodFollower:
    """The latest state of one pod, kept current by a watch running in the background."""

    def __init__(self, core: client.CoreV1Api, namespace: str, name: str) -> None:
        self._core, self._namespace, self._name = core, namespace, name
        self.pod: Pod | None = None
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, pod: Pod) -> None:
        self.pod = pod
        self._task = asyncio.ensure_future(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        while True:
            version = self.pod.metadata.resource_version if self.pod is not None else None
            try:
                async with watch.Watch().stream(
                    self._core.list_namespaced_pod, self._namespace,
                    field_selector=f"metadata.name={self._name}", resource_version=version,
                    timeout_seconds=WATCH_SECONDS,
                ) as stream:
                    async for event in stream:
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self.pod = event["object"]
                            self.changed.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1)  # the watch broke off (e.g. resourceVersion too old): read afresh
                with contextlib.suppress(Exception):
                    self.pod = await self._core.read_namespaced_pod(self._name, self._namespace)
                    self.changed.set()


async def wait_for_running(follower: PodFollower, poll_interval: float, poll_timeout: float, log: JobLog) -> Pod:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + poll_timeout
    next_report = loop.time()
    while True:
        pod = follower.pod
        if check_pod(pod):
            return pod
        now = loop.time()
        if now >= deadline:
            raise ExecutorError("timed out waiting for pod to start")
        if now >= next_report:
            for line in status_lines(pod):
                log.plain(line)
            next_report = now + poll_interval
        follower.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(next_report, deadline) - now):
                await follower.changed.wait()


async def read_pod(core: client.CoreV1Api, namespace: str, name: str) -> Pod:
    return await call(f"reading pod {namespace}/{name}", core.read_namespaced_pod(name, namespace))
