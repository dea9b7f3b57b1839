"""`glrunner unregister`, `verify`, `list` on files with several runners and a user's comments (spec 1.5)."""

from __future__ import annotations

import tomllib

import pytest

from tests.fakegitlab import FakeGitLab
from tests.register.conftest import REGISTRATION_TOKEN, Glrunner

COMMENTED = """\
# Managed by hand: keep this comment.
concurrent = 4 # four jobs at a time
check_interval = 0
connection_max_age = "15m0s"
shutdown_timeout = 0

[session_server]
  session_timeout = 1800
"""


def register(glrunner: Glrunner, gitlab: FakeGitLab, name: str) -> None:
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--name", name, "--executor", "docker", "--docker-image", "alpine",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def runner_names(glrunner: Glrunner) -> list[str]:
    return [r["name"] for r in tomllib.loads(glrunner.config.read_text()).get("runners", [])]


@pytest.fixture
def two_runners(glrunner: Glrunner, gitlab: FakeGitLab) -> Glrunner:
    glrunner.config.parent.mkdir(mode=0o700)
    glrunner.config.write_text(COMMENTED)
    register(glrunner, gitlab, "first")
    register(glrunner, gitlab, "second")
    return glrunner


def test_register_twice_unregister_first_keeps_second_and_comments(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    glrunner = two_runners
    text = glrunner.config.read_text()
    assert text.startswith(COMMENTED)
    second_block = text[text.index('[[runners]]\n  name = "second"') :]
    first_token = tomllib.loads(text)["runners"][0]["token"]

    result = glrunner("unregister", "-c", str(glrunner.config), "--name", "first")
    assert result.returncode == 0, result.stderr
    assert f"Updated {glrunner.config}" in result.stderr
    after = glrunner.config.read_text()
    assert after == COMMENTED + "\n" + second_block
    delete = gitlab.requests_to("DELETE", "/api/v4/runners")
    assert [d.json for d in delete] == [{"token": first_token}]
    assert [r.description for r in gitlab.state.runners.values()] == ["second"]


def test_unregister_by_token_and_all_runners(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    glrunner = two_runners
    second_token = tomllib.loads(glrunner.config.read_text())["runners"][1]["token"]
    result = glrunner("unregister", "-c", str(glrunner.config), "--token", second_token)
    assert result.returncode == 0, result.stderr
    assert runner_names(glrunner) == ["first"]
    result = glrunner("unregister", "-c", str(glrunner.config), "--all-runners")
    assert result.returncode == 0, result.stderr
    assert runner_names(glrunner) == []
    assert glrunner.config.read_text() == COMMENTED
    assert gitlab.state.runners == {}


def test_unregister_refused_keeps_file(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    glrunner = two_runners
    before = glrunner.config.read_text()
    gitlab.inject("DELETE", "/api/v4/runners", 403)
    result = glrunner("unregister", "-c", str(glrunner.config), "-n", "first")
    assert result.returncode == 1
    assert 'failed to unregister runner "first"' in result.stderr
    assert glrunner.config.read_text() == before


def test_unregister_needs_a_selector(two_runners: Glrunner) -> None:
    result = two_runners("unregister", "-c", str(two_runners.config))
    assert result.returncode == 1
    assert "at least one of --name or --token must be specified" in result.stderr
    result = two_runners("unregister", "-c", str(two_runners.config), "-n", "nope")
    assert result.returncode == 1
    assert 'no runner with name "nope"' in result.stderr


def test_verify_alive_and_removed(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    glrunner = two_runners
    result = glrunner("verify", "-c", str(glrunner.config))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Verifying runner... is alive") == 2
    verify = gitlab.requests_to("POST", "/api/v4/runners/verify")
    assert {v.json["info"]["executor"] for v in verify} == {"docker"}

    first = next(r for r in gitlab.state.runners.values() if r.description == "first")
    gitlab.state.remove_runner(first.id)  # deleted in GitLab's UI
    before = glrunner.config.read_text()
    result = glrunner("verify", "-c", str(glrunner.config))
    assert result.returncode == 1
    assert "Verifying runner... is removed" in result.stderr
    assert "Failed to verify runners" in result.stderr
    assert glrunner.config.read_text() == before

    result = glrunner("verify", "-c", str(glrunner.config), "--delete")
    assert result.returncode == 0, result.stderr
    assert runner_names(glrunner) == ["second"]
    assert glrunner.config.read_text().startswith(COMMENTED)


def test_verify_filters(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    result = two_runners("verify", "-c", str(two_runners.config), "-n", "second")
    assert result.returncode == 0, result.stderr
    assert len(gitlab.requests_to("POST", "/api/v4/runners/verify")) == 1
    result = two_runners("verify", "-c", str(two_runners.config), "-n", "third")
    assert result.returncode == 1
    assert "no runner matches the filtering parameters" in result.stderr


def test_verify_unreachable_never_deletes(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    before = two_runners.config.read_text()
    gitlab.stop()
    result = two_runners("verify", "-c", str(two_runners.config), "--delete")
    assert result.returncode == 1
    assert "cannot reach GitLab" in result.stderr
    assert two_runners.config.read_text() == before


def test_list_shows_short_tokens_only(two_runners: Glrunner, gitlab: FakeGitLab) -> None:
    tokens = [r["token"] for r in tomllib.loads(two_runners.config.read_text())["runners"]]
    result = two_runners("list", "-c", str(two_runners.config))
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert f"ConfigFile={two_runners.config}" in output
    for name, token in zip(["first", "second"], tokens, strict=True):
        line = next(line for line in output.splitlines() if line.startswith(name))
        assert f"Executor=docker Token={token[:9]} URL={gitlab.url}" in line
        assert token not in output


def test_list_shortens_glrt_tokens(glrunner: Glrunner) -> None:
    glrunner.config.parent.mkdir()
    glrunner.config.write_text('[[runners]]\n  name = "x"\n  token = "glrt-t1_abcdefghijklmnop"\n')
    result = glrunner("list", "-c", str(glrunner.config))
    assert "Token=abcdefghi " in result.stderr
    assert "glrt-" not in result.stderr


def test_list_without_file(glrunner: Glrunner) -> None:
    result = glrunner("list", "-c", str(glrunner.config))
    assert result.returncode == 0
    assert "Listing configured runners" in result.stderr
