"""`FakeGitLab`: a real HTTP server on 127.0.0.1 speaking GitLab's runner API, for tests.

    with FakeGitLab(registration_tokens={"REG"}) as gitlab:
        run("glrunner", "register", "--url", gitlab.url, ...)
        assert gitlab.requests_to("POST", "/api/v4/runners")[0].json["locked"] is True

Failures are injected per endpoint: `gitlab.inject("POST", "/api/v4/runners", 500, 500)` makes the
next two such requests answer 500, then it behaves normally again; `Fault(delay=...)` delays.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakegitlab import jobs, runners
from tests.fakegitlab.routing import Reply, Router
from tests.fakegitlab.state import Fault, GitLabState, RecordedRequest, RunnerRecord


def default_router() -> Router:
    router = Router()
    runners.add_routes(router)
    jobs.add_routes(router)
    return router


class FakeGitLab:
    def __init__(self, registration_tokens: set[str] | None = None, router: Router | None = None) -> None:
        self.state = GitLabState(set(registration_tokens or {"REGISTRATION-TOKEN"}))
        self.router = router or default_router()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def __enter__(self) -> FakeGitLab:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-gitlab", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """The instance URL a user would give to `register --url`."""
        assert self._server is not None, "FakeGitLab is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    # test controls

    def inject(self, method: str, path: str, *faults: Fault | int) -> None:
        """Queue replies for the next requests to `method path` (ints are statuses)."""
        queue = self.state.faults.setdefault((method, path), deque())
        queue.extend(f if isinstance(f, Fault) else Fault(status=f) for f in faults)

    def create_runner(self, token: str = "glrt-", **attributes: Any) -> RunnerRecord:
        """A runner created in GitLab's UI: its `glrt-` authentication token (token="glrt-": random)."""
        if token == "glrt-":
            import secrets

            token = "glrt-" + secrets.token_urlsafe(15)
        return self.state.add_runner(token=token, **attributes)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # serving

    def handle(self, request: RecordedRequest) -> Reply:
        self.state.record(request)
        fault = self.state.take_fault(request.method, request.path)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.status is not None:
                return Reply(fault.status, fault.body, {"Content-Type": "application/json", **fault.headers})
        reply = self.router.dispatch(self.state, request)
        if reply.headers.get("Content-Type") == "application/json":
            reply.headers["X-GitLab-Last-Update"] = self.state.last_update
        return reply


def _make_handler(gitlab: FakeGitLab) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parsed = urllib.parse.urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=parsed.path,
                query=urllib.parse.parse_qs(parsed.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                json=_decode_json(body, self.headers.get("Content-Type", "")),
                at=time.time(),
            )
            reply = gitlab.handle(request)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.body:
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


def _decode_json(body: bytes, content_type: str) -> Any:
    if not body or "json" not in content_type:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
