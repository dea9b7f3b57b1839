"""`JobSpec`: what to run, decided completely, for an executor to carry out.

The compiler (`glrunner.compile`) makes it from a `JobPayload` and the runner's configuration; all
policy (allowed images, privileges, pull policies, aliases, names, labels, volumes, variables) is
decided there. Executors read only this. It is frozen and JSON-serialisable (`glrunner compile`
prints it), and golden-tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PullPolicy = Literal["always", "if-not-present", "never"]
VolumeKind = Literal["persistent", "temporary", "bind", "anonymous"]


@dataclass(frozen=True)
class ImageSpec:
    """The build container's image."""

    name: str
    # None: the image's own ENTRYPOINT. A tuple is passed verbatim; ("",) resets it, as in Docker.
    entrypoint: tuple[str, ...] | None = None
    pull_policies: tuple[PullPolicy, ...] = ("always",)
    privileged: bool = False
    user: str = ""
    platform: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """One service container, started before the build container, reachable by its aliases."""

    index: int  # position in the combined (config + job) service list
    image: str  # normalised reference, e.g. "postgres:latest"
    service: str  # image without tag/digest/registry port, e.g. "docker" or "tutum/wordpress"
    version: str  # tag, "@sha256:..." or "latest"
    aliases: tuple[str, ...]  # network aliases: derived ones then user ones, duplicates removed
    user_aliases: tuple[str, ...] = ()
    container_suffix: str = ""  # "<slug>-<index>", appended to "<project unique name>-<job uid>-"
    command: tuple[str, ...] = ()  # empty: the image's CMD
    entrypoint: tuple[str, ...] | None = None  # None: the image's ENTRYPOINT
    env: tuple[tuple[str, str], ...] = ()
    pull_policies: tuple[PullPolicy, ...] = ("always",)
    privileged: bool = False
    # Ports that mean "ready": from HEALTHCHECK_TCP_PORT, or None to use the image's exposed TCP ports.
    health_ports: tuple[int, ...] | None = None
    user: str = ""
    platform: str = ""
    # Mounts of this service alone (besides the job's volumes), e.g. the dind layer cache.
    own_volumes: tuple[VolumeSpec, ...] = ()

    @property
    def is_dind(self) -> bool:
        """A Docker-in-Docker daemon: docker:*-dind and its kin."""
        return "dind" in self.version or self.service.endswith(("/dind", "-dind"))


@dataclass(frozen=True)
class VolumeSpec:
    """A mount for the build container and every service.

    persistent: a named volume kept across jobs (GitLab's reusable cache volumes);
    temporary: a named volume removed at cleanup; bind: a host path;
    anonymous: the build container's own volume, removed with it (used when nothing else shares it).
    """

    kind: VolumeKind
    source: str  # volume name, or host path for binds
    destination: str
    read_only: bool = False
    mode: str = ""  # extra bind options as written by the user ("ro", "rw,z", ...)


@dataclass(frozen=True)
class ScriptVariable:
    key: str
    value: str
    file: bool = False


@dataclass(frozen=True)
class ScriptPlan:
    """Everything needed to render GitLab's stage scripts (see glrunner.shells)."""

    shell: str = "bash"
    variables: tuple[ScriptVariable, ...] = ()
    project_dir: str = "/builds/project"
    tmp_dir: str = "/builds/project.tmp"
    script: tuple[str, ...] = ()  # before_script + script, as one step
    after_script: tuple[str, ...] = ()
    pre_build_script: tuple[str, ...] = ()
    post_build_script: tuple[str, ...] = ()
    debug_trace: bool = False


@dataclass(frozen=True)
class StageScript:
    """One rendered stage: its trace section name, the line shown for it and the script text."""

    name: str
    description: str
    text: str


@dataclass(frozen=True)
class SourceSpec:
    """Where the project files come from and how they reach the builds directory."""

    kind: Literal["local", "git", "none"] = "none"
    local_path: str = ""
    files: tuple[str, ...] = ()
    repo_url: str = ""
    ref: str = ""
    sha: str = ""
    refspecs: tuple[str, ...] = ()
    depth: int = 0
    strategy: Literal["clone", "fetch", "none", "empty"] = "clone"


@dataclass(frozen=True)
class DockerOptions:
    """Docker-executor-only settings, already resolved from [runners.docker]."""

    host: str = ""
    tls_verify: bool = False
    tls_cert_path: str = ""
    network_mode: str = ""  # "": a per-job user-defined network named network_name
    network_name: str = ""
    network_mtu: int = 0
    hostname: str = ""
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    shm_size: int = 0
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    services_security_opt: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    runtime: str = ""
    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    cpus: float = 0.0
    cpu_shares: int = 0
    cpuset_cpus: str = ""
    service_memory: int = 0
    service_cpus: float = 0.0
    oom_kill_disable: bool = False
    oom_score_adjust: int = 0
    sysctls: dict[str, str] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)
    services_tmpfs: dict[str, str] = field(default_factory=dict)
    user: str = ""
    volume_keep: bool = False
    volume_driver: str = ""
    wait_for_services_timeout: int = 30  # seconds; <= 0: do not wait
    use_init: bool = False


@dataclass(frozen=True)
class EmptyDirVolume:
    name: str
    mount_path: str
    medium: str = ""  # copied verbatim: "" (node disk) or "Memory" (tmpfs)
    size_limit: str = ""  # a Kubernetes quantity, already validated
    sub_path: str = ""


@dataclass(frozen=True)
class HostPathVolume:
    name: str
    mount_path: str
    host_path: str = ""
    read_only: bool = False
    sub_path: str = ""
    mount_propagation: str = ""


@dataclass(frozen=True)
class KeyedVolume:
    """A config_map, secret or pvc volume (`name` is the object's name)."""

    kind: Literal["config_map", "secret", "pvc"]
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""
    items: dict[str, str] = field(default_factory=dict)
    mount_propagation: str = ""


@dataclass(frozen=True)
class SecurityContext:
    """A container's securityContext; None/empty leaves the field unset (the cluster's default)."""

    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    proc_mount: str = ""  # "Default" | "Unmasked"
    selinux_type: str = ""


@dataclass(frozen=True)
class PodSecurityContext:
    fs_group: int | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    supplemental_groups: tuple[int, ...] = ()
    selinux_type: str = ""


@dataclass(frozen=True)
class Resources:
    cpu_request: str = ""
    cpu_limit: str = ""
    memory_request: str = ""
    memory_limit: str = ""
    ephemeral_storage_request: str = ""
    ephemeral_storage_limit: str = ""


@dataclass(frozen=True)
class HostAlias:
    """One `/etc/hosts` entry of the pod (`[[runners.kubernetes.host_aliases]]`)."""

    ip: str
    hostnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Toleration:
    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str = ""
    effect: str = ""


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for pulling from one registry; they become the job's image pull secret."""

    server: str
    username: str
    password: str


@dataclass(frozen=True)
class KubernetesOptions:
    """Kubernetes-executor-only settings, already resolved from [runners.kubernetes].

    On Kubernetes, `ServiceSpec.container_suffix` is the service's container name in the pod
    (its first free DNS-label alias, else `svc-<n>`), and `JobSpec.services` are sorted by it.
    """

    host: str = ""
    bearer_token: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    context: str = ""  # kubeconfig context; "" is the current one
    kubeconfig: str = ""  # "": KUBECONFIG or ~/.kube/config, read by the executor at run time
    namespace: str = "default"
    namespace_per_job: bool = False  # `namespace` is then ci-job-<id>, created and deleted by the executor
    pod_name_prefix: str = ""  # "runner-<short>-project-<pid>-concurrent-<n>", cut to 54
    service_account: str = ""
    automount_service_account_token: bool | None = None
    pod_labels: dict[str, str] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    node_tolerations: tuple[Toleration, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()  # existing secrets named in the config
    registry_auths: tuple[RegistryAuth, ...] = ()  # a secret made for the job from these
    build_security: SecurityContext = field(default_factory=SecurityContext)
    service_security: SecurityContext = field(default_factory=SecurityContext)
    # per service container (by name), where the service's own `user` changes the common one
    service_security_by_container: dict[str, SecurityContext] = field(default_factory=dict)
    pod_security: PodSecurityContext = field(default_factory=PodSecurityContext)
    build_resources: Resources = field(default_factory=Resources)
    service_resources: Resources = field(default_factory=Resources)
    empty_dirs: tuple[EmptyDirVolume, ...] = ()  # the configured ones, then `repo` and `scripts`
    host_paths: tuple[HostPathVolume, ...] = ()
    keyed_volumes: tuple[KeyedVolume, ...] = ()
    host_aliases: tuple[str, ...] = ()  # aliases mapped to 127.0.0.1 in the pod's /etc/hosts
    extra_host_aliases: tuple[HostAlias, ...] = ()
    scripts_dir: str = ""  # where stage scripts are written (an emptyDir)
    poll_interval: int = 3
    poll_timeout: int = 180
    cleanup_grace_period_seconds: int | None = None
    termination_grace_period_seconds: int | None = None
    cleanup_resources_timeout: int = 300
    active_deadline_seconds: int | None = None
    honor_entrypoint: bool = False
    dns_policy: str = ""
    scheduler_name: str = ""
    priority_class_name: str = ""
    runtime_class_name: str = ""


@dataclass(frozen=True)
class JobSpec:
    executor: str
    job_id: int
    job_name: str
    stage: str
    pipeline_id: int
    project_id: int
    project_path: str
    runner_short_token: str
    project_unique_name: str  # runner-<short>-project-<pid>-concurrent-<n>
    job_uid: str  # 16 hex chars, unique per job run; part of every container name
    labels: dict[str, str]
    timeout: int  # seconds
    image: ImageSpec
    services: tuple[ServiceSpec, ...]
    volumes: tuple[VolumeSpec, ...]
    builds_dir: str
    project_dir: str
    cache_dir: str
    env: tuple[tuple[str, str], ...]  # the build container's environment
    script: ScriptPlan
    source: SourceSpec
    masked: tuple[str, ...] = ()  # phrases replaced by [MASKED]
    token_prefixes: tuple[str, ...] = ()  # "glpat-" etc.: what follows is masked
    trace_sections: bool = True
    after_script_timeout: int = 300
    warnings: tuple[str, ...] = ()  # decided at compile time, printed in the trace
    docker: DockerOptions | None = None
    kubernetes: KubernetesOptions | None = None

    @property
    def container_prefix(self) -> str:
        return f"{self.project_unique_name}-{self.job_uid}"
