"""Models -> config.toml text, laid out exactly as GitLab Runner writes it (spec 1.7).

The rules of its TOML encoder: per table, plain keys first in declaration order, then sub-tables in
declaration order; two spaces of indentation per nesting level; a blank line before each top-level
table. Keys listed in a model's `ALWAYS_WRITTEN` are written even when false/0/empty; all others
only when set.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta

from glrunner.config.base import ZERO_TIME, TomlModel, key_of
from glrunner.config.model import DEFAULT_CONNECTION_MAX_AGE, Config, RunnerSettings
from glrunner.durations import format_go_duration

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TIME_KEYS = frozenset({"token_obtained_at", "token_expires_at"})

TableValue = TomlModel | dict[str, object]


def render_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def render_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return _render_datetime(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return json.dumps(format_go_duration(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{render_key(k)} = {render_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    raise TypeError(f"cannot write {type(value).__name__} to config.toml")


def _render_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + ("Z" if value.tzinfo is not None else "")


def render_header(connection_max_age: bool) -> str:
    """The global part GitLab writes: `connection_max_age` only when a file existed (spec 1.6)."""
    config = Config(connection_max_age=DEFAULT_CONNECTION_MAX_AGE if connection_max_age else None)
    return "\n".join(_render_table(config, (), array=False, with_header=False, skip={"runners"})) + "\n"


def render_runner(runner: RunnerSettings) -> str:
    """One `[[runners]]` block, without a leading blank line."""
    return "\n".join(_render_table(runner, ("runners",), array=True, with_header=True)).lstrip("\n") + "\n"


def _render_table(
    table: TableValue,
    path: tuple[str, ...],
    array: bool,
    with_header: bool,
    skip: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    depth = len(path)
    out: list[str] = []
    if with_header:
        if depth == 1:
            out.append("")
        name = ".".join(render_key(part) for part in path)
        out.append("  " * (depth - 1) + (f"[[{name}]]" if array else f"[{name}]"))
    plain, tables = _split(table, skip)
    out += ["  " * depth + f"{render_key(key)} = {render_value(value)}" for key, value in plain]
    for key, value in tables:
        if isinstance(value, list):
            for item in value:
                out += _render_table(item, (*path, key), array=True, with_header=True)
        elif isinstance(value, TomlModel | dict):
            out += _render_table(value, (*path, key), array=False, with_header=True)
    return out


def _split(
    table: TableValue, skip: frozenset[str] | set[str]
) -> tuple[list[tuple[str, object]], list[tuple[str, object]]]:
    plain: list[tuple[str, object]] = []
    tables: list[tuple[str, object]] = []
    for key, value in _items(table):
        if key in skip:
            continue
        is_table = isinstance(value, TomlModel | dict) or (
            isinstance(value, list) and bool(value) and all(isinstance(v, TomlModel | dict) for v in value)
        )
        (tables if is_table else plain).append((key, value))
    return plain, tables


def _items(table: TableValue) -> list[tuple[str, object]]:
    if isinstance(table, dict):
        return [(key, value) for key, value in table.items() if value is not None]
    items: list[tuple[str, object]] = []
    always = type(table).ALWAYS_WRITTEN
    for name, field in type(table).model_fields.items():
        key = key_of(name, field)
        value = getattr(table, name)
        if value is None and key in _TIME_KEYS:
            value = ZERO_TIME
        if _is_written(key, value, field.get_default(call_default_factory=True), always):
            items.append((key, value))
    return items


def _is_written(key: str, value: object, default: object, always: frozenset[str]) -> bool:
    if value is None:
        return False
    if key in always or default is None:  # Go pointers: written whenever set, even to 0/false
        return True
    if isinstance(value, TomlModel):
        return value != default
    return not (value is False or value == "" or value == 0 or value == [] or value == {})
