"""config.toml: validated models, a located-error parser, and round-trip edits for register/unregister.

    from glrunner.config import load_config, parse_config
    config = load_config("config.toml")          # I/O edge; missing file -> GitLab's defaults
    runner = config.find_runner(None)              # first [[runners]]
    runner.docker.privileged, runner.feature_flag("FF_NETWORK_PER_BUILD")

Attribute names are the TOML keys; the CamelCase `[runners.cache]` keys are snake_case attributes
with the TOML spelling as alias.
"""

from glrunner.config.base import ZERO_TIME, PullPolicyName, parse_go_duration
from glrunner.config.cache import CacheAzureConfig, CacheConfig, CacheGCSConfig, CacheS3Config
from glrunner.config.docker import DockerConfig, DockerService
from glrunner.config.files import default_config_path, load_config, resolve_config_path
from glrunner.config.kubernetes import (
    KubernetesConfig,
    KubernetesContainerSecurityContext,
    KubernetesHostAlias,
    KubernetesVolumes,
)
from glrunner.config.model import Config, RunnerSettings, SessionServer
from glrunner.config.parse import default_config, parse_config
from glrunner.durations import format_go_duration

__all__ = [
    "ZERO_TIME",
    "CacheAzureConfig",
    "CacheConfig",
    "CacheGCSConfig",
    "CacheS3Config",
    "Config",
    "DockerConfig",
    "DockerService",
    "KubernetesConfig",
    "KubernetesContainerSecurityContext",
    "KubernetesHostAlias",
    "KubernetesVolumes",
    "PullPolicyName",
    "RunnerSettings",
    "SessionServer",
    "default_config",
    "default_config_path",
    "format_go_duration",
    "load_config",
    "parse_config",
    "parse_go_duration",
    "resolve_config_path",
]
