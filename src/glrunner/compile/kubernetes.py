"""The Kubernetes executor's half of compilation: image, services, names and pod options (spec 1.9, 5).

One pod per job: the build container, one container per service named by its first free DNS-label
user alias (else `svc-<n>`), sorted by that name; service aliases reach 127.0.0.1 through
`hostAliases`; every volume is mounted in every container. The build container's environment holds
only public and runner-internal variables: the others reach the script through its `export`s, so
no secret is written into the pod's definition.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from glrunner.compile import variables as v
from glrunner.compile.aliases import split_name_and_version, split_user_aliases
from glrunner.compile.context import CompileContext
from glrunner.compile.job import JobFacts, assemble, gather_facts
from glrunner.compile.kubernetes_pod import (
    build_annotations,
    build_labels,
    build_pod_security,
    build_resources,
    build_security,
    build_tolerations,
    build_volumes,
    dns_policy,
    registry_auths,
)
from glrunner.compile.policy import check_allowed, effective_pull_policies
from glrunner.compile.services import ServiceDefinition, health_ports, service_definitions, service_env
from glrunner.config.kubernetes import KubernetesConfig
from glrunner.config.model import RunnerSettings
from glrunner.errors import JobConfigurationError
from glrunner.model.payload import JobPayload
from glrunner.model.spec import (
    HostAlias,
    ImageSpec,
    JobSpec,
    KubernetesOptions,
    PullPolicy,
    SecurityContext,
    ServiceSpec,
)

POD_NAME_PREFIX_LIMIT = 54  # 63 minus "-" and 8 random characters
BUILD_CONTAINER = "build"
RESERVED_CONTAINER_NAMES = frozenset({BUILD_CONTAINER, "helper"})
DEFAULT_CLEANUP_RESOURCES_TIMEOUT = 300

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN_PART = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"^{_DNS_SUBDOMAIN_PART}(\.{_DNS_SUBDOMAIN_PART})*$")


def is_dns_label(name: str) -> bool:
    """Kubernetes' IsDNS1123Label: what a container may be called."""
    return bool(_DNS_LABEL.match(name))


def is_dns_subdomain(name: str) -> bool:
    """Kubernetes' IsDNS1123Subdomain: what a hostAliases entry may be."""
    return len(name) <= 253 and bool(_DNS_SUBDOMAIN.match(name))


def compile_kubernetes(payload: JobPayload, runner: RunnerSettings, ctx: CompileContext) -> JobSpec:
    k8s = runner.kubernetes or KubernetesConfig()
    image_name = payload.image.name or k8s.image
    facts = gather_facts(payload, runner, ctx, image_name)
    values = v.as_mapping(facts.variables)
    warnings = list(facts.warnings)
    image = _build_image(facts, k8s, v.expand_value(image_name, values), warnings)
    services = _build_services(facts, k8s, values, warnings)
    options = _options(facts, k8s, services, values, warnings)
    spec = assemble(
        facts,
        image=image,
        services=tuple(services),
        volumes=(),
        warnings=tuple(warnings),
        kubernetes=options,
    )
    return dataclasses.replace(spec, env=tuple(_build_env(facts)), kubernetes=_with_deadline(spec, options))


def _with_deadline(spec: JobSpec, options: KubernetesOptions) -> KubernetesOptions:
    """activeDeadlineSeconds: the job timeout + 1 (GitLab's), plus after_script's own timeout when the
    job has one: after a timeout, after_script still runs (with CI_JOB_STATUS=timedout) in this pod."""
    if options.active_deadline_seconds is None:
        return options
    extra = spec.after_script_timeout if spec.script.after_script else 0
    return dataclasses.replace(options, active_deadline_seconds=spec.timeout + 1 + extra)


def _build_env(facts: JobFacts) -> list[tuple[str, str]]:
    """Public and runner-internal variables only (GitLab's PublicOrInternal); file ones as paths."""
    tmp = facts.project_dir + ".tmp"
    return [(x.key, f"{tmp}/{x.key}" if x.file else x.value) for x in facts.variables if x.visible_to_services]


def _pull_policies(
    image: str, job_policies: Sequence[str], k8s: KubernetesConfig
) -> tuple[PullPolicy, ...]:
    """Job policy, else config policy; neither: () and the cluster decides (Always for :latest)."""
    if not job_policies and not k8s.pull_policy:
        return ()
    return effective_pull_policies(image, job_policies, k8s.pull_policy, k8s.allowed_pull_policies)


def _job_user(executor_opts: Mapping[str, object]) -> str:
    opts = executor_opts.get("kubernetes") if executor_opts else None
    return str(opts.get("user", "")) if isinstance(opts, dict) else ""


def _build_image(facts: JobFacts, k8s: KubernetesConfig, name: str, warnings: list[str]) -> ImageSpec:
    if not name:
        raise JobConfigurationError(
            "no image: the job has no `image:` and the runner has no default image; "
            "set `image:` in .gitlab-ci.yml or `image` in [runners.kubernetes] (or --kubernetes-image)"
        )
    job_image = facts.payload.image
    if job_image.name:
        check_allowed("image", name, k8s.allowed_images,
                      internal_default=name == v.expand_value(k8s.image, v.as_mapping(facts.variables)))
    user = _job_user(job_image.executor_opts)
    security = build_security(k8s, k8s.build_container_security_context, user, warnings, BUILD_CONTAINER)
    return ImageSpec(
        name=name,
        entrypoint=None,  # the build container's command is the shell; `image:entrypoint` is ignored
        pull_policies=_pull_policies(name, job_image.pull_policy, k8s),
        privileged=bool(security.privileged),
        user=user,
    )


def _service_security(k8s: KubernetesConfig, executor_opts: Mapping[str, object], warnings: list[str],
                      container: str) -> SecurityContext:
    return build_security(k8s, k8s.service_container_security_context, _job_user(executor_opts), warnings,
                          container)


def _container_name(user_aliases: Sequence[str], used: set[str]) -> str:
    """GitLab's getServiceName: the first user alias not yet seen that is a DNS label, else ""."""
    for alias in user_aliases:
        if alias in used:
            continue
        used.add(alias)
        if is_dns_label(alias):
            return alias
    return ""


def _check_host_aliases(definition: ServiceDefinition, index: int, user_aliases: Sequence[str]) -> None:
    for alias in user_aliases:
        if not is_dns_subdomain(alias):
            raise JobConfigurationError(
                f"provided host alias {alias} for service {definition.image.name} is invalid DNS: "
                f"services[{index}].alias must be lower case letters, digits, '-' and '.', "
                "starting and ending with a letter or digit"
            )


def _build_services(
    facts: JobFacts, k8s: KubernetesConfig, values: dict[str, str], warnings: list[str]
) -> list[ServiceSpec]:
    definitions = service_definitions(k8s.services, facts.payload.services, k8s.allowed_services, None, values)
    used: set[str] = set(RESERVED_CONTAINER_NAMES)
    unnamed = 0
    visible = [x for x in facts.variables if x.visible_to_services]
    honor = facts.flag("FF_KUBERNETES_HONOR_ENTRYPOINT")
    services = []
    for index, definition in enumerate(definitions):
        svc = definition.image
        if not svc.name:
            continue
        parsed = split_name_and_version(svc.name)
        user_aliases = split_user_aliases(svc.alias)
        _check_host_aliases(definition, index, user_aliases)
        name = _container_name(user_aliases, used)
        if not name:
            name, unnamed = f"svc-{unnamed}", unnamed + 1
        own = [(x.key, v.expand_value(x.value, values)) for x in svc.variables]
        security = _service_security(k8s, svc.executor_opts, warnings, name)
        derived = [a for a in parsed.derived_aliases if is_dns_subdomain(a)]
        services.append(ServiceSpec(
            index=index,
            image=svc.name,  # as written: Kubernetes reads a missing tag as :latest
            service=parsed.service,
            version=parsed.version,
            aliases=tuple(dict.fromkeys((*derived, *user_aliases))) if not svc.ports else (),
            user_aliases=user_aliases,
            container_suffix=name,
            command=() if honor else tuple(svc.command),
            entrypoint=None if honor or not svc.entrypoint else tuple(svc.entrypoint),
            env=tuple(service_env(visible, svc.variables, facts.variables)),
            pull_policies=_pull_policies(svc.name, svc.pull_policy, k8s),
            privileged=bool(security.privileged),
            health_ports=health_ports(own),
            user=_job_user(svc.executor_opts),
        ))
    return sorted(services, key=lambda s: s.container_suffix)


def _namespace(facts: JobFacts, k8s: KubernetesConfig, warnings: list[str]) -> str:
    if k8s.namespace_per_job:
        return f"ci-job-{facts.payload.id}"
    namespace = k8s.namespace
    overwrite = facts.value("KUBERNETES_NAMESPACE_OVERWRITE") or ""
    if overwrite and k8s.namespace_overwrite_allowed:
        if re.search(k8s.namespace_overwrite_allowed, overwrite):
            namespace = overwrite
        else:
            raise JobConfigurationError(
                f"KUBERNETES_NAMESPACE_OVERWRITE={overwrite!r} does not match the runner's "
                f"namespace_overwrite_allowed {k8s.namespace_overwrite_allowed!r}"
            )
    if not namespace:
        warnings.append("Namespace is empty, therefore assuming 'default'.")
        namespace = "default"
    if not is_dns_label(namespace):
        raise JobConfigurationError(
            f"[runners.kubernetes] namespace {namespace!r} is not a valid namespace name; "
            "use lower case letters, digits and '-'"
        )
    return namespace


def _scripts_dir(facts: JobFacts, k8s: KubernetesConfig) -> str:
    base = (k8s.scripts_base_dir.rstrip("/\\") + "/scripts") if k8s.scripts_base_dir else "/scripts"
    return f"{base}-{facts.payload.job_info.project_id}-{facts.payload.id}"


def _host_aliases(services: Sequence[ServiceSpec]) -> tuple[str, ...]:
    """Every service alias that is a DNS subdomain, services in container-name order (GitLab's)."""
    return tuple(dict.fromkeys(alias for svc in services for alias in svc.aliases))


def _options(
    facts: JobFacts,
    k8s: KubernetesConfig,
    services: Sequence[ServiceSpec],
    values: dict[str, str],
    warnings: list[str],
) -> KubernetesOptions:
    timeout = facts.payload.runner_info.timeout
    scripts_dir = _scripts_dir(facts, k8s)
    empty_dirs, host_paths, keyed = build_volumes(k8s, values, facts.builds_dir, scripts_dir, warnings)
    cleanup_timeout = k8s.cleanup_resources_timeout
    return KubernetesOptions(
        host=k8s.host,
        bearer_token=k8s.bearer_token,
        ca_file=k8s.ca_file,
        cert_file=k8s.cert_file,
        key_file=k8s.key_file,
        context=k8s.context,
        namespace=_namespace(facts, k8s, warnings),
        namespace_per_job=k8s.namespace_per_job,
        pod_name_prefix=facts.unique_name[:POD_NAME_PREFIX_LIMIT],
        service_account=k8s.service_account,
        automount_service_account_token=k8s.automount_service_account_token,
        pod_labels=build_labels(facts, k8s, values, warnings),
        pod_annotations=build_annotations(facts, k8s, values),
        node_selector=dict(sorted(k8s.node_selector.items())),
        node_tolerations=build_tolerations(k8s.node_tolerations),
        image_pull_secrets=() if k8s.use_service_account_image_pull_secrets else tuple(k8s.image_pull_secrets),
        registry_auths=registry_auths(facts, warnings),
        build_security=build_security(k8s, k8s.build_container_security_context,
                                      _job_user(facts.payload.image.executor_opts), [], BUILD_CONTAINER),
        service_security=build_security(k8s, k8s.service_container_security_context, "", [], "services"),
        service_security_by_container={
            s.container_suffix: _service_security(k8s, {"kubernetes": {"user": s.user}}, [], s.container_suffix)
            for s in services if s.user
        },
        pod_security=build_pod_security(k8s.pod_security_context),
        build_resources=build_resources(k8s, ""),
        service_resources=build_resources(k8s, "service_"),
        empty_dirs=empty_dirs,
        host_paths=host_paths,
        keyed_volumes=keyed,
        host_aliases=_host_aliases(services),
        extra_host_aliases=tuple(HostAlias(a.ip, tuple(a.hostnames)) for a in k8s.host_aliases),
        scripts_dir=scripts_dir,
        poll_interval=k8s.effective_poll_interval,
        poll_timeout=k8s.effective_poll_timeout,
        cleanup_grace_period_seconds=k8s.cleanup_grace_period_seconds,
        termination_grace_period_seconds=k8s.pod_termination_grace_period_seconds,
        cleanup_resources_timeout=(int(cleanup_timeout.total_seconds()) if cleanup_timeout is not None
                                   else DEFAULT_CLEANUP_RESOURCES_TIMEOUT),
        active_deadline_seconds=timeout + 1 if facts.flag("FF_USE_POD_ACTIVE_DEADLINE_SECONDS") else None,
        honor_entrypoint=facts.flag("FF_KUBERNETES_HONOR_ENTRYPOINT"),
        dns_policy=dns_policy(k8s.dns_policy, warnings),
        scheduler_name=k8s.scheduler_name,
        priority_class_name=k8s.priority_class_name,
        runtime_class_name=k8s.runtime_class_name or "",
    )
