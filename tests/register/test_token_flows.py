"""The token flows of spec 1.3 and what happens when GitLab says no (spec 1.4)."""

from __future__ import annotations

import socket
import tomllib

from tests.fakegitlab import FakeGitLab, Fault
from tests.register.conftest import REGISTRATION_TOKEN, Glrunner

SHELL = ("--executor", "shell")


def register(glrunner: Glrunner, url: str, *args: str) -> tuple[int, str]:
    result = glrunner("register", "-n", "-c", str(glrunner.config), "-u", url, *args)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_authentication_token_verifies_instead_of_registering(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3 B: `--token glrt-...` -> POST /runners/verify, never POST /runners."""
    runner = gitlab.create_runner()
    status, stderr = register(glrunner, gitlab.url, "--token", runner.token, "--name", "new-way", *SHELL)
    assert status == 0, stderr
    assert [(r.method, r.path) for r in gitlab.requests] == [("POST", "/api/v4/runners/verify")]
    body = gitlab.requests[0].json
    system_id = (glrunner.config.parent / ".runner_system_id").read_text()
    assert (body["token"], body["system_id"]) == (runner.token, system_id)
    assert body["info"]["executor"] == "shell" and body["info"]["shell"] == "bash"
    written = tomllib.loads(glrunner.config.read_text())["runners"][0]
    assert (written["name"], written["token"], written["id"]) == ("new-way", runner.token, runner.id)
    assert "Verifying runner... is valid" in stderr
    assert runner.token not in stderr


def test_authentication_token_with_tag_list_fails_before_any_request(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3 B.3: reserved flags with --token glrt-... are fatal, before any HTTP call."""
    status, stderr = register(glrunner, gitlab.url, "--token", "glrt-abcdefghijklmnop", "--tag-list", "a", *SHELL)
    assert status == 1
    assert "Runner configuration other than name and executor configuration is reserved" in stderr
    assert gitlab.requests == []
    assert not glrunner.config.exists()


def test_legacy_compatible_registration(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3 C: `--registration-token glrt-...` warns about ignored flags, verifies, succeeds."""
    runner = gitlab.create_runner()
    status, stderr = register(glrunner, gitlab.url, "-r", runner.token, "--tag-list", "a", *SHELL)
    assert status == 0, stderr
    assert "legacy-compatible registration process" in stderr
    assert [r.path for r in gitlab.requests] == ["/api/v4/runners/verify"]


def test_plain_token_only_verifies(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3 D: `--token` without glrt- verifies and saves the runner without an id."""
    runner = gitlab.create_runner(token="plain-token-123456")
    status, stderr = register(glrunner, gitlab.url, "--token", runner.token, *SHELL)
    assert status == 0, stderr
    assert "If you want to register use the '-r' instead of '-t'." in stderr
    written = tomllib.loads(glrunner.config.read_text())["runners"][0]
    assert (written["token"], written["id"]) == (runner.token, 0)


def test_unknown_authentication_token(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    status, stderr = register(glrunner, gitlab.url, "--token", "glrt-unknown-token-xyz", *SHELL)
    assert status == 1
    assert "Failed to verify the runner." in stderr
    assert not glrunner.config.exists()


def test_wrong_registration_token_leaves_config_unchanged(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3 A.4: 403 -> "forbidden (check registration token)", exit 1, file untouched."""
    glrunner.config.parent.mkdir(mode=0o700)
    before = "# my runners\nconcurrent = 2\n"
    glrunner.config.write_text(before)
    status, stderr = register(glrunner, gitlab.url, "-r", "wrong-token", *SHELL)
    assert status == 1
    assert "forbidden (check registration token)" in stderr
    assert "wrong-token" not in stderr
    assert glrunner.config.read_text() == before
    assert len(gitlab.requests) == 1  # a 403 is not retried


def test_unreachable_server_after_retries(glrunner: Glrunner) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, stderr = register(glrunner, f"http://127.0.0.1:{port}/", "-r", REGISTRATION_TOKEN, *SHELL)
    assert status == 1
    assert f"cannot reach GitLab at http://127.0.0.1:{port}/api/v4/runners (connection refused)" in stderr
    assert "after 5 attempts" in stderr
    assert not glrunner.config.exists()


def test_server_errors_exhaust_retries(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    gitlab.inject("POST", "/api/v4/runners", *[Fault(503, headers={"Retry-After": "0"})] * 5)
    status, stderr = register(glrunner, gitlab.url, "-r", REGISTRATION_TOKEN, *SHELL)
    assert status == 1
    assert "Registering runner... failed (status 503)" in stderr
    assert len(gitlab.requests) == 5
    assert not glrunner.config.exists()


def test_invalid_executor_lists_valid_ones_and_unregisters(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3: a failure after GitLab accepted the runner removes it again (DELETE /runners)."""
    status, stderr = register(glrunner, gitlab.url, "-r", REGISTRATION_TOKEN, "--executor", "dockr")
    assert status == 1
    assert 'Invalid executor specified: "dockr"; the valid executors are: docker, kubernetes, shell' in stderr
    post, delete = gitlab.requests
    assert (delete.method, delete.path) == ("DELETE", "/api/v4/runners")
    assert delete.json["token"] not in ("", post.json["token"])  # the runner's token, not the registration one
    assert delete.headers["runner-token"] == delete.json["token"]
    assert gitlab.state.runners == {}
    assert not glrunner.config.exists()


def test_leave_runner_keeps_it_on_gitlab(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    status, _ = register(glrunner, gitlab.url, "-r", REGISTRATION_TOKEN, "--executor", "docker", "--leave-runner")
    assert status == 1  # no docker image given with -n
    assert [r.method for r in gitlab.requests] == ["POST"]
    assert len(gitlab.state.runners) == 1


def test_failure_after_verify_removes_the_runner_manager(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """glrt- tokens: the unregister-on-failure call is DELETE /runners/managers with the system id."""
    runner = gitlab.create_runner()
    status, stderr = register(glrunner, gitlab.url, "-t", runner.token, "--executor", "docker")
    assert status == 1
    assert "The docker-image needs to be entered" in stderr
    verify, delete = gitlab.requests
    assert (delete.method, delete.path) == ("DELETE", "/api/v4/runners/managers")
    assert delete.json == {"token": runner.token, "system_id": verify.json["system_id"]}
    assert runner.managers == {}


def test_invalid_access_level(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    status, stderr = register(glrunner, gitlab.url, "-r", REGISTRATION_TOKEN, "--access-level", "x", *SHELL)
    assert status == 1
    assert "Given access-level is not valid" in stderr
    assert gitlab.requests == []


def test_interrupt_after_registration_unregisters(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3: SIGINT after GitLab accepted the runner removes it again; config.toml is not written."""
    import signal
    import subprocess
    import time

    from tests.register.conftest import GLRUNNER

    process = subprocess.Popen(
        [GLRUNNER, "register", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN],
        env=glrunner.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write("\n\nname\n\n\n")  # url, token, description, tags, note: then the executor prompt
    process.stdin.flush()
    deadline = time.monotonic() + 30
    while not gitlab.requests_to("POST", "/api/v4/runners") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let it reach the executor prompt
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Enter an executor" in stdout
    assert [r.method for r in gitlab.requests] == ["POST", "DELETE"]
    assert gitlab.state.runners == {}
    assert not glrunner.config.exists()


def test_unwritable_config_unregisters_and_explains(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """Saving fails (nothing can be created in /proc): no traceback, and GitLab forgets the runner."""
    config = "/proc/self/config.toml"
    result = glrunner("register", "-n", "-c", config, "-u", gitlab.url, "-r", REGISTRATION_TOKEN, *SHELL)
    status, stderr = result.returncode, result.stderr
    assert status == 1, stderr
    assert "Traceback" not in stderr
    assert f"cannot write {config}" in stderr and "it was left unchanged" in stderr
    assert [r.method for r in gitlab.requests] == ["POST", "DELETE"]
    assert gitlab.state.runners == {}
