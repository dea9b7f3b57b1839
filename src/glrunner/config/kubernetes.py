"""`[runners.kubernetes]`: the Kubernetes executor's settings as in GitLab Runner (spec 1.9, 5).

Sections glrunner does not interpret (affinity, lifecycle hooks, pod_spec patches, autoscaler) are
kept as opaque tables so that valid GitLab files load without warnings.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from glrunner.config.base import GoDuration, PullPolicies, PullPolicyName, TomlModel
from glrunner.config.docker import DockerService

DEFAULT_POLL_INTERVAL = 3
DEFAULT_POLL_TIMEOUT = 180

OpaqueTable = dict[str, object]


class _VolumeMount(TomlModel):
    name: str
    mount_path: str
    sub_path: str = ""


class KubernetesHostPath(_VolumeMount):
    read_only: bool = False
    host_path: str = ""  # empty: same as mount_path
    mount_propagation: str | None = None


class KubernetesPVC(_VolumeMount):
    read_only: bool = False
    mount_propagation: str | None = None


class KubernetesConfigMap(_VolumeMount):
    read_only: bool = False
    items: dict[str, str] = Field(default_factory=dict)


class KubernetesSecret(_VolumeMount):
    read_only: bool = False
    items: dict[str, str] = Field(default_factory=dict)


class KubernetesEmptyDir(_VolumeMount):
    medium: str = ""
    size_limit: str = ""
    mount_propagation: str | None = None


class KubernetesCSI(_VolumeMount):
    driver: str
    fs_type: str = ""
    read_only: bool = False
    volume_attributes: dict[str, str] = Field(default_factory=dict)


class KubernetesNFS(_VolumeMount):
    server: str
    path: str
    read_only: bool = False


class KubernetesVolumes(TomlModel):
    host_path: list[KubernetesHostPath] = Field(default_factory=list)
    pvc: list[KubernetesPVC] = Field(default_factory=list)
    config_map: list[KubernetesConfigMap] = Field(default_factory=list)
    secret: list[KubernetesSecret] = Field(default_factory=list)
    empty_dir: list[KubernetesEmptyDir] = Field(default_factory=list)
    csi: list[KubernetesCSI] = Field(default_factory=list)
    nfs: list[KubernetesNFS] = Field(default_factory=list)


class KubernetesCapabilities(TomlModel):
    add: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)


class KubernetesProfile(TomlModel):
    type: str = ""
    localhost_profile: str = ""


class KubernetesContainerSecurityContext(TomlModel):
    capabilities: KubernetesCapabilities | None = None
    privileged: bool | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    selinux_type: str = ""
    proc_mount: str = ""
    seccomp_profile: KubernetesProfile | None = None
    app_armor_profile: KubernetesProfile | None = None


class KubernetesPodSecurityContext(TomlModel):
    fs_group: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    supplemental_groups: list[int] = Field(default_factory=list)
    selinux_type: str = ""
    seccomp_profile: KubernetesProfile | None = None
    app_armor_profile: KubernetesProfile | None = None


class KubernetesHostAlias(TomlModel):
    ip: str
    hostnames: list[str] = Field(default_factory=list)


class KubernetesDNSOption(TomlModel):
    name: str
    value: str | None = None


class KubernetesDNSConfig(TomlModel):
    nameservers: list[str] = Field(default_factory=list)
    options: list[KubernetesDNSOption] = Field(default_factory=list)
    searches: list[str] = Field(default_factory=list)


class KubernetesConfig(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {
            "host",
            "bearer_token_overwrite_allowed",
            "image",
            "namespace",
            "namespace_overwrite_allowed",
            "namespace_per_job",
            "node_selector_overwrite_allowed",
            "node_tolerations_overwrite_allowed",
            "pod_labels_overwrite_allowed",
            "service_account_overwrite_allowed",
            "pod_annotations_overwrite_allowed",
            "volumes",
            "dns_config",
        }
    )

    host: str = ""
    context: str = ""
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""
    bearer_token_overwrite_allowed: bool = False
    bearer_token: str = ""
    image: str = ""
    namespace: str = ""
    namespace_overwrite_allowed: str = ""
    namespace_per_job: bool = False
    privileged: bool | None = None
    runtime_class_name: str | None = None
    allow_privilege_escalation: bool | None = None
    cpu_limit: str = ""
    cpu_limit_overwrite_max_allowed: str = ""
    cpu_request: str = ""
    cpu_request_overwrite_max_allowed: str = ""
    memory_limit: str = ""
    memory_limit_overwrite_max_allowed: str = ""
    memory_request: str = ""
    memory_request_overwrite_max_allowed: str = ""
    ephemeral_storage_limit: str = ""
    ephemeral_storage_limit_overwrite_max_allowed: str = ""
    ephemeral_storage_request: str = ""
    ephemeral_storage_request_overwrite_max_allowed: str = ""
    service_cpu_limit: str = ""
    service_cpu_limit_overwrite_max_allowed: str = ""
    service_cpu_request: str = ""
    service_cpu_request_overwrite_max_allowed: str = ""
    service_memory_limit: str = ""
    service_memory_limit_overwrite_max_allowed: str = ""
    service_memory_request: str = ""
    service_memory_request_overwrite_max_allowed: str = ""
    service_ephemeral_storage_limit: str = ""
    service_ephemeral_storage_limit_overwrite_max_allowed: str = ""
    service_ephemeral_storage_request: str = ""
    service_ephemeral_storage_request_overwrite_max_allowed: str = ""
    helper_cpu_limit: str = ""
    helper_cpu_limit_overwrite_max_allowed: str = ""
    helper_cpu_request: str = ""
    helper_cpu_request_overwrite_max_allowed: str = ""
    helper_memory_limit: str = ""
    helper_memory_limit_overwrite_max_allowed: str = ""
    helper_memory_request: str = ""
    helper_memory_request_overwrite_max_allowed: str = ""
    helper_ephemeral_storage_limit: str = ""
    helper_ephemeral_storage_limit_overwrite_max_allowed: str = ""
    helper_ephemeral_storage_request: str = ""
    helper_ephemeral_storage_request_overwrite_max_allowed: str = ""
    pod_cpu_limit: str = ""
    pod_cpu_limit_overwrite_max_allowed: str = ""
    pod_cpu_request: str = ""
    pod_cpu_request_overwrite_max_allowed: str = ""
    pod_memory_limit: str = ""
    pod_memory_limit_overwrite_max_allowed: str = ""
    pod_memory_request: str = ""
    pod_memory_request_overwrite_max_allowed: str = ""
    allowed_images: list[str] = Field(default_factory=list)
    allowed_pull_policies: list[PullPolicyName] = Field(default_factory=list)
    allowed_services: list[str] = Field(default_factory=list)
    allowed_users: list[str] = Field(default_factory=list)
    allowed_groups: list[str] = Field(default_factory=list)
    pull_policy: PullPolicies = Field(default_factory=list)  # empty: the cluster's default
    node_selector: dict[str, str] = Field(default_factory=dict)
    node_selector_overwrite_allowed: str = ""
    node_tolerations: dict[str, str] = Field(default_factory=dict)
    node_tolerations_overwrite_allowed: str = ""
    affinity: OpaqueTable = Field(default_factory=dict)
    image_pull_secrets: list[str] = Field(default_factory=list)
    use_service_account_image_pull_secrets: bool = False
    helper_image: str = ""
    helper_image_flavor: str = ""
    helper_image_autoset_arch_and_os: bool = False
    pod_termination_grace_period_seconds: int | None = None
    cleanup_grace_period_seconds: int | None = None
    cleanup_resources_timeout: GoDuration | None = None  # None: 5 minutes
    poll_interval: int = 0  # 0: 3 s
    poll_timeout: int = 0  # 0: 180 s
    resource_availability_check_max_attempts: int = 0
    retry_limit: int = 0
    retry_backoff_max: int = 0
    retry_limits: dict[str, int] = Field(default_factory=dict)
    pod_labels: dict[str, str] = Field(default_factory=dict)
    pod_labels_overwrite_allowed: str = ""
    scheduler_name: str = ""
    service_account: str = ""
    service_account_overwrite_allowed: str = ""
    automount_service_account_token: bool | None = None
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    pod_annotations_overwrite_allowed: str = ""
    pod_security_context: KubernetesPodSecurityContext = Field(default_factory=KubernetesPodSecurityContext)
    init_permissions_container_security_context: KubernetesContainerSecurityContext = Field(
        default_factory=KubernetesContainerSecurityContext
    )
    build_container_security_context: KubernetesContainerSecurityContext = Field(
        default_factory=KubernetesContainerSecurityContext
    )
    helper_container_security_context: KubernetesContainerSecurityContext = Field(
        default_factory=KubernetesContainerSecurityContext
    )
    service_container_security_context: KubernetesContainerSecurityContext = Field(
        default_factory=KubernetesContainerSecurityContext
    )
    volumes: KubernetesVolumes = Field(default_factory=KubernetesVolumes)
    host_aliases: list[KubernetesHostAlias] = Field(default_factory=list)
    services: list[DockerService] = Field(default_factory=list)
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    suspend_pvc_size: str = ""
    suspend_pvc_storage_class: str = ""
    dns_policy: str = ""
    dns_config: KubernetesDNSConfig = Field(default_factory=KubernetesDNSConfig)
    container_lifecycle: OpaqueTable = Field(default_factory=dict)
    priority_class_name: str = ""
    pod_spec: list[OpaqueTable] = Field(default_factory=list)
    logs_base_dir: str = ""
    scripts_base_dir: str = ""
    print_pod_warning_events: bool | None = None
    pod_disruption_budget: bool | None = None
    autoscaler: OpaqueTable | None = None

    @property
    def effective_poll_interval(self) -> int:
        return self.poll_interval if self.poll_interval > 0 else DEFAULT_POLL_INTERVAL

    @property
    def effective_poll_timeout(self) -> int:
        return self.poll_timeout if self.poll_timeout > 0 else DEFAULT_POLL_TIMEOUT
