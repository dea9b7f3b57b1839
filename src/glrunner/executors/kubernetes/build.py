"""JobSpec -> Kubernetes API request bodies (Pod, Secret, Namespace). Pure: no client, no I/O.

The bodies are plain dicts in the API's JSON shape (camelCase), ready for `create_namespaced_*`,
golden-tested and validated against the server's schema. The pod follows GitLab Runner (spec 5):
`build` first, then the services sorted by container name; the build container runs the shell
detection script with stdin open, which keeps the pod alive between stages; every volume is
mounted in every container; `hostAliases` maps the service aliases to 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from glrunner.executors.kubernetes.commands import container_shell
from glrunner.model.spec import (
    EmptyDirVolume,
    HostPathVolume,
    JobSpec,
    KeyedVolume,
    KubernetesOptions,
    PodSecurityContext,
    PullPolicy,
    Resources,
    SecurityContext,
    ServiceSpec,
)

BUILD_CONTAINER = "build"
SUFFIX_LENGTH = 8
_PULL_POLICIES: dict[str, str] = {"always": "Always", "if-not-present": "IfNotPresent", "never": "Never"}

Body = dict[str, Any]


def options(spec: JobSpec) -> KubernetesOptions:
    return spec.kubernetes or KubernetesOptions()


def _suffix(spec: JobSpec, salt: str) -> str:
    """8 characters of [a-z0-9] from the job's random uid: random per job, reproducible per spec."""
    if not salt:
        return spec.job_uid[:SUFFIX_LENGTH]
    return hashlib.sha256(f"{spec.job_uid}-{salt}".encode()).hexdigest()[:SUFFIX_LENGTH]


def pod_name(spec: JobSpec, attempt: int = 0) -> str:
    """`<prefix cut to 54>-<8 characters>`; each preparation attempt gets a fresh name."""
    return f"{options(spec).pod_name_prefix}-{_suffix(spec, f'attempt-{attempt}' if attempt else '')}"


def secret_name(spec: JobSpec, attempt: int = 0) -> str:
    return f"{options(spec).pod_name_prefix}-{_suffix(spec, f'secret-{attempt}')}"


def stage_script_path(spec: JobSpec, stage_name: str) -> str:
    return f"{options(spec).scripts_dir}/{stage_name}"


def namespace_body(spec: JobSpec) -> Body:
    opts = options(spec)
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": opts.namespace, "labels": _own_labels(opts)}}


def _own_labels(opts: KubernetesOptions) -> dict[str, str]:
    """The labels glrunner finds its own objects by (pods carry GitLab's as well)."""
    return {k: val for k, val in opts.pod_labels.items() if k.startswith(("io.glrunner.", "app.kubernetes.io/"))}


def secret_body(spec: JobSpec, attempt: int = 0) -> Body | None:
    """The job's image pull secret, from its registry credentials; None when it has none."""
    opts = options(spec)
    if not opts.registry_auths:
        return None
    auths = {}
    for auth in opts.registry_auths:
        token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
        auths[auth.server] = {"username": auth.username, "password": auth.password, "auth": token}
    config = json.dumps({"auths": auths}, sort_keys=True).encode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(spec, attempt), "namespace": opts.namespace, "labels": _own_labels(opts)},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(config).decode()},
    }


def pull_policy(policies: tuple[PullPolicy, ...], index: int = 0) -> str | None:
    """Kubernetes takes one policy per container: the `index`th (GitLab tries them in order, one pod
    each); none lets the cluster decide."""
    return _PULL_POLICIES[policies[min(index, len(policies) - 1)]] if policies else None


def pull_policy_names(policies: tuple[PullPolicy, ...]) -> str:
    return " ".join(_PULL_POLICIES[p] for p in policies)


def _pruned(body: Body) -> Body:
    """Drop unset fields (None, empty lists and maps) so the body shows only what was decided."""
    return {k: val for k, val in body.items() if val is not None and val != [] and val != {}}


def security_context(ctx: SecurityContext) -> Body | None:
    capabilities = _pruned({"add": list(ctx.cap_add), "drop": list(ctx.cap_drop)})
    body = _pruned({
        "privileged": ctx.privileged,
        "allowPrivilegeEscalation": ctx.allow_privilege_escalation,
        "runAsUser": ctx.run_as_user,
        "runAsGroup": ctx.run_as_group,
        "runAsNonRoot": ctx.run_as_non_root,
        "readOnlyRootFilesystem": ctx.read_only_root_filesystem,
        "procMount": ctx.proc_mount or None,
        "seLinuxOptions": {"type": ctx.selinux_type} if ctx.selinux_type else None,
        "capabilities": capabilities,
    })
    return body or None


def pod_security_context(ctx: PodSecurityContext) -> Body | None:
    return _pruned({
        "fsGroup": ctx.fs_group,
        "runAsUser": ctx.run_as_user,
        "runAsGroup": ctx.run_as_group,
        "runAsNonRoot": ctx.run_as_non_root,
        "supplementalGroups": list(ctx.supplemental_groups),
        "seLinuxOptions": {"type": ctx.selinux_type} if ctx.selinux_type else None,
    }) or None


def resources(res: Resources) -> Body | None:
    requests = _pruned({"cpu": res.cpu_request or None, "memory": res.memory_request or None,
                        "ephemeral-storage": res.ephemeral_storage_request or None})
    limits = _pruned({"cpu": res.cpu_limit or None, "memory": res.memory_limit or None,
                      "ephemeral-storage": res.ephemeral_storage_limit or None})
    return _pruned({"requests": requests, "limits": limits}) or None


def _all_volumes(opts: KubernetesOptions) -> list[HostPathVolume | KeyedVolume | EmptyDirVolume]:
    return [*opts.host_paths, *opts.keyed_volumes, *opts.empty_dirs]


def _items(items: dict[str, str]) -> list[Body]:
    return [{"key": key, "path": path} for key, path in sorted(items.items())]


def _volume(vol: HostPathVolume | KeyedVolume | EmptyDirVolume) -> Body:
    if isinstance(vol, HostPathVolume):
        return {"name": vol.name, "hostPath": {"path": vol.host_path or vol.mount_path}}
    if isinstance(vol, EmptyDirVolume):
        return {"name": vol.name, "emptyDir": _pruned({"medium": vol.medium or None,
                                                        "sizeLimit": vol.size_limit or None})}
    if vol.kind == "secret":
        return {"name": vol.name, "secret": _pruned({"secretName": vol.name, "items": _items(vol.items)})}
    if vol.kind == "config_map":
        return {"name": vol.name, "configMap": _pruned({"name": vol.name, "items": _items(vol.items)})}
    return {"name": vol.name, "persistentVolumeClaim": {"claimName": vol.name}}


def _mount(vol: HostPathVolume | KeyedVolume | EmptyDirVolume) -> Body:
    read_only = getattr(vol, "read_only", False)
    return _pruned({
        "name": vol.name,
        "mountPath": vol.mount_path,
        "subPath": vol.sub_path or None,
        "readOnly": True if read_only else None,
        "mountPropagation": getattr(vol, "mount_propagation", "") or None,
    })


def _env(pairs: tuple[tuple[str, str], ...]) -> list[Body]:
    """`$` doubled: the kubelet expands `$(NAME)` in env values and reads `$$` as `$`, so values
    reach the container exactly as the job defined them."""
    return [{"name": key, "value": value.replace("$", "$$")} for key, value in pairs]


def build_container(spec: JobSpec, policy_index: int = 0) -> Body:
    opts = options(spec)
    shell = container_shell()
    return _pruned({
        "name": BUILD_CONTAINER,
        "image": spec.image.name,
        "imagePullPolicy": pull_policy(spec.image.pull_policies, policy_index),
        # The image's ENTRYPOINT is replaced by the shell unless FF_KUBERNETES_HONOR_ENTRYPOINT.
        "command": None if opts.honor_entrypoint else shell,
        "args": shell if opts.honor_entrypoint else None,
        "env": _env(spec.env),
        "resources": resources(opts.build_resources),
        "volumeMounts": [_mount(vol) for vol in _all_volumes(opts)],
        "securityContext": security_context(opts.build_security),
        "stdin": True,
    })


def service_container(spec: JobSpec, service: ServiceSpec, policy_index: int = 0) -> Body:
    opts = options(spec)
    security = opts.service_security_by_container.get(service.container_suffix, opts.service_security)
    return _pruned({
        "name": service.container_suffix,
        "image": service.image,
        "imagePullPolicy": pull_policy(service.pull_policies, policy_index),
        "command": list(service.entrypoint) if service.entrypoint else None,  # YAML entrypoint
        "args": list(service.command) or None,  # YAML command
        "env": _env(service.env),
        "resources": resources(opts.service_resources),
        "volumeMounts": [_mount(vol) for vol in _all_volumes(opts)],
        "securityContext": security_context(security),
        "stdin": True,
    })


def host_aliases(spec: JobSpec) -> list[Body]:
    opts = options(spec)
    out = [{"ip": "127.0.0.1", "hostnames": list(opts.host_aliases)}] if opts.host_aliases else []
    out += [{"ip": alias.ip, "hostnames": list(alias.hostnames)} for alias in opts.extra_host_aliases]
    return out


def _tolerations(opts: KubernetesOptions) -> list[Body]:
    return [_pruned({"key": t.key, "operator": t.operator, "value": t.value or None, "effect": t.effect or None})
            for t in opts.node_tolerations]


def pod_body(spec: JobSpec, attempt: int = 0, pull_secret: str | None = None,
             policy_choice: Mapping[str, int] | None = None) -> Body:
    """The job's pod. `pull_secret` names the secret made from the job's registry credentials;
    `policy_choice` picks, per container name, which of its pull policies this pod tries."""
    opts = options(spec)
    choice = policy_choice or {}
    pull_secrets = [*opts.image_pull_secrets, *([pull_secret] if pull_secret else [])]
    pod_spec = _pruned({
        "volumes": [_volume(vol) for vol in _all_volumes(opts)],
        "containers": [build_container(spec, choice.get(BUILD_CONTAINER, 0)),
                       *(service_container(spec, s, choice.get(s.container_suffix, 0)) for s in spec.services)],
        "restartPolicy": "Never",
        "activeDeadlineSeconds": opts.active_deadline_seconds,
        "terminationGracePeriodSeconds": opts.termination_grace_period_seconds,
        "serviceAccountName": opts.service_account or None,
        "automountServiceAccountToken": opts.automount_service_account_token,
        "nodeSelector": dict(opts.node_selector),
        "tolerations": _tolerations(opts),
        "imagePullSecrets": [{"name": name} for name in pull_secrets],
        "securityContext": pod_security_context(opts.pod_security),
        "hostAliases": host_aliases(spec),
        "dnsPolicy": opts.dns_policy or None,
        "schedulerName": opts.scheduler_name or None,
        "priorityClassName": opts.priority_class_name or None,
        "runtimeClassName": opts.runtime_class_name or None,
    })
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _pruned({
            "name": pod_name(spec, attempt),
            "namespace": opts.namespace,
            "labels": dict(opts.pod_labels),
            "annotations": dict(opts.pod_annotations),
        }),
        "spec": pod_spec,
    }


def owner_reference(pod: Body) -> Body:
    """Makes the pod the owner of the pull secret, so the cluster deletes it with the pod."""
    meta = pod["metadata"]
    return {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}
