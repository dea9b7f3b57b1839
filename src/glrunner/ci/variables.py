"""`variables:` (global, job, rules, matrix) -> VariableDef, and `$VAR` expansion where GitLab does it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from glrunner.ci import fields
from glrunner.ci.model import VariableDef
from glrunner.ci.problems import Problems
from glrunner.ci.yamltree import Loc, YMap, YSeq, ruby_to_s

GLOBAL_DATA_KEYS = ("value", "description", "options", "expand")
JOB_DATA_KEYS = ("value", "expand")


def read_variables(
    value: Any, loc: Loc, key: str, problems: Problems, *, data_keys: tuple[str, ...] = JOB_DATA_KEYS
) -> tuple[VariableDef, ...]:
    node = fields.mapping(value, loc, key, problems) if value is not None else YMap(loc)
    if node is None:
        return ()
    result: list[VariableDef] = []
    for name, raw in node.items():
        variable = _read_variable(name, raw, node.key_loc(name), f"{key}.{name}", problems, data_keys)
        if variable is not None:
            result.append(variable)
    return tuple(result)


def _read_variable(
    name: str, value: Any, loc: Loc, key: str, problems: Problems, data_keys: tuple[str, ...]
) -> VariableDef | None:
    if not name:
        problems.add(loc, key, "a variable needs a name")
        return None
    if isinstance(value, YMap):
        return _read_hash_variable(name, value, loc, key, problems, data_keys)
    text = _scalar_value(value, loc, key, problems)
    return None if text is None else VariableDef(name, text)


def _read_hash_variable(
    name: str, node: YMap, loc: Loc, key: str, problems: Problems, data_keys: tuple[str, ...]
) -> VariableDef | None:
    for data_key in node:
        if data_key not in data_keys:
            problems.add(node.key_loc(data_key), key, f"uses invalid data keys: {data_key}; allowed here: "
                         f"{', '.join(data_keys)}")
    text = _scalar_value(node.get("value", ""), node.key_loc("value"), f"{key}.value", problems)
    description = ""
    if "description" in node:
        description = fields.string(node["description"], node.key_loc("description"), f"{key}.description",
                                    problems) or ""
    options: tuple[str, ...] = ()
    if "options" in node:
        opt_loc = node.key_loc("options")
        options = fields.strings(node["options"], opt_loc, f"{key}.options", problems, single=False) or ()
        if text is not None and options and text not in options:
            problems.add(opt_loc, key, f"value {text!r} must be one of its options: {', '.join(options)}")
    expand = True
    if "expand" in node:
        expand = fields.boolean(node["expand"], node.key_loc("expand"), f"{key}.expand", problems) is not False
    if text is None:
        return None
    return VariableDef(name, text, raw=not expand, description=description, options=options)


def _scalar_value(value: Any, loc: Loc, key: str, problems: Problems) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ruby_to_s(value)
    if isinstance(value, bool):
        hint = f"; quote it: \"{ruby_to_s(value)}\" (YAML reads yes/no/on/off/true/false as booleans)"
    elif value is None:
        hint = "; write \"\" for an empty value"
    elif isinstance(value, YSeq):
        hint = "; join the items into one string"
    else:
        hint = ""
    problems.add(loc, key, f"variables config should be a hash of key value pairs, value can be a hash{hint}")
    return None


def merge_variables(*groups: Iterable[VariableDef]) -> tuple[VariableDef, ...]:
    """GitLab's merge of variable lists: one entry per key, where it was *last* defined."""
    merged: dict[str, VariableDef] = {}
    for group in groups:
        for variable in group:
            merged.pop(variable.key, None)
            merged[variable.key] = variable
    return tuple(merged.values())


_REFERENCE = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")


def expand(text: str, lookup: Callable[[str], str | None] | Mapping[str, str]) -> str:
    """`$VAR` and `${VAR}` replaced (unknown ones by ""), `$$` kept as a literal `$`."""
    get = lookup.get if isinstance(lookup, Mapping) else lookup

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        return get(name) or ""

    return _REFERENCE.sub(replace, text)
