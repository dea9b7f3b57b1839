"""Getting images by pull policy, with GitLab Runner's trace lines (spec 2.4)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiodocker
from aiodocker.exceptions import DockerError

from glrunner.errors import ImagePullError
from glrunner.executors.docker.client import describe, is_not_found
from glrunner.trace.log import JobLog

_PULL_RETRIES = 3


class ImageManager:
    """Pulls per policy; remembers what this job already resolved so each image is checked once."""

    def __init__(self, docker: aiodocker.Docker, log: JobLog) -> None:
        self._docker = docker
        self._log = log
        self._resolved: dict[str, dict[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, image: str, policies: Sequence[str]) -> dict[str, Any]:
        """The image's inspect data, after applying the policies in order."""
        lock = self._locks.setdefault(image, asyncio.Lock())
        async with lock:
            if image in self._resolved:
                return self._resolved[image]
            info = await self._apply_policies(image, policies)
            self._resolved[image] = info
            return info

    async def _apply_policies(self, image: str, policies: Sequence[str]) -> dict[str, Any]:
        self._log.plain(f"Using effective pull policy of [{' '.join(policies)}] for container {image}")
        last_error = ""
        for attempt, policy in enumerate(policies, start=1):
            if attempt > 1:
                self._log.plain(f'Attempt #{attempt}: Trying "{policy}" pull policy')
            try:
                return await self._with_policy(image, policy)
            except _PolicyFailed as exc:
                last_error = str(exc)
                if attempt < len(policies):
                    self._log.warning(f'Failed to pull image with policy "{policy}": {last_error}')
        raise ImagePullError(
            f'failed to pull image "{image}" with specified policies [{" ".join(policies)}]: {last_error}'
        )

    async def _with_policy(self, image: str, policy: str) -> dict[str, Any]:
        local = await self._inspect(image)
        if policy == "never":
            if local is None:
                raise _PolicyFailed(f"Error response from daemon: No such image: {image}")
            return local
        if policy == "if-not-present" and local is not None:
            self._log.plain('Using locally found image version due to "if-not-present" pull policy')
            self._log_using(image, local)
            return local
        await self._pull(image)
        pulled = await self._inspect(image)
        if pulled is None:
            raise _PolicyFailed(f"image {image} is missing after the pull")
        self._log_using(image, pulled)
        return pulled

    async def _inspect(self, image: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = await self._docker.images.inspect(image)
            return info
        except DockerError as exc:
            if is_not_found(exc):
                return None
            raise _PolicyFailed(describe(exc)) from exc

    async def _pull(self, image: str) -> None:
        reference = image if (":" in image.rsplit("/", 1)[-1] or "@" in image) else f"{image}:latest"
        self._log.plain(f"Pulling docker image {reference} ...")
        for attempt in range(1, _PULL_RETRIES + 1):
            try:
                messages = await self._docker.images.pull(reference)
            except DockerError as exc:
                if exc.status in (404, 400, 401, 403) or attempt == _PULL_RETRIES:
                    raise _PolicyFailed(describe(exc)) from exc
                await asyncio.sleep(attempt)
                continue
            errors = [m.get("error") for m in messages if isinstance(m, dict) and m.get("error")]
            if not errors:
                return
            if attempt == _PULL_RETRIES:
                raise _PolicyFailed(f"Error response from daemon: {errors[-1]}")
            await asyncio.sleep(attempt)

    def _log_using(self, image: str, info: dict[str, Any]) -> None:
        digests = info.get("RepoDigests") or []
        digest = digests[0] if digests else ""
        suffix = f" with digest {digest}" if digest else ""
        self._log.plain(f"Using docker image {info.get('Id', '')} for {image}{suffix} ...")


class _PolicyFailed(Exception):
    pass
