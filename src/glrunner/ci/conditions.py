"""Parsing `rules:`, `workflow:`, `only:`/`except:` and `needs:` into their definitions."""

from __future__ import annotations

from typing import Any

from glrunner.ci import fields
from glrunner.ci.expressions import validate
from glrunner.ci.model import WHEN_VALUES, Location, NeedDef, RefPolicy, RuleDef, VariableDef, WorkflowDef
from glrunner.ci.problems import Problems
from glrunner.ci.variables import read_variables
from glrunner.ci.yamltree import Loc, YMap, YSeq

_RULE_KEYS = ("if", "changes", "exists", "when", "allow_failure", "variables", "start_in", "needs", "interruptible")
_WORKFLOW_RULE_KEYS = ("if", "changes", "exists", "when", "variables", "auto_cancel")
_POLICY_KEYS = ("refs", "variables", "changes", "kubernetes")
_NEED_KEYS = ("job", "artifacts", "optional", "parallel", "pipeline", "project", "ref")
MAX_NEEDS = 50


def read_rules(value: Any, loc: Loc, key: str, problems: Problems, *, workflow: bool = False) -> tuple[RuleDef, ...]:
    if not isinstance(value, YSeq):
        problems.add(loc, key, "config should be an array of hashes")
        return ()
    rules: list[RuleDef] = []
    for index, (item, item_loc) in enumerate(fields.flatten(value)):
        rule = _read_rule(item, item_loc, f"{key}[{index}]", problems, workflow)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _read_rule(value: Any, loc: Loc, key: str, problems: Problems, workflow: bool) -> RuleDef | None:
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, _WORKFLOW_RULE_KEYS if workflow else _RULE_KEYS, key, problems)
    if_expr = None
    if "if" in node:
        if_expr = fields.string(node["if"], node.key_loc("if"), f"{key}.if", problems)
        error = validate(if_expr) if if_expr is not None else None
        if error:
            problems.add(node.key_loc("if"), f"{key}.if", f"invalid expression syntax: {error}")
    when = None
    if "when" in node:
        allowed = ("always", "never") if workflow else WHEN_VALUES
        when = fields.one_of(node["when"], node.key_loc("when"), f"{key}.when", allowed, problems)
    allow_failure = None
    if "allow_failure" in node:
        allow_failure = fields.boolean(node["allow_failure"], node.key_loc("allow_failure"), f"{key}.allow_failure",
                                       problems)
    variables: tuple[VariableDef, ...] = ()
    if "variables" in node:
        variables = read_variables(node["variables"], node.key_loc("variables"), f"{key}.variables", problems)
    needs = None
    if "needs" in node:
        needs = read_needs(node["needs"], node.key_loc("needs"), f"{key}.needs", problems)
    start_in = ""
    if "start_in" in node:
        start_in = fields.string(node["start_in"], node.key_loc("start_in"), f"{key}.start_in", problems) or ""
    return RuleDef(
        if_expr=if_expr,
        changes=_paths(node, "changes", key, problems),
        exists=_paths(node, "exists", key, problems),
        when=when,
        allow_failure=allow_failure,
        start_in=start_in,
        variables=variables,
        needs=needs,
        location=Location(loc.file, loc.line),
    )


def _paths(node: YMap, name: str, key: str, problems: Problems) -> tuple[str, ...] | None:
    """`changes:`/`exists:`: a list of globs or a hash with `paths:` (compare_to/project are ignored)."""
    if name not in node:
        return None
    value, loc = node[name], node.key_loc(name)
    if isinstance(value, YMap):
        fields.check_keys(value, ("paths", "compare_to", "project", "ref"), f"{key}.{name}", problems)
        if "compare_to" in value or "project" in value:
            problems.warn(loc, f"{key}.{name}", "compare_to/project are ignored locally")
        value = value.get("paths", YSeq(loc))
    return fields.strings(value, loc, f"{key}.{name}", problems) or ()


def read_workflow(value: Any, loc: Loc, problems: Problems) -> WorkflowDef:
    node = fields.mapping(value, loc, "workflow", problems)
    if node is None:
        return WorkflowDef()
    fields.check_keys(node, ("rules", "name", "auto_cancel"), "workflow", problems)
    rules = None
    if "rules" in node:
        rules = read_rules(node["rules"], node.key_loc("rules"), "workflow.rules", problems, workflow=True)
    name = ""
    if "name" in node:
        name = fields.string(node["name"], node.key_loc("name"), "workflow.name", problems) or ""
    return WorkflowDef(rules=rules, name=name)


def read_policy(value: Any, loc: Loc, key: str, problems: Problems) -> RefPolicy | None:
    """`only:`/`except:` in the array form (refs) or the hash form."""
    if isinstance(value, YSeq | str):
        return RefPolicy(refs=fields.strings(value, loc, key, problems) or ())
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, _POLICY_KEYS, key, problems)
    refs: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    if "refs" in node:
        refs = fields.strings(node["refs"], node.key_loc("refs"), f"{key}.refs", problems) or ()
    if "variables" in node:
        var_loc = node.key_loc("variables")
        variables = fields.strings(node["variables"], var_loc, f"{key}.variables", problems, single=False) or ()
        for expression in variables:
            error = validate(expression)
            if error:
                problems.add(var_loc, f"{key}.variables", f"invalid expression syntax in {expression!r}: {error}")
    kubernetes = ""
    if "kubernetes" in node:
        kubernetes = fields.one_of(node["kubernetes"], node.key_loc("kubernetes"), f"{key}.kubernetes", ("active",),
                                   problems) or ""
    return RefPolicy(refs=refs, variables=variables, changes=_paths(node, "changes", key, problems),
                     kubernetes=kubernetes)


def read_needs(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[NeedDef, ...]:
    if not isinstance(value, YSeq):
        problems.add(loc, key, "config should be an array of job names or hashes with `job:`")
        return ()
    items = fields.flatten(value)
    if len(items) > MAX_NEEDS:
        problems.add(loc, key, f"has {len(items)} entries; GitLab allows at most {MAX_NEEDS}")
    needs: list[NeedDef] = []
    for index, (item, item_loc) in enumerate(items):
        need = _read_need(item, item_loc, f"{key}[{index}]", problems)
        if need is not None:
            needs.append(need)
    return tuple(needs)


def _read_need(value: Any, loc: Loc, key: str, problems: Problems) -> NeedDef | None:
    if isinstance(value, str):
        return NeedDef(value)
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, _NEED_KEYS, key, problems)
    if "pipeline" in node or "project" in node:
        problems.warn(loc, key, "needs from another pipeline or project are ignored locally")
        return None
    job = fields.string(node.get("job"), node.key_loc("job"), f"{key}.job", problems)
    if job is None:
        return None
    if "parallel" in node:
        problems.warn(node.key_loc("parallel"), key, "needs:parallel:matrix is treated as needing every instance")
    artifacts = optional = None
    if "artifacts" in node:
        artifacts = fields.boolean(node["artifacts"], node.key_loc("artifacts"), f"{key}.artifacts", problems)
    if "optional" in node:
        optional = fields.boolean(node["optional"], node.key_loc("optional"), f"{key}.optional", problems)
    return NeedDef(job, artifacts=artifacts is not False, optional=optional is True)
