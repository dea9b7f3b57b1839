"""`JobPayload`: the job as GitLab sends it from `POST /api/v4/jobs/request` (spec section 4.2).

Local mode (`glrunner exec`) builds the very same shape from .gitlab-ci.yml, so everything from
the payload on is one code path. Field names are GitLab's wire names. Unknown keys are ignored, as
GitLab Runner ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StepName = Literal["script", "after_script", "release", "run"]
When = Literal["on_success", "on_failure", "always"]


@dataclass(frozen=True)
class JobVariable:
    key: str
    value: str = ""
    public: bool = True
    masked: bool = False
    file: bool = False
    raw: bool = False


@dataclass(frozen=True)
class JobInfo:
    name: str = ""
    stage: str = "test"
    project_id: int = 0
    project_name: str = ""
    pipeline_id: int = 0
    project_full_path: str = ""
    namespace_id: int = 0
    root_namespace_id: int = 0
    user_id: int = 0
    time_in_queue_seconds: float = 0.0


@dataclass(frozen=True)
class GitInfo:
    repo_url: str = ""
    repo_object_format: str = "sha1"
    ref: str = ""
    sha: str = ""
    before_sha: str = ""
    ref_type: str = "branch"
    refspecs: tuple[str, ...] = ()
    depth: int = 0
    protected: bool = False


@dataclass(frozen=True)
class RunnerInfo:
    timeout: int = 3600


@dataclass(frozen=True)
class Step:
    name: str
    script: tuple[str, ...] = ()
    timeout: int = 3600
    when: str = "on_success"
    allow_failure: bool = False


@dataclass(frozen=True)
class ServiceVariable:
    key: str
    value: str = ""


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = "http"
    name: str = ""


@dataclass(frozen=True)
class Image:
    """The job image or one service (GitLab uses one struct for both)."""

    name: str = ""
    alias: str = ""
    entrypoint: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    pull_policy: tuple[str, ...] = ()
    variables: tuple[ServiceVariable, ...] = ()
    executor_opts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Features:
    trace_sections: bool = False
    token_mask_prefixes: tuple[str, ...] = ()
    failure_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalSource:
    """glrunner extension, local mode only: the project files come from a working tree on this host.

    GitLab never sends this key; `glrunner exec` sets it instead of a cloneable `git_info.repo_url`.
    `files` lists the paths (relative to `path`) to copy: git-tracked plus untracked-not-ignored.
    """

    path: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobPayload:
    id: int
    token: str = ""
    allow_git_fetch: bool = False
    job_info: JobInfo = field(default_factory=JobInfo)
    git_info: GitInfo = field(default_factory=GitInfo)
    runner_info: RunnerInfo = field(default_factory=RunnerInfo)
    variables: tuple[JobVariable, ...] = ()
    steps: tuple[Step, ...] = ()
    image: Image = field(default_factory=Image)
    services: tuple[Image, ...] = ()
    features: Features = field(default_factory=Features)
    artifacts: tuple[dict[str, Any], ...] = ()
    cache: tuple[dict[str, Any], ...] = ()
    credentials: tuple[dict[str, Any], ...] = ()
    dependencies: tuple[dict[str, Any], ...] = ()
    local_source: LocalSource | None = None

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def variable(self, key: str) -> str | None:
        """The value GitLab Runner would use: the *last* occurrence of a key wins (spec 3.3)."""
        found = None
        for var in self.variables:
            if var.key == key:
                found = var.value
        return found
