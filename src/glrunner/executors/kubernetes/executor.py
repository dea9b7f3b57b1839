"""The Kubernetes executor: carries out a JobSpec as one pod (spec section 5).

prepare: namespace (namespace_per_job) -> pull secret (registry credentials) -> pod -> wait until
the build container runs -> wait for the services that name a `HEALTHCHECK_TCP_PORT`.
upload: the project archive is unpacked in the build container. run: each stage script goes to
the build container over one exec that saves and runs it; the exit code is the kubelet's. cleanup:
the pod (grace `cleanup_grace_period_seconds`), the secret and the namespace we made.

Scripts run by exec, not by GitLab's attach strategy: attach needs the helper image to read a log
file back and a JSON exit line from a trap, while exec reports the exact exit code on its status
channel and needs nothing in the pod but `sh`. The build container's main process (the detected
shell reading its open stdin) only keeps the pod alive between stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.stream import WsApiClient

from glrunner.durations import go_duration
from glrunner.errors import ExecutorError, JobError
from glrunner.executors.kubernetes import build, commands
from glrunner.executors.kubernetes.client import call, is_not_found, load_configuration, translate
from glrunner.executors.kubernetes.podwait import (
    ContainerImagePullError,
    PodFollower,
    container_failure,
    read_pod,
    wait_for_running,
)
from glrunner.executors.kubernetes.remote import ExecFailed, run_in_container
from glrunner.model.result import StageOutcome
from glrunner.model.spec import JobSpec, PullPolicy, StageScript
from glrunner.trace.log import JobLog

logger = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL when a stage is cancelled
SERVICE_LOG_LINES = 200
DELETE_ATTEMPTS = 3
WEBSOCKET_HEARTBEAT = 30.0


class KubernetesExecutor:
    name = "kubernetes"

    def __init__(self) -> None:
        self._spec: JobSpec | None = None
        self._api: client.ApiClient | None = None
        self._ws_api: WsApiClient | None = None
        self._attempt = 0
        self._pod: str | None = None  # the pod of this attempt, once we asked for it
        self._secret: str | None = None
        self._namespace_created = False
        self._follower: PodFollower | None = None
        self._running = False  # the build container ran: its processes deserve a graceful stop

    @property
    def _core(self) -> client.CoreV1Api:
        assert self._api is not None
        return client.CoreV1Api(self._api)

    @property
    def _namespace(self) -> str:
        assert self._spec is not None
        return build.options(self._spec).namespace

    # -- prepare -------------------------------------------------------------------------------

    async def prepare(self, spec: JobSpec, log: JobLog) -> None:
        self._spec = spec
        opts = build.options(spec)
        configuration = await load_configuration(opts)
        # Pings keep a quiet stage's exec connection alive through proxies with idle timeouts.
        self._api = client.ApiClient(configuration)
        self._ws_api = WsApiClient(configuration, heartbeat=WEBSOCKET_HEARTBEAT)
        for warning in spec.warnings:
            log.warning(warning)
        log.plain(f"Using Kubernetes namespace: {opts.namespace}")
        log.plain(f"Using Kubernetes executor with image {spec.image.name} ...")
        self._log_pull_policies(spec, log)
        if opts.active_deadline_seconds is not None:
            after = opts.active_deadline_seconds - 1 - spec.timeout
            extra = f" (+{go_duration(after)} for after_script)" if after > 0 else ""
            log.plain("Using FF_USE_POD_ACTIVE_DEADLINE_SECONDS, the Pod activeDeadlineSeconds will be set to "
                      f"the job timeout: {go_duration(spec.timeout)}{extra}...")
        if opts.namespace_per_job:
            await self._create_namespace(spec)
        await self._start_pod(spec, log)
        await self._wait_for_services(spec, log)

    async def _start_pod(self, spec: JobSpec, log: JobLog) -> None:
        """Create the pod and wait until the build container runs. When an image cannot be pulled
        and its container has another pull policy, a new pod tries that one (GitLab's order)."""
        opts = build.options(spec)
        choice: dict[str, int] = {}
        while True:
            attempt, self._attempt = self._attempt, self._attempt + 1
            secret = await self._create_secret(spec, attempt)
            pod = await self._create_pod(spec, attempt, secret, choice)
            self._follower = PodFollower(self._core, opts.namespace, pod.metadata.name)
            self._follower.start(pod)
            try:
                await wait_for_running(self._follower, opts.poll_interval, opts.poll_timeout, log)
            except ContainerImagePullError as exc:
                policies = _pull_policies(spec, exc.container)
                tried = choice.get(exc.container, 0)
                if tried + 1 >= len(policies):
                    raise
                log.warning(f'Failed to pull image with policy "{build.pull_policy(policies, tried)}": {exc}')
                log.plain(f'Attempt #{tried + 2}: Trying "{build.pull_policy(policies, tried + 1)}" pull policy')
                choice[exc.container] = tried + 1
                await self._discard_pod()
                continue
            self._running = True
            return

    async def _discard_pod(self) -> None:
        if self._follower is not None:
            await self._follower.stop()
            self._follower = None
        await self._delete_objects(0, keep_namespace=True)

    def _log_pull_policies(self, spec: JobSpec, log: JobLog) -> None:
        containers = [(build.BUILD_CONTAINER, spec.image.pull_policies)]
        containers += [(s.container_suffix, s.pull_policies) for s in spec.services]
        for name, policies in containers:
            if policies:
                log.plain(f"Using effective pull policy of [{build.pull_policy_names(policies)}] "
                          f"for container {name}")

    async def _create_namespace(self, spec: JobSpec) -> None:
        body = build.namespace_body(spec)
        await call(f"creating namespace {self._namespace}", self._core.create_namespace(_as_json(body)))
        self._namespace_created = True
        # Pods are refused until the controller has made the namespace's default service account.
        for _ in range(300):
            accounts = await call("listing service accounts", self._core.list_namespaced_service_account(
                self._namespace, field_selector="metadata.name=default"))
            if accounts.items:
                return
            await asyncio.sleep(0.1)
        raise ExecutorError(f"namespace {self._namespace} has no default service account after 30 s")

    async def _create_secret(self, spec: JobSpec, attempt: int) -> str | None:
        body = build.secret_body(spec, attempt)
        if body is None:
            return None
        self._secret = body["metadata"]["name"]
        request = self._core.create_namespaced_secret(self._namespace, _as_json(body))
        await call("creating the image pull secret", request)
        return self._secret

    async def _create_pod(self, spec: JobSpec, attempt: int, secret: str | None, choice: dict[str, int]) -> Any:
        body = build.pod_body(spec, attempt, secret, choice)
        self._pod = body["metadata"]["name"]  # before the call: a cancelled request may still create it
        pod = await call(f"creating pod {self._namespace}/{self._pod}",
                         self._core.create_namespaced_pod(self._namespace, _as_json(body)))
        if secret is not None:
            owner = {"apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name, "uid": pod.metadata.uid}
            await call("making the pod own its pull secret", self._core.patch_namespaced_secret(
                secret, self._namespace, {"metadata": {"ownerReferences": [owner]}}))
        return pod

    async def _wait_for_services(self, spec: JobSpec, log: JobLog) -> None:
        """Only services whose own variables name HEALTHCHECK_TCP_PORT, as GitLab (no timeout of its own)."""
        checked = [s for s in spec.services if s.health_ports]
        if not checked:
            return
        ports = sorted({p for s in checked for p in s.health_ports or ()})
        names = ", ".join(f"{s.container_suffix} on {','.join(map(str, s.health_ports or ()))}" for s in checked)
        log.plain(f"Waiting for services to be up and running ({names})...")
        probe = asyncio.ensure_future(self._exec(commands.probe_command(ports), log.write))
        watcher = asyncio.ensure_future(self._service_stopped({s.container_suffix for s in checked}))
        try:
            done, _ = await asyncio.wait({probe, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (probe, watcher):
                task.cancel()
            await asyncio.gather(probe, watcher, return_exceptions=True)
        if probe in done and probe.exception() is None and probe.result() == 0:
            return
        failure = watcher.result() if watcher in done else (
            str(probe.exception()) if probe.exception() else f"readiness probe exited with {probe.result()}")
        await self._log_service_output(log, [s.container_suffix for s in checked])
        raise JobError(f"services are not ready: {failure}")

    async def _service_stopped(self, names: set[str]) -> str:
        assert self._follower is not None
        while True:
            failure = container_failure(self._follower.pod, lambda c: c in names)
            if failure:
                return failure
            self._follower.changed.clear()
            await self._follower.changed.wait()

    async def _log_service_output(self, log: JobLog, names: list[str]) -> None:
        for name in names:
            with contextlib.suppress(Exception):
                text = await self._core.read_namespaced_pod_log(
                    self._pod or "", self._namespace, container=name, tail_lines=SERVICE_LOG_LINES)
                log.plain(f"Service container {name} logs:")
                log.write(str(text).encode("utf-8", "replace"))
                log.flush()

    # -- sources and stages --------------------------------------------------------------------

    async def _exec(self, command: list[str], output: Any, stdin: bytes | None = None) -> int:
        assert self._ws_api is not None and self._pod is not None
        return await run_in_container(self._ws_api, self._namespace, self._pod, build.BUILD_CONTAINER,
                                      command, output, stdin)

    async def upload(self, archive: bytes, log: JobLog) -> None:
        """Unpack a tar archive (paths relative to /) in the build container."""
        code = await self._exec(commands.upload_command(len(archive)), log.write, archive)
        log.flush()
        if code != 0:
            raise ExecutorError(f"unpacking the project files in the build container failed: exit code {code}")

    async def run(self, stage: StageScript, log: JobLog) -> StageOutcome:
        assert self._spec is not None
        data = stage.text.encode()
        path = build.stage_script_path(self._spec, stage.name)
        try:
            code = await self._exec(commands.stage_command(path, len(data)), log.write, data)
        except asyncio.CancelledError:
            await asyncio.shield(self._stop_stage())
            raise
        except ExecFailed as exc:
            raise ExecutorError(await self._why_exec_failed(exc)) from exc
        finally:
            log.flush()
        return StageOutcome(exit_code=code)

    async def _why_exec_failed(self, exc: ExecFailed) -> str:
        """The pod's own account of what stopped the stage (deadline, OOM kill), when it has one."""
        with contextlib.suppress(Exception):
            pod = await read_pod(self._core, self._namespace, self._pod or "")
            stopped = container_failure(pod, lambda c: c == build.BUILD_CONTAINER)
            if stopped or pod.status.reason:
                return f"{exc}: {stopped or pod.status.reason} {pod.status.message or ''}".rstrip()
        return str(exc)

    async def _stop_stage(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(STOP_GRACE + 10):
                await self._exec(commands.stop_command(STOP_GRACE), lambda _: None)

    # -- cleanup -------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        """Idempotent; safe after a half-done prepare and after cancellation; 'not found' is success."""
        if self._api is None or self._spec is None:
            return
        opts = build.options(self._spec)
        try:
            async with asyncio.timeout(opts.cleanup_resources_timeout):
                if self._follower is not None:
                    await self._follower.stop()
                    self._follower = None
                # A pod whose build container never ran has nothing to stop gracefully; the kubelet
                # can keep such a pod (say, in image pull back-off) for its whole grace period.
                await self._delete_objects(opts.cleanup_grace_period_seconds if self._running else 0)
        except TimeoutError:
            logger.warning("cleanup did not finish within %s s", opts.cleanup_resources_timeout)
        finally:
            api, ws_api, self._api, self._ws_api = self._api, self._ws_api, None, None
            await asyncio.gather(api.close(), *([ws_api.close()] if ws_api else []), return_exceptions=True)

    async def _delete_objects(self, grace: int | None, keep_namespace: bool = False) -> None:
        core = self._core
        if self._pod is not None:
            pod = self._pod
            options: dict[str, Any] = {"propagation_policy": "Background"}
            if grace is not None:
                options["grace_period_seconds"] = grace
            await _delete(f"pod {pod}", lambda: core.delete_namespaced_pod(pod, self._namespace, **options))
            self._pod = None
            self._running = False
        if self._secret is not None:
            secret = self._secret
            await _delete(f"secret {secret}", lambda: core.delete_namespaced_secret(secret, self._namespace))
            self._secret = None
        if self._namespace_created and not keep_namespace:
            await _delete(f"namespace {self._namespace}", lambda: core.delete_namespace(self._namespace))
            self._namespace_created = False


async def _delete(what: str, request: Any) -> None:
    for attempt in range(1, DELETE_ATTEMPTS + 1):
        try:
            await request()
            return
        except Exception as exc:
            if is_not_found(exc):
                return
            if attempt == DELETE_ATTEMPTS:
                logger.warning("Error cleaning up %s: %s", what, translate("deleting", exc))
                return
            await asyncio.sleep(attempt)


def _pull_policies(spec: JobSpec, container: str) -> tuple[PullPolicy, ...]:
    if container == build.BUILD_CONTAINER:
        return spec.image.pull_policies
    return next((s.pull_policies for s in spec.services if s.container_suffix == container), ())


def _as_json(body: dict[str, Any]) -> Any:
    """The client takes the API's JSON form as well as its model classes; build.py makes the former."""
    return body


