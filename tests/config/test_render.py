"""Rendering a runner exactly as GitLab Runner's encoder lays it out (spec 1.7)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from glrunner.config import (
    CacheAzureConfig,
    CacheConfig,
    CacheGCSConfig,
    CacheS3Config,
    DockerConfig,
    DockerService,
    RunnerSettings,
    parse_config,
)
from glrunner.config.edit import add_runner

SPEC_SAMPLE = """\
concurrent = 1
check_interval = 0
shutdown_timeout = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "D"
  url = "URL"
  id = 12345
  token = "TOKEN"
  token_obtained_at = 2025-01-01T10:10:10Z
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


def spec_runner(**docker: Any) -> RunnerSettings:
    return RunnerSettings(
        name="D",
        url="URL",
        id=12345,
        token="TOKEN",
        token_obtained_at=datetime(2025, 1, 1, 10, 10, 10, tzinfo=UTC),
        executor="docker",
        cache=CacheConfig(s3=CacheS3Config(), gcs=CacheGCSConfig(), azure=CacheAzureConfig()),
        docker=DockerConfig(image="docker:24.0.5-cli", privileged=True, volumes=["/certs/client", "/cache"], **docker),
    )


def test_spec_sample_for_a_new_file() -> None:
    """spec 1.7: the file `register` writes when none existed."""
    assert add_runner(None, spec_runner()) == SPEC_SAMPLE


def test_rendered_file_loads_back_to_the_same_runner() -> None:
    runner = spec_runner(
        services=[DockerService(name="docker:24.0.5-dind", alias="docker")],
        pull_policy=["if-not-present"],
        tmpfs={"/tmp": "rw"},
        services_limit=0,
    )
    loaded = parse_config(add_runner(None, runner), "config.toml")
    assert loaded.runners[0] == runner
    assert loaded.warnings == ()


def test_tables_follow_plain_keys_and_maps_are_tables() -> None:
    runner = spec_runner(tmpfs={"/tmp": "rw,noexec"})
    text = add_runner(None, runner.model_copy(update={"feature_flags": {"FF_NETWORK_PER_BUILD": True}}))
    # GitLab's declaration order: cache, then feature_flags, then docker.
    assert (
        "    [runners.cache.azure]\n  [runners.feature_flags]\n    FF_NETWORK_PER_BUILD = true\n  [runners.docker]"
        in text
    )
    assert '    [runners.docker.tmpfs]\n      "/tmp" = "rw,noexec"\n' in text
