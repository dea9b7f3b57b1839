"""What glrunner left in the real Docker engine, found by glrunner's own labels only."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

MANAGED = "label=com.gitlab.gitlab-runner.managed=true"


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def _ids(kind: str, *filters: str) -> set[str]:
    args = {"container": ["ps", "-a", "-q", "--no-trunc"], "network": ["network", "ls", "-q"],
            "volume": ["volume", "ls", "-q"]}[kind]
    out = docker(*args, *[x for f in filters for x in ("--filter", f)]).stdout
    return {line for line in out.split() if line}


@dataclass(frozen=True)
class Snapshot:
    containers: frozenset[str]
    networks: frozenset[str]
    temporary_volumes: frozenset[str]
    anonymous_volumes: frozenset[str]

    @classmethod
    def take(cls) -> Snapshot:
        volumes = _ids("volume", MANAGED)
        reusable = _ids("volume", MANAGED, "label=com.gitlab.gitlab-runner.reusable=true")
        return cls(
            containers=frozenset(_ids("container", MANAGED)),
            networks=frozenset(_ids("network", MANAGED)),
            temporary_volumes=frozenset(volumes - reusable),
            anonymous_volumes=frozenset(_ids("volume", "dangling=true")),
        )

    def new_since(self, before: Snapshot, projects: set[str] | None = None) -> dict[str, set[str]]:
        """Objects that appeared since `before` and are still there (reusable volumes excepted).

        With `projects`, only objects labelled with one of those project ids count: other test runs
        may share the engine.
        """
        found = {
            "containers": set(self.containers - before.containers),
            "networks": set(self.networks - before.networks),
            "volumes": set(self.temporary_volumes - before.temporary_volumes),
        }
        if projects:
            found = {kind: {o for o in ids if _project_of(kind, o) in projects} for kind, ids in found.items()}
        return {k: v for k, v in found.items() if v}


def _project_of(kind: str, object_id: str) -> str:
    command = {"containers": ["container", "inspect"], "networks": ["network", "inspect"],
               "volumes": ["volume", "inspect"]}[kind]
    labels = ".Config.Labels" if kind == "containers" else ".Labels"
    result = docker(*command, "--format", f'{{{{index {labels} "com.gitlab.gitlab-runner.project.id"}}}}', object_id,
                    check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def describe_containers(ids: set[str]) -> str:
    if not ids:
        return ""
    info = json.loads(docker("inspect", *ids, check=False).stdout or "[]")
    return ", ".join(f"{c['Name']} ({c['State']['Status']})" for c in info)
