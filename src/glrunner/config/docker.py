"""`[runners.docker]`: the Docker executor's settings, keys and defaults as in GitLab Runner (spec 1.9).

Fields are declared in GitLab Runner's order, which is the order `register` writes them in.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from glrunner.config.base import PullPolicies, PullPolicyName, TomlModel

DEFAULT_WAIT_FOR_SERVICES_TIMEOUT = 30


class DockerService(TomlModel):
    """One `[[runners.docker.services]]` (also used by `[[runners.kubernetes.services]]`)."""

    name: str
    alias: str = ""
    command: list[str] = Field(default_factory=list)
    entrypoint: list[str] = Field(default_factory=list)
    environment: list[str] = Field(default_factory=list)

    @property
    def aliases(self) -> list[str]:
        """`alias` may hold several names separated by commas and/or spaces."""
        return self.alias.replace(",", " ").split()


class DockerConfig(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {
            "tls_verify",
            "image",
            "privileged",
            "disable_entrypoint_overwrite",
            "oom_kill_disable",
            "disable_cache",
            "volume_keep",
            "shm_size",
            "network_mtu",
        }
    )

    host: str = ""
    tls_cert_path: str = ""
    tls_verify: bool = False
    hostname: str = ""
    image: str = ""
    runtime: str = ""
    memory: str = ""
    memory_swap: str = ""
    memory_reservation: str = ""
    cgroup_parent: str = ""
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    cpus: str = ""
    cpu_shares: int = 0
    dns: list[str] = Field(default_factory=list)
    dns_search: list[str] = Field(default_factory=list)
    privileged: bool = False
    services_privileged: bool | None = None
    disable_entrypoint_overwrite: bool = False
    user: str = ""
    allowed_users: list[str] = Field(default_factory=list)
    group_add: list[str] = Field(default_factory=list)
    userns_mode: str = ""
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    oom_kill_disable: bool = False
    oom_score_adjust: int = 0
    security_opt: list[str] = Field(default_factory=list)
    services_security_opt: list[str] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)
    device_cgroup_rules: list[str] = Field(default_factory=list)
    gpus: str = ""
    services_devices: dict[str, list[str]] = Field(default_factory=dict)
    disable_cache: bool = False
    volumes: list[str] = Field(default_factory=list)
    volume_keep: bool = False
    volume_driver: str = ""
    volume_driver_ops: dict[str, str] = Field(default_factory=dict)
    cache_dir: str = ""
    extra_hosts: list[str] = Field(default_factory=list)
    volumes_from: list[str] = Field(default_factory=list)
    network_mode: str = ""
    pid_mode: str = ""
    ipcmode: str = ""
    mac_address: str = ""
    links: list[str] = Field(default_factory=list)
    services: list[DockerService] = Field(default_factory=list)
    services_limit: int | None = None  # None: unlimited (GitLab's -1)
    service_memory: str = ""
    service_memory_swap: str = ""
    service_memory_reservation: str = ""
    service_cgroup_parent: str = ""
    service_cpuset_cpus: str = ""
    service_cpus: str = ""
    service_cpu_shares: int = 0
    service_gpus: str = ""
    wait_for_services_timeout: int = 0  # 0: 30 s; negative: no health check
    allowed_images: list[str] = Field(default_factory=list)
    allowed_privileged_images: list[str] = Field(default_factory=list)
    allowed_privileged_services: list[str] = Field(default_factory=list)
    allowed_pull_policies: list[PullPolicyName] = Field(default_factory=list)
    allowed_services: list[str] = Field(default_factory=list)
    pull_policy: PullPolicies = Field(default_factory=list)  # empty: GitLab's default ["always"]
    isolation: str = ""
    shm_size: int = 0
    tmpfs: dict[str, str] = Field(default_factory=dict)
    services_tmpfs: dict[str, str] = Field(default_factory=dict)
    sysctls: dict[str, str] = Field(default_factory=dict)
    helper_image: str = ""
    helper_image_flavor: str = ""
    container_labels: dict[str, str] = Field(default_factory=dict)
    enable_ipv6: bool = False
    ulimit: dict[str, str] = Field(default_factory=dict)
    network_mtu: int = 0
    log_options: dict[str, str] = Field(default_factory=dict)
    # glrunner extension: give each docker:dind service a persistent /var/lib/docker per project and
    # concurrency slot, so images and build layers survive between jobs. Never written by register.
    dind_layer_cache: bool = False

    @property
    def effective_pull_policies(self) -> list[PullPolicyName]:
        return list(self.pull_policy) or ["always"]

    @property
    def effective_wait_for_services_timeout(self) -> int | None:
        """Seconds to wait for services; None when health checks are disabled (negative value)."""
        if self.wait_for_services_timeout < 0:
            return None
        return self.wait_for_services_timeout or DEFAULT_WAIT_FOR_SERVICES_TIMEOUT

    @property
    def effective_services_privileged(self) -> bool:
        return self.privileged if self.services_privileged is None else self.services_privileged
