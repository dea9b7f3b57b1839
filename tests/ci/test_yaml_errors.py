"""Bad input gives located, actionable errors, all of them at once (issue 3, test 7)."""

from __future__ import annotations

import textwrap

import pytest

from glrunner.ci import parse_pipeline, plan_pipeline
from glrunner.errors import CIConfigError, UsageError
from tests.ci.conftest import errors_of, make_context


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_invalid_yaml_names_file_line_and_fix() -> None:
    errors = errors_of(yaml("""
        build:
          script:
            - echo one
           - echo two
    """))
    assert len(errors) == 1
    assert errors[0].startswith(".gitlab-ci.yml:4: invalid YAML: ")
    assert "check the indentation" in errors[0]


def test_unclosed_quote_is_reported_at_its_line() -> None:
    errors = errors_of('a:\n  script: "echo\nb: 1\n')
    assert errors[0].startswith(".gitlab-ci.yml:")
    assert "invalid YAML" in errors[0]


def test_ci_config_error_is_a_usage_error_exit_status_2() -> None:
    with pytest.raises(CIConfigError) as caught:
        parse_pipeline("job: [")
    assert isinstance(caught.value, UsageError)
    assert caught.value.exit_status == 2


def test_empty_file() -> None:
    assert errors_of("# nothing\n") == [
        ".gitlab-ci.yml:1: the file is empty; add at least one job with a `script:`"
    ]


def test_top_level_must_be_a_mapping() -> None:
    errors = errors_of("- a\n- b\n")
    assert errors == [".gitlab-ci.yml:1: Invalid configuration format: the top level must be a mapping of "
                      "keywords and jobs"]


def test_unknown_key_names_job_line_and_suggestion() -> None:
    errors = errors_of(yaml("""
        stages: [build]

        build:
          stage: build
          scriptt:
            - make
    """))
    assert ".gitlab-ci.yml:5: build: config contains unknown keys: scriptt; did you mean `script`?" in errors


def test_unknown_key_without_close_match_points_to_the_docs_or_lists_the_keys() -> None:
    assert errors_of("job:\n  script: [x]\n  frobnicate: 1\n") == [
        ".gitlab-ci.yml:3: job: config contains unknown keys: frobnicate; see the keywords at "
        "https://docs.gitlab.com/ci/yaml/"
    ]
    assert errors_of("job:\n  script: [x]\n  image: {name: a, frobnicate: 1}\n") == [
        ".gitlab-ci.yml:3: job.image: config contains unknown keys: frobnicate; the known keys are: docker, "
        "entrypoint, kubernetes, name, ports, pull_policy"
    ]


def test_job_without_script() -> None:
    errors = errors_of("build:\n  stage: test\n  image: alpine\n")
    assert errors == [
        ".gitlab-ci.yml:1: build: config should implement the script: keyword; add `script:` with the "
        "commands to run (or hide the job by starting its name with a dot)"
    ]


def test_bad_service_alias() -> None:
    """Aliases are split on commas and spaces as the runner does (spec 2.5)."""
    errors = errors_of(yaml("""
        test:
          script: [x]
          services:
            - postgres
            - name: mysql
              alias: my_db
            - name: redis
              alias: "cache, bad.-name ok-name"
    """))
    assert errors == [
        ".gitlab-ci.yml:6: test.services[1].alias: 'my_db' is not a valid DNS label; use letters, digits and '-'",
        ".gitlab-ci.yml:8: test.services[2].alias: 'bad.-name' is not a valid DNS label; use letters, digits "
        "and '-'",
    ]


def test_alias_with_variables_is_left_to_the_runner() -> None:
    pipeline = parse_pipeline("t:\n  script: [x]\n  services:\n    - name: pg\n      alias: db-$CI_JOB_ID\n")
    assert pipeline.jobs["t"].services[0].alias == "db-$CI_JOB_ID"


def test_all_problems_are_collected_before_raising() -> None:
    errors = errors_of(yaml("""
        a:
          scirpt: [x]
        b:
          script: [x]
          when: sometimes
          timeout: forever
        c:
          script: [x]
          stage: nowhere
    """))
    assert errors == [
        ".gitlab-ci.yml:1: a: config should implement the script: keyword; add `script:` with the commands to "
        "run (or hide the job by starting its name with a dot)",
        ".gitlab-ci.yml:2: a: config contains unknown keys: scirpt; did you mean `script`?",
        ".gitlab-ci.yml:5: b.when: should be one of: on_success, on_failure, always, manual, delayed, never; "
        "not sometimes",
        ".gitlab-ci.yml:6: b.timeout: forever is not a duration; write it like `1h 30m`, `90 minutes` or `3600`",
        ".gitlab-ci.yml:9: c: chosen stage nowhere does not exist; available stages are .pre, build, test, "
        "deploy, .post",
    ]


def test_stage_typo_suggests_the_stage() -> None:
    errors = errors_of("stages: [build, deploy]\nd:\n  stage: deplyo\n  script: [x]\n")
    assert errors == [".gitlab-ci.yml:3: d: chosen stage deplyo does not exist; available stages are .pre, build, "
                      "deploy, .post; did you mean `deploy`?"]


def test_script_line_read_as_mapping_gets_a_quoting_hint() -> None:
    errors = errors_of("job:\n  script:\n    - echo key: value\n")
    assert errors == [
        ".gitlab-ci.yml:3: job.script: config should be a string or a nested array of strings, not a hash; "
        "a command containing ': ' is read as a mapping, quote the whole line"
    ]


def test_top_level_typo_of_a_keyword() -> None:
    errors = errors_of("stagess: [a]\njob:\n  script: [x]\n")
    assert errors == [
        ".gitlab-ci.yml:1: stagess: config should be a hash of job keywords, not an array; did you mean `stages`?"
    ]


def test_boolean_variable_value_gets_a_quoting_hint() -> None:
    errors = errors_of("variables:\n  FLAG: yes\njob:\n  script: [x]\n")
    assert errors == [
        '.gitlab-ci.yml:2: variables.FLAG: variables config should be a hash of key value pairs, value can be a '
        'hash; quote it: "true" (YAML reads yes/no/on/off/true/false as booleans)'
    ]


def test_trigger_jobs_are_kept_but_never_run() -> None:
    """A deliberate difference: a trigger job does not stop the rest of the pipeline from running locally."""
    text = "down:\n  trigger: group/other\nafter:\n  needs: [down]\n  script: [x]\nother:\n  script: [x]\n"
    pipeline = parse_pipeline(text)
    assert pipeline.warnings == (".gitlab-ci.yml:2: down: trigger: downstream pipelines cannot run locally; the job "
                                 "is skipped",)
    plan = plan_pipeline(pipeline, make_context())
    assert [j.name for j in plan.jobs] == ["other"]
    assert dict(plan.skipped) == {"down": "trigger: downstream pipelines cannot run locally",
                                  "after": "needs 'down', which does not run"}
    with pytest.raises(UsageError, match="'down' is a trigger job: downstream pipelines cannot run locally"):
        plan_pipeline(pipeline, make_context(), ["down"])


def test_unknown_yaml_tag() -> None:
    errors = errors_of("job:\n  script: !include other.yml\n")
    assert errors == [".gitlab-ci.yml:2: unknown YAML tag !include; GitLab CI supports only !reference"]


def test_only_and_rules_together() -> None:
    errors = errors_of("job:\n  script: [x]\n  only: [main]\n  rules:\n    - when: always\n")
    assert errors == [".gitlab-ci.yml:3: job: only key may not be used with `rules`; express the condition as a rule"]


def test_invalid_rules_expression() -> None:
    errors = errors_of('job:\n  script: [x]\n  rules:\n    - if: $A = "x"\n')
    assert len(errors) == 1
    assert errors[0].startswith(".gitlab-ci.yml:4: job.rules[0].if: invalid expression syntax: ")


def test_no_visible_job() -> None:
    assert errors_of(".hidden:\n  script: [x]\n") == [
        ".gitlab-ci.yml:1: jobs: config should contain at least one visible job; a job is a top-level hash with a "
        "`script:`, and names starting with '.' are hidden"
    ]


def test_pull_policy_values() -> None:
    errors = errors_of("job:\n  script: [x]\n  image:\n    name: alpine\n    pull_policy: sometimes\n")
    assert errors == [".gitlab-ci.yml:5: job.image.pull_policy: 'sometimes' is not a pull policy; use one of: "
                      "always, never, if-not-present"]


def test_variable_value_must_be_one_of_its_options() -> None:
    errors = errors_of("variables:\n  ENV:\n    value: prod\n    options: [dev, staging]\njob:\n  script: [x]\n")
    assert errors == [".gitlab-ci.yml:4: variables.ENV: value 'prod' must be one of its options: dev, staging"]


def test_job_variables_do_not_take_a_description() -> None:
    errors = errors_of("job:\n  script: [x]\n  variables:\n    A:\n      value: x\n      description: nope\n")
    assert errors == [".gitlab-ci.yml:6: job.variables.A: uses invalid data keys: description; allowed here: value, "
                      "expand"]


def test_duplicate_keys_warn_and_the_last_wins() -> None:
    pipeline = parse_pipeline("job:\n  script: [one]\n  script: [two]\n")
    assert pipeline.jobs["job"].script == ("two",)
    assert pipeline.warnings == (".gitlab-ci.yml:3: script: duplicate key (first on line 2); the last one wins",)


def test_several_documents_are_refused() -> None:
    errors = errors_of("spec:\n  inputs: {}\n---\njob:\n  script: [x]\n")
    assert errors[0].startswith(".gitlab-ci.yml:4: several YAML documents")


def test_a_problem_in_a_shared_template_is_reported_once() -> None:
    jobs = "".join(f"job{i}:\n  extends: .t\n" for i in range(5))
    errors = errors_of(".t:\n  script: [x]\n  rules:\n    - if: $A =\n" + jobs)
    assert errors == [".gitlab-ci.yml:4: job0, job1, job2 and 2 more (rules[0].if): invalid expression syntax: "
                      "unknown lexeme at '='; compare with == or != and match with =~ or !~"]
