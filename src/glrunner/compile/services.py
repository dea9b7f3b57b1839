"""Service decisions every container executor shares (spec 2.5, 5).

The list of services (config-defined first, then the job's), their environment (public + internal job
variables, then the service's own, expanded against all) and the readiness ports named by
`HEALTHCHECK_TCP_PORT`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from glrunner.compile import variables as v
from glrunner.compile.policy import check_allowed
from glrunner.config.docker import DockerService
from glrunner.errors import JobConfigurationError
from glrunner.model.payload import Image, ServiceVariable


@dataclass(frozen=True)
class ServiceDefinition:
    image: Image
    from_config: bool


def service_definitions(
    config_services: Sequence[DockerService],
    job_services: Sequence[Image],
    allowed_services: Sequence[str],
    services_limit: int | None,
    values: Mapping[str, str],
) -> list[ServiceDefinition]:
    """Config services (exempt from `allowed_services`) then job services, names and aliases expanded."""
    defs = []
    for configured in config_services:
        env = tuple(ServiceVariable(k, val) for k, val in v.parse_env_entries(configured.environment))
        image = Image(
            name=v.expand_value(configured.name, values),
            alias=v.expand_value(configured.alias, values),
            command=tuple(configured.command),
            entrypoint=tuple(configured.entrypoint),
            variables=env,
        )
        defs.append(ServiceDefinition(image, True))
    for svc in job_services:
        expanded = dataclasses.replace(
            svc, name=v.expand_value(svc.name, values), alias=v.expand_value(svc.alias, values)
        )
        check_allowed("service", expanded.name, allowed_services)
        defs.append(ServiceDefinition(expanded, False))
    if services_limit is not None and services_limit >= 0 and len(defs) > services_limit:
        raise JobConfigurationError(f"too many services requested: {len(defs)}, only {services_limit} allowed")
    return defs


def service_env(
    visible: Sequence[v.Variable], own: Sequence[ServiceVariable], everything: Sequence[v.Variable]
) -> list[tuple[str, str]]:
    """Public + runner-internal job variables, then the service's own (expanded against all)."""
    values = v.as_mapping(everything)
    env = {x.key: x.value for x in visible}
    for var in own:
        env[var.key] = v.expand_value(var.value, values)
    return list(env.items())


def health_ports(env: Sequence[tuple[str, str]]) -> tuple[int, ...] | None:
    """The port `HEALTHCHECK_TCP_PORT` names (key compared case-insensitively), else None."""
    for key, value in env:
        if key.upper() == "HEALTHCHECK_TCP_PORT":
            try:
                return (int(value.strip().split("/")[0]),)
            except ValueError:
                return None
    return None
