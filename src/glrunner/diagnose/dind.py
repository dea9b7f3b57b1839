"""Static checks of a compiled job's Docker-in-Docker setup (spec section 6, the known pain points).

Pure: a JobSpec in, findings out. Each finding says what is wrong, why it breaks (the error users
see), and what to change. The checks read exactly what the executor will do, because they read the
same JobSpec it gets.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from glrunner.model.spec import JobSpec, ServiceSpec

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    title: str
    detail: str
    fix: str


def is_dind(service: ServiceSpec) -> bool:
    return service.is_dind


def _env(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(pairs)


def _tls_certdir(service: ServiceSpec) -> str | None:
    """The dind service's DOCKER_TLS_CERTDIR; None means unset (the image default, /certs: TLS on)."""
    return _env(service.env).get("DOCKER_TLS_CERTDIR")


def _shared(spec: JobSpec, path: str) -> bool:
    """Is `path` on a volume every container of the job shares?"""
    if spec.kubernetes is not None:
        mounts = [v.mount_path for v in spec.kubernetes.empty_dirs] + [v.mount_path for v in spec.kubernetes.host_paths]
        mounts += [v.mount_path for v in spec.kubernetes.keyed_volumes]
        mounts.append(spec.builds_dir)
    else:
        mounts = [v.destination for v in spec.volumes]
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def check_job(spec: JobSpec) -> list[Finding]:
    findings: list[Finding] = []
    dinds = [s for s in spec.services if is_dind(s)]
    env = _env(spec.env)
    findings += _host_socket(spec)
    if not dinds:
        if env.get("DOCKER_HOST", "").startswith("tcp://docker:"):
            findings.append(Finding(
                "error", "DOCKER_HOST points at a `docker` service the job does not have",
                f"DOCKER_HOST={env['DOCKER_HOST']}, but no docker:dind service is defined: "
                '"Cannot connect to the Docker daemon" or "no such host".',
                "add `services: [docker:24.0.5-dind]` to the job (or to `default:`).",
            ))
        return findings
    for dind in dinds:
        findings += _privileged(spec, dind)
        findings += _endpoint(spec, dind, env)
    findings += _kubernetes(spec, dinds, env)
    if spec.docker is not None and spec.docker.wait_for_services_timeout <= 0:
        findings.append(Finding(
            "warning", "the job does not wait for dind",
            "wait_for_services_timeout is negative, so the script may start before dockerd listens.",
            "remove wait_for_services_timeout, or set it to 30 or more.",
        ))
    return findings


def _host_socket(spec: JobSpec) -> list[Finding]:
    for volume in spec.volumes:
        if volume.kind == "bind" and volume.source.rstrip("/") in ("/var/run/docker.sock", "/run/docker.sock"):
            return [Finding(
                "warning", "the host's Docker socket is mounted into every container",
                f"volume {volume.source}:{volume.destination}: every job controls the runner host's engine "
                "(and every other job's containers).",
                "use a docker:dind service instead, unless this runner runs only trusted projects.",
            )]
    return []


def _privileged(spec: JobSpec, dind: ServiceSpec) -> list[Finding]:
    if spec.kubernetes is not None:
        privileged = spec.kubernetes.service_security.privileged
        if privileged is None:
            privileged = spec.kubernetes.build_security.privileged
        if privileged:
            return []
    elif dind.privileged:
        return []
    return [Finding(
        "error", f"{dind.image} is not privileged",
        "dockerd inside the service cannot mount its storage: it opens its port for a moment, then exits "
        "with \"failed to mount overlay: operation not permitted\", and the job says "
        "\"Cannot connect to the Docker daemon\".",
        "set `privileged = true` in [runners.docker] (or [runners.kubernetes]); if allowed_privileged_services "
        f"is set, include {dind.image} in it.",
    )]


def _endpoint(spec: JobSpec, dind: ServiceSpec, env: dict[str, str]) -> list[Finding]:
    certdir = _tls_certdir(dind)
    tls = certdir is None or certdir != ""
    host = env.get("DOCKER_HOST", "")
    out: list[Finding] = []
    if host.startswith("unix://"):
        socket_dir = posixpath.dirname(urlsplit(host).path)
        if not _shared(spec, socket_dir):
            out.append(Finding(
                "error", f"the socket directory {socket_dir} is not shared with the dind service",
                f"DOCKER_HOST={host}: dind creates the socket in its own filesystem; the job cannot see it.",
                f'add "{socket_dir}" to `volumes` in [runners.docker].',
            ))
        return out
    if host:
        parts = urlsplit(host)
        if parts.hostname and parts.hostname not in dind.aliases and parts.hostname not in ("localhost", "127.0.0.1"):
            out.append(Finding(
                "error", f"DOCKER_HOST names {parts.hostname!r}, which is not an alias of {dind.image}",
                f"the service answers to {', '.join(dind.aliases)}: \"no such host\".",
                f"use tcp://{dind.aliases[0]}:{2376 if tls else 2375} or add `alias: {parts.hostname}` to the service.",
            ))
        if tls and parts.port == 2375:
            out.append(Finding(
                "error", "DOCKER_HOST uses 2375 but dind serves TLS on 2376",
                f"DOCKER_TLS_CERTDIR is {'unset (the image default is /certs)' if certdir is None else repr(certdir)}"
                ": \"Cannot connect to the Docker daemon at tcp://docker:2375\" (GitLab runner#4501).",
                'either set DOCKER_TLS_CERTDIR: "" to turn TLS off, or use tcp://docker:2376 with certificates.',
            ))
        if not tls and parts.port == 2376:
            out.append(Finding(
                "error", "DOCKER_HOST uses 2376 but dind serves plain TCP on 2375",
                'DOCKER_TLS_CERTDIR is "": dockerd listens on 2375 without TLS.',
                "use DOCKER_HOST: tcp://docker:2375, or set DOCKER_TLS_CERTDIR: \"/certs\" for TLS.",
            ))
    if not host and spec.kubernetes is None and not spec.image.name.startswith("docker:"):
        out.append(Finding(
            "warning", f"DOCKER_HOST is not set and {spec.image.name} is not a docker:*-cli image",
            "only the docker image's entrypoint derives DOCKER_HOST from the shared certificates; elsewhere "
            "the CLI looks for /var/run/docker.sock and finds nothing.",
            f"set DOCKER_HOST: tcp://{dind.aliases[0]}:{2376 if tls else 2375} in the job's variables.",
        ))
    if tls:
        client_dir = posixpath.join(certdir or "/certs", "client")
        cert_path = env.get("DOCKER_CERT_PATH") or client_dir
        if not _shared(spec, client_dir) or not _shared(spec, cert_path):
            out.append(Finding(
                "error", f"the TLS client certificates in {client_dir} are not shared with the job",
                "dind writes them in its own container: the job fails with "
                f"\"open {client_dir}/ca.pem: no such file or directory\" or falls back to 2375.",
                f'add "{client_dir}" to `volumes` in [runners.docker] (Kubernetes: an empty_dir at {client_dir}).',
            ))
    return out


def _kubernetes(spec: JobSpec, dinds: list[ServiceSpec], env: dict[str, str]) -> list[Finding]:
    if spec.kubernetes is None:
        return []
    out: list[Finding] = []
    if not env.get("DOCKER_HOST"):
        out.append(Finding(
            "error", "DOCKER_HOST is not set on Kubernetes",
            "Kubernetes replaces the image's ENTRYPOINT, so docker:cli does not derive DOCKER_HOST; the CLI "
            "looks for /var/run/docker.sock.",
            "set DOCKER_HOST: tcp://docker:2376 (TLS) or tcp://docker:2375 in the job's variables.",
        ))
    for dind in dinds:
        if dind.health_ports is None:
            out.append(Finding(
                "warning", f"{dind.image} has no HEALTHCHECK_TCP_PORT",
                "on Kubernetes services are waited for only with HEALTHCHECK_TCP_PORT in the service's own "
                "variables; the script can start before dockerd listens (GitLab runner#27384).",
                'add `variables: {HEALTHCHECK_TCP_PORT: "2376"}` (or "2375") to the dind service.',
            ))
    return out
