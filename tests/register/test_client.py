"""GitLabClient against the fake server: headers, retries, Retry-After, last update (spec 1.4)."""

from __future__ import annotations

import time

import pytest

from glrunner.coordinator.api import RunnerApi
from glrunner.coordinator.http import GitLabClient, RetryPolicy, fix_ci_url
from glrunner.errors import CoordinatorError
from tests.fakegitlab import FakeGitLab, Fault

FAST = RetryPolicy(min_backoff=0.001, max_backoff=0.01)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://gitlab.example.com", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/ci", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/ci/", "https://gitlab.example.com/api/v4/"),
        ("https://example.com/gitlab/", "https://example.com/gitlab/api/v4/"),
    ],
)
def test_fix_ci_url(url: str, base: str) -> None:
    assert fix_ci_url(url) == base


async def test_headers_and_last_update(gitlab: FakeGitLab) -> None:
    runner = gitlab.create_runner()
    async with GitLabClient(gitlab.url, retry=FAST) as client:
        answer = await RunnerApi(client).verify_runner(runner.token, "s_000000000000", {"name": "x"})
        assert answer is not None and answer.id == runner.id
        assert client.last_update == gitlab.state.last_update
    (request,) = gitlab.requests
    assert request.headers["runner-token"] == runner.token
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("glrunner ")


async def test_retry_after_is_honoured(gitlab: FakeGitLab) -> None:
    gitlab.inject("POST", "/api/v4/runners/verify", Fault(429, headers={"Retry-After": "1"}))
    policy = RetryPolicy(min_backoff=0.001, max_backoff=5)
    async with GitLabClient(gitlab.url, retry=policy) as client:
        started = time.monotonic()
        reply = await client.request("POST", "runners/verify", json={"token": "nope"})
        waited = time.monotonic() - started
    assert reply.status == 403 and reply.attempts == 2
    assert waited >= 0.9


async def test_retries_stop_after_five_attempts(gitlab: FakeGitLab) -> None:
    gitlab.inject("DELETE", "/api/v4/runners", *[500] * 6)
    async with GitLabClient(gitlab.url, retry=FAST) as client:
        reply = await client.request("DELETE", "runners", json={"token": "t"})
    assert (reply.status, reply.attempts) == (500, 5)
    assert len(gitlab.requests) == 5


async def test_non_json_reply_is_not_decoded(gitlab: FakeGitLab) -> None:
    gitlab.inject("POST", "/api/v4/runners", Fault(201, headers={"Content-Type": "text/plain"}, body=b"{}"))
    async with GitLabClient(gitlab.url, retry=FAST) as client:
        with pytest.raises(CoordinatorError, match="client error"):
            await RunnerApi(client).register_runner("REG", _params())


async def test_unreachable_is_a_coordinator_error() -> None:
    async with GitLabClient("http://127.0.0.1:9/", retry=FAST) as client:
        with pytest.raises(CoordinatorError, match=r"cannot reach GitLab .*after 5 attempts"):
            await client.request("POST", "runners/verify", json={})


def _params():  # type: ignore[no-untyped-def]
    from glrunner.coordinator.api import RegistrationParameters

    return RegistrationParameters(description="d")
