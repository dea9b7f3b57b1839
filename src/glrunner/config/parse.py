"""config.toml text -> `Config`, with every problem located (file, line, key, what, how to fix).

Pure: the caller passes the text, the name to show and, for `$VAR` expansion of `url`/`token`,
the environment (spec 1.6).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from glrunner.config.base import TomlModel, key_of
from glrunner.config.locate import KeyPath, line_of, locate_keys, table_at_end
from glrunner.config.model import DEFAULT_CONNECTION_MAX_AGE, Config
from glrunner.durations import format_go_duration
from glrunner.errors import ConfigError, Problem

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")
_GO_ENV_REF = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+)|\$([*#$@!?\-])")


def parse_config(text: str, filename: str, env: Mapping[str, str] | None = None) -> Config:
    """Validate config.toml text. `env`, when given, expands `$VAR` in each runner's url and token."""
    data = _decode(text, filename)
    lines = locate_keys(text)
    if env is not None:
        _expand_credentials(data, env)
    data.setdefault("connection_max_age", format_go_duration(DEFAULT_CONNECTION_MAX_AGE))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, filename, lines) for error in exc.errors()]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from None
    config._warnings = tuple(_unknown_keys(config, (), filename, lines))
    config._loaded = True
    return config


def default_config() -> Config:
    """What GitLab Runner uses when config.toml does not exist (spec 1.6)."""
    return Config()


def expand_env(value: str, env: Mapping[str, str]) -> str:
    """Go's os.ExpandEnv: `$VAR` and `${VAR}`, unknown variables become empty."""

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group is not None)
        return env.get(name, "")

    return _GO_ENV_REF.sub(replace, value)


def _decode(text: str, filename: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(str(exc), text, filename)]) from None


def _syntax_problem(message: str, text: str, filename: str) -> Problem:
    match = _TOML_POSITION.search(message)
    line = int(match.group(1)) if match and match.group(1) else None
    what = _TOML_POSITION.sub("", message)
    lines = text.split("\n")
    source = lines[line - 1] if line and line <= len(lines) else ""
    key = source.split("=", 1)[0].strip() if "=" in source else ""
    if what.startswith("Cannot overwrite a value") and line:
        key = describe_path((*_table_before(lines[: line - 1]), key))
        return Problem(filename, line, key, "duplicate key: it is already set in this table; keep only one")
    if what.startswith("Cannot declare"):
        return Problem(filename, line, source.strip(), "table declared twice; merge the two sections")
    if what == "Illegal character '\\n'":
        what = "the line ends inside a string; add the closing quote"
    elif what == "Invalid value":
        what = 'missing or invalid value; strings need quotes (key = "value"), booleans are true/false'
    else:
        what = f"invalid TOML: {what}; check the quoting, brackets and '=' on this line"
    return Problem(filename, line, key, what)


def _table_before(lines: list[str]) -> KeyPath:
    try:
        return table_at_end("\n".join(lines) + "\n")
    except (IndexError, ValueError):
        return ()


def _expand_credentials(data: dict[str, Any], env: Mapping[str, str]) -> None:
    runners = data.get("runners")
    if not isinstance(runners, list):
        return
    for runner in runners:
        if not isinstance(runner, dict):
            continue
        for key in ("url", "token"):
            if isinstance(runner.get(key), str):
                runner[key] = expand_env(runner[key], env)


def describe_path(path: KeyPath) -> str:
    """("runners", 1, "docker", "privileged") -> "[[runners]] #2 docker.privileged"."""
    prefix = ""
    rest = path
    if len(path) >= 2 and path[0] == "runners" and isinstance(path[1], int):
        prefix, rest = f"[[runners]] #{path[1] + 1}", path[2:]
    text = ""
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f"{prefix} {text}".strip()


def toml_repr(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(toml_repr(item) for item in value) + "]"
    return str(value)


def _problem(error: ErrorDetails, filename: str, lines: dict[KeyPath, int]) -> Problem:
    path = tuple(part for part in error["loc"] if isinstance(part, str | int))
    leaf = next((p for p in reversed(path) if isinstance(p, str)), "key")
    message = _explain(error, leaf)
    return Problem(filename, line_of(lines, path), describe_path(path), message)


def _explain(error: ErrorDetails, leaf: str) -> str:
    kind, got = error["type"], error.get("input")
    shown = toml_repr(got)
    if kind == "bool_type":
        return f"expected a boolean, got {shown}; write {leaf} = true or {leaf} = false"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"expected an integer, got {shown}; write a whole number without quotes, e.g. {leaf} = 10"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {shown}; write it without quotes"
    if kind == "string_type":
        return f'expected a string, got {shown}; put the value in quotes: {leaf} = "{got}"'
    if kind in ("list_type", "tuple_type"):
        if isinstance(got, dict):
            return f"expected an array, got a table; write [[{leaf}]] for each entry instead of [{leaf}]"
        return f"expected an array, got {shown}; write {leaf} = [...]"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a table, got {shown}; write it as [{leaf}] or {leaf} = {{ ... }}"
    if kind in ("datetime_type", "datetime_parsing"):
        return f"expected a date-time, got {shown}; write it unquoted, e.g. {leaf} = 2025-01-01T10:10:10Z"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected one of {expected}, got {shown}"
    if kind == "missing":
        return f"required key is missing; add {leaf} = ..."
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{error['msg']}, got {shown}"


def _unknown_keys(model: BaseModel, path: KeyPath, filename: str, lines: dict[KeyPath, int]) -> list[Problem]:
    warnings: list[Problem] = []
    known = [key_of(name, field) for name, field in type(model).model_fields.items()]
    for key in model.model_extra or {}:
        key_path = (*path, key)
        hint = difflib.get_close_matches(key, known, n=1)
        fix = f"; did you mean {hint[0]}?" if hint else "; check the spelling"
        message = f"unknown key, ignored{fix}"
        warnings.append(Problem(filename, line_of(lines, key_path), describe_path(key_path), message))
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        key_path = (*path, key_of(name, field))
        if isinstance(value, TomlModel):
            warnings += _unknown_keys(value, key_path, filename, lines)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, TomlModel):
                    warnings += _unknown_keys(item, (*key_path, index), filename, lines)
    return warnings
