"""Runner endpoints (spec 1.4): register, verify, unregister, unregister a runner manager."""

from __future__ import annotations

from typing import Any

from tests.fakegitlab.routing import Reply, Router
from tests.fakegitlab.state import GitLabState, RecordedRequest, RunnerRecord

FORBIDDEN = {"message": "403 Forbidden"}


def add_routes(router: Router) -> None:
    router.add("POST", "/api/v4/runners", register_runner)
    router.add("POST", "/api/v4/runners/verify", verify_runner)
    router.add("DELETE", "/api/v4/runners", unregister_runner)
    router.add("DELETE", "/api/v4/runners/managers", unregister_runner_manager)


def _body(request: RecordedRequest) -> dict[str, Any]:
    return request.json if isinstance(request.json, dict) else {}


def _credentials(runner: RunnerRecord) -> dict[str, Any]:
    return {"id": runner.id, "token": runner.token, "token_expires_at": runner.token_expires_at}


def register_runner(state: GitLabState, request: RecordedRequest, _params: dict[str, str]) -> Reply:
    body = _body(request)
    if body.get("token") not in state.registration_tokens:
        return Reply.json(403, FORBIDDEN)
    runner = state.add_runner(
        description=str(body.get("description", "")),
        tag_list=str(body.get("tag_list", "")),
        run_untagged=bool(body.get("run_untagged", False)),
        locked=bool(body.get("locked", True)),
        paused=bool(body.get("paused", False)),
        access_level=str(body.get("access_level", "")),
        maximum_timeout=int(body.get("maximum_timeout", 0)),
        maintenance_note=str(body.get("maintenance_note", "")),
        info=dict(body.get("info") or {}),
    )
    return Reply.json(201, _credentials(runner))


def verify_runner(state: GitLabState, request: RecordedRequest, _params: dict[str, str]) -> Reply:
    body = _body(request)
    runner = state.runner_by_token(body.get("token"))
    if runner is None:
        return Reply.json(403, FORBIDDEN)
    with state.lock:
        runner.managers[str(body.get("system_id", ""))] = dict(body.get("info") or {})
    return Reply.json(200, _credentials(runner))


def unregister_runner(state: GitLabState, request: RecordedRequest, _params: dict[str, str]) -> Reply:
    runner = state.runner_by_token(_body(request).get("token"))
    if runner is None:
        return Reply.json(403, FORBIDDEN)
    state.remove_runner(runner.id)
    return Reply.empty(204)


def unregister_runner_manager(state: GitLabState, request: RecordedRequest, _params: dict[str, str]) -> Reply:
    body = _body(request)
    runner = state.runner_by_token(body.get("token"))
    if runner is None:
        return Reply.json(403, FORBIDDEN)
    with state.lock:
        if runner.managers.pop(str(body.get("system_id", "")), None) is None:
            return Reply.json(404, {"message": "404 Runner Manager Not Found"})
        state.touch()
    return Reply.empty(204)
