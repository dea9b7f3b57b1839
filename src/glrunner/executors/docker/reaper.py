"""Crash-safe cleanup: what a dead glrunner process left in the engine is removed by the next one.

Every container, network and temporary volume a job creates carries `io.glrunner.owner` =
`<boot id>:<pid>:<process start time>`. When glrunner starts, it lists the objects with that label;
those whose owner ran on this machine (same boot id) and is no longer alive (no such pid, or the pid
now belongs to another process) are removed. Nothing else is ever touched: objects of live
processes, of other machines sharing a remote engine, and reusable cache volumes stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from functools import cache

import aiodocker
from aiodocker.networks import DockerNetwork
from aiodocker.volumes import DockerVolume

OWNER_LABEL = "io.glrunner.owner"
logger = logging.getLogger(__name__)


@cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown-boot"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


@cache
def owner_value() -> str:
    """This process's owner label value."""
    pid = os.getpid()
    return f"{_boot_id()}:{pid}:{_start_time(pid) or '0'}"


def is_orphan(owner: str) -> bool:
    """True when the owner ran on this machine's current boot and is dead."""
    try:
        boot, pid_text, started = owner.split(":")
        pid = int(pid_text)
    except ValueError:
        return False
    if boot != _boot_id():
        return False
    return _start_time(pid) != started


async def reap_orphans(docker: aiodocker.Docker) -> int:
    """Remove what dead glrunner processes left behind; returns how many objects were removed."""
    removed = 0
    label_filter = {"label": [OWNER_LABEL]}
    containers = await docker.containers.list(all=True, filters=label_filter)
    for container in containers:
        if is_orphan(container["Labels"].get(OWNER_LABEL, "")):
            with contextlib.suppress(aiodocker.DockerError):
                await container.delete(force=True, v=True)
                removed += 1
    networks = await docker.networks.list(filters=label_filter)
    for network in networks:
        if is_orphan((network.get("Labels") or {}).get(OWNER_LABEL, "")):
            with contextlib.suppress(aiodocker.DockerError):
                await DockerNetwork(docker, network["Id"]).delete()
                removed += 1
    volumes = (await docker.volumes.list(filters=label_filter)).get("Volumes") or []
    for volume in volumes:
        if is_orphan((volume.get("Labels") or {}).get(OWNER_LABEL, "")):
            with contextlib.suppress(aiodocker.DockerError):
                await DockerVolume(docker, volume["Name"]).delete()
                removed += 1
    if removed:
        logger.warning("removed %d containers, networks and volumes left by glrunner processes that died", removed)
    return removed


_reaped: set[str] = set()


def reap_once_in_background(docker_url: str | None) -> None:
    """Start one sweep per engine per process, without delaying the job that triggered it."""
    key = docker_url or "local"
    if key in _reaped:
        return
    _reaped.add(key)

    async def sweep() -> None:
        client = aiodocker.Docker(url=docker_url)
        try:
            await reap_orphans(client)
        except (aiodocker.DockerError, OSError) as exc:
            logger.debug("orphan sweep failed: %s", exc)
        finally:
            await client.close()

    task = asyncio.ensure_future(sweep())
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()
