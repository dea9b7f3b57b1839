"""A tiny router: (method, path pattern) -> handler(state, request, params) -> Reply.

Handlers are plain functions grouped by concern in modules (`runners.py`; jobs and traces can be
added the same way) and registered explicitly with `Router.add`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakegitlab.state import GitLabState, RecordedRequest


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, json.dumps(data).encode(), merged)

    @classmethod
    def empty(cls, status: int) -> Reply:
        return cls(status)


Handler = Callable[[GitLabState, RecordedRequest, dict[str, str]], Reply]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a path with `{name}` placeholders, e.g. "/api/v4/jobs/{id}/trace"."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def dispatch(self, state: GitLabState, request: RecordedRequest) -> Reply:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method == request.method:
                return handler(state, request, match.groupdict())
            allowed = True
        if allowed:
            return Reply.json(405, {"message": "405 Method Not Allowed"})
        return Reply.json(404, {"message": "404 Not Found"})
