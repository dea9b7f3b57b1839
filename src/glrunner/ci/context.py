"""`PipelineContext`: everything about the run that does not come from .gitlab-ci.yml.

The edge (`glrunner exec`) fills it from git, the clock and the command line; the pure code here
only reads it. GitLab's server-side facts (URLs, ids, registry) get local placeholder values.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from glrunner.model.payload import JobVariable, LocalSource

DEFAULT_TIMEOUT = 3600  # GitLab's default project CI/CD timeout, in seconds


@dataclass(frozen=True)
class PipelineContext:
    project_path: str  # "namespace/project" (from the origin remote, else "local/<dirname>")
    project_dir_name: str = ""
    project_id: int = 1
    namespace_id: int = 1
    pipeline_id: int = 1
    pipeline_iid: int = 1
    commit_sha: str = "0" * 40
    commit_short_sha: str = ""  # default: first 8 characters of commit_sha
    before_sha: str = "0" * 40
    ref_name: str = "main"
    ref_is_tag: bool = False
    ref_protected: bool = False
    commit_message: str = ""
    commit_title: str = ""
    commit_description: str = ""
    commit_author: str = ""  # "Name <email>"
    commit_timestamp: str = ""  # ISO 8601
    default_branch: str = "main"
    pipeline_source: str = "push"
    server_url: str = "http://localhost"  # placeholder GitLab: CI_SERVER_URL, CI_PROJECT_URL, ...
    server_version: str = "18.0.0"
    registry: str | None = "localhost:5050"  # None: the registry is disabled, no CI_REGISTRY*
    user_id: int = 1
    user_login: str = "local"
    user_name: str = "Local User"
    user_email: str = "local@localhost"
    created_at: str = ""  # pipeline creation time, ISO 8601 (CI_PIPELINE_CREATED_AT)
    job_started_at: str = ""  # CI_JOB_STARTED_AT; default: created_at
    job_token: str = ""  # random, from the edge
    default_timeout: int = DEFAULT_TIMEOUT
    config_path: str = ".gitlab-ci.yml"
    # Paths changed by the push, for `rules:changes` / `only:changes`; None: unknown, which
    # GitLab treats as "changed" (as for new branches, tags and schedules).
    changed_files: tuple[str, ...] | None = None
    extra_variables: tuple[JobVariable, ...] = ()  # `--env` / `--masked-env`: project variables
    local_source: LocalSource | None = None

    @property
    def short_sha(self) -> str:
        return self.commit_short_sha or self.commit_sha[:8]

    @property
    def project_name(self) -> str:
        return self.project_path.rsplit("/", 1)[-1]

    @property
    def namespace(self) -> str:
        return self.project_path.rsplit("/", 1)[0] if "/" in self.project_path else ""

    @property
    def project_url(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.project_path}"

    @property
    def server_host(self) -> str:
        return urlsplit(self.server_url).hostname or "localhost"

    @property
    def server_protocol(self) -> str:
        return urlsplit(self.server_url).scheme or "http"

    @property
    def server_port(self) -> int:
        parts = urlsplit(self.server_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def files(self) -> tuple[str, ...]:
        return self.local_source.files if self.local_source else ()
