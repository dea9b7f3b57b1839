"""Service readiness (spec 2.6), checked from the runner itself instead of a helper container.

Ready means: a TCP connection to any of the service's ports succeeds (`HEALTHCHECK_TCP_PORT`, else
the image's exposed TCP ports, sorted, first 20). GitLab's helper dials once per second; we dial
every `PROBE_INTERVAL` so a ready service is noticed within a few tens of milliseconds. A timeout
is a warning in the trace, and the job goes on, as in GitLab.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from aiodocker.containers import DockerContainer

from glrunner.diagnose.service_logs import explain, telling_lines
from glrunner.trace.log import RESET, YELLOW, JobLog

PROBE_INTERVAL = 0.02
CONNECT_TIMEOUT = 0.5
STATE_CHECK_INTERVAL = 0.5
LOG_LIMIT = 64 * 1024


@dataclass
class RunningService:
    name: str  # container name
    container: DockerContainer
    ports: tuple[int, ...]
    address: str = ""
    ready_at: float | None = None  # monotonic time the probe succeeded
    reported_dead: bool = False


class ServiceNotReady(Exception):
    pass


def exposed_tcp_ports(image_info: dict[str, Any]) -> tuple[int, ...]:
    exposed = (image_info.get("Config") or {}).get("ExposedPorts") or {}
    ports = []
    for key in exposed:
        number, _, proto = key.partition("/")
        if (proto or "tcp") == "tcp" and number.isdigit():
            ports.append(int(number))
    return tuple(sorted(ports)[:20])


def container_address(inspect: dict[str, Any], network: str) -> str:
    networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
    if network in networks and networks[network].get("IPAddress"):
        return str(networks[network]["IPAddress"])
    for settings in networks.values():
        if settings.get("IPAddress"):
            return str(settings["IPAddress"])
    return ""


async def _port_open(address: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _probe_until_ready(service: RunningService) -> None:
    last_state_check = 0.0
    while True:
        results = await asyncio.gather(*(_port_open(service.address, p) for p in service.ports))
        if any(results):
            service.ready_at = time.monotonic()
            return
        now = time.monotonic()
        if now - last_state_check >= STATE_CHECK_INTERVAL:
            last_state_check = now
            state = (await service.container.show()).get("State") or {}
            if not state.get("Running", False):
                raise ServiceNotReady(f"service container exited with code {state.get('ExitCode', '?')}")
        await asyncio.sleep(PROBE_INTERVAL)


async def wait_for_service(service: RunningService, limit: float, log: JobLog) -> bool:
    """True when ready; otherwise GitLab's warning block is written and False returned."""
    if not service.ports:
        error = f'service "{service.name}" has no exposed ports'
    elif not service.address:
        error = f'service "{service.name}" has no address on the job network'
    else:
        try:
            async with asyncio.timeout(limit):
                await _probe_until_ready(service)
            return True
        except TimeoutError:
            error = f'service "{service.name}-wait-for-service" timeout'
        except ServiceNotReady as exc:
            error = f'service "{service.name}-wait-for-service": {exc}'
    await _warn_not_ready(service, error, log)
    return False


async def report_dead_services(services: list[RunningService], log: JobLog) -> None:
    """After a failed stage: say which services died during the job, with their last log lines and advice."""
    for service in services:
        if service.reported_dead:
            continue
        try:
            state = (await service.container.show()).get("State") or {}
        except Exception:
            continue
        if state.get("Running", True):
            continue
        service.reported_dead = True
        logs = await _service_logs(service, timestamps=False)
        tail = "\n".join(telling_lines(logs))
        advice = "".join(f"Hint: {line}\n" for line in explain(logs))
        block = (
            f"\n{YELLOW}*** WARNING:{RESET} Service {service.name} exited with code {state.get('ExitCode', '?')} "
            f"during the job; its last log lines:\n{tail}\n{advice}{YELLOW}*********{RESET}\n\n"
        )
        log.write(block.encode("utf-8", "replace"))
        log.flush()


async def _service_logs(service: RunningService, *, timestamps: bool) -> str:
    try:
        lines = await service.container.log(stdout=True, stderr=True, timestamps=timestamps)
        return "".join(lines)[-LOG_LIMIT:]
    except Exception as exc:
        return f"(could not read the service logs: {exc})"


async def _warn_not_ready(service: RunningService, error: str, log: JobLog) -> None:
    logs = await _service_logs(service, timestamps=True)
    advice = "".join(f"Hint: {line}\n" for line in explain(logs))
    block = (
        f"\n{YELLOW}*** WARNING:{RESET} Service {service.name} probably didn't start properly.\n\n"
        f"Health check error:\n{error}\n\n"
        f"Health check container logs:\n\n\n"
        f"Service container logs:\n{logs.rstrip()}\n\n"
        f"{advice}{YELLOW}*********{RESET}\n\n"
    )
    log.write(block.encode("utf-8", "replace"))
    log.flush()
