"""The JobPayload of a job, as GitLab sends it (spec 4.2): variables in GitLab's order and flags
(spec 3.2, 3.3), steps (spec 2.7), image and services, git and runner info."""

from __future__ import annotations

import textwrap

import pytest

from glrunner.ci import build_payload, parse_pipeline
from glrunner.ci.predefined import group_name, slugify
from glrunner.errors import UsageError
from glrunner.model.payload import JobPayload, JobVariable
from tests.ci.conftest import make_context


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def payload_of(text: str, job: str = "job", **ctx_changes: object) -> JobPayload:
    return build_payload(parse_pipeline(yaml(text)), job, make_context(**ctx_changes), 5)


def keys(payload: JobPayload) -> list[str]:
    return [v.key for v in payload.variables]


def test_steps_concatenate_before_script_and_script() -> None:
    """spec 2.7: one `script` step = before_script + script; after_script separate, when always."""
    payload = payload_of("""
        default:
          before_script: [docker info]
        job:
          script: [make, make test]
          after_script: [echo done]
          timeout: 10m
    """)
    script, after = payload.steps
    assert (script.name, script.script, script.when, script.allow_failure, script.timeout) == (
        "script", ("docker info", "make", "make test"), "on_success", False, 600
    )
    assert (after.name, after.script, after.when, after.allow_failure) == ("after_script", ("echo done",),
                                                                           "always", True)
    assert payload.runner_info.timeout == 600


def test_no_after_script_step_when_empty() -> None:
    payload = payload_of("job:\n  script: [x]\n  after_script: []\n")
    assert [s.name for s in payload.steps] == ["script"]
    assert payload.runner_info.timeout == 3600  # GitLab's default project timeout


def test_variable_precedence_last_wins() -> None:
    """spec 3.3: predefined < global YAML < job YAML < rule < project variables (--env)."""
    payload = payload_of(
        """
        variables: {A: global, B: global, C: global, CI_JOB_STAGE: yaml}
        job:
          variables: {B: job, C: job}
          script: [x]
          rules:
            - variables: {C: rule}
        """,
        extra_variables=(JobVariable("D", "project", public=False),),
    )
    assert [payload.variable(k) for k in ("A", "B", "C", "D", "CI_JOB_STAGE")] == [
        "global", "job", "rule", "project", "yaml"
    ]
    order = keys(payload)
    assert order.index("CI_JOB_ID") < order.index("CI_PROJECT_PATH") < order.index("CI_COMMIT_SHA")
    assert order.index("CI_COMMIT_SHA") < order.index("A") < order.index("GITLAB_USER_LOGIN") < order.index("D")
    assert order.count("B") == 1  # GitLab merges YAML variables per key


def test_project_variables_override_yaml_ones() -> None:
    payload = payload_of("variables: {TOKEN: yaml}\njob:\n  script: [x]\n",
                         extra_variables=(JobVariable("TOKEN", "secret", public=False, masked=True),))
    tokens = [v for v in payload.variables if v.key == "TOKEN"]
    assert [(v.value, v.public, v.masked) for v in tokens] == [("yaml", True, False), ("secret", False, True)]
    assert payload.variable("TOKEN") == "secret"


def test_tokens_are_not_public_and_masked() -> None:
    payload = payload_of("job:\n  script: [x]\n")
    flags = {v.key: (v.public, v.masked) for v in payload.variables}
    assert flags["CI_JOB_TOKEN"] == (False, True)
    assert flags["CI_REGISTRY_PASSWORD"] == (False, True)
    assert flags["CI_REPOSITORY_URL"] == (False, False)
    assert flags["CI_PROJECT_PATH"] == (True, False)
    assert "CI_PROJECT_DIR" not in flags  # the runner sets it (spec 3.1)


def test_predefined_values() -> None:
    payload = payload_of("job:\n  stage: deploy\n  script: [x]\n", ref_name="feature/Big_Thing",
                         server_url="https://gitlab.example.com:8443")
    values = {v.key: v.value for v in payload.variables}
    assert values["CI"] == values["GITLAB_CI"] == "true"
    assert values["CI_JOB_ID"] == "5"
    assert values["CI_JOB_STAGE"] == "deploy"
    assert values["CI_COMMIT_REF_SLUG"] == "feature-big-thing"
    assert values["CI_COMMIT_BRANCH"] == "feature/Big_Thing"
    assert "CI_COMMIT_TAG" not in values
    assert values["CI_COMMIT_SHORT_SHA"] == "aaaaaaaa"
    assert values["CI_PROJECT_URL"] == "https://gitlab.example.com:8443/group/project"
    assert values["CI_SERVER_HOST"] == "gitlab.example.com"
    assert values["CI_SERVER_PORT"] == "8443"
    assert values["CI_SERVER_FQDN"] == "gitlab.example.com:8443"
    assert values["CI_API_V4_URL"] == "https://gitlab.example.com:8443/api/v4"
    assert values["CI_REPOSITORY_URL"] == (
        "https://gitlab-ci-token:glcbt-64_token0123456789@gitlab.example.com:8443/group/project.git"
    )
    assert values["CI_JOB_URL"] == "https://gitlab.example.com:8443/group/project/-/jobs/5"
    assert values["CI_REGISTRY_IMAGE"] == "localhost:5050/group/project"
    assert values["CI_REGISTRY_USER"] == "gitlab-ci-token"
    assert values["CI_PIPELINE_SOURCE"] == "push"
    assert values["CI_CONFIG_PATH"] == ".gitlab-ci.yml"
    assert values["CI_NODE_TOTAL"] == "1"


def test_registry_can_be_disabled() -> None:
    """GitLab sends CI_REGISTRY and CI_REGISTRY_IMAGE only with the registry on (the user and password always)."""
    payload = payload_of("job:\n  script: [x]\n", registry=None)
    assert [k for k in keys(payload) if k.startswith("CI_REGISTRY")] == ["CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"]
    assert payload.credentials == ()


def test_raw_variables() -> None:
    payload = payload_of("variables:\n  R: {value: $HOME, expand: false}\njob:\n  script: [x]\n")
    (raw,) = [v for v in payload.variables if v.key == "R"]
    assert (raw.value, raw.raw, raw.public) == ("$HOME", True, True)


def test_values_are_not_expanded() -> None:
    payload = payload_of("variables:\n  P: /builds/$CI_PROJECT_PATH\njob:\n  script: [echo $P]\n")
    assert payload.variable("P") == "/builds/$CI_PROJECT_PATH"


def test_git_info_and_job_info() -> None:
    payload = payload_of("job:\n  script: [x]\n")
    assert payload.git_info.repo_url == "http://gitlab-ci-token:glcbt-64_token0123456789@localhost/group/project.git"
    assert (payload.git_info.ref, payload.git_info.ref_type, payload.git_info.sha) == ("main", "branch", "a" * 40)
    assert payload.git_info.refspecs == ("+refs/heads/main:refs/remotes/origin/main",)
    assert (payload.job_info.name, payload.job_info.project_full_path, payload.job_info.project_id) == (
        "job", "group/project", 42
    )
    tag = payload_of("job:\n  script: [x]\n", ref_name="v1", ref_is_tag=True)
    assert tag.git_info.ref_type == "tag" and tag.variable("CI_COMMIT_TAG") == "v1"
    assert tag.variable("CI_COMMIT_BRANCH") is None


def test_image_and_services_wire_shape() -> None:
    payload = payload_of("""
        job:
          image: {name: alpine, entrypoint: [""], docker: {user: "1000"}}
          services:
            - name: docker:dind
              alias: docker dind
              variables: {A: "1"}
          script: [x]
    """)
    assert (payload.image.name, payload.image.entrypoint, payload.image.executor_opts) == (
        "alpine", ("",), {"docker": {"user": "1000"}}
    )
    (service,) = payload.services
    assert (service.name, service.alias, [(v.key, v.value) for v in service.variables]) == (
        "docker:dind", "docker dind", [("A", "1")]
    )


def test_features_and_local_source() -> None:
    payload = payload_of("job:\n  script: [x]\n")
    assert payload.features.trace_sections is True
    assert "script_failure" in payload.features.failure_reasons
    assert payload.local_source is not None and payload.local_source.path == "/src/project"


def test_manual_and_parallel_variables() -> None:
    pipeline = parse_pipeline("j:\n  script: [x]\n  when: manual\n  parallel: 2\n")
    payload = build_payload(pipeline, "j 2/2", make_context(), 9)
    assert [payload.variable(k) for k in ("CI_JOB_MANUAL", "CI_NODE_INDEX", "CI_NODE_TOTAL", "CI_JOB_GROUP_NAME")] \
        == ["true", "2", "2", "j"]
    with pytest.raises(UsageError, match="is a parallel job; name one instance: j 1/2, j 2/2"):
        build_payload(pipeline, "j", make_context(), 9)


def test_environment_variables() -> None:
    payload = payload_of("job:\n  script: [x]\n  environment: {name: review, url: 'https://r', "
                         "deployment_tier: development}\n")
    assert [payload.variable(k) for k in ("CI_ENVIRONMENT_NAME", "CI_ENVIRONMENT_URL", "CI_ENVIRONMENT_TIER")] == [
        "review", "https://r", "development"
    ]


def test_cache_and_artifacts_wire_shape() -> None:
    payload = payload_of("""
        job:
          script: [x]
          cache: {key: {files: [a.lock], prefix: p}, paths: [v/]}
          artifacts: {paths: [out/], exclude: [out/tmp], reports: {junit: r.xml}}
    """)
    (cache,) = payload.cache
    assert cache["key"].startswith("p-") and cache["paths"] == ["v/"] and cache["policy"] == "pull-push"
    assert [(a["artifact_type"], a["paths"]) for a in payload.artifacts] == [("archive", ["out/"]),
                                                                              ("junit", ["r.xml"])]


@pytest.mark.parametrize(
    ("text", "slug"),
    [("main", "main"), ("feature/Big_Thing", "feature-big-thing"), ("-x-", "x"), ("rspec:test 1", "rspec-test-1"),
     ("a" * 70, "a" * 63), ("Über", "ber")],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize(
    ("name", "group"),
    [("test 1/3", "test"), ("deploy: [aws, app]", "deploy"), ("plain", "plain"), ("rspec 2:5", "rspec")],
)
def test_group_name(name: str, group: str) -> None:
    assert group_name(name) == group
