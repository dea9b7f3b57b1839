"""GitLab's runner endpoints used by register/verify/unregister (spec 1.4), and the `info` object.

Each call returns a typed result or None/False exactly where GitLab Runner does, and logs nothing:
the caller decides what to print. A registration that GitLab refuses raises `CoordinatorError`
with GitLab Runner's wording.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from glrunner import __version__
from glrunner.coordinator.http import ApiResponse, GitLabClient
from glrunner.errors import CoordinatorError

AUTH_TOKEN_PREFIX = "glrt-"

# Features every runner has at the network level (spec 4.1).
NETWORK_FEATURES = (
    "trace_reset",
    "trace_checksum",
    "trace_size",
    "cancelable",
    "cancel_gracefully",
    "two_phase_job_commit",
    "job_inputs",
)
_CONTAINER_FEATURES = (
    "image",
    "image_executor_opts",
    "native_steps_integration",
    "service_executor_opts",
    "service_multiple_aliases",
    "service_variables",
    "services",
    "session",
    "terminal",
    "variables",
)
_SHELL_FEATURES = (
    "artifacts",
    "upload_multiple_artifacts",
    "upload_raw_artifacts",
    "cache",
    "fallback_cache_keys",
    "refspecs",
    "masking",
    "raw_variables",
    "artifacts_exclude",
    "multi_build_steps",
    "vault_secrets",
    "return_exit_code",
)
ALL_FEATURES = (*NETWORK_FEATURES, *_CONTAINER_FEATURES, *_SHELL_FEATURES, "shared", "proxy")
DEFAULT_SHELLS = {"docker": "bash", "kubernetes": "bash", "shell": "bash"}


def is_authentication_token(token: str) -> bool:
    """`glrt-` tokens belong to runners created in GitLab's UI/API (the new workflow)."""
    return token.startswith(AUTH_TOKEN_PREFIX)


def runner_features(executor: str | None) -> dict[str, bool]:
    enabled = set(NETWORK_FEATURES)
    if executor in ("docker", "kubernetes"):
        enabled |= set(_CONTAINER_FEATURES)
    if executor in DEFAULT_SHELLS:
        enabled |= set(_SHELL_FEATURES)
    return {name: name in enabled for name in ALL_FEATURES}


def runner_info(
    executor: str | None = None, shell: str | None = None, labels: Mapping[str, str] | None = None
) -> dict[str, object]:
    """The `info` object of spec 1.4; without an executor (POST /runners) only network features."""
    machine = platform.machine().lower().replace("x86_64", "amd64").replace("aarch64", "arm64")
    info: dict[str, object] = {
        "name": "glrunner",
        "version": __version__,
        "revision": "unknown",
        "platform": sys.platform,
        "architecture": machine,
    }
    if executor:
        info["executor"] = executor
        info["shell"] = shell or DEFAULT_SHELLS.get(executor, "bash")
    info["features"] = runner_features(executor)
    info["config"] = {"gpus": ""}
    if labels:
        info["labels"] = dict(labels)
    return info


@dataclass(frozen=True)
class RegistrationParameters:
    """What `POST /runners` sends besides the token (spec 1.4); empty values are left out."""

    description: str
    tag_list: str = ""
    run_untagged: bool = False
    locked: bool = True
    access_level: str = ""
    maximum_timeout: int = 0
    paused: bool = False
    maintenance_note: str = ""

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"description": self.description}
        if self.maintenance_note:
            body["maintenance_note"] = self.maintenance_note
        if self.tag_list:
            body["tag_list"] = self.tag_list
        body["run_untagged"] = self.run_untagged
        body["locked"] = self.locked
        if self.access_level:
            body["access_level"] = self.access_level
        if self.maximum_timeout:
            body["maximum_timeout"] = self.maximum_timeout
        body["paused"] = self.paused
        return body


@dataclass(frozen=True)
class RunnerCredentials:
    """What GitLab answers to a registration or a verification."""

    id: int
    token: str
    token_expires_at: datetime | None


class RunnerApi:
    """register / verify / unregister, over a `GitLabClient`."""

    def __init__(self, client: GitLabClient) -> None:
        self.client = client

    async def register_runner(self, registration_token: str, params: RegistrationParameters) -> RunnerCredentials:
        body = {**params.as_json(), "info": runner_info(), "token": registration_token}
        reply = await self.client.request(
            "POST", "runners", json=body, runner_token=registration_token, expect_json=True
        )
        if reply.status == 201 and reply.is_json and isinstance(reply.json, dict):
            return _credentials(reply, default_token="")
        if reply.status == 403:
            raise CoordinatorError("Registering runner... forbidden (check registration token)", 403)
        what = "client error" if 400 <= reply.status < 500 or reply.status == 201 else "failed"
        raise CoordinatorError(f"Registering runner... {what} (status {reply.status})", reply.status)

    async def verify_runner(self, token: str, system_id: str, info: dict[str, object]) -> RunnerCredentials | None:
        """None when GitLab says the token is not valid (403); id 0 on other failures, as GitLab."""
        body = {"token": token, "system_id": system_id, "info": info}
        reply = await self.client.request("POST", "runners/verify", json=body, runner_token=token, expect_json=True)
        if reply.status == 403:
            return None
        if reply.status == 200:
            if reply.is_json and isinstance(reply.json, dict):
                return _credentials(reply, default_token=token)
            return RunnerCredentials(0, token, None)  # older GitLab: an empty 200
        raise CoordinatorError(f"Verifying runner... failed (status {reply.status})", reply.status)

    async def unregister_runner(self, token: str) -> bool:
        reply = await self.client.request("DELETE", "runners", json={"token": token}, runner_token=token)
        return reply.status == 204

    async def unregister_runner_manager(self, token: str, system_id: str) -> bool:
        body = {"token": token, "system_id": system_id}
        reply = await self.client.request("DELETE", "runners/managers", json=body, runner_token=token)
        return reply.status == 204

    async def unregister(self, token: str, system_id: str) -> bool:
        """`glrt-` tokens remove this machine's runner manager; other tokens the runner itself."""
        if is_authentication_token(token):
            return await self.unregister_runner_manager(token, system_id)
        return await self.unregister_runner(token)


def _credentials(reply: ApiResponse, default_token: str) -> RunnerCredentials:
    data = reply.json
    runner_id = data.get("id")
    token = data.get("token") or default_token
    return RunnerCredentials(
        id=runner_id if isinstance(runner_id, int) and not isinstance(runner_id, bool) else 0,
        token=token if isinstance(token, str) else default_token,
        token_expires_at=_parse_time(data.get("token_expires_at")),
    )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
