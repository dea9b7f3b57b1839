#!/usr/bin/env python3
"""glrunner against the raw-docker floor, side by side in one run.

    .venv/bin/python bench/docker_bench.py [--runs 5]

For each workload, the floor is the docker CLI sequence a person would write to do the same work:
create the containers (and, where glrunner needs them, the network and volume), copy the project
files in, run the commands, wait for the service the same way (a tight TCP probe), remove
everything. glrunner runs as users run it: the `glrunner exec` process, start-up included.

  (a) one plain busybox job of 7 commands
  (b) one TLS-off dind job: `docker info`, `docker load` of a tarball, `docker run`
  (c) a pipeline of 3 stages x 2 trivial jobs (jobs of a stage in parallel)

Also: readiness latency, from the moment a service's port opens to glrunner's probe noticing it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GLRUNNER = str(REPO / ".venv" / "bin" / "glrunner")
LABEL = "io.glrunner.bench=docker_bench"
SEVEN = ["echo one", "echo two", "uname -m", "ls /", "true", "echo six", "echo seven"]
DIND_COMMANDS = [
    "docker info --format '{{.ServerVersion}}'",
    "docker load -i /opt/glrunner-devstack/images/busybox.tar",
    "docker run --rm busybox:latest echo hello-from-inner-container",
]


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=check).stdout.strip()


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- projects ------------------------------------------------------------------------------------

def project(root: Path, ci: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".gitlab-ci.yml").write_text(ci)
    (root / "README.txt").write_text("benchmark project\n")
    return root


def ci_plain() -> str:
    return "image: busybox:latest\njob:\n  script:\n" + "".join(f"    - {json.dumps(c)}\n" for c in SEVEN)


def ci_dind() -> str:
    script = "".join(f"    - {json.dumps(c)}\n" for c in DIND_COMMANDS)
    return (
        "image: docker:24.0.5-cli\nservices:\n  - docker:24.0.5-dind\nvariables:\n"
        '  DOCKER_HOST: tcp://docker:2375\n  DOCKER_TLS_CERTDIR: ""\njob:\n  script:\n' + script
    )


def ci_pipeline() -> str:
    out = "image: busybox:latest\nstages: [one, two, three]\n"
    for stage in ("one", "two", "three"):
        for n in (1, 2):
            out += f"{stage}-{n}:\n  stage: {stage}\n  script: [echo {stage}-{n}]\n"
    return out


def run_glrunner(root: Path, *extra: str) -> None:
    result = subprocess.run(
        [GLRUNNER, "exec", "--cwd", str(root), "--docker-pull-policy", "if-not-present", "--no-color", *extra],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"glrunner failed:\n{result.stdout}\n{result.stderr}")


# -- the floors ----------------------------------------------------------------------------------

def floor_job(root: Path, commands: list[str], name: str | None = None) -> None:
    name = name or f"bench-{uuid.uuid4().hex[:8]}"
    script = "cd /builds && " + " && ".join(commands)
    sh("docker", "create", "--name", name, "--label", LABEL, "-v", "/builds", "busybox:latest", "sh", "-c", script)
    try:
        sh("docker", "cp", f"{root}/.", f"{name}:/builds")
        sh("docker", "start", "-a", name)
    finally:
        sh("docker", "rm", "-f", "-v", name)


def floor_pipeline(root: Path) -> None:
    for stage in ("one", "two", "three"):
        procs = [subprocess.Popen([sys.executable, __file__, "--floor-one", str(root), f"echo {stage}-{n}"])
                 for n in (1, 2)]
        for proc in procs:
            if proc.wait() != 0:
                raise SystemExit("floor job failed")


def wait_port(ip: str, port: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        probe = subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/{ip}/{port}"], capture_output=True)
        if probe.returncode == 0:
            return
        time.sleep(0.02)
    raise SystemExit(f"{ip}:{port} never opened")


def floor_dind(root: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    net, dind, job, vol = f"bench-{tag}", f"bench-dind-{tag}", f"bench-job-{tag}", f"bench-{tag}"
    sh("docker", "network", "create", "--label", LABEL, net)
    sh("docker", "volume", "create", "--label", LABEL, vol)
    try:
        sh("docker", "run", "-d", "--name", dind, "--label", LABEL, "--privileged", "--network", net,
           "--network-alias", "docker", "-e", "DOCKER_TLS_CERTDIR=", "-v", f"{vol}:/builds", "docker:24.0.5-dind")
        ip = sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", dind)
        wait_port(ip, 2375)
        script = "cd /builds && " + " && ".join(DIND_COMMANDS)
        sh("docker", "create", "--name", job, "--label", LABEL, "--network", net, "-v", f"{vol}:/builds",
           "-e", "DOCKER_HOST=tcp://docker:2375", "docker:24.0.5-cli", "sh", "-c", script)
        sh("docker", "cp", f"{root}/.", f"{job}:/builds")
        sh("docker", "start", "-a", job)
    finally:
        sh("docker", "rm", "-f", "-v", job, dind, check=False)
        sh("docker", "network", "rm", net, check=False)
        sh("docker", "volume", "rm", vol, check=False)


# -- readiness latency ---------------------------------------------------------------------------

async def readiness_once() -> float:
    """Start a service whose port opens at a time it records; return how late glrunner's probe saw it."""
    sys.path.insert(0, str(REPO / "src"))
    import aiodocker

    from glrunner.executors.docker.services import RunningService, container_address, wait_for_service
    from glrunner.trace.log import JobLog

    name = f"bench-ready-{uuid.uuid4().hex[:8]}"
    # The time is taken just before listen(): the measured latency can only be overestimated.
    listener = ('sleep 1.5; exec perl -MIO::Socket::INET -e \'system("date +%s.%N > /opened"); '
                'my $s = IO::Socket::INET->new(LocalPort => 7000, Listen => 5, ReuseAddr => 1) or die; '
                'while (my $c = $s->accept) { close $c }\'')
    sh("docker", "run", "-d", "--name", name, "--label", LABEL, "debian:bookworm-slim", "sh", "-c", listener)
    docker = aiodocker.Docker()
    try:
        container = docker.containers.container(name)
        info = await container.show()
        service = RunningService(name=name, container=container, ports=(7000,),
                                 address=container_address(info, "bridge"))
        ok = await wait_for_service(service, 30, JobLog())
        noticed = time.time() - (time.monotonic() - service.ready_at) if ok and service.ready_at else None
        opened = float(sh("docker", "exec", name, "cat", "/opened"))
        if noticed is None:
            raise SystemExit("the readiness probe never succeeded")
        return noticed - opened
    finally:
        await docker.close()
        sh("docker", "rm", "-f", name, check=False)


# -- main ----------------------------------------------------------------------------------------

def measure(label: str, runs: int, ours: Callable[[], None], floor: Callable[[], None]) -> None:
    ours(), floor()  # warm both (images, page cache)
    g, f = [], []
    for _ in range(runs):
        g.append(timed(ours))
        f.append(timed(floor))
    gm, fm = statistics.median(g), statistics.median(f)
    print(f"{label:<34} glrunner {gm:6.2f} s   floor {fm:6.2f} s   ratio {gm / fm:5.2f}x   "
          f"(median of {runs}; glrunner min {min(g):.2f}, floor min {min(f):.2f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--floor-one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_one:
        floor_job(Path(args.floor_one[0]), [args.floor_one[1]])
        return
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode:
        raise SystemExit("no Docker engine: run devstack/up first")
    with tempfile.TemporaryDirectory(prefix="glrunner-bench-") as tmp:
        base = Path(tmp)
        plain = project(base / "proj", ci_plain())
        dind = project(base / "dind" / "proj", ci_dind())
        pipe = project(base / "pipe" / "proj", ci_pipeline())
        print(f"glrunner vs raw docker CLI, {os.cpu_count()} cpus, {args.runs} runs each", flush=True)
        measure("(a) busybox job, 7 commands", args.runs, lambda: run_glrunner(plain),
                lambda: floor_job(plain, SEVEN))
        measure("(b) dind (TLS off): info/load/run", args.runs, lambda: run_glrunner(dind, "--docker-privileged"),
                lambda: floor_dind(dind))
        measure("(c) 3 stages x 2 trivial jobs", args.runs, lambda: run_glrunner(pipe),
                lambda: floor_pipeline(pipe))
        latencies = [asyncio.run(readiness_once()) for _ in range(args.runs)]
        median_ms, max_ms = statistics.median(latencies) * 1000, max(latencies) * 1000
        print(f"readiness latency (port open -> glrunner notices): median {median_ms:.0f} ms, max {max_ms:.0f} ms "
              f"over {len(latencies)} runs (GitLab's helper polls every 1000 ms)")
    leftovers = sh("docker", "ps", "-aq", "--filter", f"label={LABEL}")
    if leftovers:
        print(f"WARNING: benchmark containers left: {leftovers}")


if __name__ == "__main__":
    main()
