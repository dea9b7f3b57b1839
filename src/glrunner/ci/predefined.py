"""The variables GitLab sends with a job, in GitLab's order (a later entry with the same key wins).

Order (GitLab's `Ci::Build#variables`, spec 3.2/3.3): persisted job variables (ids, URLs, token),
job predefined, project/server predefined, pipeline/commit predefined, YAML variables (global,
workflow, job, matrix, rule), user, then project CI/CD variables (`--env`/`--masked-env`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from glrunner.ci.context import PipelineContext
from glrunner.ci.model import JobDefinition, Pipeline, VariableDef
from glrunner.ci.variables import merge_variables
from glrunner.model.payload import JobVariable

REGISTRY_USER = "gitlab-ci-token"


def slugify(text: str) -> str:
    """GitLab's slug: lowercase, [^a-z0-9] -> '-', at most 63 characters, no '-' at either end."""
    return re.sub(r"[^a-z0-9]", "-", text.lower())[:63].strip("-")


def group_name(job_name: str) -> str:
    """CI_JOB_GROUP_NAME: the name without a parallel suffix (" 1/3") or matrix values (": [a, b]")."""
    return re.sub(r"([\s:]+(\[.*\]|\d+[\s:/\\]+\d+)){1,3}\s*$", "", job_name).strip()


def repository_url(ctx: PipelineContext) -> str:
    scheme, _, rest = ctx.project_url.partition("://")
    return f"{scheme}://{REGISTRY_USER}:{ctx.job_token}@{rest}.git"


def _var(key: str, value: str) -> JobVariable:
    return JobVariable(key=key, value=value, public=True)


def _secret(key: str, value: str, *, masked: bool = True) -> JobVariable:
    return JobVariable(key=key, value=value, public=False, masked=masked)


def persisted_variables(ctx: PipelineContext, job_id: int) -> list[JobVariable]:
    """Known only once the job exists: GitLab does not offer them to `rules:`."""
    return [
        _var("CI_PIPELINE_ID", str(ctx.pipeline_id)),
        _var("CI_PIPELINE_URL", f"{ctx.project_url}/-/pipelines/{ctx.pipeline_id}"),
        _var("CI_JOB_ID", str(job_id)),
        _var("CI_JOB_URL", f"{ctx.project_url}/-/jobs/{job_id}"),
        _secret("CI_JOB_TOKEN", ctx.job_token),
        _var("CI_JOB_STARTED_AT", ctx.job_started_at or ctx.created_at),
        _var("CI_REGISTRY_USER", REGISTRY_USER),
        _secret("CI_REGISTRY_PASSWORD", ctx.job_token),
        _secret("CI_REPOSITORY_URL", repository_url(ctx), masked=False),
    ]


def job_predefined(job: JobDefinition, when: str) -> list[JobVariable]:
    result = [
        _var("CI_JOB_NAME", job.name),
        _var("CI_JOB_NAME_SLUG", slugify(job.name)),
        _var("CI_JOB_GROUP_NAME", group_name(job.name)),
        _var("CI_JOB_STAGE", job.stage),
    ]
    if when == "manual":
        result.append(_var("CI_JOB_MANUAL", "true"))
    if job.node_index is not None:
        result.append(_var("CI_NODE_INDEX", str(job.node_index)))
    result.append(_var("CI_NODE_TOTAL", str(job.node_total)))
    if job.environment is not None:
        env = job.environment
        result += [_var("CI_ENVIRONMENT_NAME", env.name), _var("CI_ENVIRONMENT_ACTION", env.action)]
        if env.deployment_tier:
            result.append(_var("CI_ENVIRONMENT_TIER", env.deployment_tier))
        if env.url:
            result.append(_var("CI_ENVIRONMENT_URL", env.url))
    return result


def project_predefined(ctx: PipelineContext) -> list[JobVariable]:
    major, minor, patch = [*ctx.server_version.split("."), "0", "0"][:3]
    host, port = ctx.server_host, ctx.server_port
    default_port = 443 if ctx.server_protocol == "https" else 80
    result = [
        _var("CI", "true"),
        _var("GITLAB_CI", "true"),
        _var("CI_SERVER_FQDN", host if port == default_port else f"{host}:{port}"),
        _var("CI_SERVER_URL", ctx.server_url.rstrip("/")),
        _var("CI_SERVER_HOST", host),
        _var("CI_SERVER_PORT", str(port)),
        _var("CI_SERVER_PROTOCOL", ctx.server_protocol),
        _var("CI_SERVER_SHELL_SSH_HOST", host),
        _var("CI_SERVER_SHELL_SSH_PORT", "22"),
        _var("CI_SERVER_NAME", "GitLab"),
        _var("CI_SERVER_VERSION", ctx.server_version),
        _var("CI_SERVER_VERSION_MAJOR", major),
        _var("CI_SERVER_VERSION_MINOR", minor),
        _var("CI_SERVER_VERSION_PATCH", patch),
        _var("CI_SERVER_REVISION", "glrunner"),
        _var("CI_PROJECT_ID", str(ctx.project_id)),
        _var("CI_PROJECT_NAME", ctx.project_name),
        _var("CI_PROJECT_TITLE", ctx.project_dir_name or ctx.project_name),
        _var("CI_PROJECT_DESCRIPTION", ""),
        _var("CI_PROJECT_PATH", ctx.project_path),
        _var("CI_PROJECT_PATH_SLUG", slugify(ctx.project_path)),
        _var("CI_PROJECT_NAMESPACE", ctx.namespace),
        _var("CI_PROJECT_NAMESPACE_SLUG", slugify(ctx.namespace)),
        _var("CI_PROJECT_NAMESPACE_ID", str(ctx.namespace_id)),
        _var("CI_PROJECT_ROOT_NAMESPACE", ctx.namespace.split("/")[0]),
        _var("CI_PROJECT_URL", ctx.project_url),
        _var("CI_PROJECT_VISIBILITY", "private"),
        _var("CI_DEFAULT_BRANCH", ctx.default_branch),
        _var("CI_CONFIG_PATH", ctx.config_path),
    ]
    if ctx.registry:
        result += [_var("CI_REGISTRY", ctx.registry), _var("CI_REGISTRY_IMAGE", f"{ctx.registry}/{ctx.project_path}")]
    result += [
        _var("CI_API_V4_URL", f"{ctx.server_url.rstrip('/')}/api/v4"),
        _var("CI_API_GRAPHQL_URL", f"{ctx.server_url.rstrip('/')}/api/graphql"),
    ]
    return result


def pipeline_predefined(ctx: PipelineContext, pipeline_name: str) -> list[JobVariable]:
    result = [
        _var("CI_PIPELINE_IID", str(ctx.pipeline_iid)),
        _var("CI_PIPELINE_SOURCE", ctx.pipeline_source),
        _var("CI_PIPELINE_CREATED_AT", ctx.created_at),
    ]
    if pipeline_name:
        result.append(_var("CI_PIPELINE_NAME", pipeline_name))
    result += [
        _var("CI_COMMIT_SHA", ctx.commit_sha),
        _var("CI_COMMIT_SHORT_SHA", ctx.short_sha),
        _var("CI_COMMIT_BEFORE_SHA", ctx.before_sha),
        _var("CI_COMMIT_REF_NAME", ctx.ref_name),
        _var("CI_COMMIT_REF_SLUG", slugify(ctx.ref_name)),
    ]
    if not ctx.ref_is_tag:
        result.append(_var("CI_COMMIT_BRANCH", ctx.ref_name))
    result += [
        _var("CI_COMMIT_MESSAGE", ctx.commit_message),
        _var("CI_COMMIT_TITLE", ctx.commit_title),
        _var("CI_COMMIT_DESCRIPTION", ctx.commit_description),
        _var("CI_COMMIT_REF_PROTECTED", "true" if ctx.ref_protected else "false"),
        _var("CI_COMMIT_TIMESTAMP", ctx.commit_timestamp),
        _var("CI_COMMIT_AUTHOR", ctx.commit_author),
    ]
    if ctx.ref_is_tag:
        result.append(_var("CI_COMMIT_TAG", ctx.ref_name))
    return result


def user_predefined(ctx: PipelineContext) -> list[JobVariable]:
    return [
        _var("GITLAB_USER_ID", str(ctx.user_id)),
        _var("GITLAB_USER_EMAIL", ctx.user_email),
        _var("GITLAB_USER_LOGIN", ctx.user_login),
        _var("GITLAB_USER_NAME", ctx.user_name),
    ]


def global_yaml_variables(pipeline: Pipeline, workflow_variables: Sequence[VariableDef]) -> tuple[VariableDef, ...]:
    """Top-level `variables:` overridden by the matching `workflow:rules:variables`."""
    return merge_variables(pipeline.variables, workflow_variables)


def job_yaml_variables(
    job: JobDefinition, global_variables: Sequence[VariableDef], rule_variables: Sequence[VariableDef] = ()
) -> tuple[VariableDef, ...]:
    """GitLab's `yaml_variables` of a job: inherited globals, then the job's own, then the rule's."""
    inherit = job.inherit_variables
    if inherit is True:
        inherited: Iterable[VariableDef] = global_variables
    elif inherit is False:
        inherited = ()
    else:
        inherited = [v for v in global_variables if v.key in inherit]
    return merge_variables(inherited, job.variables, rule_variables)


def yaml_to_job_variables(variables: Iterable[VariableDef]) -> list[JobVariable]:
    return [JobVariable(key=v.key, value=v.value, public=True, raw=v.raw) for v in variables]


def as_lookup(variables: Iterable[JobVariable]) -> dict[str, str]:
    """Key -> value with the last occurrence winning, as GitLab and the runner read the list."""
    return {v.key: v.value for v in variables}
