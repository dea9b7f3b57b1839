"""Job keywords normalised once: scripts, default/legacy inheritance, images, services, variables,
allow_failure, when, timeout, parallel, needs."""

from __future__ import annotations

import textwrap

import pytest

from glrunner.ci import ImageDef, ServiceDef, VariableDef, parse_pipeline
from glrunner.ci.model import JobDefinition, NeedDef, RetryDef
from tests.ci.conftest import errors_of


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def job_of(text: str, name: str = "job") -> JobDefinition:
    return parse_pipeline(yaml(text)).jobs[name]


def test_scripts_flatten_nested_lists_and_keep_multiline_strings() -> None:
    job = job_of("""
        job:
          script:
            - one
            - [two, [three]]
            - |
              four
              five
    """)
    assert job.script == ("one", "two", "three", "four\nfive\n")


def test_numbers_and_empty_scripts_are_refused_as_by_gitlab() -> None:
    assert errors_of("job:\n  script:\n    - 6\n") == [
        '.gitlab-ci.yml:3: job.script: config should be a string or a nested array of strings, not the number 6; '
        'quote it: "6"'
    ]
    assert errors_of("job:\n  script: []\n") == [".gitlab-ci.yml:2: job.script: can't be blank; add at least one "
                                                   "command"]
    assert errors_of("job:\n  script: [x]\n  tags: [2024]\n") == [
        '.gitlab-ci.yml:3: job.tags[0]: should be a string, not the number 2024; quote it: "2024"'
    ]


def test_script_nesting_limit() -> None:
    deep = "x"
    for _ in range(11):
        deep = f"[{deep}]"
    errors = errors_of(f"job:\n  script: {deep}\n")
    assert errors == [".gitlab-ci.yml:2: job.script: is nested more than 10 levels deep"]


def test_before_script_job_then_default_then_legacy() -> None:
    """spec 2.7: job before_script replaces the default one."""
    pipeline = parse_pipeline(yaml("""
        default:
          before_script: [default]
        own:
          before_script: [own]
          script: [x]
        inherits:
          script: [x]
        opted-out:
          inherit: {default: [image]}
          script: [x]
    """))
    assert pipeline.jobs["own"].before_script == ("own",)
    assert pipeline.jobs["inherits"].before_script == ("default",)
    assert pipeline.jobs["opted-out"].before_script == ()
    legacy = parse_pipeline("before_script: [legacy]\nafter_script: [after]\njob:\n  script: [x]\n").jobs["job"]
    assert (legacy.before_script, legacy.after_script) == (("legacy",), ("after",))


def test_legacy_keyword_and_default_together_is_an_error() -> None:
    errors = errors_of("image: a\ndefault:\n  image: b\njob:\n  script: [x]\n")
    assert errors == [".gitlab-ci.yml:1: image: is defined both at the top level and in `default:`; keep only "
                      "`default:image`"]


def test_unknown_default_key() -> None:
    assert errors_of("default:\n  imagee: a\njob:\n  script: [x]\n") == [
        ".gitlab-ci.yml:2: default: config contains unknown keys: imagee; did you mean `image`?"
    ]


def test_image_forms() -> None:
    assert job_of("job: {image: alpine, script: [x]}").image == ImageDef("alpine")
    job = job_of("""
        job:
          image:
            name: alpine
            entrypoint: [""]
            pull_policy: never
            docker: {user: "1000:1000", platform: linux/arm64}
            kubernetes: {user: "1000"}
          script: [x]
    """)
    assert job.image == ImageDef("alpine", entrypoint=("",), pull_policy=("never",), docker_user="1000:1000",
                                 docker_platform="linux/arm64", kubernetes_user="1000")


def test_image_hash_needs_a_name() -> None:
    errors = errors_of("job:\n  image:\n    entrypoint: [sh]\n  script: [x]\n")
    assert errors == [".gitlab-ci.yml:3: job.image: config is missing the `name:` of the image"]


def test_services_forms() -> None:
    job = job_of("""
        job:
          services:
            - redis
            - name: docker:dind
              alias: "docker,dind  other"
              command: [--tls=false]
              entrypoint: [dockerd]
              variables: {PORT: 2375, TLS: ""}
          script: [x]
    """)
    assert job.services == (
        ServiceDef("redis"),
        ServiceDef("docker:dind", alias="docker,dind  other", command=("--tls=false",), entrypoint=("dockerd",),
                   variables=(("PORT", "2375"), ("TLS", ""))),
    )


def test_variables_forms() -> None:
    pipeline = parse_pipeline(yaml("""
        variables:
          PLAIN: text
          NUMBER: 42
          DESCRIBED: {value: v, description: d}
          RAW: {value: $X, expand: false}
          CHOICE: {value: a, options: [a, b]}
          EMPTY_HASH: {description: only}
        job:
          script: [x]
    """))
    assert pipeline.variables == (
        VariableDef("PLAIN", "text"),
        VariableDef("NUMBER", "42"),
        VariableDef("DESCRIBED", "v", description="d"),
        VariableDef("RAW", "$X", raw=True),
        VariableDef("CHOICE", "a", options=("a", "b")),
        VariableDef("EMPTY_HASH", "", description="only"),
    )


def test_null_variable_value_is_refused_with_a_hint() -> None:
    errors = errors_of("job:\n  script: [x]\n  variables:\n    A:\n")
    assert errors == ['.gitlab-ci.yml:4: job.variables.A: variables config should be a hash of key value pairs, '
                      'value can be a hash; write "" for an empty value']


@pytest.mark.parametrize(
    ("text", "allowed", "codes", "defined"),
    [
        ("true", True, (), True),
        ("false", False, (), True),
        ("{exit_codes: 137}", False, (137,), True),
        ("{exit_codes: [1, 2]}", False, (1, 2), True),
    ],
)
def test_allow_failure_forms(text: str, allowed: bool, codes: tuple[int, ...], defined: bool) -> None:
    job = job_of(f"job:\n  script: [x]\n  allow_failure: {text}\n")
    assert (job.allow_failure, job.allow_failure_exit_codes, job.allow_failure_defined) == (allowed, codes, defined)


def test_timeout_and_retry() -> None:
    job = job_of("job:\n  script: [x]\n  timeout: 1h 30m\n  retry: {max: 2, when: [script_failure], exit_codes: 1}\n")
    assert job.timeout == 5400
    assert job.retry == RetryDef(max=2, when=("script_failure",), exit_codes=(1,))
    assert job_of("job:\n  script: [x]\n  timeout: 600\n").timeout == 600
    assert errors_of("job:\n  script: [x]\n  retry: 3\n") == [
        ".gitlab-ci.yml:3: job.retry: should be a whole number from 0 to 2, not the number 3"
    ]


def test_when_delayed_warns() -> None:
    pipeline = parse_pipeline("job:\n  script: [x]\n  when: delayed\n  start_in: 5 minutes\n")
    assert pipeline.jobs["job"].when == "delayed"
    assert pipeline.warnings == (".gitlab-ci.yml:3: job: when: delayed runs without delay locally (as on_success)",)


def test_parallel_number_names_jobs_as_gitlab() -> None:
    pipeline = parse_pipeline("test:\n  script: [x]\n  parallel: 3\n")
    assert list(pipeline.jobs) == ["test 1/3", "test 2/3", "test 3/3"]
    second = pipeline.jobs["test 2/3"]
    assert (second.group_name, second.node_index, second.node_total) == ("test", 2, 3)


def test_parallel_matrix_names_and_variables() -> None:
    """GitLab's MatrixStrategy: one job per combination, `name: [v1, v2]`, in the listed order."""
    pipeline = parse_pipeline(yaml("""
        deploy:
          script: [x]
          variables: {STACK: default, KEEP: me}
          parallel:
            matrix:
              - PROVIDER: aws
                STACK: [monitoring, app1]
              - PROVIDER: [gcp, vultr]
                STACK: [data]
              - VERSION: 3
    """))
    assert list(pipeline.jobs) == [
        "deploy: [aws, monitoring]", "deploy: [aws, app1]", "deploy: [gcp, data]", "deploy: [vultr, data]",
        "deploy: [3]",
    ]
    job = pipeline.jobs["deploy: [gcp, data]"]
    assert {v.key: v.value for v in job.variables} == {"STACK": "data", "KEEP": "me", "PROVIDER": "gcp"}
    assert (job.node_index, job.node_total) == (3, 5)


def test_parallel_limits() -> None:
    assert errors_of("t:\n  script: [x]\n  parallel: 201\n") == [
        ".gitlab-ci.yml:3: t.parallel: should be a whole number from 1 to 200, not the number 201"
    ]


def test_needs_forms_and_validation() -> None:
    pipeline = parse_pipeline(yaml("""
        stages: [build, test]
        build: {stage: build, script: [x]}
        lint: {stage: test, script: [x]}
        test:
          stage: test
          needs:
            - build
            - job: lint
              artifacts: false
            - job: maybe
              optional: true
          script: [x]
    """))
    assert pipeline.jobs["test"].needs == (
        NeedDef("build"), NeedDef("lint", artifacts=False), NeedDef("maybe", optional=True)
    )


def test_needs_errors() -> None:
    errors = errors_of(yaml("""
        stages: [build, deploy]
        build:
          stage: build
          needs: [deploy, biuld2, nothing]
          script: [x]
        biuld:
          stage: build
          script: [x]
        deploy:
          stage: deploy
          script: [x]
    """))
    assert errors == [
        ".gitlab-ci.yml:4: build: need deploy is not defined in current or prior stages ('deploy' comes after "
        "'build')",
        ".gitlab-ci.yml:4: build: needs 'biuld2', but 'biuld2' does not exist in the pipeline; did you mean "
        "`biuld`?",
        ".gitlab-ci.yml:4: build: needs 'nothing', but 'nothing' does not exist in the pipeline; define it or mark "
        "the need `optional: true`",
    ]


def test_dependencies_validation() -> None:
    errors = errors_of(yaml("""
        a: {stage: test, script: [x]}
        b:
          stage: test
          dependencies: [a, c]
          needs: []
          script: [x]
    """))
    assert errors == [
        ".gitlab-ci.yml:4: b: dependency a is not defined in prior stages",
        ".gitlab-ci.yml:4: b: dependencies: the a should be part of needs",
        ".gitlab-ci.yml:4: b: undefined dependency: c",
        ".gitlab-ci.yml:4: b: dependencies: the c should be part of needs",
    ]


def test_cache_artifacts_environment_and_more_are_normalised() -> None:
    job = job_of("""
        job:
          script: [x]
          cache:
            - key: {files: [Gemfile.lock], prefix: gems}
              paths: [vendor/]
              policy: pull
          artifacts:
            name: out
            paths: [dist/]
            when: always
            reports: {junit: report.xml}
          environment: {name: review/$CI_COMMIT_REF_SLUG, url: "https://x", action: prepare}
          coverage: '/Total: \\d+%/'
          resource_group: prod
          interruptible: true
          tags: [docker, linux]
    """)
    assert job.cache[0].key_files == ("Gemfile.lock",) and job.cache[0].policy == "pull"
    assert job.artifacts is not None and job.artifacts.reports[0].kind == "junit"
    assert job.environment is not None and job.environment.action == "prepare"
    assert (job.coverage, job.resource_group, job.interruptible, job.tags) == (
        "/Total: \\d+%/", "prod", True, ("docker", "linux")
    )


def test_secrets_and_id_tokens_only_warn() -> None:
    pipeline = parse_pipeline("job:\n  script: [x]\n  secrets:\n    DB: {vault: db/pw@ops}\n  id_tokens:\n"
                              "    T: {aud: x}\n")
    assert pipeline.jobs["job"].secrets == ("DB",)
    assert len(pipeline.warnings) == 2


def test_type_is_the_old_name_of_stage() -> None:
    assert job_of("job:\n  type: deploy\n  script: [x]\n").stage == "deploy"


def test_stages_get_pre_and_post() -> None:
    assert parse_pipeline("stages: [a, b]\nj: {stage: a, script: [x]}\n").stages == (".pre", "a", "b", ".post")
    assert parse_pipeline("j: {script: [x]}\n").stages == (".pre", "build", "test", "deploy", ".post")
