"""YAML text -> a located tree: dicts and lists that remember file and line of every key and item.

ruamel.yaml composes the node graph (anchors and aliases resolved, YAML 1.1 scalars as GitLab's
Psych reads them: `yes`/`on` are booleans, `017` is octal); we build the tree ourselves so that
merge keys (`<<`) keep their position and `!reference [a, b]` becomes a `Reference`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from glrunner.ci.problems import Problems

MAX_DEPTH = 100
MAX_NODES = 200_000  # guards against alias bombs (a few lines expanding to millions of nodes)

_TAG = "tag:yaml.org,2002:"
_PSYCH_BOOLEANS = ("yes", "no", "true", "false", "on", "off")


@dataclass(frozen=True)
class Loc:
    file: str
    line: int  # 1-based


class YMap(dict[str, Any]):
    """A YAML mapping with the location of the mapping and of each key."""

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs: dict[str, Loc] = {}

    def put(self, key: str, value: Any, loc: Loc) -> None:
        self[key] = value
        self.key_locs[key] = loc

    def key_loc(self, key: str) -> Loc:
        return self.key_locs.get(key, self.loc)


class YSeq(list[Any]):
    """A YAML sequence with the location of the sequence and of each item."""

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs: list[Loc] = []

    def push(self, value: Any, loc: Loc) -> None:
        self.append(value)
        self.item_locs.append(loc)

    def item_loc(self, index: int) -> Loc:
        return self.item_locs[index] if index < len(self.item_locs) else self.loc


@dataclass(frozen=True)
class Reference:
    """`!reference [.job, key, ...]`, resolved after `extends` (as GitLab does)."""

    path: tuple[str, ...]
    loc: Loc


class _Limits(Exception):
    pass


def parse_yaml(text: str, filename: str, problems: Problems) -> Any:
    """The located tree of `text`, or None after adding a problem (invalid YAML, bad tags)."""
    yaml = YAML(typ="rt")
    yaml.version = (1, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            documents = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        problems.add(Loc(filename, _mark_line(exc)), "", _yaml_message(exc))
        return None
    except YAMLError as exc:  # errors without a position
        problems.add(Loc(filename, 1), "", f"invalid YAML: {exc}")
        return None
    documents = [d for d in documents if d is not None]
    if not documents:
        return None
    if len(documents) > 1:
        problems.add(
            Loc(filename, documents[1].start_mark.line + 1),
            "",
            "several YAML documents ('---'): a `spec:` header with inputs is not supported by "
            "glrunner; keep one document",
        )
        return None
    builder = _Builder(filename, problems)
    try:
        return builder.build(documents[0], 0)
    except _Limits as exc:
        problems.add(Loc(filename, 1), "", str(exc))
        return None


def _mark_line(exc: MarkedYAMLError) -> int:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else 1


def _yaml_message(exc: MarkedYAMLError) -> str:
    problem = exc.problem or "syntax error"
    column = f" (column {exc.problem_mark.column + 1})" if exc.problem_mark is not None else ""
    context = f", {exc.context}" if exc.context else ""
    marks = (exc.context_mark, exc.problem_mark)
    if marks[0] is not None and marks[1] is not None and marks[0].line != marks[1].line:
        context += f" started on line {marks[0].line + 1}"
    return (
        f"invalid YAML: {problem}{column}{context}; check the indentation and quote values "
        "that contain ': ', '#', '{' or start with '*', '&', '!' or '@'"
    )


class _Builder:
    def __init__(self, filename: str, problems: Problems) -> None:
        self.filename = filename
        self.problems = problems
        self.count = 0

    def loc(self, node: Node) -> Loc:
        return Loc(self.filename, node.start_mark.line + 1)

    def build(self, node: Node, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Limits(f"the YAML expands to more than {MAX_NODES} nodes (aliases?); simplify it")
        if depth > MAX_DEPTH:
            raise _Limits(f"the YAML is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, MappingNode):
            return self.mapping(node, depth)
        if isinstance(node, SequenceNode):
            return self.sequence(node, depth)
        assert isinstance(node, ScalarNode)
        return self.scalar(node)

    def mapping(self, node: MappingNode, depth: int) -> YMap:
        result = YMap(self.loc(node))
        explicit: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                self.merge_into(result, value_node, explicit, depth)
                continue
            key = self.key(key_node)
            if key in explicit:
                self.problems.warn(
                    self.loc(key_node), key, f"duplicate key (first on line {result.key_loc(key).line}); "
                    "the last one wins"
                )
            explicit.add(key)
            result.pop(key, None)  # a key keeps the position where it was last written
            result.put(key, self.build(value_node, depth + 1), self.loc(key_node))
        return result

    def merge_into(self, result: YMap, value_node: Node, explicit: set[str], depth: int) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        merged: list[tuple[str, Any, Loc]] = []
        seen: set[str] = set()
        for source in sources:  # in a merge list, earlier maps win
            built = self.build(source, depth + 1)
            if not isinstance(built, YMap):
                self.problems.add(self.loc(source), "<<", "a merge key (<<) needs a mapping or a list of mappings")
                continue
            for key, value in built.items():
                if key not in seen:
                    seen.add(key)
                    merged.append((key, value, built.key_loc(key)))
        for key, value, loc in merged:
            if key not in explicit:  # explicit keys win over merged ones, wherever they are
                result.put(key, value, loc)

    def sequence(self, node: SequenceNode, depth: int) -> Any:
        if node.tag == "!reference":
            return self.reference(node)
        if node.tag not in (_TAG + "seq", None):
            self.unknown_tag(node)
        result = YSeq(self.loc(node))
        for item in node.value:
            result.push(self.build(item, depth + 1), self.loc(item))
        return result

    def reference(self, node: SequenceNode) -> Reference | None:
        parts = [item.value for item in node.value if isinstance(item, ScalarNode)]
        if not parts or len(parts) != len(node.value):
            self.problems.add(
                self.loc(node), "!reference", "is not valid; write it as !reference [.job, key, ...] with names only"
            )
            return None
        return Reference(tuple(str(p) for p in parts), self.loc(node))

    def key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            self.problems.add(self.loc(node), "", "a mapping key must be a plain value, not a list or mapping")
            return f"<invalid key on line {node.start_mark.line + 1}>"
        value = self.scalar(node)
        return ruby_to_s(value)

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag or _TAG + "str"
        value: str = node.value
        if tag == _TAG + "str":
            return value
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            lowered = value.lower()
            if lowered not in _PSYCH_BOOLEANS:  # ruamel's YAML 1.1 also takes y/n; Psych does not
                return value
            return lowered in ("yes", "true", "on")
        if tag == _TAG + "int":
            return _parse_int(value)
        if tag == _TAG + "float":
            return _parse_float(value)
        if tag == _TAG + "timestamp":
            return value
        if node.tag == "!reference":
            self.problems.add(self.loc(node), "!reference", "needs a list: !reference [.job, key]")
            return None
        self.unknown_tag(node)
        return value

    def unknown_tag(self, node: Node) -> None:
        self.problems.add(
            self.loc(node), "", f"unknown YAML tag {node.tag}; GitLab CI supports only !reference"
        )


def _parse_int(text: str) -> int:
    value = text.replace("_", "")
    sign = -1 if value.startswith("-") else 1
    value = value.lstrip("+-")
    if ":" in value:  # YAML 1.1 sexagesimal, e.g. 1:30 == 90
        total = 0
        for part in value.split(":"):
            total = total * 60 + int(part)
        return sign * total
    if value.startswith(("0x", "0X")):
        return sign * int(value[2:], 16)
    if value.startswith(("0b", "0B")):
        return sign * int(value[2:], 2)
    if value.startswith(("0o", "0O")):
        return sign * int(value[2:], 8)
    if len(value) > 1 and value.startswith("0"):
        return sign * int(value, 8)
    return sign * int(value)


def _parse_float(text: str) -> float:
    value = text.replace("_", "").lower()
    if value in (".nan", "+.nan", "-.nan"):
        return float("nan")
    if value.lstrip("+-") == ".inf":
        return float("-inf") if value.startswith("-") else float("inf")
    if ":" in value:
        sign = -1.0 if value.startswith("-") else 1.0
        total = 0.0
        for part in value.lstrip("+-").split(":"):
            total = total * 60 + float(part)
        return sign * total
    return float(value)


_EXPONENT = re.compile(r"^(-?\d+)(e[-+]\d+)$")


def ruby_to_s(value: Any) -> str:
    """A scalar as GitLab (Ruby's `to_s`) turns it into a string: 1.0 -> "1.0", true -> "true"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}[text]
        match = _EXPONENT.match(text)
        return f"{match.group(1)}.0{match.group(2)}" if match else text
    return str(value)
