"""The HTTP client for GitLab's runner API (spec 1.4): base URL, headers, retries, error translation.

One `GitLabClient` per GitLab URL. It knows nothing about endpoints (see `coordinator.api`); it
sends a request with the right headers, retries 408/429/5xx and unreachable servers with GitLab
Runner's exponential backoff (honouring `Retry-After`), remembers `X-GitLab-Last-Update`, and
turns every httpx exception into `CoordinatorError` in one place (`_translate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from glrunner import __version__
from glrunner.errors import CoordinatorError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_ENV = "GLRUNNER_HTTP_BACKOFF"  # "min,max" seconds, for tests; GitLab's defaults otherwise


@dataclass(frozen=True)
class RetryPolicy:
    """GitLab Runner's retry requester: 5 attempts, backoff 100 ms doubling up to 60 s, with jitter."""

    attempts: int = 5
    min_backoff: float = 0.1
    max_backoff: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetryPolicy:
        """`GLRUNNER_HTTP_BACKOFF=min,max` shortens the waits (tests); otherwise GitLab's defaults."""
        raw = environ.get(BACKOFF_ENV, "")
        try:
            low, high = (float(part) for part in raw.split(","))
        except ValueError:
            return cls()
        return cls(min_backoff=low, max_backoff=high)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        backoff = min(self.min_backoff * self.factor ** (attempt - 1), self.max_backoff)
        backoff *= 1 + random.uniform(-self.jitter, self.jitter)  # jitter, not crypto
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return min(backoff, self.max_backoff)


@dataclass(frozen=True)
class ApiResponse:
    """A reply from GitLab. `json` is set only for `Content-Type: application/json` bodies."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    json: Any = None
    attempts: int = 1

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").split(";")[0].strip() == "application/json"


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


def fix_ci_url(url: str) -> str:
    """GitLab's fixCIURL: strip trailing "/" and a trailing "/ci", then add "/api/v4/"."""
    base = url.strip().rstrip("/")
    if base.endswith("/ci"):
        base = base[: -len("/ci")]
    return base.rstrip("/") + "/api/v4/"


def user_agent() -> str:
    python = ".".join(str(part) for part in sys.version_info[:3])
    machine = platform.machine().lower().replace("x86_64", "amd64").replace("aarch64", "arm64")
    return f"glrunner {__version__} (python {python}; {sys.platform}/{machine})"


@dataclass
class GitLabClient:
    """Async client for one GitLab instance. Use `async with GitLabClient(url) as client:`."""

    url: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeout: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None
    last_update: str | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        return fix_ci_url(self.url)

    async def __aenter__(self) -> Self:
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            verify=self.tls.ca_file or True,
            cert=(self.tls.cert_file, self.tls.key_file) if self.tls.cert_file else None,
            transport=self.transport,
            headers={"User-Agent": user_agent()},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        content: bytes | None = None,
        runner_token: str | None = None,
        job_token: str | None = None,
        private_token: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        expect_json: bool = False,
    ) -> ApiResponse:
        """Send one API call (path relative to /api/v4/), retrying as GitLab Runner does."""
        request_headers = _build_headers(json, expect_json, runner_token, job_token, private_token)
        request_headers.update(headers or {})
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(method, path, json, content, request_headers, params)
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise _translate(exc, method, self.base_url + path, attempt) from exc
                await asyncio.sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retry.attempts:
                await asyncio.sleep(self.retry.delay(attempt, _retry_after(response.headers)))
                continue
            return self._wrap(response, attempt)

    async def _send(
        self,
        method: str,
        path: str,
        json: object,
        content: bytes | None,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        if self._http is None:
            raise RuntimeError("GitLabClient used outside `async with`")
        headers = {**headers, "X-Request-Id": uuid.uuid4().hex}
        if json is not None:
            return await self._http.request(method, path, json=json, headers=headers, params=params)
        return await self._http.request(method, path, content=content, headers=headers, params=params)

    def _wrap(self, response: httpx.Response, attempts: int) -> ApiResponse:
        headers = {key.lower(): value for key, value in response.headers.items()}
        reply = ApiResponse(response.status_code, headers, response.content, attempts=attempts)
        last_update = headers.get("x-gitlab-last-update")
        if last_update:  # from every reply, 204 "no job" included, as GitLab Runner does
            self.last_update = last_update
        if reply.is_json:
            with contextlib.suppress(ValueError):  # a broken JSON body counts as a non-JSON one
                reply = ApiResponse(reply.status, headers, reply.body, response.json(), attempts)
        return reply


def _build_headers(
    json: object,
    expect_json: bool,
    runner_token: str | None,
    job_token: str | None,
    private_token: str | None,
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if json is not None:
        headers["Content-Type"] = "application/json"
    if expect_json:
        headers["Accept"] = "application/json"
    if runner_token is not None:
        headers["RUNNER-TOKEN"] = runner_token
    if job_token is not None:
        headers["JOB-TOKEN"] = job_token
    if private_token is not None:
        headers["PRIVATE-TOKEN"] = private_token
    return headers


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `Retry-After` (seconds or HTTP date) or `RateLimit-ResetTime` (HTTP date)."""
    for name in ("retry-after", "ratelimit-resettime"):
        value = headers.get(name)
        if not value:
            continue
        if value.strip().isdigit():
            return float(value)
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        return max(moment.timestamp() - time.time(), 0.0)
    return None


def _translate(exc: httpx.TransportError, method: str, url: str, attempts: int) -> CoordinatorError:
    """The one place where httpx's exceptions become glrunner's."""
    url = _without_credentials(url)
    tries = f"after {attempts} attempts" if attempts > 1 else "on the first attempt"
    if isinstance(exc, httpx.ConnectError):
        reason = _root_reason(exc) or "connection failed"
        return CoordinatorError(f"cannot reach GitLab at {url} ({reason}), {tries}; check the URL and network")
    if isinstance(exc, httpx.TimeoutException):
        return CoordinatorError(f"GitLab did not answer {method} {url} in time, {tries}")
    reason = _root_reason(exc) or type(exc).__name__
    return CoordinatorError(f"{method} {url} failed ({reason}), {tries}")


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _root_reason(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc)
