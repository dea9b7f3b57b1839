"""Which jobs run and in which order: stages, when, manual, rules, only/except, workflow, selection."""

from __future__ import annotations

import textwrap

import pytest

from glrunner.ci import PipelineContext, parse_pipeline, plan_pipeline
from glrunner.errors import CIConfigError, UsageError
from glrunner.model.payload import JobVariable
from tests.ci.conftest import make_context


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def planned(text: str, ctx: PipelineContext | None = None, selected: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    plan = plan_pipeline(parse_pipeline(yaml(text)), ctx or make_context(), selected)
    return [(stage.name, job.name) for stage in plan.stages for job in stage.jobs]


THREE_STAGES = """
    stages: [build, test, deploy]
    deploy: {stage: deploy, script: [x]}
    unit: {stage: test, script: [x]}
    compile: {stage: build, script: [x]}
    lint: {stage: test, script: [x]}
    setup: {stage: .pre, script: [x]}
    report: {stage: .post, script: [x]}
"""


def test_stage_order_then_definition_order() -> None:
    assert planned(THREE_STAGES) == [
        (".pre", "setup"), ("build", "compile"), ("test", "unit"), ("test", "lint"), ("deploy", "deploy"),
        (".post", "report"),
    ]


def test_selected_jobs_only() -> None:
    assert planned(THREE_STAGES, selected=("lint", "compile")) == [("build", "compile"), ("test", "lint")]


def test_unknown_job_lists_the_jobs() -> None:
    with pytest.raises(UsageError) as caught:
        planned(THREE_STAGES, selected=("lnit",))
    assert str(caught.value) == (
        ".gitlab-ci.yml: no job named 'lnit'; the jobs are: deploy, unit, compile, lint, setup, report"
    )


def test_manual_jobs_are_skipped_unless_named() -> None:
    """A manual job defaults to allow_failure: true (GitLab's `ignored?`)."""
    text = "release:\n  when: manual\n  script: [x]\nbuild:\n  script: [x]\n"
    plan = plan_pipeline(parse_pipeline(text), make_context())
    assert [j.name for j in plan.jobs] == ["build"]
    assert plan.skipped == (("release", "manual job; run it by naming it: glrunner exec 'release'"),)
    (job,) = plan_pipeline(parse_pipeline(text), make_context(), ["release"]).jobs
    assert (job.when, job.manual, job.allow_failure) == ("on_success", True, True)


def test_when_values_reach_the_plan() -> None:
    text = "a: {script: [x], when: always}\nb: {script: [x], when: on_failure}\nc: {script: [x], when: never}\n"
    plan = plan_pipeline(parse_pipeline(text), make_context())
    assert [(j.name, j.when) for j in plan.jobs] == [("a", "always"), ("b", "on_failure")]
    assert plan.skipped == (("c", "when: never"),)


def test_rules_when_manual_does_not_allow_failure_by_default() -> None:
    text = "a:\n  script: [x]\n  rules:\n    - when: manual\n"
    (job,) = plan_pipeline(parse_pipeline(text), make_context(), ["a"]).jobs
    assert (job.manual, job.allow_failure) == (True, False)


def test_rules_first_match_decides() -> None:
    text = yaml("""
        job:
          script: [x]
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              when: never
            - when: always
    """)
    plan = plan_pipeline(parse_pipeline(text), make_context())
    assert plan.jobs == () and plan.skipped == (("job", "rules: the rule at .gitlab-ci.yml:4 says `when: never`"),)
    assert [j.when for j in plan_pipeline(parse_pipeline(text), make_context(ref_name="dev")).jobs] == ["always"]


def test_rules_see_job_and_global_variables_and_project_variables() -> None:
    text = yaml("""
        variables: {GLOBAL: "1"}
        job:
          variables: {OWN: "yes"}
          script: [x]
          rules:
            - if: $GLOBAL == "1" && $OWN == "yes" && $FROM_ENV == "on"
    """)
    ctx = make_context(extra_variables=(JobVariable("FROM_ENV", "on", public=False),))
    assert planned(text, ctx) == [("test", "job")]
    assert planned(text) == []


def test_rules_do_not_see_persisted_variables() -> None:
    """GitLab: CI_JOB_ID, CI_PIPELINE_ID, CI_JOB_TOKEN... are unknown when rules are evaluated."""
    assert planned("job:\n  script: [x]\n  rules:\n    - if: $CI_PIPELINE_ID\n") == []
    assert planned("job:\n  script: [x]\n  rules:\n    - if: $CI_PROJECT_PATH == 'group/project'\n") == [
        ("test", "job")
    ]


def test_rules_exists_and_changes() -> None:
    text = yaml("""
        docker:
          script: [x]
          rules: [{exists: [Dockerfile]}]
        python:
          script: [x]
          rules: [{exists: ["src/**/*.py"]}]
        ruby:
          script: [x]
          rules: [{exists: ["*.gemspec"]}]
        changed:
          script: [x]
          rules: [{changes: ["docs/*.md"]}]
    """)
    assert [j for _, j in planned(text)] == ["docker", "python", "changed"]  # no diff known: changes is true
    ctx = make_context(changed_files=("src/app.py",))
    assert [j for _, j in planned(text, ctx)] == ["docker", "python"]
    ctx = make_context(changed_files=("docs/index.md",))
    assert [j for _, j in planned(text, ctx)] == ["docker", "python", "changed"]


def test_only_except_refs_and_variables() -> None:
    text = yaml("""
        default-only: {script: [x]}
        main-only: {script: [x], only: [main]}
        release-regex: {script: [x], only: ["/^release-\\\\d+$/"]}
        not-main: {script: [x], except: [main]}
        tags-only: {script: [x], only: [tags]}
        pushes: {script: [x], only: [pushes]}
        schedules: {script: [x], only: [schedules]}
        var-only:
          script: [x]
          only: {variables: [$DEPLOY == "yes"]}
        this-project: {script: [x], only: ["main@group/project"]}
        other-project: {script: [x], only: ["main@other/project"]}
    """)
    assert [j for _, j in planned(text)] == ["default-only", "main-only", "pushes", "this-project"]
    release = [j for _, j in planned(text, make_context(ref_name="release-12"))]
    assert release == ["default-only", "release-regex", "not-main", "pushes"]
    tag = [j for _, j in planned(text, make_context(ref_name="v1", ref_is_tag=True))]
    assert tag == ["default-only", "not-main", "tags-only", "pushes"]
    ctx = make_context(extra_variables=(JobVariable("DEPLOY", "yes", public=False),))
    assert "var-only" in [j for _, j in planned(text, ctx)]


def test_workflow_rules_can_block_the_pipeline() -> None:
    text = "workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\njob:\n  script: [x]\n"
    plan = plan_pipeline(parse_pipeline(text), make_context())
    assert plan.stages == ()
    assert plan.workflow_blocked == "workflow:rules: no rule matched, so GitLab would not create the pipeline"
    assert plan.skipped == (("job", plan.workflow_blocked),)


def test_workflow_rules_drop_the_default_only() -> None:
    """With workflow:rules, jobs without rules/only run on any ref, including merge requests."""
    text = "workflow:\n  rules:\n    - when: always\njob:\n  script: [x]\n"
    ctx = make_context(pipeline_source="merge_request_event")
    assert planned(text, ctx) == [("test", "job")]
    assert planned("job:\n  script: [x]\n", ctx) == [("test", "job")]  # default only: branches


def test_needs_in_the_plan() -> None:
    text = yaml("""
        build: {stage: build, script: [x], parallel: 2}
        test: {stage: test, script: [x], needs: [build, {job: docs, optional: true}]}
        lint: {stage: test, script: [x], needs: []}
        other: {stage: test, script: [x]}
    """)
    plan = plan_pipeline(parse_pipeline(text), make_context())
    assert {j.name: j.needs for j in plan.jobs} == {
        "build 1/2": None, "build 2/2": None, "test": ("build 1/2", "build 2/2"), "lint": (), "other": None
    }


def test_a_need_excluded_by_rules_fails_the_pipeline_but_not_a_selection() -> None:
    text = yaml("""
        build: {stage: build, script: [x], rules: [{if: $NEVER}]}
        test: {stage: test, script: [x], needs: [build]}
    """)
    with pytest.raises(CIConfigError) as caught:
        plan_pipeline(parse_pipeline(text), make_context())
    assert "needs 'build', but 'build' is not in the pipeline" in str(caught.value)
    (job,) = plan_pipeline(parse_pipeline(text), make_context(), ["test"]).jobs
    assert job.needs == ()


def test_selecting_a_parallel_job_by_its_name_selects_every_instance() -> None:
    assert planned("t:\n  script: [x]\n  parallel: 2\nu:\n  script: [x]\n", selected=("t",)) == [
        ("test", "t 1/2"), ("test", "t 2/2")
    ]


def test_allow_failure_exit_codes_in_the_plan() -> None:
    (job,) = plan_pipeline(parse_pipeline("j:\n  script: [x]\n  allow_failure: {exit_codes: [2]}\n"),
                           make_context()).jobs
    assert (job.allow_failure, job.allow_failure_exit_codes) == (False, (2,))


def test_delayed_runs_as_on_success() -> None:
    (job,) = plan_pipeline(parse_pipeline("j:\n  script: [x]\n  when: delayed\n  start_in: 1 minute\n"),
                           make_context()).jobs
    assert (job.when, job.delayed) == ("on_success", True)


def test_a_manual_gate_that_may_not_fail_blocks_later_stages() -> None:
    """GitLab blocks the pipeline at a manual job with allow_failure: false; `needs` jobs only wait for
    their needs."""
    text = yaml("""
        stages: [build, approve, deploy]
        build: {stage: build, script: [x]}
        approve:
          stage: approve
          script: [x]
          rules: [{when: manual}]
        deploy: {stage: deploy, script: [x]}
        docs: {stage: deploy, script: [x], needs: [build]}
        after-approve: {stage: deploy, script: [x], needs: [approve]}
    """)
    plan = plan_pipeline(parse_pipeline(text), make_context())
    assert [j.name for j in plan.jobs] == ["build", "docs"]
    assert dict(plan.skipped) == {
        "approve": "manual job; run it by naming it: glrunner exec 'approve'",
        "deploy": "blocked: manual job 'approve' (allow_failure: false) in stage 'approve' must run first; name it "
                  "to run it",
        "after-approve": "needs 'approve', which does not run",
    }
    assert [j.name for j in plan_pipeline(parse_pipeline(text), make_context(), ["approve", "deploy"]).jobs] == [
        "approve", "deploy"
    ]


def test_a_manual_job_that_may_fail_does_not_block() -> None:
    text = "stages: [a, b]\nm: {stage: a, when: manual, script: [x]}\nn: {stage: b, script: [x]}\n"
    assert [j.name for j in plan_pipeline(parse_pipeline(text), make_context()).jobs] == ["n"]
