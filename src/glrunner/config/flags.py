"""The `glrunner register` flags that set config.toml keys, as GitLab Runner derives them (spec 1.1, 1.2).

Each row: section (`-` for `[[runners]]`), long flag name inside the section's namespace, the
environment variable (`*`: the section's prefix + the long name in upper case, e.g. DOCKER_IMAGE;
`-`: none), the TOML key (`*`: the long name with `_` for `-`), and the kind of value. The
flag is `--<namespace>-<long>`: `docker image` is `--docker-image`, `cache.s3 bucket-name` is
`--cache-s3-bucket-name`. Map-valued keys (tmpfs, sysctls, labels, ...) have no flag here.

Precedence is GitLab's: a flag on the command line, else its environment variable, else the
default. A flag given several times appends (slices); an environment variable is one value,
except pull policies and feature flags, which are comma-separated lists.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from glrunner.config.base import parse_go_duration

FlagKind = Literal["str", "int", "bool", "list", "pull_policy", "duration", "flags"]

_TABLE = """
- limit * * int
- output-limit * * int
- request-concurrency * * int
- strict-check-interval * * bool
- unhealthy-requests-limit * * int
- unhealthy-interval - * duration
- job-status-final-update-retry-limit RUNNER_job_status_final_update_retry_limit * int
- tls-ca-file CI_SERVER_TLS_CA_FILE tls-ca-file str
- tls-cert-file CI_SERVER_TLS_CERT_FILE tls-cert-file str
- tls-key-file CI_SERVER_TLS_KEY_FILE tls-key-file str
- builds-dir * * str
- cache-dir * * str
- clone-url CLONE_URL * str
- env * environment list
- proxy-exec * * bool
- pre-get-sources-script * * str
- post-get-sources-script * * str
- pre-build-script * * str
- post-build-script * * str
- prepare-timeout * * duration
- get-sources-timeout * * duration
- debug-trace-disabled * * bool
- safe-directory-checkout * * bool
- clean-git-config * * bool
- shell * * str
- feature-flags FEATURE_FLAGS * flags
- use-slot-cgroups * * bool
- slot-cgroup-template * * str
- step-runner-image STEP_RUNNER_IMAGE * str
cache type * Type str
cache path * Path str
cache shared * Shared bool
cache max_uploaded_archive_size CACHE_MAXIMUM_UPLOADED_ARCHIVE_SIZE MaxUploadedArchiveSize int
cache.s3 server-address * ServerAddress str
cache.s3 access-key * AccessKey str
cache.s3 secret-key * SecretKey str
cache.s3 session-token * SessionToken str
cache.s3 bucket-name * BucketName str
cache.s3 bucket-location * BucketLocation str
cache.s3 insecure * Insecure bool
cache.s3 authentication_type * AuthenticationType str
cache.s3 server-side-encryption * ServerSideEncryption str
cache.s3 server-side-encryption-key-id * ServerSideEncryptionKeyID str
cache.s3 dual-stack * DualStack bool
cache.s3 path-style * PathStyle bool
cache.s3 accelerate * Accelerate bool
cache.s3 role-arn * RoleARN str
cache.s3 upload-role-arn * UploadRoleARN str
cache.s3 assume-role-max-concurrency * AssumeRoleMaxConcurrency int
cache.s3 disable-assume-role-credentials-caching * DisableAssumeRoleCredentialsCaching bool
cache.gcs access-id * AccessID str
cache.gcs private-key * PrivateKey str
cache.gcs credentials-file GOOGLE_APPLICATION_CREDENTIALS CredentialsFile str
cache.gcs bucket-name * BucketName str
cache.gcs universe-domain * UniverseDomain str
cache.azure account-name * AccountName str
cache.azure account-key * AccountKey str
cache.azure container-name * ContainerName str
cache.azure storage-domain * StorageDomain str
docker host * * str
docker cert-path * tls_cert_path str
docker tlsverify DOCKER_TLS_VERIFY tls_verify bool
docker hostname * * str
docker image * * str
docker runtime * * str
docker memory * * str
docker memory-swap * * str
docker memory-reservation * * str
docker cgroup-parent * * str
docker cpuset-cpus * * str
docker cpuset-mems * * str
docker cpus * * str
docker cpu-shares * * int
docker dns * * list
docker dns-search * * list
docker privileged * * bool
docker services_privileged * * bool
docker disable-entrypoint-overwrite * * bool
docker user * * str
docker allowed_users * * list
docker group-add * * list
docker userns DOCKER_USERNS_MODE userns_mode str
docker cap-add * * list
docker cap-drop * * list
docker oom-kill-disable * * bool
docker oom-score-adjust * * int
docker security-opt * * list
docker services-security-opt * * list
docker devices * * list
docker device-cgroup-rules * * list
docker gpus * * str
docker disable-cache * * bool
docker volumes * * list
docker volume-keep * * bool
docker volume-driver * * str
docker cache-dir * * str
docker extra-hosts * * list
docker volumes-from * * list
docker network-mode * * str
docker pid-mode * * str
docker ipcmode DOCKER_IPC_MODE * str
docker mac-address * * str
docker links * * list
docker services-limit * * int
docker service-memory * * str
docker service-memory-swap * * str
docker service-memory-reservation * * str
docker service-cgroup-parent * * str
docker service-slot-cgroup-template * * str
docker service-cpuset-cpus * * str
docker service-cpus * * str
docker service-cpu-shares * * int
docker service_gpus * * str
docker wait-for-services-timeout * * int
docker allowed-images * * list
docker allowed-privileged-images * * list
docker allowed-privileged-services * * list
docker allowed-pull-policies * * list
docker allowed-services * * list
docker pull-policy * * pull_policy
docker isolation * * str
docker shm-size * * int
docker helper-image * * str
docker helper-image-flavor * * str
docker enable-ipv6 - * bool
docker network-mtu - * int
kubernetes host * * str
kubernetes context KUBECTL_CONTEXT * str
kubernetes cert-file * * str
kubernetes key-file * * str
kubernetes ca-file * * str
kubernetes bearer_token_overwrite_allowed * * bool
kubernetes bearer_token * * str
kubernetes image * * str
kubernetes namespace * * str
kubernetes namespace_overwrite_allowed * * str
kubernetes namespace_per_job * * bool
kubernetes privileged * * bool
kubernetes runtime-class-name * * str
kubernetes allow-privilege-escalation * * bool
kubernetes cpu-limit * * str
kubernetes cpu-limit-overwrite-max-allowed * * str
kubernetes cpu-request * * str
kubernetes cpu-request-overwrite-max-allowed * * str
kubernetes memory-limit * * str
kubernetes memory-limit-overwrite-max-allowed * * str
kubernetes memory-request * * str
kubernetes memory-request-overwrite-max-allowed * * str
kubernetes ephemeral-storage-limit * * str
kubernetes ephemeral-storage-limit-overwrite-max-allowed * * str
kubernetes ephemeral-storage-request * * str
kubernetes ephemeral-storage-request-overwrite-max-allowed * * str
kubernetes service-cpu-limit * * str
kubernetes service-cpu-limit-overwrite-max-allowed * * str
kubernetes service-cpu-request * * str
kubernetes service-cpu-request-overwrite-max-allowed * * str
kubernetes service-memory-limit * * str
kubernetes service-memory-limit-overwrite-max-allowed * * str
kubernetes service-memory-request * * str
kubernetes service-memory-request-overwrite-max-allowed * * str
kubernetes service-ephemeral_storage-limit * * str
kubernetes service-ephemeral_storage-limit-overwrite-max-allowed * * str
kubernetes service-ephemeral_storage-request * * str
kubernetes service-ephemeral_storage-request-overwrite-max-allowed * * str
kubernetes helper-cpu-limit * * str
kubernetes helper-cpu-limit-overwrite-max-allowed * * str
kubernetes helper-cpu-request * * str
kubernetes helper-cpu-request-overwrite-max-allowed * * str
kubernetes helper-memory-limit * * str
kubernetes helper-memory-limit-overwrite-max-allowed * * str
kubernetes helper-memory-request * * str
kubernetes helper-memory-request-overwrite-max-allowed * * str
kubernetes helper-ephemeral_storage-limit * * str
kubernetes helper-ephemeral_storage-limit-overwrite-max-allowed * * str
kubernetes helper-ephemeral_storage-request * * str
kubernetes helper-ephemeral_storage-request-overwrite-max-allowed * * str
kubernetes pod-cpu-limit * * str
kubernetes pod-cpu-limit-overwrite-max-allowed * * str
kubernetes pod-cpu-request * * str
kubernetes pod-cpu-request-overwrite-max-allowed * * str
kubernetes pod-memory-limit * * str
kubernetes pod-memory-limit-overwrite-max-allowed * * str
kubernetes pod-memory-request * * str
kubernetes pod-memory-request-overwrite-max-allowed * * str
kubernetes allowed-images * * list
kubernetes allowed-pull-policies * * list
kubernetes allowed-services * * list
kubernetes allowed-users * * list
kubernetes allowed-groups * * list
kubernetes pull-policy * * pull_policy
kubernetes node_selector_overwrite_allowed * * str
kubernetes node_tolerations_overwrite_allowed * * str
kubernetes image-pull-secrets * * list
kubernetes use-service-account-image-pull-secrets * * bool
kubernetes helper-image * * str
kubernetes helper-image-flavor * * str
kubernetes helper-image-autoset-arch-and-os * * bool
kubernetes pod_termination_grace_period_seconds * * int
kubernetes cleanup_grace_period_seconds * * int
kubernetes cleanup_resources_timeout * * duration
kubernetes poll-interval * * int
kubernetes poll-timeout * * int
kubernetes resource-availability-check-max-attempts * * int
kubernetes pod_labels_overwrite_allowed * * str
kubernetes scheduler-name * * str
kubernetes service-account * * str
kubernetes service_account_overwrite_allowed * * str
kubernetes automount-service-account-token * * bool
kubernetes pod_annotations_overwrite_allowed * * str
kubernetes cap-add * * list
kubernetes cap-drop * * list
kubernetes suspend-pvc-size * * str
kubernetes suspend-pvc-storage-class * * str
kubernetes dns-policy * * str
kubernetes priority_class_name * * str
kubernetes logs-base-dir * * str
kubernetes scripts-base-dir * * str
kubernetes print-pod-warning-events * * bool
kubernetes pod-disruption-budget * * bool
"""


_ENV_PREFIXES = {
    "-": "RUNNER_",
    "docker": "DOCKER_",
    "kubernetes": "KUBERNETES_",
    "cache": "CACHE_",
    "cache.s3": "CACHE_S3_",
    "cache.gcs": "CACHE_GCS_",
    "cache.azure": "CACHE_AZURE_",
}


@dataclass(frozen=True)
class FlagSpec:
    section: tuple[str, ...]  # () for [[runners]], ("docker",), ("cache", "s3"), ...
    name: str  # the flag without dashes, e.g. "docker-image"
    env: str | None
    key: str  # TOML key inside the section
    kind: FlagKind

    @property
    def param(self) -> str:
        """The Python identifier click gives the option."""
        return self.name.replace("-", "_").replace(".", "_")

    @property
    def path(self) -> tuple[str, ...]:
        return (*self.section, self.key)


@functools.cache
def config_flags() -> tuple[FlagSpec, ...]:
    specs = []
    for row in _TABLE.strip().splitlines():
        section, long, env, key, kind = row.split()
        parts = () if section == "-" else tuple(section.split("."))
        if env == "*":
            env = _ENV_PREFIXES[section] + long.upper().replace("-", "_")
        key = long.replace("-", "_") if key == "*" else key
        name = "-".join((*parts, long))
        specs.append(FlagSpec(parts, name, None if env == "-" else env, key, kind))  # type: ignore[arg-type]
    return tuple(specs)


class FlagValueError(ValueError):
    """A flag or environment variable value that cannot be used; the message names it."""


def parse_go_bool(text: str) -> bool:
    """Go's strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(text)


def resolve_flag(spec: FlagSpec, given: Sequence[str] | str | None, env: Mapping[str, str]) -> object:
    """The value of one flag (command line, else environment), converted; None when neither is set."""
    if isinstance(given, str):
        given = [given]
    source = f"--{spec.name}"
    if not given:
        raw_env = env.get(spec.env, "") if spec.env else ""
        if not raw_env:
            return None
        given, source = [raw_env], f"{spec.env} (environment)"
    try:
        return _convert(spec.kind, list(given))
    except ValueError:
        raise FlagValueError(f"{source}: {_expected(spec.kind)}, got {given[-1]!r}") from None


def _convert(kind: FlagKind, values: list[str]) -> object:
    last = values[-1]
    if kind == "str":
        return last
    if kind == "int":
        return int(last)
    if kind == "bool":
        return parse_go_bool(last)
    if kind == "duration":
        return parse_go_duration(last)
    if kind == "list":
        return values
    if kind == "pull_policy":
        return [part.strip() for value in values for part in value.split(",") if part.strip()]
    return _feature_flags(values)


def _feature_flags(values: list[str]) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, _, setting = item.replace("=", ":").partition(":")
            flags[name.strip()] = parse_go_bool(setting.strip()) if setting else True
    return flags


def _expected(kind: FlagKind) -> str:
    return {
        "int": "expected a whole number",
        "bool": "expected true or false",
        "duration": 'expected a duration such as "30s" or "1h30m"',
        "flags": "expected NAME:true or NAME:false, comma separated",
    }.get(kind, "invalid value")


def flag_for_path(path: tuple[str | int, ...]) -> FlagSpec | None:
    """The flag that sets the key at `path` (relative to the runner), for error messages."""
    for spec in config_flags():
        if path[: len(spec.path)] == spec.path:
            return spec
    return None


def runner_table(values: Mapping[FlagSpec, object]) -> dict[str, object]:
    """Nested TOML-shaped dict of the flags that were set, ready to merge and validate."""
    table: dict[str, object] = {}
    for spec, value in values.items():
        if value is None:
            continue
        node = table
        for part in spec.section:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)
            node = child
        node[spec.key] = value
    return table


# The flags of `register` itself, which set no config.toml key: name, env var, kind, default.
_REGISTER_TABLE: tuple[tuple[str, str, FlagKind, object], ...] = (
    ("config", "CONFIG_FILE", "str", ""),
    ("non-interactive", "REGISTER_NON_INTERACTIVE", "bool", False),
    ("url", "CI_SERVER_URL", "str", ""),
    ("registration-token", "REGISTRATION_TOKEN", "str", ""),
    ("token", "CI_SERVER_TOKEN", "str", ""),
    ("name", "RUNNER_NAME", "str", None),  # None: the host name
    ("executor", "RUNNER_EXECUTOR", "str", ""),
    ("tag-list", "RUNNER_TAG_LIST", "str", ""),
    ("run-untagged", "REGISTER_RUN_UNTAGGED", "bool", False),
    ("locked", "REGISTER_LOCKED", "bool", True),
    ("access-level", "REGISTER_ACCESS_LEVEL", "str", ""),
    ("maximum-timeout", "REGISTER_MAXIMUM_TIMEOUT", "int", 0),
    ("paused", "REGISTER_PAUSED", "bool", False),
    ("maintenance-note", "REGISTER_MAINTENANCE_NOTE", "str", ""),
    ("leave-runner", "REGISTER_LEAVE_RUNNER", "bool", False),
    ("template-config", "TEMPLATE_CONFIG_FILE", "str", ""),
)
REGISTER_FLAGS = tuple(FlagSpec((), name, env, name, kind) for name, env, kind, _ in _REGISTER_TABLE)


def resolve_register_values(
    params: Mapping[str, object], env: Mapping[str, str], default_name: str
) -> dict[str, object]:
    """`register`'s own flags by Python name (`tag_list`, ...): command line, environment, default."""
    values: dict[str, object] = {}
    for spec, (_, _, _, default) in zip(REGISTER_FLAGS, _REGISTER_TABLE, strict=True):
        given = params.get(spec.param)
        value = resolve_flag(spec, given if isinstance(given, str | tuple | list) else None, env)
        values[spec.param] = (default_name if default is None else default) if value is None else value
    return values
