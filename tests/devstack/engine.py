"""A thin, labelled view of the real Docker engine for the devstack's own tests.

Every container, network, volume and image a test creates through `Labelled` carries
`io.glrunner.test=<id>`; `Labelled.remove_all` removes exactly those (and the anonymous
volumes of those containers) and reports what it could not remove.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TEST_LABEL = "io.glrunner.test"
DIND = "docker:24.0.5-dind"
CLI = "docker:24.0.5-cli"


def docker(*args: str, check: bool = True, timeout: float = 180, stdin: str | None = None) -> Run:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=stdin)
    result = Run(args=list(args), returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}:\n{result.output}")
    return result


@dataclass(frozen=True)
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Labelled:
    """Creates engine objects under one test's label, and removes them by that label."""

    test_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _anonymous: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{TEST_LABEL}={self.test_id}"

    def name(self, what: str) -> str:
        return f"devstack-test-{what}-{self.test_id}"

    def network(self, what: str = "net") -> str:
        name = self.name(what)
        docker("network", "create", "--label", self.label, name)
        return name

    def volume(self, what: str) -> str:
        name = self.name(what)
        docker("volume", "create", "--label", self.label, name)
        return name

    def run(
        self,
        image: str,
        *command: str,
        name: str | None = None,
        detach: bool = False,
        privileged: bool = False,
        network: str | None = None,
        aliases: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        volumes: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
        check: bool = True,
        timeout: float = 180,
    ) -> Run:
        """`docker run` under our label; the image's own VOLUMEs get labelled named volumes."""
        args = ["run", "--label", self.label, *extra]
        args += ["--detach"] if detach else ["--rm"]
        if name:
            args += ["--name", name]
        if privileged:
            args.append("--privileged")
        if network:
            args += ["--network", network, *[f"--network-alias={a}" for a in aliases]]
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        mounts = dict(volumes or {})
        for i, path in enumerate(self._declared_volumes(image)):
            if path not in mounts.values():
                mounts[self.volume(f"v{i}-{uuid.uuid4().hex[:6]}")] = path
        for source, target in mounts.items():
            args += ["--volume", f"{source}:{target}"]
        return docker(*args, image, *command, check=check, timeout=timeout)

    def remove_all(self) -> list[str]:
        """Remove everything carrying our label; return what is still there afterwards."""
        flt = ["--filter", f"label={self.label}"]
        containers = docker("ps", "-aq", *flt).stdout.split()
        for cid in containers:
            self._anonymous |= _anonymous_volumes(cid)
        if containers:
            docker("rm", "-f", "-v", *containers, check=False)
        for kind in ("network", "volume"):
            ids = docker(kind, "ls", "-q", *flt).stdout.split()
            if ids:
                docker(kind, "rm", *ids, check=False)
        images = docker("images", "-q", *flt).stdout.split()
        if images:
            docker("rmi", "-f", *sorted(set(images)), check=False)
        return self.leftovers()

    def leftovers(self) -> list[str]:
        flt = ["--filter", f"label={self.label}"]
        left = [f"container {c}" for c in docker("ps", "-aq", *flt).stdout.split()]
        left += [f"network {n}" for n in docker("network", "ls", "-q", *flt).stdout.split()]
        left += [f"volume {v}" for v in docker("volume", "ls", "-q", *flt).stdout.split()]
        left += [f"image {i}" for i in docker("images", "-q", *flt).stdout.split()]
        existing = set(docker("volume", "ls", "-q").stdout.split())
        left += [f"anonymous volume {v}" for v in sorted(self._anonymous & existing)]
        return left

    @staticmethod
    def _declared_volumes(image: str) -> list[str]:
        out = docker("image", "inspect", "--format", "{{json .Config.Volumes}}", image).stdout.strip()
        return sorted(json.loads(out) or {})


def _anonymous_volumes(container: str) -> set[str]:
    out = docker("inspect", "--format", "{{json .Mounts}}", container, check=False).stdout.strip()
    mounts = json.loads(out or "[]") or []
    return {m["Name"] for m in mounts if m.get("Type") == "volume" and len(m.get("Name", "")) == 64}


def wait_until(probe: Sequence[str], *, timeout: float = 60, what: str = "") -> float:
    """Run `docker PROBE...` until it succeeds; return the seconds it took."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        result = docker(*probe, check=False, timeout=30)
        if result.returncode == 0:
            return time.monotonic() - start
        last = result.output
        time.sleep(0.2)
    raise AssertionError(f"{what or ' '.join(probe)} not ready after {timeout} s; last output:\n{last}")


def container_logs(name: str) -> str:
    return docker("logs", name, check=False).output
