"""The `[[runners]]` entry that `glrunner register` writes, built from flags, a template and GitLab's answer.

Pure: every input comes in as a value (spec 1.3, 1.6, 1.8).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from glrunner.config.flags import FlagSpec, flag_for_path, runner_table
from glrunner.config.model import RunnerSettings
from glrunner.config.parse import describe_path, parse_config, toml_repr
from glrunner.errors import ConfigError, Problem, UsageError

SUPPORTED_EXECUTORS = ("docker", "kubernetes", "shell")
DOCKER_EXECUTORS = frozenset({"docker"})
CACHE_VOLUME = "/cache"
_EXECUTOR_SECTIONS = ("docker", "kubernetes", "ssh", "machine", "parallels", "virtualbox", "custom", "referees")


@dataclass(frozen=True)
class Identity:
    """Who the runner is, as GitLab answered."""

    name: str
    url: str
    token: str
    id: int
    token_obtained_at: datetime | None
    token_expires_at: datetime | None


def with_cache_volume(volumes: list[str], disable_cache: bool) -> list[str]:
    """GitLab's rule (spec 1.8): append "/cache" unless a volume already ends in ":/cache" or is
    "/cache", or the cache is disabled."""
    if any(volume.split(":")[-1] == CACHE_VOLUME for volume in volumes) or disable_cache:
        return list(volumes)
    return [*volumes, CACHE_VOLUME]


def load_template(text: str, filename: str) -> dict[str, object]:
    """The single `[[runners]]` table of a `--template-config` file, its token removed (spec 1.6)."""
    parse_config(text, filename)  # located errors for a broken template
    runners = tomllib.loads(text).get("runners")
    if not isinstance(runners, list) or len(runners) != 1:
        count = len(runners) if isinstance(runners, list) else 0
        problem = Problem(filename, None, "runners", f"a template needs exactly one [[runners]], found {count}")
        raise ConfigError([problem])
    template = dict(runners[0])
    template.pop("token", None)
    return template


def fill_from_template(table: dict[str, object], template: Mapping[str, object]) -> dict[str, object]:
    """Values from flags win; the template fills only what they left unset (GitLab's mergo merge)."""
    merged = copy.deepcopy(dict(template))
    for key, value in table.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = fill_from_template(value, current)
        else:
            merged[key] = value
    return merged


def build_runner(
    flag_values: Mapping[FlagSpec, object],
    template: Mapping[str, object],
    identity: Identity,
    executor: str,
    docker_image: str,
) -> RunnerSettings:
    """The runner entry to append: flags + template, only the chosen executor's section kept."""
    table = fill_from_template(runner_table(flag_values), template)
    table.update(
        name=identity.name,
        url=identity.url,
        id=identity.id,
        token=identity.token,
        token_obtained_at=identity.token_obtained_at,
        token_expires_at=identity.token_expires_at,
        executor=executor,
    )
    for key in ("token_obtained_at", "token_expires_at"):
        if table[key] is None:
            del table[key]
    _keep_executor_section(table, executor)
    cache = table.setdefault("cache", {})
    if isinstance(cache, dict):
        for sub_table in ("s3", "gcs", "azure"):  # GitLab allocates these while building flags
            cache.setdefault(sub_table, {})
    if executor in DOCKER_EXECUTORS:
        docker = table.setdefault("docker", {})
        assert isinstance(docker, dict)
        docker["image"] = docker_image
        volumes = docker.get("volumes", [])
        docker["volumes"] = with_cache_volume(
            list(volumes) if isinstance(volumes, list) else [], docker.get("disable_cache") is True
        )
    return validate_runner_table(table)


def _keep_executor_section(table: dict[str, object], executor: str) -> None:
    keep = {"docker"} if executor in DOCKER_EXECUTORS else {executor}
    for section in _EXECUTOR_SECTIONS:
        if section not in keep:
            table.pop(section, None)
    if executor == "kubernetes":
        table.setdefault("kubernetes", {})


def validate_runner_table(table: dict[str, object]) -> RunnerSettings:
    """A runner built from flags; a bad value is reported by the flag that gave it."""
    try:
        return RunnerSettings.model_validate(table)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            path = tuple(part for part in error["loc"] if isinstance(part, str | int))
            spec = flag_for_path(path)
            where = f"--{spec.name}" if spec else describe_path(path)
            lines.append(f"{where}: {error['msg']}, got {toml_repr(error.get('input'))}")
        raise UsageError("\n".join(lines)) from None
