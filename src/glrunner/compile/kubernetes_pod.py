"""Pod-level pieces of the Kubernetes compilation: labels, annotations, security, resources, volumes.

Each function turns one part of `[runners.kubernetes]` into the frozen form the pod builder reads,
with GitLab Runner's rules (spec 1.9, 5): labels sanitised, no user label inside the
`runner.gitlab.com` namespace, NET_RAW dropped by default, per-container security contexts
overriding the global `privileged`/`allow_privilege_escalation`, volume paths variable-expanded,
an invalid emptyDir `size_limit` a warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

from glrunner.compile import variables as v
from glrunner.compile.job import JobFacts, project_url
from glrunner.config.kubernetes import (
    KubernetesConfig,
    KubernetesContainerSecurityContext,
    KubernetesPodSecurityContext,
)
from glrunner.durations import go_duration
from glrunner.errors import JobConfigurationError
from glrunner.model.spec import (
    EmptyDirVolume,
    HostPathVolume,
    KeyedVolume,
    PodSecurityContext,
    RegistryAuth,
    Resources,
    SecurityContext,
    Toleration,
)

RUNNER_LABEL_NAMESPACE = "runner.gitlab.com"
GLRUNNER_LABEL_PREFIX = "io.glrunner."
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
JOB_UID_LABEL = "io.glrunner.job-uid"
DEFAULT_CAP_DROP = ("NET_RAW",)

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")
_PROTECTED_LABEL = re.compile(r"(?i)(^|.*\.)" + re.escape(RUNNER_LABEL_NAMESPACE) + r"(/.*|$)")
_DNS_POLICIES = {
    "none": "None",
    "default": "Default",
    "cluster-first": "ClusterFirst",
    "cluster-first-with-host-net": "ClusterFirstWithHostNet",
}


def is_quantity(text: str) -> bool:
    return bool(_QUANTITY.match(text.strip()))


def sanitize_label(value: str) -> str:
    """GitLab's sanitizeLabel: [-_.a-zA-Z0-9] kept (others become '_'), alphanumeric ends, <= 63."""
    value = re.sub(r"[^-_.a-zA-Z0-9]", "_", value)
    value = re.sub(r"^[^a-zA-Z0-9]+|[^a-zA-Z0-9]+$", "", value)
    return re.sub(r"[^a-zA-Z0-9]+$", "", value[:63])


def build_labels(facts: JobFacts, k8s: KubernetesConfig, values: Mapping[str, str],
                 warnings: list[str]) -> dict[str, str]:
    p = facts.payload
    ns = RUNNER_LABEL_NAMESPACE
    labels = {
        "pod": sanitize_label(facts.unique_name),
        f"project.{ns}/id": str(p.job_info.project_id),
        f"project.{ns}/namespace-id": sanitize_label(facts.value("CI_PROJECT_NAMESPACE_ID") or ""),
        f"project.{ns}/name": sanitize_label(p.job_info.project_name),
        f"project.{ns}/namespace": sanitize_label(facts.value("CI_PROJECT_NAMESPACE") or ""),
        f"project.{ns}/root-namespace": sanitize_label(facts.value("CI_PROJECT_ROOT_NAMESPACE") or ""),
        f"job.{ns}/pod": sanitize_label(facts.unique_name),
        f"manager.{ns}/name": sanitize_label(facts.runner.name),
        f"manager.{ns}/id-short": sanitize_label(facts.short_token),
    }
    for key, value in sorted(k8s.pod_labels.items()):
        if _PROTECTED_LABEL.match(key) or key.startswith(GLRUNNER_LABEL_PREFIX) or key == MANAGED_BY_LABEL:
            warnings.append(f"not setting pod label {key!r}: labels in the {ns!r} and glrunner namespaces "
                            "are the runner's own")
            continue
        labels[key] = sanitize_label(v.expand_value(value, values))
    labels[MANAGED_BY_LABEL] = "glrunner"
    labels[JOB_UID_LABEL] = facts.ctx.job_uid
    return labels


def build_annotations(facts: JobFacts, k8s: KubernetesConfig, values: Mapping[str, str]) -> dict[str, str]:
    p = facts.payload
    ns = RUNNER_LABEL_NAMESPACE
    annotations = {
        f"job.{ns}/id": str(p.id),
        f"job.{ns}/url": f"{project_url(p)}/-/jobs/{p.id}",
        f"job.{ns}/sha": p.git_info.sha,
        f"job.{ns}/before_sha": p.git_info.before_sha,
        f"job.{ns}/ref": p.git_info.ref,
        f"job.{ns}/name": p.job_info.name,
        f"job.{ns}/timeout": go_duration(p.runner_info.timeout),
        f"project.{ns}/id": str(p.job_info.project_id),
    }
    for key, value in sorted(k8s.pod_annotations.items()):
        annotations[key] = v.expand_value(value, values)
    return annotations


def _capabilities(k8s: KubernetesConfig, own: KubernetesContainerSecurityContext) -> tuple[list[str], list[str]]:
    enabled = dict.fromkeys(DEFAULT_CAP_DROP, False)
    enabled.update(dict.fromkeys(k8s.cap_add, True))
    enabled.update(dict.fromkeys(k8s.cap_drop, False))
    add = sorted(c for c, on in enabled.items() if on)
    drop = sorted(c for c, on in enabled.items() if not on)
    if own.capabilities is not None:
        add = list(own.capabilities.add) or add
        drop = list(own.capabilities.drop) or drop
    return add, drop


def _parse_id(text: str, allowed: list[str], kind: str, container: str, warnings: list[str]) -> int | None:
    if not text:
        return None
    if not text.isdigit() or (allowed and text not in allowed):
        warnings.append(f"Error parsing '{kind}' from image options for container {container!r}, "
                        f"using the configured security context: {text!r} is not an allowed {kind}")
        return None
    return int(text)


def build_security(k8s: KubernetesConfig, own: KubernetesContainerSecurityContext, job_user: str,
                   warnings: list[str], container: str) -> SecurityContext:
    """Per-container values win over the global ones; the job's `user` only where neither sets one."""
    add, drop = _capabilities(k8s, own)
    pod = k8s.pod_security_context
    uid_text, _, gid_text = job_user.partition(":")
    run_as_user = own.run_as_user if own.run_as_user is not None else pod.run_as_user
    run_as_group = own.run_as_group if own.run_as_group is not None else pod.run_as_group
    if run_as_user is None:
        run_as_user = _parse_id(uid_text, k8s.allowed_users, "uid", container, warnings)
    if run_as_group is None:
        run_as_group = _parse_id(gid_text, k8s.allowed_groups, "gid", container, warnings)
    privileged = own.privileged if own.privileged is not None else k8s.privileged
    escalation = (own.allow_privilege_escalation if own.allow_privilege_escalation is not None
                  else k8s.allow_privilege_escalation)
    if privileged and escalation is False:
        raise JobConfigurationError(
            f"[runners.kubernetes] the {container} container would be privileged with "
            "allow_privilege_escalation = false, which Kubernetes refuses; set allow_privilege_escalation "
            "to true (or leave it unset) where privileged = true"
        )
    return SecurityContext(
        privileged=privileged,
        allow_privilege_escalation=escalation,
        run_as_user=run_as_user,
        run_as_group=run_as_group,
        cap_add=tuple(add),
        cap_drop=tuple(drop),
        run_as_non_root=own.run_as_non_root,
        read_only_root_filesystem=own.read_only_root_filesystem,
        proc_mount=own.proc_mount.strip().title() if own.proc_mount.strip().lower() in ("default", "unmasked")
        else "",
        selinux_type=own.selinux_type,
    )


def build_pod_security(pod: KubernetesPodSecurityContext) -> PodSecurityContext:
    return PodSecurityContext(
        fs_group=pod.fs_group,
        run_as_user=pod.run_as_user,
        run_as_group=pod.run_as_group,
        run_as_non_root=pod.run_as_non_root,
        supplemental_groups=tuple(pod.supplemental_groups),
        selinux_type=pod.selinux_type,
    )


def _quantity(key: str, value: str) -> str:
    value = value.strip()
    if value and not is_quantity(value):
        raise JobConfigurationError(
            f"[runners.kubernetes] {key}: {value!r} is not a Kubernetes quantity; write it like 500m, 2 or 1Gi"
        )
    return value


def build_resources(k8s: KubernetesConfig, prefix: str) -> Resources:
    """`prefix` "" for the build container, "service_" for services."""
    def get(name: str) -> str:
        key = prefix + name
        return _quantity(key, str(getattr(k8s, key)))

    return Resources(
        cpu_request=get("cpu_request"),
        cpu_limit=get("cpu_limit"),
        memory_request=get("memory_request"),
        memory_limit=get("memory_limit"),
        ephemeral_storage_request=get("ephemeral_storage_request"),
        ephemeral_storage_limit=get("ephemeral_storage_limit"),
    )


def build_tolerations(tolerations: Mapping[str, str]) -> tuple[Toleration, ...]:
    """`"key=value" = "NoSchedule"` is an Equal toleration, `"key" = "NoExecute"` an Exists one."""
    out = []
    for key_value, effect in sorted(tolerations.items()):
        if "=" in key_value:
            key, _, value = key_value.partition("=")
            out.append(Toleration(key=key, operator="Equal", value=value, effect=effect))
        else:
            out.append(Toleration(key=key_value, effect=effect))
    return tuple(out)


def dns_policy(text: str, warnings: list[str]) -> str:
    if not text:
        return ""
    policy = _DNS_POLICIES.get(text.strip().lower())
    if policy is None:
        warnings.append(f"falling back to cluster's default policy: dns_policy {text!r} is not one of "
                        + ", ".join(_DNS_POLICIES))
        return ""
    return policy


def _size_limit(name: str, size: str, warnings: list[str]) -> str:
    size = size.strip()
    if size and not is_quantity(size):
        warnings.append(f'invalid limit quantity "{size}" for empty volume "{name}"')
        return ""
    return size


def build_volumes(
    k8s: KubernetesConfig, values: Mapping[str, str], builds_dir: str, scripts_dir: str, warnings: list[str]
) -> tuple[tuple[EmptyDirVolume, ...], tuple[HostPathVolume, ...], tuple[KeyedVolume, ...]]:
    """Configured volumes (paths expanded), then `repo` at the builds dir and `scripts` for stage scripts."""
    def expand(text: str) -> str:
        return v.expand_value(text, values)

    vols = k8s.volumes
    host_paths = tuple(
        HostPathVolume(name=h.name, mount_path=expand(h.mount_path), host_path=h.host_path or h.mount_path,
                       read_only=h.read_only, sub_path=expand(h.sub_path), mount_propagation=h.mount_propagation or "")
        for h in vols.host_path
    )
    keyed: list[KeyedVolume] = [
        KeyedVolume(kind="secret", name=s.name, mount_path=expand(s.mount_path), read_only=s.read_only,
                    sub_path=expand(s.sub_path), items=dict(s.items))
        for s in vols.secret
    ]
    seen_claims: set[str] = set()
    for claim in vols.pvc:
        if claim.name in seen_claims:
            continue
        seen_claims.add(claim.name)
        keyed.append(KeyedVolume(kind="pvc", name=expand(claim.name), mount_path=expand(claim.mount_path),
                                 read_only=claim.read_only, sub_path=expand(claim.sub_path),
                                 mount_propagation=claim.mount_propagation or ""))
    keyed += [
        KeyedVolume(kind="config_map", name=c.name, mount_path=expand(c.mount_path), read_only=c.read_only,
                    sub_path=expand(c.sub_path), items=dict(c.items))
        for c in vols.config_map
    ]
    empty_dirs = [
        EmptyDirVolume(name=e.name, mount_path=expand(e.mount_path), medium=e.medium,
                       size_limit=_size_limit(e.name, e.size_limit, warnings), sub_path=expand(e.sub_path))
        for e in vols.empty_dir
    ]
    for kind, entries in (("csi", vols.csi), ("nfs", vols.nfs)):
        for entry in entries:
            warnings.append(f"{kind} volume {entry.name!r} is not supported by glrunner yet and is not mounted")
    configured: list[EmptyDirVolume | HostPathVolume | KeyedVolume] = [*host_paths, *keyed, *empty_dirs]
    if builds_dir not in [m.mount_path for m in configured]:
        empty_dirs.append(EmptyDirVolume(name="repo", mount_path=builds_dir))
    empty_dirs.append(EmptyDirVolume(name="scripts", mount_path=scripts_dir))
    _check_unique([*host_paths, *keyed, *empty_dirs])
    return tuple(empty_dirs), host_paths, tuple(keyed)


def _check_unique(volumes: list[EmptyDirVolume | HostPathVolume | KeyedVolume]) -> None:
    names: set[str] = set()
    paths: set[str] = set()
    for vol in volumes:
        if vol.name in names:
            raise JobConfigurationError(
                f"[runners.kubernetes.volumes] two volumes are named {vol.name!r} "
                "(repo and scripts are the runner's own); give each volume its own name"
            )
        if vol.mount_path in paths:
            raise JobConfigurationError(
                f'[runners.kubernetes.volumes] volume for container path "{vol.mount_path}" is already defined'
            )
        names.add(vol.name)
        paths.add(vol.mount_path)


def _decode_auth(entry: Mapping[str, object]) -> tuple[str, str] | None:
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    if username or password:
        return username, password
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, _, secret = base64.b64decode(auth).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, secret
    return None


def registry_auths(facts: JobFacts, warnings: list[str]) -> tuple[RegistryAuth, ...]:
    """Registry credentials for pulling: DOCKER_AUTH_CONFIG first, then the job's `credentials`."""
    found: dict[str, RegistryAuth] = {}
    text = facts.value("DOCKER_AUTH_CONFIG")
    if text:
        try:
            auths = json.loads(text).get("auths", {})
        except (ValueError, AttributeError):
            auths = None
        if not isinstance(auths, dict):
            warnings.append("DOCKER_AUTH_CONFIG is not valid JSON with an \"auths\" object; it is ignored")
            auths = {}
        for server, entry in auths.items():
            pair = _decode_auth(entry) if isinstance(entry, dict) else None
            if pair is not None:
                found.setdefault(server, RegistryAuth(server, *pair))
    for credential in facts.payload.credentials:
        if credential.get("type") == "registry" and credential.get("url"):
            server = str(credential["url"])
            found.setdefault(server, RegistryAuth(server, str(credential.get("username", "")),
                                                  str(credential.get("password", ""))))
    return tuple(found[s] for s in sorted(found))
