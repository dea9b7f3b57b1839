"""config.toml parsing: values, GitLab's defaults, and located errors (spec 1.6, 1.9)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from glrunner.config import Config, parse_config
from glrunner.errors import ConfigError, UsageError

DOCKER_RUNNER = """\
concurrent = 4
check_interval = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "first"
  url = "https://gitlab.example.com/"
  id = 12
  token = "glrt-abcdefghijk"
  token_obtained_at = 2025-01-01T10:10:10Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker"
  environment = ["A=1", "B=2"]
  [runners.feature_flags]
    FF_NETWORK_PER_BUILD = true
  [runners.cache]
    MaxUploadedArchiveSize = 0
    [runners.cache.s3]
      AssumeRoleMaxConcurrency = 0
    [runners.cache.gcs]
  [runners.docker]
    tls_verify = false
    image = "docker:24.0.5-cli"
    privileged = true
    services_limit = 2
    wait_for_services_timeout = -1
    pull_policy = "if-not-present"
    volumes = ["/certs/client", "/cache"]
    shm_size = 0
    [[runners.docker.services]]
      name = "docker:24.0.5-dind"
      alias = "docker, dind"
"""


def parse(text: str, **kwargs: object) -> Config:
    return parse_config(text, "config.toml", **kwargs)  # type: ignore[arg-type]


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.exit_status == 2
    return [str(p) for p in info.value.problems]


def test_values_and_normalisation() -> None:
    config = parse(DOCKER_RUNNER)
    runner = config.find_runner(None)
    assert config.concurrent == 4
    assert runner.name == "first" and runner.id == 12 and runner.executor == "docker"
    assert runner.environment == ["A=1", "B=2"]
    assert runner.feature_flag("FF_NETWORK_PER_BUILD") is True
    assert runner.feature_flag("FF_USE_FASTZIP") is None
    assert runner.cache is not None and runner.cache.s3 is not None and runner.cache.azure is None
    docker = runner.docker
    assert docker is not None and runner.kubernetes is None
    assert docker.privileged is True and docker.services_limit == 2
    assert docker.pull_policy == ["if-not-present"]
    assert docker.effective_wait_for_services_timeout is None
    assert docker.services[0].aliases == ["docker", "dind"]
    assert config.warnings == ()


def test_loaded_file_gets_connection_max_age_default() -> None:
    """spec 1.6: connection_max_age defaults to 15 min only when a file was loaded."""
    config = parse("")
    assert config.loaded and config.connection_max_age == timedelta(minutes=15)
    assert Config().connection_max_age is None and not Config().loaded


def test_defaults_of_gitlab() -> None:
    config = parse("[[runners]]\n  name = 'x'\n  [runners.docker]\n")
    docker = config.runners[0].docker
    assert docker is not None
    assert docker.effective_pull_policies == ["always"]
    assert docker.effective_wait_for_services_timeout == 30
    assert docker.services_limit is None
    assert config.session_server.session_timeout == 1800
    assert config.effective_check_interval == 3


def test_env_expansion_of_url_and_token_only() -> None:
    text = '[[runners]]\n  name = "$NAME"\n  url = "$URL"\n  token = "${TOKEN}x"\n'
    runner = parse(text, env={"URL": "http://gl", "TOKEN": "glrt-t", "NAME": "no"}).runners[0]
    assert (runner.url, runner.token, runner.name) == ("http://gl", "glrt-tx", "$NAME")
    assert parse(text).runners[0].url == "$URL"  # no environment given: pure, untouched


def test_wrong_type_names_line_key_and_fix() -> None:
    text = DOCKER_RUNNER + '\n[[runners]]\n  name = "two"\n  [runners.docker]\n    privileged = "yes"\n'
    line = text.splitlines().index('    privileged = "yes"') + 1
    assert line == 39
    assert problems_of(text) == [
        f'config.toml:{line}: [[runners]] #2 docker.privileged: expected a boolean, got "yes"; '
        "write privileged = true or privileged = false"
    ]


def test_all_problems_are_collected_in_line_order() -> None:
    text = (
        'concurrent = "4"\n[[runners]]\n  [runners.docker]\n    pull_policy = ["always", "sometimes"]\n'
        "    volumes = [\n      '/a',\n      5,\n    ]\n"
    )
    assert problems_of(text) == [
        'config.toml:1: concurrent: expected an integer, got "4"; write a whole number without quotes, '
        "e.g. concurrent = 10",
        "config.toml:4: [[runners]] #1 docker.pull_policy[1]: expected one of 'always', 'if-not-present' "
        "or 'never', got \"sometimes\"",
        "config.toml:7: [[runners]] #1 docker.volumes[1]: expected a string, got 5; put the value in quotes: "
        'volumes = "5"',
    ]


def test_duplicate_key_points_at_second_occurrence() -> None:
    text = '[[runners]]\n  name = "a"\n[[runners]]\n  name = "b"\n  # comment\n  name = "c"\n'
    assert problems_of(text) == [
        "config.toml:6: [[runners]] #2 name: duplicate key: it is already set in this table; keep only one"
    ]


def test_broken_toml_points_at_line() -> None:
    assert problems_of('concurrent = 1\n[[runners]]\n  url = "http://x\n') == [
        "config.toml:3: url: the line ends inside a string; add the closing quote"
    ]
    assert problems_of("concurrent = 1\n[runners\n") == [
        "config.toml:2: invalid TOML: Expected ']' at the end of a table declaration; "
        "check the quoting, brackets and '=' on this line"
    ]


def test_runners_as_single_table_is_explained() -> None:
    (problem,) = problems_of('[runners]\n  name = "x"\n')
    assert problem.startswith("config.toml:1: runners: expected an array, got a table; write [[runners]]")


def test_unknown_keys_are_warnings_with_suggestions() -> None:
    config = parse('[[runners]]\n  name = "a"\n  [runners.docker]\n    privilegd = true\n')
    assert [str(w) for w in config.warnings] == [
        "config.toml:4: [[runners]] #1 docker.privilegd: unknown key, ignored; did you mean privileged?"
    ]


def test_kubernetes_section() -> None:
    text = """\
[[runners]]
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "ci"
    privileged = true
    poll_timeout = 600
    cleanup_resources_timeout = "2m30s"
    [runners.kubernetes.build_container_security_context.capabilities]
      add = ["NET_ADMIN"]
    [[runners.kubernetes.volumes.empty_dir]]
      name = "docker-certs"
      mount_path = "/certs/client"
      medium = "Memory"
    [[runners.kubernetes.host_aliases]]
      ip = "127.0.0.1"
      hostnames = ["docker"]
"""
    kube = parse(text).runners[0].kubernetes
    assert kube is not None
    assert kube.privileged is True and kube.allow_privilege_escalation is None
    assert kube.effective_poll_timeout == 600 and kube.effective_poll_interval == 3
    assert kube.cleanup_resources_timeout == timedelta(minutes=2, seconds=30)
    caps = kube.build_container_security_context.capabilities
    assert caps is not None and caps.add == ["NET_ADMIN"]
    assert kube.volumes.empty_dir[0].medium == "Memory"
    assert kube.host_aliases[0].hostnames == ["docker"]


def test_bad_duration_is_explained() -> None:
    (problem,) = problems_of('[[runners]]\n  [runners.kubernetes]\n    cleanup_resources_timeout = "5 min"\n')
    assert problem == (
        'config.toml:3: [[runners]] #1 kubernetes.cleanup_resources_timeout: invalid duration "5 min"; '
        'write it like "15m0s", "1h30m" or "30s"'
    )


def test_find_runner_errors_list_names() -> None:
    config = parse('[[runners]]\n  name = "a"\n[[runners]]\n  name = "b"\n')
    assert config.find_runner("b").name == "b"
    with pytest.raises(UsageError, match=r'no runner named "c".*"a", "b"'):
        config.find_runner("c")
    with pytest.raises(UsageError, match="no \\[\\[runners\\]\\]"):
        parse("").find_runner(None)
