"""Does a job run, and how: `rules:`, `only:`/`except:` and `workflow:rules`, as GitLab decides
when it creates the pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from glrunner.ci.context import PipelineContext
from glrunner.ci.expressions import ExpressionError, compile_pattern, is_true
from glrunner.ci.model import JobDefinition, NeedDef, RefPolicy, RuleDef, VariableDef, WorkflowDef
from glrunner.ci.variables import expand
from glrunner.globs import glob_match


@dataclass(frozen=True)
class Decision:
    run: bool
    when: str = "on_success"  # on_success, on_failure, always, manual, delayed, never
    allow_failure: bool = False
    variables: tuple[VariableDef, ...] = ()  # from the matching rule
    needs: tuple[NeedDef, ...] | None = None  # rules:needs replaces the job's needs
    reason: str = ""  # why it does not run


def decide_workflow(workflow: WorkflowDef, variables: Mapping[str, str], ctx: PipelineContext) -> Decision:
    if workflow.rules is None:
        return Decision(run=True)
    rule = _first_match(workflow.rules, variables, ctx)
    if rule is None:
        return Decision(run=False, when="never", reason="workflow:rules: no rule matched, so GitLab would not "
                        "create the pipeline")
    if rule.when == "never":
        return Decision(run=False, when="never", reason=f"workflow:rules: {_where(rule)} says `when: never`")
    return Decision(run=True, variables=rule.variables)


def decide_job(
    job: JobDefinition, variables: Mapping[str, str], ctx: PipelineContext, *, has_workflow_rules: bool
) -> Decision:
    implicit_allow_failure = job.allow_failure if job.allow_failure_defined else job.when == "manual"
    if job.rules is not None:
        rule = _first_match(job.rules, variables, ctx)
        if rule is None:
            return Decision(run=False, when="never", reason="rules: no rule matched")
        when = rule.when or job.when
        allow_failure = rule.allow_failure if rule.allow_failure is not None else implicit_allow_failure
        if when == "never":
            return Decision(run=False, when="never", reason=f"rules: {_where(rule)} says `when: never`")
        return Decision(run=True, when=when, allow_failure=allow_failure, variables=rule.variables,
                        needs=rule.needs)
    only, except_ = job.only, job.except_
    if only is None and except_ is None and not has_workflow_rules:
        only = RefPolicy(refs=("branches", "tags"))  # GitLab's default `only`
    if only is not None and not _policy_applies(only, variables, ctx):
        return Decision(run=False, when="never", reason=f"only: {_describe_ref(ctx)} does not match")
    if except_ is not None and _policy_applies(except_, variables, ctx, excluding=True):
        return Decision(run=False, when="never", reason=f"except: {_describe_ref(ctx)} matches")
    if job.when == "never":
        return Decision(run=False, when="never", reason="when: never")
    return Decision(run=True, when=job.when, allow_failure=implicit_allow_failure)


def _where(rule: RuleDef) -> str:
    return f"the rule at {rule.location.file}:{rule.location.line}" if rule.location else "the matching rule"


def _describe_ref(ctx: PipelineContext) -> str:
    return f"{'tag' if ctx.ref_is_tag else 'branch'} '{ctx.ref_name}' (pipeline source {ctx.pipeline_source})"


def _first_match(rules: Sequence[RuleDef], variables: Mapping[str, str], ctx: PipelineContext) -> RuleDef | None:
    return next((rule for rule in rules if _rule_matches(rule, variables, ctx)), None)


def _rule_matches(rule: RuleDef, variables: Mapping[str, str], ctx: PipelineContext) -> bool:
    if rule.if_expr is not None and not is_true(rule.if_expr, variables):
        return False
    if rule.changes is not None and not _changed(rule.changes, variables, ctx):
        return False
    return rule.exists is None or _exists(rule.exists, variables, ctx)


def _changed(patterns: Sequence[str], variables: Mapping[str, str], ctx: PipelineContext) -> bool:
    if ctx.changed_files is None:
        return True  # no diff known: GitLab treats `changes` as true (new branches, tags, schedules)
    globs = [expand(p, variables) for p in patterns]
    return any(glob_match(glob, path) for glob in globs for path in ctx.changed_files)


def _exists(patterns: Sequence[str], variables: Mapping[str, str], ctx: PipelineContext) -> bool:
    globs = [expand(p, variables).lstrip("/") for p in patterns]
    return any(glob_match(glob, path) for glob in globs for path in ctx.files)


def _policy_applies(
    policy: RefPolicy, variables: Mapping[str, str], ctx: PipelineContext, *, excluding: bool = False
) -> bool:
    """`only`: every given clause holds. `except`: any given clause holds (GitLab's `none_of_except`)."""
    clauses: list[bool] = []
    if policy.refs:
        clauses.append(any(_ref_matches(pattern, ctx) for pattern in policy.refs))
    if policy.variables:
        clauses.append(any(is_true(expression, variables) for expression in policy.variables))
    if policy.changes is not None:
        clauses.append(_changed(policy.changes, variables, ctx))
    if policy.kubernetes:
        clauses.append(False)  # no Kubernetes integration is active locally
    if excluding:
        return any(clauses)
    return all(clauses)


def _ref_matches(pattern: str, ctx: PipelineContext) -> bool:
    pattern, _, path = pattern.partition("@")
    if path and path != ctx.project_path:
        return False
    if pattern == "tags":
        return ctx.ref_is_tag
    if pattern == "branches":
        return not ctx.ref_is_tag
    if pattern in (ctx.pipeline_source, _plural(ctx.pipeline_source)):
        return True
    if len(pattern) > 1 and pattern.startswith("/"):
        try:
            return compile_pattern(pattern).search(ctx.ref_name) is not None
        except ExpressionError:
            return False
    return pattern == ctx.ref_name


def _plural(source: str) -> str:
    return source + "es" if source.endswith("sh") else source + "s"


