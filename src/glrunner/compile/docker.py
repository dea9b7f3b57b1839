"""The Docker executor's half of compilation: image, services, volumes, options (spec 2.2-2.8)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from glrunner.compile import variables as v
from glrunner.compile.aliases import is_valid_alias, split_name_and_version, split_user_aliases
from glrunner.compile.context import CompileContext
from glrunner.compile.job import JobFacts, assemble, gather_facts, with_network_variable
from glrunner.compile.names import build_network_name, persistent_volume_name, temporary_volume_name
from glrunner.compile.policy import check_allowed, effective_pull_policies, matches_allowed
from glrunner.compile.services import ServiceDefinition, health_ports, service_definitions, service_env
from glrunner.compile.units import parse_cpus, parse_memory
from glrunner.config.docker import DockerConfig
from glrunner.config.model import RunnerSettings
from glrunner.errors import JobConfigurationError
from glrunner.model.payload import JobPayload
from glrunner.model.spec import DockerOptions, ImageSpec, JobSpec, ServiceSpec, VolumeKind, VolumeSpec


def compile_docker(payload: JobPayload, runner: RunnerSettings, ctx: CompileContext) -> JobSpec:
    docker = runner.docker or DockerConfig()
    image_name = payload.image.name or docker.image
    facts = gather_facts(payload, runner, ctx, image_name)
    network_name = ""
    has_services = bool(docker.services or payload.services)
    if has_services and not docker.network_mode:
        network_name = build_network_name(facts.short_token, payload.job_info.project_id,
                                          ctx.concurrent_project_id, payload.id)
        facts = with_network_variable(facts, network_name)
    values = v.as_mapping(facts.variables)
    image = _build_image(facts, docker, v.expand_value(image_name, values))
    services, warnings = _build_services(facts, docker, values)
    if docker.dind_layer_cache and not docker.disable_cache:
        services = [_with_layer_cache(facts, s) if s.is_dind else s for s in services]
    return assemble(
        facts,
        image=image,
        services=tuple(services),
        volumes=tuple(_build_volumes(facts, docker, shared=bool(services))),
        warnings=(*facts.warnings, *warnings),
        docker=_docker_options(docker, network_name, facts),
    )


DIND_DATA_ROOT = "/var/lib/docker"


def _with_layer_cache(facts: JobFacts, service: ServiceSpec) -> ServiceSpec:
    """The dind service keeps its images and build layers in a volume of this project and slot.

    Only one job runs in a slot at a time, so only one dockerd ever uses the volume.
    """
    name = persistent_volume_name(
        facts.runner.token, facts.ctx.system_id, facts.payload.job_info.project_id,
        facts.ctx.concurrent_project_id, f"{DIND_DATA_ROOT}#{service.container_suffix}",
        facts.payload.git_info.protected,
    )
    cache = VolumeSpec(kind="persistent", source=name, destination=DIND_DATA_ROOT)
    return dataclasses.replace(service, own_volumes=(*service.own_volumes, cache))


def _build_image(facts: JobFacts, docker: DockerConfig, name: str) -> ImageSpec:
    if not name:
        raise JobConfigurationError(
            "no image: the job has no `image:` and the runner has no default image; "
            "set `image:` in .gitlab-ci.yml or `image` in [runners.docker] (or --docker-image)"
        )
    job_image = facts.payload.image.name
    if job_image:
        check_allowed("image", name, docker.allowed_images)
    entrypoint = _entrypoint(facts.payload.image.entrypoint, docker)
    opts = facts.payload.image.executor_opts.get("docker", {}) if facts.payload.image.executor_opts else {}
    user = str(opts.get("user", "")) or docker.user
    if user and docker.allowed_users and user not in docker.allowed_users:
        raise JobConfigurationError(f"user {user!r} is not in the runner's allowed_users: {docker.allowed_users}")
    return ImageSpec(
        name=name,
        entrypoint=entrypoint,
        pull_policies=effective_pull_policies(
            name, facts.payload.image.pull_policy, docker.pull_policy, docker.allowed_pull_policies
        ),
        privileged=docker.privileged and matches_allowed(name, docker.allowed_privileged_images),
        user=user,
        platform=str(opts.get("platform", "")),
    )


def _entrypoint(entrypoint: Sequence[str], docker: DockerConfig) -> tuple[str, ...] | None:
    if not entrypoint or docker.disable_entrypoint_overwrite:
        return None
    return tuple(entrypoint)


def _service_definitions(facts: JobFacts, docker: DockerConfig, values: dict[str, str]) -> list[ServiceDefinition]:
    return service_definitions(docker.services, facts.payload.services, docker.allowed_services,
                               docker.services_limit, values)


def _build_services(
    facts: JobFacts, docker: DockerConfig, values: dict[str, str]
) -> tuple[list[ServiceSpec], list[str]]:
    services: list[ServiceSpec] = []
    warnings: list[str] = []
    taken: set[str] = set()
    visible = [x for x in facts.variables if x.visible_to_services]
    for index, definition in enumerate(_service_definitions(facts, docker, values)):
        svc = definition.image
        parsed = split_name_and_version(svc.name)
        user_aliases = split_user_aliases(svc.alias)
        for alias in user_aliases:
            if not is_valid_alias(alias):
                raise JobConfigurationError(
                    f"services[{index}].alias: {alias!r} is not a valid DNS label; use letters, digits and '-'"
                )
        aliases = []
        for alias in (*parsed.derived_aliases, *user_aliases):
            if alias in taken:
                warnings.append(
                    f'Skipping alias "{alias}" for service "{svc.name}" (services[{index}]): '
                    "alias is already in use by another service."
                )
                continue
            if alias not in aliases:
                aliases.append(alias)
        if not aliases:
            continue  # every alias taken: GitLab starts no container for it
        taken.update(aliases)
        env = service_env(visible, svc.variables, facts.variables)
        services.append(
            ServiceSpec(
                index=index,
                image=parsed.image,
                service=parsed.service,
                version=parsed.version,
                aliases=tuple(aliases),
                user_aliases=user_aliases,
                container_suffix=f"{parsed.slug}-{index}",
                command=tuple(svc.command),
                entrypoint=_entrypoint(svc.entrypoint, docker),
                env=tuple(env),
                pull_policies=effective_pull_policies(
                    parsed.image, svc.pull_policy, docker.pull_policy, docker.allowed_pull_policies
                ),
                privileged=_service_privileged(docker, parsed.image),
                health_ports=health_ports(env),
            )
        )
    return services, warnings


def _service_privileged(docker: DockerConfig, image: str) -> bool:
    privileged = docker.privileged if docker.services_privileged is None else docker.services_privileged
    return privileged and matches_allowed(image, docker.allowed_privileged_services)


def _build_volumes(facts: JobFacts, docker: DockerConfig, shared: bool) -> list[VolumeSpec]:
    volumes: list[VolumeSpec] = []
    seen: set[str] = set()
    protected = facts.payload.git_info.protected
    for entry in docker.volumes:
        spec = _parse_volume(entry, facts, docker, protected)
        if spec.destination == "/":
            raise JobConfigurationError(f"volume {entry!r}: mounting at the root path '/' is not allowed")
        if spec.destination in seen:
            raise JobConfigurationError(f'volume for container path "{spec.destination}" is already defined')
        seen.add(spec.destination)
        volumes.append(spec)
    if not any(_covers(vol.destination, facts.builds_dir) for vol in volumes):
        volumes.append(_builds_volume(facts, docker, shared))
    return volumes


def _builds_volume(facts: JobFacts, docker: DockerConfig, shared: bool) -> VolumeSpec:
    """Services see /builds, so then it is a named volume; alone, the build container's own suffices."""
    if not shared and not docker.volume_keep:
        return VolumeSpec(kind="anonymous", source="", destination=facts.builds_dir)
    name = temporary_volume_name(f"{facts.unique_name}-{facts.ctx.job_uid}", facts.builds_dir)
    return VolumeSpec(kind="temporary", source=name, destination=facts.builds_dir)


def _covers(destination: str, path: str) -> bool:
    return path == destination or path.startswith(destination.rstrip("/") + "/")


def _parse_volume(entry: str, facts: JobFacts, docker: DockerConfig, protected: bool) -> VolumeSpec:
    parts = entry.split(":")
    if len(parts) == 1:
        path = parts[0]
        if docker.disable_cache:
            name = temporary_volume_name(f"{facts.unique_name}-{facts.ctx.job_uid}", path)
            return VolumeSpec(kind="temporary", source=name, destination=path)
        name = persistent_volume_name(
            facts.runner.token, facts.ctx.system_id, facts.payload.job_info.project_id,
            facts.ctx.concurrent_project_id, path, protected,
        )
        return VolumeSpec(kind="persistent", source=name, destination=path)
    if len(parts) in (2, 3) and parts[0] and parts[1]:
        mode = parts[2] if len(parts) == 3 else ""
        read_only = "ro" in mode.split(",")
        kind: VolumeKind = "bind" if parts[0].startswith("/") else "persistent"
        return VolumeSpec(kind=kind, source=parts[0], destination=parts[1], read_only=read_only, mode=mode)
    raise JobConfigurationError(
        f"volume {entry!r} is not valid; write a container path (/cache) or host:container[:mode]"
    )


def _docker_options(docker: DockerConfig, network_name: str, facts: JobFacts) -> DockerOptions:
    timeout = docker.wait_for_services_timeout
    return DockerOptions(
        host=docker.host,
        tls_verify=docker.tls_verify,
        tls_cert_path=docker.tls_cert_path,
        network_mode=docker.network_mode,
        network_name=network_name,
        network_mtu=docker.network_mtu,
        hostname=docker.hostname or facts.unique_name,
        dns=tuple(docker.dns),
        dns_search=tuple(docker.dns_search),
        extra_hosts=tuple(docker.extra_hosts),
        shm_size=docker.shm_size,
        cap_add=tuple(docker.cap_add),
        cap_drop=tuple(docker.cap_drop),
        security_opt=tuple(docker.security_opt),
        services_security_opt=tuple(docker.services_security_opt),
        devices=tuple(docker.devices),
        runtime=docker.runtime,
        memory=parse_memory(docker.memory),
        memory_swap=parse_memory(docker.memory_swap),
        memory_reservation=parse_memory(docker.memory_reservation),
        cpus=parse_cpus(docker.cpus),
        cpu_shares=docker.cpu_shares,
        cpuset_cpus=docker.cpuset_cpus,
        service_memory=parse_memory(docker.service_memory),
        service_cpus=parse_cpus(docker.service_cpus),
        oom_kill_disable=docker.oom_kill_disable,
        oom_score_adjust=docker.oom_score_adjust,
        sysctls=dict(docker.sysctls),
        tmpfs=dict(docker.tmpfs),
        services_tmpfs=dict(docker.services_tmpfs),
        user=docker.user,
        volume_keep=docker.volume_keep,
        volume_driver=docker.volume_driver,
        wait_for_services_timeout=30 if timeout == 0 else timeout,
        use_init=facts.flag("FF_USE_INIT_WITH_DOCKER_EXECUTOR"),
    )
