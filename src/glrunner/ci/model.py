"""The normalised .gitlab-ci.yml: frozen dataclasses, no raw YAML past the parser.

Every polymorphic keyword (string-or-list, bool-or-hash, ...) is decided once in the parser; these
types carry only the result. `Location` says where a job was defined, for messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# GitLab's job `when` values (`never` only through rules or as a job that never runs).
WHEN_VALUES = ("on_success", "on_failure", "always", "manual", "delayed", "never")


@dataclass(frozen=True)
class Location:
    file: str
    line: int


@dataclass(frozen=True)
class VariableDef:
    """One `variables:` entry. `raw` is `expand: false`: the runner must not expand the value."""

    key: str
    value: str
    raw: bool = False
    description: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageDef:
    name: str
    entrypoint: tuple[str, ...] = ()  # () = the image's own; ("",) resets it, as in Docker
    pull_policy: tuple[str, ...] = ()
    docker_user: str = ""
    docker_platform: str = ""
    kubernetes_user: str = ""


@dataclass(frozen=True)
class ServiceDef:
    name: str
    alias: str = ""  # as written: several aliases may be separated by commas or spaces
    entrypoint: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    pull_policy: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    docker_user: str = ""
    docker_platform: str = ""
    kubernetes_user: str = ""


@dataclass(frozen=True)
class NeedDef:
    job: str
    artifacts: bool = True
    optional: bool = False


@dataclass(frozen=True)
class RetryDef:
    max: int = 0
    when: tuple[str, ...] = ("always",)
    exit_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class CacheDef:
    key: str = "default"
    key_files: tuple[str, ...] = ()  # `key: {files: [...]}`; GitLab hashes the files' last commits
    key_prefix: str = ""
    paths: tuple[str, ...] = ()
    untracked: bool = False
    policy: str = "pull-push"
    when: str = "on_success"
    fallback_keys: tuple[str, ...] = ()
    unprotect: bool = False


@dataclass(frozen=True)
class ArtifactReport:
    kind: str  # junit, dotenv, coverage_report, ...
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ArtifactsDef:
    name: str = ""
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    untracked: bool = False
    when: str = "on_success"
    expire_in: str = ""
    expose_as: str = ""
    reports: tuple[ArtifactReport, ...] = ()


@dataclass(frozen=True)
class EnvironmentDef:
    name: str
    url: str = ""
    action: str = "start"
    deployment_tier: str = ""
    on_stop: str = ""
    auto_stop_in: str = ""


@dataclass(frozen=True)
class ReleaseDef:
    tag_name: str
    description: str = ""
    name: str = ""
    ref: str = ""


@dataclass(frozen=True)
class RuleDef:
    """One `rules:` (or `workflow:rules:`) entry. None means the clause is absent."""

    if_expr: str | None = None
    changes: tuple[str, ...] | None = None
    exists: tuple[str, ...] | None = None
    when: str | None = None
    allow_failure: bool | None = None
    start_in: str = ""
    variables: tuple[VariableDef, ...] = ()
    needs: tuple[NeedDef, ...] | None = None
    location: Location | None = None


@dataclass(frozen=True)
class RefPolicy:
    """`only:` / `except:`: refs patterns, variable expressions, changed paths, kubernetes."""

    refs: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    changes: tuple[str, ...] | None = None
    kubernetes: str = ""


@dataclass(frozen=True)
class JobDefinition:
    name: str
    group_name: str  # the name before `parallel` expansion ("test" for "test 1/3")
    stage: str
    script: tuple[str, ...]
    before_script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    image: ImageDef | None = None
    services: tuple[ServiceDef, ...] = ()
    variables: tuple[VariableDef, ...] = ()  # the job's own `variables:` (+ matrix values), not global
    inherit_variables: bool | tuple[str, ...] = True  # `inherit:variables`
    when: str = "on_success"
    start_in: str = ""
    allow_failure: bool = False
    allow_failure_defined: bool = False  # explicitly set (else `when: manual` implies true)
    allow_failure_exit_codes: tuple[int, ...] = ()
    timeout: int | None = None  # seconds
    tags: tuple[str, ...] = ()
    needs: tuple[NeedDef, ...] | None = None  # None: no `needs:` (stage order); (): needs nothing
    dependencies: tuple[str, ...] | None = None
    rules: tuple[RuleDef, ...] | None = None
    only: RefPolicy | None = None
    except_: RefPolicy | None = None
    retry: RetryDef = field(default_factory=RetryDef)
    interruptible: bool | None = None
    cache: tuple[CacheDef, ...] = ()
    artifacts: ArtifactsDef | None = None
    environment: EnvironmentDef | None = None
    coverage: str = ""
    resource_group: str = ""
    release: ReleaseDef | None = None
    secrets: tuple[str, ...] = ()
    node_index: int | None = None  # CI_NODE_INDEX for `parallel` jobs
    node_total: int = 1  # CI_NODE_TOTAL
    trigger: bool = False  # a `trigger:` job (downstream pipeline): kept in the pipeline, never run locally
    location: Location | None = None


@dataclass(frozen=True)
class WorkflowDef:
    rules: tuple[RuleDef, ...] | None = None
    name: str = ""


def _empty_jobs() -> Mapping[str, JobDefinition]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Pipeline:
    """A validated .gitlab-ci.yml. `jobs` keeps definition order (parallel jobs expanded in place)."""

    stages: tuple[str, ...]
    jobs: Mapping[str, JobDefinition] = field(default_factory=_empty_jobs)
    variables: tuple[VariableDef, ...] = ()
    workflow: WorkflowDef = field(default_factory=WorkflowDef)
    config_path: str = ".gitlab-ci.yml"
    warnings: tuple[str, ...] = ()

    def job_names(self) -> tuple[str, ...]:
        return tuple(self.jobs)
