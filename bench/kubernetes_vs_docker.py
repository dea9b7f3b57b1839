#!/usr/bin/env python3
"""The same Docker-in-Docker TLS job on the Kubernetes executor and on the Docker executor.

    .venv/bin/python bench/kubernetes_vs_docker.py [--runs 3] [--namespace NAME]

One .gitlab-ci.yml (docker:24.0.5-cli, a docker:24.0.5-dind service with HEALTHCHECK_TCP_PORT 2376,
TLS through /certs/client, `docker info`, a `docker build` FROM busybox:latest and a `docker run`),
two config.toml files: the seed's Kubernetes one (privileged, an emptyDir `docker-certs` with
medium Memory) and the docs' Docker one (privileged, volumes /certs/client). Both pull
if-not-present, so neither pays for a pull. Each run is the real `glrunner exec` process; the runs
alternate between the executors. Measured from the trace, as the lines arrive:

  start -> first script line: from the job's first trace line ("Running with glrunner") to the
                              script's first line ("$ echo first-script-line")
  total:                      the glrunner process, start to exit (cleanup included)

Needs devstack/up and devstack/kubernetes up. The namespace (default: one made for the run and
deleted after) and the Docker objects carry glrunner's labels and are removed by glrunner itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GLRUNNER = str(REPO / ".venv" / "bin" / "glrunner")
KUBECONFIG = os.environ.get("GLRUNNER_K8S_KUBECONFIG", "/var/lib/glrunner-devstack/kubernetes/admin.kubeconfig")
FIRST_LINE = b"$ echo first-script-line"

CI = """image: docker:24.0.5-cli
services:
  - name: docker:24.0.5-dind
    variables:
      HEALTHCHECK_TCP_PORT: "2376"
variables:
  DOCKER_HOST: tcp://docker:2376
  DOCKER_TLS_CERTDIR: "/certs"
  DOCKER_TLS_VERIFY: 1
  DOCKER_CERT_PATH: "$DOCKER_TLS_CERTDIR/client"
dind:
  script:
    - echo first-script-line
    - docker info --format '{{.ServerVersion}}'
    - docker build -t bench-image .
    - docker run --rm bench-image cat /built.txt
"""
DOCKERFILE = 'FROM busybox:latest\nRUN echo "built inside dind" > /built.txt\n'
KUBERNETES_CONFIG = """[[runners]]
  name = "bench-kubernetes"
  url = "https://gitlab.example.com"
  token = "glrt-benchkubernetes001"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "{namespace}"
    image = "docker:24.0.5-cli"
    privileged = true
    pull_policy = ["if-not-present"]
    [[runners.kubernetes.volumes.empty_dir]]
      name = "docker-certs"
      mount_path = "/certs/client"
      medium = "Memory"
"""
DOCKER_CONFIG = """[[runners]]
  name = "bench-docker"
  url = "https://gitlab.example.com"
  token = "glrt-benchdocker0000001"
  executor = "docker"
  [runners.docker]
    image = "docker:24.0.5-cli"
    privileged = true
    pull_policy = ["if-not-present"]
    volumes = ["/certs/client", "/cache"]
"""


def run_once(project: Path, config: Path) -> tuple[float, float]:
    """(job start -> first script line, process total) in seconds, from one `glrunner exec`."""
    env = {**os.environ, "NO_COLOR": "1", "KUBECONFIG": KUBECONFIG}
    started = time.perf_counter()
    process = subprocess.Popen([GLRUNNER, "exec", "--cwd", str(project), "-c", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert process.stdout is not None
    job_start = first_line = None
    output = []
    for line in process.stdout:
        now = time.perf_counter()
        output.append(line)
        if job_start is None and line.startswith(b"Running with glrunner"):
            job_start = now
        if first_line is None and FIRST_LINE in line:
            first_line = now
    code = process.wait()
    total = time.perf_counter() - started
    if code != 0 or job_start is None or first_line is None:
        sys.stderr.write(b"".join(output).decode(errors="replace"))
        raise SystemExit(f"the job failed (exit status {code}) with {config.name}")
    return first_line - job_start, total


async def _namespace(action: str, name: str) -> None:
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    await config.load_kube_config(config_file=KUBECONFIG, client_configuration=configuration,
                                  persist_config=False)
    async with client.ApiClient(configuration) as api:
        core = client.CoreV1Api(api)
        if action == "create":
            await core.create_namespace({"metadata": {"name": name, "labels": {"io.glrunner.bench": "kubernetes"}}})
            for _ in range(300):  # pods are refused until the default service account exists
                if (await core.list_namespaced_service_account(name, field_selector="metadata.name=default")).items:
                    return
                await asyncio.sleep(0.1)
        else:
            await core.delete_namespace(name)


def summary(label: str, values: list[float]) -> str:
    return (f"{label:<40} median {statistics.median(values):6.2f} s   "
            f"min {min(values):6.2f} s   max {max(values):6.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--namespace", default="", help="an existing namespace (default: a new one)")
    args = parser.parse_args()
    namespace = args.namespace or f"glrunner-bench-{secrets.token_hex(3)}"
    if not args.namespace:
        asyncio.run(_namespace("create", namespace))
    results: dict[str, list[tuple[float, float]]] = {"kubernetes": [], "docker": []}
    try:
        with tempfile.TemporaryDirectory(prefix="glrunner-bench-") as work:
            project = Path(work) / "project"
            project.mkdir()
            (project / ".gitlab-ci.yml").write_text(CI)
            (project / "Dockerfile").write_text(DOCKERFILE)
            configs = {"kubernetes": Path(work) / "kubernetes.toml", "docker": Path(work) / "docker.toml"}
            configs["kubernetes"].write_text(KUBERNETES_CONFIG.format(namespace=namespace))
            configs["docker"].write_text(DOCKER_CONFIG)
            for run in range(1, args.runs + 1):
                for executor in ("kubernetes", "docker"):
                    first, total = run_once(project, configs[executor])
                    results[executor].append((first, total))
                    print(f"run {run} {executor:<10} start -> first script line {first:6.2f} s, total {total:6.2f} s",
                          flush=True)
    finally:
        if not args.namespace:
            asyncio.run(_namespace("delete", namespace))
    print()
    for executor, values in results.items():
        print(summary(f"{executor}: start -> first script line", [v[0] for v in values]))
        print(summary(f"{executor}: total job", [v[1] for v in values]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
