"""`glrunner register` as GitLab's docs use it, against a fake GitLab server (spec 1.2-1.8)."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.fakegitlab import FakeGitLab
from tests.register.conftest import REGISTRATION_TOKEN, Glrunner

DOCS_FLAGS = (
    "--executor", "docker",
    "--description", "My Docker Runner",
    "--tag-list", "tls-docker-runner",
    "--docker-image", "docker:24.0.5-cli",
    "--docker-privileged",
)  # fmt: skip

EXPECTED_FILE = """\
concurrent = 1
check_interval = 0
shutdown_timeout = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "My Docker Runner"
  url = "{url}"
  id = {id}
  token = "{token}"
  token_obtained_at = <TIME>
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker"
  [runners.cache]
    MaxUploadedArchiveSize = 0
    [runners.cache.s3]
      AssumeRoleMaxConcurrency = 0
    [runners.cache.gcs]
    [runners.cache.azure]
  [runners.docker]
    tls_verify = false
    image = "docker:24.0.5-cli"
    privileged = true
    disable_entrypoint_overwrite = false
    oom_kill_disable = false
    disable_cache = false
    volumes = ["/certs/client", "/cache"]
    volume_keep = false
    shm_size = 0
    network_mtu = 0
"""


def docker_section(config: Path) -> dict[str, Any]:
    runners = tomllib.loads(config.read_text())["runners"]
    assert len(runners) == 1
    return dict(runners[0]["docker"])


def test_docs_command_writes_gitlabs_file(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.7: the exact file of a fresh registration; 1.4: the request GitLab receives."""
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "--url", gitlab.url,
        "--registration-token", REGISTRATION_TOKEN, *DOCS_FLAGS, "--docker-volumes", "/certs/client",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Runner registered successfully" in result.stderr
    assert f'was saved in "{glrunner.config}"' in result.stderr
    (runner,) = gitlab.state.runners.values()
    text = glrunner.config.read_text()
    obtained = re.search(r"token_obtained_at = (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\n", text)
    assert obtained is not None
    expected = EXPECTED_FILE.format(url=gitlab.url, id=runner.id, token=runner.token)
    assert text == expected.replace("<TIME>", obtained.group(1))
    assert stat.S_IMODE(glrunner.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(glrunner.config.parent.stat().st_mode) == 0o700

    (request,) = gitlab.requests
    assert (request.method, request.path) == ("POST", "/api/v4/runners")
    body = request.json
    assert body["token"] == REGISTRATION_TOKEN
    assert body["description"] == "My Docker Runner"
    assert body["tag_list"] == "tls-docker-runner"
    assert (body["run_untagged"], body["locked"], body["paused"]) == (False, True, False)
    assert "maintenance_note" not in body and "access_level" not in body and "maximum_timeout" not in body
    assert "executor" not in body["info"] and body["info"]["features"]["trace_checksum"] is True
    assert request.headers["runner-token"] == REGISTRATION_TOKEN
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("glrunner ")
    assert re.fullmatch(r"[0-9a-f]{32}", request.headers["x-request-id"])
    assert REGISTRATION_TOKEN not in result.stderr + result.stdout
    assert runner.token not in result.stderr + result.stdout

    system_id = (glrunner.config.parent / ".runner_system_id").read_text()
    assert re.fullmatch(r"[sr]_[0-9a-zA-Z]{12}", system_id)


@pytest.mark.parametrize(
    ("extra", "volumes", "disable_cache"),
    [
        ((), ["/cache"], False),
        (("--docker-volumes", "/certs/client", "--docker-disable-cache"), ["/certs/client"], True),
        (("--docker-volumes", "/srv/c:/cache"), ["/srv/c:/cache"], False),
        (("--docker-volumes", "/cache"), ["/cache"], False),
        (("--docker-volumes", "/a", "--docker-volumes", "/h:/x:ro"), ["/a", "/h:/x:ro", "/cache"], False),
        (("--docker-volumes", "/h/c:/cache:ro"), ["/h/c:/cache:ro", "/cache"], False),  # spec 1.8 edge
    ],
)
def test_cache_volume_rule(
    glrunner: Glrunner, gitlab: FakeGitLab, extra: tuple[str, ...], volumes: list[str], disable_cache: bool
) -> None:
    """spec 1.8: "/cache" is appended unless a volume ends in it or the cache is disabled."""
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        *DOCS_FLAGS, *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    docker = docker_section(glrunner.config)
    assert docker["volumes"] == volumes
    assert docker["disable_cache"] is disable_cache


def test_environment_variables_instead_of_flags(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.1/1.2: CI_SERVER_URL, REGISTRATION_TOKEN, DOCKER_PRIVILEGED and friends."""
    env = {
        "CI_SERVER_URL": gitlab.url,
        "REGISTRATION_TOKEN": REGISTRATION_TOKEN,
        "DOCKER_PRIVILEGED": "true",
        "RUNNER_EXECUTOR": "docker",
        "DOCKER_IMAGE": "docker:24.0.5-cli",
        "DOCKER_VOLUMES": "/certs/client",
        "DOCKER_PULL_POLICY": "if-not-present, always",
        "RUNNER_TAG_LIST": "a,b",
        "CONFIG_FILE": str(glrunner.config),
        "REGISTER_NON_INTERACTIVE": "true",
    }
    result = glrunner("register", env=env)
    assert result.returncode == 0, result.stderr
    docker = docker_section(glrunner.config)
    assert docker["privileged"] is True
    assert docker["volumes"] == ["/certs/client", "/cache"]
    assert docker["pull_policy"] == ["if-not-present", "always"]
    assert gitlab.requests[0].json["tag_list"] == "a,b"


def test_flag_beats_environment(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    env = {"DOCKER_PRIVILEGED": "true", "DOCKER_IMAGE": "from-env"}
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "docker", "--docker-privileged=false", "--docker-image", "from-flag", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    docker = docker_section(glrunner.config)
    assert (docker["privileged"], docker["image"]) == (False, "from-flag")


def test_no_tags_means_run_untagged(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 7.2: without --tag-list, run_untagged is true and no tag_list key is sent."""
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "shell", "--maintenance-note", "hi", "--access-level", "ref_protected",
        "--maximum-timeout", "600", "--paused", "--locked=false",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = gitlab.requests[0].json
    assert "tag_list" not in body
    assert (body["run_untagged"], body["locked"], body["paused"]) == (True, False, True)
    assert (body["maintenance_note"], body["access_level"], body["maximum_timeout"]) == ("hi", "ref_protected", 600)
    runner = tomllib.loads(glrunner.config.read_text())["runners"][0]
    assert runner["executor"] == "shell" and "docker" not in runner
    assert set(runner["cache"]) == {"MaxUploadedArchiveSize", "s3", "gcs", "azure"}


def test_kubernetes_flags(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "kubernetes", "--kubernetes-image", "alpine:3", "--kubernetes-namespace", "ci",
        "--kubernetes-privileged", "--docker-image", "ignored",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runner = tomllib.loads(glrunner.config.read_text())["runners"][0]
    assert "docker" not in runner
    kube = runner["kubernetes"]
    assert (kube["image"], kube["namespace"], kube["privileged"]) == ("alpine:3", "ci", True)
    assert kube["volumes"] == {} and kube["dns_config"] == {}


def test_retries_then_succeeds(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.4: 5xx answers are retried, the same request each time."""
    gitlab.inject("POST", "/api/v4/runners", 500, 502, 429)
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "shell",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    posts = gitlab.requests_to("POST", "/api/v4/runners")
    assert len(posts) == 4
    assert len({p.headers["x-request-id"] for p in posts}) == 4
    assert all(p.json == posts[0].json for p in posts)


def test_url_with_ci_suffix_is_fixed(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.4 fixCIURL: a trailing "/ci" is stripped before "/api/v4/"."""
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url + "ci/", "-r", REGISTRATION_TOKEN,
        "--executor", "shell",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [r.path for r in gitlab.requests] == ["/api/v4/runners"]


def test_interactive_prompts(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.3: prompt texts; a given value is offered as [value] and kept on an empty answer."""
    answers = "\n".join([gitlab.url, REGISTRATION_TOKEN, "", "x,y", "", "docker", "", ""]) + "\n"
    result = glrunner(
        "register", "-c", str(glrunner.config), "--name", "prefilled", "--docker-image", "ruby:3.3",
        stdin=answers,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for prompt in (
        "Enter the GitLab instance URL (for example, https://gitlab.com/):",
        "Enter the registration token:",
        "Enter a description for the runner:\n[prefilled]: ",
        "Enter tags for the runner (comma-separated):",
        "Enter optional maintenance note for the runner:",
        "Enter an executor: docker, kubernetes, shell:",
        "Enter the default Docker image (for example, ruby:3.3):\n[ruby:3.3]: ",
    ):
        assert prompt in result.stdout
    body = gitlab.requests[0].json
    assert (body["description"], body["tag_list"]) == ("prefilled", "x,y")
    assert docker_section(glrunner.config)["image"] == "ruby:3.3"


def test_interactive_eof_is_a_clear_error(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    result = glrunner("register", "-c", str(glrunner.config), stdin="")
    assert result.returncode == 1
    assert "Unexpected EOF. Did you mean to use --non-interactive?" in result.stderr
    assert "Traceback" not in result.stderr
    assert not glrunner.config.exists()


def test_missing_url_non_interactive(glrunner: Glrunner) -> None:
    result = glrunner("register", "-n", "-c", str(glrunner.config), "-r", "x")
    assert result.returncode == 1
    assert "The url needs to be entered" in result.stderr


def test_template_config_fills_unset_values(glrunner: Glrunner, gitlab: FakeGitLab, tmp_path: Path) -> None:
    """spec 1.6: the template fills only what flags left empty; its token is ignored."""
    template = tmp_path / "template.toml"
    template.write_text(
        '[[runners]]\n  token = "ignored"\n  limit = 3\n  [runners.docker]\n    image = "from-template"\n'
        "    privileged = true\n    shm_size = 100\n"
    )
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "docker", "--template-config", str(template), "--docker-shm-size", "200",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runner = tomllib.loads(glrunner.config.read_text())["runners"][0]
    assert runner["limit"] == 3 and runner["token"] != "ignored"
    assert runner["docker"]["image"] == "from-template"
    assert (runner["docker"]["privileged"], runner["docker"]["shm_size"]) == (True, 200)


def test_bad_flag_value_is_explained(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "docker", "--docker-image", "x", "--docker-privileged=yes",
    )  # fmt: skip
    assert result.returncode == 2
    assert "--docker-privileged: expected true or false, got 'yes'" in result.stderr
    assert gitlab.requests == []


def test_existing_file_gets_connection_max_age(glrunner: Glrunner, gitlab: FakeGitLab) -> None:
    """spec 1.7: a file that existed is written back with connection_max_age = "15m0s"."""
    glrunner.config.parent.mkdir(mode=0o700)
    glrunner.config.write_text("")
    result = glrunner(
        "register", "-n", "-c", str(glrunner.config), "-u", gitlab.url, "-r", REGISTRATION_TOKEN,
        "--executor", "shell",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert glrunner.config.read_text().startswith(
        'concurrent = 1\ncheck_interval = 0\nconnection_max_age = "15m0s"\nshutdown_timeout = 0\n\n'
        "[session_server]\n  session_timeout = 1800\n\n[[runners]]\n"
    )
