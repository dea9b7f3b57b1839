"""JobSpec -> Docker Engine API request bodies. Pure: no client, no I/O.

Names and labels follow GitLab Runner (spec 2.2): containers are
`<project unique name>-<job uid>-<suffix>` with suffix `build` or `<service slug>-<index>`, and
everything carries the `com.gitlab.gitlab-runner.*` labels plus a `type`.
"""

from __future__ import annotations

import posixpath
from typing import Any

from glrunner.model.spec import DockerOptions, JobSpec, ServiceSpec, VolumeSpec
from glrunner.shells.bash import DETECT_SHELL_SCRIPT

LABEL_PREFIX = "com.gitlab.gitlab-runner."
BUILD_ALIAS = "build"
STAGE_SCRIPT_NAME = "stage_script"


def scripts_dir(spec: JobSpec) -> str:
    """Where stage scripts are written in the build container (its own filesystem, not a volume)."""
    return f"/scripts-{spec.project_id}-{spec.job_id}"


def stage_script_path(spec: JobSpec) -> str:
    return posixpath.join(scripts_dir(spec), STAGE_SCRIPT_NAME)


def options(spec: JobSpec) -> DockerOptions:
    return spec.docker or DockerOptions()


def labels(spec: JobSpec, kind: str, **extra: str) -> dict[str, str]:
    out = dict(spec.labels)
    out[LABEL_PREFIX + "type"] = kind
    out.update({LABEL_PREFIX + k: val for k, val in extra.items()})
    return out


def build_container_name(spec: JobSpec) -> str:
    return f"{spec.container_prefix}-build"


def service_container_name(spec: JobSpec, service: ServiceSpec) -> str:
    return f"{spec.container_prefix}-{service.container_suffix}"


def network_mode(spec: JobSpec) -> str:
    opts = options(spec)
    return opts.network_mode or opts.network_name


def network_request(spec: JobSpec) -> dict[str, Any] | None:
    """The per-job network, or None when `network_mode` names an existing one."""
    opts = options(spec)
    if opts.network_mode or not opts.network_name:
        return None
    body: dict[str, Any] = {
        "Name": opts.network_name,
        "Driver": "bridge",
        "CheckDuplicate": True,
        "Labels": labels(spec, "network"),
    }
    if opts.network_mtu:
        body["Options"] = {"com.docker.network.driver.mtu": str(opts.network_mtu)}
    return body


def volume_requests(spec: JobSpec) -> list[dict[str, Any]]:
    """Named volumes to create: temporary ones labelled for removal, persistent ones reusable."""
    out = []
    opts = options(spec)
    for vol in (*spec.volumes, *(v for s in spec.services for v in s.own_volumes)):
        if vol.kind in ("bind", "anonymous"):
            continue
        extra = {"destination": vol.destination, "reusable": str(vol.kind == "persistent").lower()}
        body: dict[str, Any] = {"Name": vol.source, "Labels": labels(spec, "cache", **extra)}
        if vol.kind == "persistent":
            body["Labels"].pop("io.glrunner.job-uid", None)
        if opts.volume_driver:
            body["Driver"] = opts.volume_driver
        out.append(body)
    return out


def _binds(volumes: tuple[VolumeSpec, ...]) -> list[str]:
    binds = []
    for vol in volumes:
        if vol.kind == "anonymous":
            continue
        mode = vol.mode or ("ro" if vol.read_only else "")
        binds.append(f"{vol.source}:{vol.destination}" + (f":{mode}" if mode else ""))
    return binds


def _endpoint_config(spec: JobSpec, aliases: list[str]) -> dict[str, Any]:
    mode = network_mode(spec)
    if not mode or mode in ("host", "none", "bridge") or mode.startswith("container:"):
        return {}
    return {"EndpointsConfig": {mode: {"Aliases": aliases}}}


def _common_host_config(spec: JobSpec, privileged: bool) -> dict[str, Any]:
    opts = options(spec)
    host: dict[str, Any] = {
        "Privileged": privileged,
        "Binds": _binds(spec.volumes),
        "RestartPolicy": {"Name": "no"},
        "LogConfig": {"Type": "json-file", "Config": {}},
    }
    mode = network_mode(spec)
    if mode:
        host["NetworkMode"] = mode
    for key, value in (
        ("Dns", list(opts.dns)),
        ("DnsSearch", list(opts.dns_search)),
        ("ExtraHosts", list(opts.extra_hosts)),
        ("ShmSize", opts.shm_size),
        ("Runtime", opts.runtime),
    ):
        if value:
            host[key] = value
    if opts.use_init:
        host["Init"] = True
    return host


def build_container_request(spec: JobSpec) -> dict[str, Any]:
    opts = options(spec)
    image = spec.image
    host = _common_host_config(spec, image.privileged)
    for key, value in (
        ("CapAdd", list(opts.cap_add)),
        ("CapDrop", list(opts.cap_drop)),
        ("SecurityOpt", list(opts.security_opt)),
        ("Memory", opts.memory),
        ("MemorySwap", opts.memory_swap),
        ("MemoryReservation", opts.memory_reservation),
        ("NanoCpus", int(opts.cpus * 1e9)),
        ("CpuShares", opts.cpu_shares),
        ("CpusetCpus", opts.cpuset_cpus),
        ("Sysctls", dict(opts.sysctls)),
        ("Tmpfs", dict(opts.tmpfs)),
        ("OomScoreAdj", opts.oom_score_adjust),
    ):
        if value:
            host[key] = value
    if opts.oom_kill_disable:
        host["OomKillDisable"] = True
    if opts.devices:
        host["Devices"] = [_device(d) for d in opts.devices]
    body: dict[str, Any] = {
        "Image": image.name,
        "Cmd": ["sh", "-c", DETECT_SHELL_SCRIPT, "sh", stage_script_path(spec)],
        "Env": [f"{k}={val}" for k, val in spec.env],
        "Labels": labels(spec, "build"),
        "Hostname": opts.hostname or spec.project_unique_name,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": False,
        "Tty": False,
        "HostConfig": host,
        "NetworkingConfig": _endpoint_config(spec, [BUILD_ALIAS, build_container_name(spec)]),
    }
    anonymous: dict[str, dict[str, str]] = {vol.destination: {} for vol in spec.volumes if vol.kind == "anonymous"}
    if anonymous:
        body["Volumes"] = anonymous
    if image.entrypoint is not None:
        body["Entrypoint"] = list(image.entrypoint)
    if image.user or opts.user:
        body["User"] = image.user or opts.user
    return body


def service_container_request(spec: JobSpec, service: ServiceSpec) -> dict[str, Any]:
    opts = options(spec)
    host = _common_host_config(spec, service.privileged)
    host["Binds"] += _binds(service.own_volumes)
    for key, value in (
        ("SecurityOpt", list(opts.services_security_opt)),
        ("Memory", opts.service_memory),
        ("NanoCpus", int(opts.service_cpus * 1e9)),
        ("Tmpfs", dict(opts.services_tmpfs)),
    ):
        if value:
            host[key] = value
    body: dict[str, Any] = {
        "Image": service.image,
        "Env": [f"{k}={val}" for k, val in service.env],
        "Labels": labels(spec, "service", service=service.service, **{"service.version": service.version}),
        "HostConfig": host,
        "NetworkingConfig": _endpoint_config(spec, list(service.aliases)),
    }
    if service.command:
        body["Cmd"] = list(service.command)
    if service.entrypoint is not None:
        body["Entrypoint"] = list(service.entrypoint)
    if service.user:
        body["User"] = service.user
    return body


def _device(text: str) -> dict[str, str]:
    parts = text.split(":")
    host_path = parts[0]
    container_path = parts[1] if len(parts) > 1 else host_path
    perms = parts[2] if len(parts) > 2 else "rwm"
    return {"PathOnHost": host_path, "PathInContainer": container_path, "CgroupPermissions": perms}
