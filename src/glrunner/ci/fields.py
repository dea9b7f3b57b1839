"""Typed readers for keyword values: each returns the normalised value or records a located problem."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from glrunner.ci.problems import Problems, suggest
from glrunner.ci.yamltree import Loc, YMap, YSeq, ruby_to_s

MAX_SCRIPT_NESTING = 10


DOCS_URL = "https://docs.gitlab.com/ci/yaml/"


def check_keys(node: YMap, allowed: Collection[str], key: str, problems: Problems) -> None:
    """One problem per unknown key, at that key's line, with a suggestion when one is close."""
    for name in node:
        if name not in allowed:
            listed = f"; the known keys are: {', '.join(sorted(allowed))}"
            hint = suggest(name, allowed) or (listed if len(allowed) <= 12 else f"; see the keywords at {DOCS_URL}")
            problems.add(node.key_loc(name), key, f"config contains unknown keys: {name}{hint}")


def mapping(value: Any, loc: Loc, key: str, problems: Problems) -> YMap | None:
    if isinstance(value, YMap):
        return value
    problems.add(loc, key, f"config should be a hash, not {describe(value)}")
    return None


def string(value: Any, loc: Loc, key: str, problems: Problems, *, numbers: bool = False) -> str | None:
    if isinstance(value, str):
        return value
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return ruby_to_s(value)
    hint = f'; quote it: "{ruby_to_s(value)}"' if isinstance(value, bool | int | float) else ""
    problems.add(loc, key, f"should be a string, not {describe(value)}{hint}")
    return None


def boolean(value: Any, loc: Loc, key: str, problems: Problems) -> bool | None:
    if isinstance(value, bool):
        return value
    problems.add(loc, key, f"should be a boolean value (true or false), not {describe(value)}")
    return None


def integer(value: Any, loc: Loc, key: str, problems: Problems, low: int, high: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    problems.add(loc, key, f"should be a whole number from {low} to {high}, not {describe(value)}")
    return None


def one_of(value: Any, loc: Loc, key: str, allowed: Collection[str], problems: Problems) -> str | None:
    if isinstance(value, str) and value in allowed:
        return value
    shown = value if isinstance(value, str) else describe(value)
    problems.add(loc, key, f"should be one of: {', '.join(allowed)}; not {shown!s}{suggest(str(value), allowed)}")
    return None


def strings(
    value: Any, loc: Loc, key: str, problems: Problems, *, single: bool = True, numbers: bool = False
) -> tuple[str, ...] | None:
    """A list of strings (numbers too when `numbers`, as strings); a lone string when `single`."""
    if single and isinstance(value, str):
        return (value,)
    if isinstance(value, YSeq):
        result: list[str] = []
        for index, item in enumerate(flatten(value)):
            text = string(item[0], item[1], f"{key}[{index}]", problems, numbers=numbers)
            if text is not None:
                result.append(text)
        return tuple(result)
    problems.add(loc, key, f"should be {'a string or ' if single else ''}an array of strings, not {describe(value)}")
    return None


def commands(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[str, ...] | None:
    """`script`-like values: a string or arrays of strings nested up to 10 levels, flattened."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, YSeq):
        problems.add(loc, key, f"config should be a string or a nested array of strings, not {describe(value)}")
        return None
    result: list[str] = []
    for text, item_loc, depth in _walk(value, value.loc, 1):
        if depth > MAX_SCRIPT_NESTING:
            problems.add(item_loc, key, f"is nested more than {MAX_SCRIPT_NESTING} levels deep")
            return None
        if isinstance(text, str):
            result.append(text)
        else:
            hint = ""
            if isinstance(text, YMap):
                hint = "; a command containing ': ' is read as a mapping, quote the whole line"
            elif isinstance(text, bool | int | float):
                hint = f'; quote it: "{ruby_to_s(text)}"'
            problems.add(item_loc, key, f"config should be a string or a nested array of strings, "
                         f"not {describe(text)}{hint}")
    return tuple(result)


def flatten(seq: YSeq) -> list[tuple[Any, Loc]]:
    """Items of nested lists (from `!reference` or anchors) as one list of (value, location)."""
    return [(value, item_loc) for value, item_loc, _ in _walk(seq, seq.loc, 1)]


def _walk(seq: YSeq, loc: Loc, depth: int) -> Iterator[tuple[Any, Loc, int]]:
    for index, item in enumerate(seq):
        item_loc = seq.item_loc(index)
        if isinstance(item, YSeq):
            if depth >= MAX_SCRIPT_NESTING:
                yield item, item_loc, depth + 1
                continue
            yield from _walk(item, item_loc, depth + 1)
        else:
            yield item, item_loc, depth


def describe(value: Any) -> str:
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return f"the boolean {ruby_to_s(value)}"
    if isinstance(value, int | float):
        return f"the number {ruby_to_s(value)}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, YMap):
        return "a hash"
    if isinstance(value, YSeq | list):
        return "an array"
    return type(value).__name__
