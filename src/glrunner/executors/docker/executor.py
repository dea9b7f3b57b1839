"""The Docker executor: carries out a JobSpec with the Docker Engine API (spec section 2).

prepare: network -> volumes -> services (pulled, started, waited for) -> build image -> build
container (created, not started). run: each stage script is copied into the build container and
the container is started with it; output streams into the trace; the exit code is returned.
cleanup: everything this job created, found by what we recorded, removed in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import tarfile
import time
from typing import Any

import aiodocker
from aiodocker.containers import DockerContainer
from aiodocker.networks import DockerNetwork
from aiodocker.volumes import DockerVolume

from glrunner.errors import ExecutorError
from glrunner.executors.docker import build
from glrunner.executors.docker.client import (
    call,
    connect,
    engine_url,
    is_conflict,
    is_local_engine,
    is_not_found,
)
from glrunner.executors.docker.pull import ImageManager
from glrunner.executors.docker.reaper import OWNER_LABEL, owner_value, reap_once_in_background
from glrunner.executors.docker.services import (
    RunningService,
    container_address,
    exposed_tcp_ports,
    report_dead_services,
    wait_for_service,
)
from glrunner.model.result import StageOutcome
from glrunner.model.spec import JobSpec, StageScript
from glrunner.trace.log import DeferredLog, JobLog

logger = logging.getLogger(__name__)

STOP_GRACE = 10  # seconds between SIGTERM and SIGKILL when a stage is cancelled
CLEANUP_BUDGET = 300.0
INTERRUPTED_CREATE_GRACE = 0.5


class DockerExecutor:
    name = "docker"

    def __init__(self) -> None:
        self._docker: aiodocker.Docker | None = None
        self._spec: JobSpec | None = None
        self._containers: dict[str, str] = {}  # name -> id, everything we created
        self._volumes: list[str] = []  # temporary volumes we created
        self._network: str | None = None
        self._build: DockerContainer | None = None
        self._pending_upload = b""
        self._interrupted = False  # a create request was cancelled: the engine may still carry it out
        self.services: list[RunningService] = []

    # -- prepare -------------------------------------------------------------------------------

    async def prepare(self, spec: JobSpec, log: JobLog) -> None:
        self._spec = spec
        self._docker = connect(build.options(spec).host)
        reap_once_in_background(engine_url(build.options(spec).host))
        log.plain(f"Using Docker executor with image {spec.image.name} ...")
        images = ImageManager(self._docker, log)
        await asyncio.gather(self._create_network(spec), self._create_volumes(spec))
        await self._start_services(spec, images, log)
        # While services boot, get the build image and create the build container; its trace
        # lines are written after the wait, where GitLab writes them.
        build_log = DeferredLog()
        build_task = asyncio.ensure_future(self._create_build_container(spec, ImageManager(self._docker, build_log)))
        try:
            await self._wait_for_services(spec, log)
            await asyncio.wait({build_task})
        finally:
            if not build_task.done():
                build_task.cancel()
                await asyncio.wait({build_task})
            build_log.replay(log)
        self._build = build_task.result()

    async def _create_build_container(self, spec: JobSpec, images: ImageManager) -> DockerContainer:
        await images.ensure(spec.image.name, spec.image.pull_policies)
        return await self._create_container(build.build_container_name(spec), build.build_container_request(spec))

    async def _create_network(self, spec: JobSpec) -> None:
        body = build.network_request(spec)
        if body is None:
            return
        assert self._docker is not None
        body["Labels"][OWNER_LABEL] = owner_value()
        self._network = body["Name"]  # recorded first: a cancel may land after the engine made it
        try:
            await call(f"creating network {body['Name']}", self._docker.networks.create(body))
        except asyncio.CancelledError:
            self._interrupted = True
            raise

    async def _create_volumes(self, spec: JobSpec) -> None:
        assert self._docker is not None
        for body in build.volume_requests(spec):
            if body["Labels"].get(build.LABEL_PREFIX + "reusable") == "false":
                body["Labels"][OWNER_LABEL] = owner_value()
                self._volumes.append(body["Name"])  # recorded first, as containers are
            try:
                await call(f"creating volume {body['Name']}", self._docker.volumes.create(body))
            except asyncio.CancelledError:
                self._interrupted = True
                raise

    async def _create_container(self, name: str, body: dict[str, Any]) -> DockerContainer:
        assert self._docker is not None
        body = {**body, "Labels": {**body.get("Labels", {}), OWNER_LABEL: owner_value()}}
        # Recorded by name before the engine is asked: if a cancel interrupts us after the engine
        # created the container but before its answer arrived, cleanup still removes it.
        self._containers[name] = ""
        try:
            container = await self._docker.containers.create(config=body, name=name)
        except asyncio.CancelledError:
            self._interrupted = True
            raise
        except aiodocker.DockerError as exc:
            if not is_conflict(exc):
                raise ExecutorError(f"creating container {name}: {exc.message}") from exc
            await self._force_remove(name)  # a stale container with our name: GitLab removes it too
            container = await call(f"creating container {name}", self._docker.containers.create(config=body, name=name))
        self._containers[name] = container.id
        return container

    async def _start_services(self, spec: JobSpec, images: ImageManager, log: JobLog) -> None:
        for warning in spec.warnings:
            if warning.startswith("Skipping alias"):
                log.warning(warning)
        for service in spec.services:
            log.plain(f"Starting service {service.image}...")
            info = await images.ensure(service.image, service.pull_policies)
            name = build.service_container_name(spec, service)
            container = await self._create_container(name, build.service_container_request(spec, service))
            await call(f"starting service {service.image}", container.start())
            ports = service.health_ports if service.health_ports is not None else exposed_tcp_ports(info)
            self.services.append(RunningService(name=name, container=container, ports=ports))

    async def _wait_for_services(self, spec: JobSpec, log: JobLog) -> None:
        timeout = build.options(spec).wait_for_services_timeout
        if timeout <= 0 or not self.services:
            return
        log.plain(f"Waiting for services to be up and running (timeout {timeout} seconds)...")
        if not is_local_engine(engine_url(build.options(spec).host)):
            log.warning("the Docker engine is remote: service ports are not checked from here")
            return
        network = build.network_mode(spec)
        for service in self.services:
            service.address = container_address(await service.container.show(), network)
        await asyncio.gather(*(wait_for_service(s, timeout, log) for s in self.services))

    # -- sources -------------------------------------------------------------------------------

    async def upload(self, archive: bytes, log: JobLog) -> None:
        """Unpack a tar archive (paths relative to /) into the build container's filesystem and volumes.

        Sent together with the next stage script: one copy into the container instead of two.
        """
        self._pending_upload = archive

    # -- run -----------------------------------------------------------------------------------

    async def run(self, stage: StageScript, log: JobLog) -> StageOutcome:
        assert self._build is not None and self._spec is not None
        container = self._build
        archive = _script_archive(self._spec, stage.text, self._pending_upload)
        self._pending_upload = b""
        await call("copying the project files and stage script", container.put_archive("/", archive))
        stream = container.attach(stdout=True, stderr=True, logs=False)
        try:
            async with stream:
                await call(f"starting the build container for {stage.name}", container.start())
                while True:
                    message = await stream.read_out()
                    if message is None:
                        break
                    log.write(message.data)
            log.flush()
            result = await call("waiting for the build container", container.wait())
        except asyncio.CancelledError:
            await asyncio.shield(self._stop(container))
            raise
        outcome = StageOutcome(exit_code=int(result.get("StatusCode", 1)))
        if outcome.exit_code != 0:
            await report_dead_services(self.services, log)
        return outcome

    async def _stop(self, container: DockerContainer) -> None:
        """SIGTERM to every process of the build container (as GitLab does), then stop it."""
        with contextlib.suppress(aiodocker.DockerError, OSError, TimeoutError):
            execution = await container.exec(["sh", "-c", "kill -TERM -1 2>/dev/null; kill -TERM 1 2>/dev/null"])
            await execution.start(detach=True)
            async with asyncio.timeout(STOP_GRACE):
                await container.wait()
        with contextlib.suppress(aiodocker.DockerError, OSError):
            await container.stop(t=STOP_GRACE)

    # -- cleanup -------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        """Idempotent; safe after a half-done prepare and after cancellation."""
        if self._docker is None:
            return
        try:
            async with asyncio.timeout(CLEANUP_BUDGET):
                await self._remove_everything()
        except TimeoutError:
            logger.warning("cleanup did not finish within %s s", CLEANUP_BUDGET)
        except Exception:  # cleanup must never turn a job's result into a crash
            logger.exception("cleanup failed; what is left is removed by the next glrunner (orphan sweep)")
        finally:
            docker, self._docker = self._docker, None
            await docker.close()

    async def _remove_everything(self) -> None:
        keep_anonymous = build.options(self._spec).volume_keep if self._spec else False
        if self._interrupted and self._spec is not None:
            # The engine finishes a create whose request we abandoned; give it a moment, then find
            # everything of this job by its unique label.
            await asyncio.sleep(INTERRUPTED_CREATE_GRACE)
            self._containers.update({name: "" for name in await self._containers_of_this_job()})
        names = list(self._containers)
        await asyncio.gather(*(self._force_remove(n, volumes=not keep_anonymous) for n in names))
        self._containers.clear()
        await asyncio.gather(*(self._remove_volume(v) for v in self._volumes))
        self._volumes.clear()
        if self._network:
            await self._remove_network(self._network)
            self._network = None

    async def _containers_of_this_job(self) -> list[str]:
        assert self._docker is not None and self._spec is not None
        label = f"io.glrunner.job-uid={self._spec.job_uid}"
        try:
            found = await self._docker.containers.list(all=True, filters={"label": [label]})
        except aiodocker.DockerError:
            return []
        return [str(c["Names"][0]).lstrip("/") for c in found if c["Names"]]

    async def _force_remove(self, name: str, volumes: bool = True) -> None:
        assert self._docker is not None
        try:
            await self._docker.containers.container(name).delete(force=True, v=volumes)
        except aiodocker.DockerError as exc:
            if not is_not_found(exc):
                logger.warning("Failed to remove container %s: %s", name, exc.message)

    async def _remove_volume(self, name: str) -> None:
        assert self._docker is not None
        for attempt in range(5):
            try:
                await DockerVolume(self._docker, name).delete()
                return
            except aiodocker.DockerError as exc:
                if is_not_found(exc):
                    return
                if not is_conflict(exc) or attempt == 4:
                    logger.warning("Failed to remove volume %s: %s", name, exc.message)
                    return
                await asyncio.sleep(0.2)

    async def _remove_network(self, name: str) -> None:
        assert self._docker is not None
        try:
            await DockerNetwork(self._docker, name).delete()
        except aiodocker.DockerError as exc:
            if not is_not_found(exc):
                logger.warning("Failed to remove network for build %s: %s", name, exc.message)


def _script_archive(spec: JobSpec, text: str, base: bytes = b"") -> bytes:
    """A tar with the stage script at its place in the build container, appended to `base` if given."""
    data = text.encode()
    buffer = io.BytesIO(base)
    with tarfile.open(fileobj=buffer, mode="a" if base else "w") as tar:
        directory = tarfile.TarInfo(build.scripts_dir(spec).lstrip("/"))
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.mtime = int(time.time())
        tar.addfile(directory)
        info = tarfile.TarInfo(build.stage_script_path(spec).lstrip("/"))
        info.size = len(data)
        info.mode = 0o755
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
