"""The top of config.toml: global settings and `[[runners]]` (spec 1.9), in GitLab Runner's key order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field, PrivateAttr, field_validator

from glrunner.config.base import GoDuration, TomlModel, toml_key
from glrunner.config.cache import CacheConfig
from glrunner.config.docker import DockerConfig
from glrunner.config.kubernetes import KubernetesConfig
from glrunner.errors import Problem, UsageError

DEFAULT_CONCURRENT = 1
DEFAULT_CHECK_INTERVAL = 3
DEFAULT_SHUTDOWN_TIMEOUT = 30
DEFAULT_SESSION_TIMEOUT = 1800
DEFAULT_CONNECTION_MAX_AGE = timedelta(minutes=15)
DEFAULT_OUTPUT_LIMIT_KIB = 4096

OpaqueTable = dict[str, object]


class CustomBuildDir(TomlModel):
    enabled: bool | None = None


class ArtifactConfig(TomlModel):
    upload_timeout: GoDuration | None = None
    response_header_timeout: GoDuration | None = None


class RunnerSettings(TomlModel):
    """One `[[runners]]` entry (GitLab's RunnerConfig + RunnerCredentials + RunnerSettings)."""

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {"name", "url", "id", "token", "token_obtained_at", "token_expires_at", "executor"}
    )

    name: str = ""
    limit: int = 0  # 0: unlimited
    output_limit: int = 0  # KiB; 0: 4096
    request_concurrency: int = 0  # 0: 1
    strict_check_interval: bool | None = None
    unhealthy_requests_limit: int = 0
    unhealthy_interval: GoDuration | None = None
    job_status_final_update_retry_limit: int = 0
    experimental: OpaqueTable | None = None
    url: str = ""
    id: int = 0
    token: str = ""
    token_obtained_at: datetime | None = None
    token_expires_at: datetime | None = None
    tls_ca_file: str = toml_key("tls-ca-file", "")
    tls_cert_file: str = toml_key("tls-cert-file", "")
    tls_key_file: str = toml_key("tls-key-file", "")
    labels: dict[str, str] = Field(default_factory=dict)
    executor: str = ""
    builds_dir: str = ""
    cache_dir: str = ""
    clone_url: str = ""
    environment: list[str] = Field(default_factory=list)
    proxy_exec: bool | None = None
    pre_get_sources_script: str = ""
    post_get_sources_script: str = ""
    pre_build_script: str = ""
    post_build_script: str = ""
    prepare_timeout: GoDuration | None = None
    get_sources_timeout: GoDuration | None = None
    debug_trace_disabled: bool = False
    safe_directory_checkout: bool | None = None
    clean_git_config: bool | None = None
    shell: str = ""
    custom_build_dir: CustomBuildDir = Field(default_factory=CustomBuildDir)
    referees: OpaqueTable | None = None
    cache: CacheConfig | None = None
    artifact: ArtifactConfig = Field(default_factory=ArtifactConfig)
    feature_flags: dict[str, bool] = Field(default_factory=dict)
    monitoring: OpaqueTable | None = None
    use_slot_cgroups: bool = False
    slot_cgroup_template: str = ""
    instance: OpaqueTable | None = None
    ssh: OpaqueTable | None = None
    docker: DockerConfig | None = None
    parallels: OpaqueTable | None = None
    virtualbox: OpaqueTable | None = None
    machine: OpaqueTable | None = None
    kubernetes: KubernetesConfig | None = None
    custom: OpaqueTable | None = None
    autoscaler: OpaqueTable | None = None
    step_runner_image: str = ""

    @field_validator("token_obtained_at", "token_expires_at", mode="after")
    @classmethod
    def _zero_time_is_unset(cls, value: datetime | None) -> datetime | None:
        """GitLab writes an unset time as 0001-01-01T00:00:00Z."""
        return None if value is not None and value.year == 1 else value

    def feature_flag(self, name: str) -> bool | None:
        """The value `[runners.feature_flags]` sets for `name`, or None when it is not set."""
        return self.feature_flags.get(name)

    @property
    def effective_output_limit_bytes(self) -> int:
        return (self.output_limit if self.output_limit > 0 else DEFAULT_OUTPUT_LIMIT_KIB) * 1024

    @property
    def effective_request_concurrency(self) -> int:
        return max(self.request_concurrency, 1)


class SessionServer(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset({"session_timeout"})

    listen_address: str = ""
    advertise_address: str = ""
    session_timeout: int = DEFAULT_SESSION_TIMEOUT


LogLevel = Literal["panic", "fatal", "error", "warning", "info", "debug"]
LogFormat = Literal["runner", "text", "json"]


class Config(TomlModel):
    """The whole of config.toml. `warnings` lists unknown keys (not fatal); `loaded` is False when
    the file did not exist and these are GitLab Runner's defaults."""

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {"concurrent", "check_interval", "shutdown_timeout", "session_server"}
    )

    listen_address: str = ""
    session_server: SessionServer = Field(default_factory=SessionServer)
    labels: dict[str, str] = Field(default_factory=dict)
    concurrent: int = DEFAULT_CONCURRENT
    check_interval: int = 0  # 0: 3 s
    log_level: LogLevel | None = None
    log_format: LogFormat | None = None
    user: str = ""
    runners: list[RunnerSettings] = Field(default_factory=list)
    sentry_dsn: str | None = None
    connection_max_age: GoDuration | None = None  # 15 min once a file was loaded (spec 1.6)
    machine: OpaqueTable | None = None
    experimental: OpaqueTable | None = None
    shutdown_timeout: int = 0  # seconds; 0: 30

    _warnings: tuple[Problem, ...] = PrivateAttr(default=())
    _loaded: bool = PrivateAttr(default=False)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return self._warnings

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def effective_check_interval(self) -> int:
        return self.check_interval if self.check_interval > 0 else DEFAULT_CHECK_INTERVAL

    @property
    def effective_shutdown_timeout(self) -> int:
        return self.shutdown_timeout if self.shutdown_timeout > 0 else DEFAULT_SHUTDOWN_TIMEOUT

    def find_runner(self, name: str | None = None) -> RunnerSettings:
        """The runner called `name`, or the first one when `name` is None."""
        if not self.runners:
            raise UsageError("config.toml has no [[runners]]; add one with `glrunner register`")
        if name is None:
            return self.runners[0]
        for runner in self.runners:
            if runner.name == name:
                return runner
        names = ", ".join(f'"{r.name}"' for r in self.runners)
        raise UsageError(f'no runner named "{name}" in config.toml; the configured runners are: {names}')
