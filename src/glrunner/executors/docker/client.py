"""The connection to the Docker engine, and the one place aiodocker errors are translated."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiodocker
from aiodocker.exceptions import DockerError

from glrunner.errors import ExecutorError

T = TypeVar("T")


def engine_url(configured_host: str) -> str | None:
    """config `host`, else the process's DOCKER_HOST, else aiodocker's default (the local socket)."""
    return configured_host or os.environ.get("DOCKER_HOST") or None


def is_local_engine(url: str | None) -> bool:
    """Can this process reach container IPs directly? True for the local socket."""
    return url is None or url.startswith("unix://")


def connect(configured_host: str) -> aiodocker.Docker:
    return aiodocker.Docker(url=engine_url(configured_host))


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, DockerError) and exc.status == 404


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, DockerError) and exc.status == 409


async def call(what: str, awaitable: Awaitable[T]) -> T:
    """Await an engine call; engine failures become ExecutorError saying what we were doing."""
    try:
        return await awaitable
    except DockerError as exc:
        raise ExecutorError(f"{what}: {describe(exc)}") from exc
    except (OSError, aiodocker.exceptions.DockerContainerError) as exc:
        raise ExecutorError(f"{what}: {exc}") from exc


def describe(exc: BaseException) -> str:
    if isinstance(exc, DockerError):
        message: Any = exc.message
        return f"Error response from daemon: {message}" if exc.status else str(message)
    return str(exc)
