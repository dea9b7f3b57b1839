"""Job payloads shaped as GitLab sends them from `POST /api/v4/jobs/request` (spec 3.2, 4.2).

`job_payload(...)` gives the whole JSON object: job/git/runner info, the predefined variables a
GitLab server sends (CI_JOB_TOKEN and CI_REPOSITORY_URL carrying the job token, not public,
the token masked), steps, image, services, features. Tests pass only what differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_FAILURE_REASONS = (
    "script_failure", "runner_system_failure", "job_execution_timeout", "image_pull_failure",
    "unknown_failure", "runner_configuration_error",
)


@dataclass(frozen=True)
class Var:
    key: str
    value: str
    public: bool = True
    masked: bool = False
    file: bool = False
    raw: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "public": self.public, "masked": self.masked,
                "file": self.file, "raw": self.raw}


@dataclass(frozen=True)
class JobSpecification:
    """What a test says about a job; everything else gets GitLab's usual values."""

    script: Sequence[str]
    name: str = "test-job"
    stage: str = "test"
    image: str = ""
    services: Sequence[dict[str, Any]] = ()
    after_script: Sequence[str] = ()
    variables: Sequence[Var] = ()
    timeout: int = 3600
    project: str = "group/project"
    project_id: int = 42
    sha: str = ""
    ref: str = "main"
    depth: int = 20
    failure_reasons: Sequence[str] = DEFAULT_FAILURE_REASONS
    extra: dict[str, Any] = field(default_factory=dict)


def predefined_variables(base_url: str, job_id: int, token: str, spec: JobSpecification) -> list[Var]:
    parts = urlsplit(base_url)
    server = f"{parts.scheme}://{parts.netloc}"
    project_url = f"{server}/{spec.project}"
    namespace, _, name = spec.project.rpartition("/")
    pipeline_id = 7000 + job_id % 1000
    return [
        Var("CI_PIPELINE_ID", str(pipeline_id)),
        Var("CI_PIPELINE_URL", f"{project_url}/-/pipelines/{pipeline_id}"),
        Var("CI_JOB_ID", str(job_id)),
        Var("CI_JOB_URL", f"{project_url}/-/jobs/{job_id}"),
        Var("CI_JOB_TOKEN", token, public=False, masked=True),
        Var("CI_JOB_NAME", spec.name),
        Var("CI_JOB_STAGE", spec.stage),
        Var("CI_BUILD_TOKEN", token, public=False, masked=True),
        Var("CI_REGISTRY_USER", "gitlab-ci-token"),
        Var("CI_REGISTRY_PASSWORD", token, public=False, masked=True),
        Var("CI_REPOSITORY_URL", f"{parts.scheme}://gitlab-ci-token:{token}@{parts.netloc}/{spec.project}.git",
            public=False),
        Var("CI", "true"),
        Var("GITLAB_CI", "true"),
        Var("CI_SERVER_URL", server),
        Var("CI_SERVER_HOST", parts.hostname or ""),
        Var("CI_SERVER_PORT", str(parts.port or 80)),
        Var("CI_SERVER_PROTOCOL", parts.scheme),
        Var("CI_SERVER_NAME", "GitLab"),
        Var("CI_SERVER_VERSION", "17.0.0"),
        Var("CI_API_V4_URL", f"{server}/api/v4"),
        Var("CI_PROJECT_ID", str(spec.project_id)),
        Var("CI_PROJECT_NAME", name),
        Var("CI_PROJECT_PATH", spec.project),
        Var("CI_PROJECT_PATH_SLUG", spec.project.replace("/", "-")),
        Var("CI_PROJECT_NAMESPACE", namespace),
        Var("CI_PROJECT_URL", project_url),
        Var("CI_PROJECT_VISIBILITY", "private"),
        Var("CI_DEFAULT_BRANCH", "main"),
        Var("CI_COMMIT_SHA", spec.sha),
        Var("CI_COMMIT_SHORT_SHA", spec.sha[:8]),
        Var("CI_COMMIT_REF_NAME", spec.ref),
        Var("CI_COMMIT_REF_SLUG", spec.ref),
        Var("CI_COMMIT_BRANCH", spec.ref),
        Var("CI_PIPELINE_SOURCE", "push"),
        Var("GITLAB_USER_LOGIN", "root"),
        Var("CI_NODE_TOTAL", "1"),
    ]


def _image(name: str) -> dict[str, Any] | None:
    if not name:
        return None
    return {"name": name, "alias": "", "entrypoint": None, "command": None, "ports": [], "pull_policy": None}


def job_payload(base_url: str, job_id: int, token: str, spec: JobSpecification) -> dict[str, Any]:
    parts = urlsplit(base_url)
    namespace, _, name = spec.project.rpartition("/")
    steps: list[dict[str, Any]] = [{"name": "script", "script": list(spec.script), "timeout": spec.timeout,
                                    "when": "on_success", "allow_failure": False}]
    if spec.after_script:
        steps.append({"name": "after_script", "script": list(spec.after_script), "timeout": spec.timeout,
                      "when": "always", "allow_failure": False})
    variables = [v.as_json() for v in (*predefined_variables(base_url, job_id, token, spec), *spec.variables)]
    payload: dict[str, Any] = {
        "id": job_id,
        "token": token,
        "allow_git_fetch": False,
        "job_info": {"id": job_id, "name": spec.name, "stage": spec.stage, "project_id": spec.project_id,
                     "project_name": name, "pipeline_id": 7000 + job_id % 1000,
                     "project_full_path": spec.project, "namespace_id": 3, "root_namespace_id": 3,
                     "user_id": 1, "time_in_queue_seconds": 0.2},
        "git_info": {"repo_url": f"{parts.scheme}://gitlab-ci-token:{token}@{parts.netloc}/{spec.project}.git",
                     "repo_object_format": "sha1", "ref": spec.ref, "sha": spec.sha,
                     "before_sha": "0" * 40, "ref_type": "branch",
                     "refspecs": [f"+refs/heads/{spec.ref}:refs/remotes/origin/{spec.ref}"],
                     "depth": spec.depth, "protected": False},
        "runner_info": {"timeout": spec.timeout},
        "variables": variables,
        "steps": steps,
        "image": _image(spec.image),
        "services": list(spec.services),
        "artifacts": None,
        "cache": [],
        "credentials": [{"type": "registry", "url": f"{parts.netloc}:5050", "username": "gitlab-ci-token",
                         "password": token}],
        "dependencies": [],
        "features": {"trace_sections": True, "token_mask_prefixes": [],
                     "failure_reasons": list(spec.failure_reasons)},
        "secrets": {},
        "hooks": [],
    }
    payload.update(spec.extra)
    if namespace == "":
        raise ValueError("project must be <namespace>/<name>")
    return payload
