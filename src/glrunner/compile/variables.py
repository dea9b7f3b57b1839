"""Job variables as GitLab Runner assembles them (spec 3.1, 3.3) and expands them.

The list is ordered; a later entry with the same key wins. Values are expanded once, `$VAR` /
`${VAR}` style, against the same list (`raw` ones never), as GitLab Runner's `Expand` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from glrunner.model.payload import JobVariable

_REFERENCE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$)|([*#@!?0-9-]))")


@dataclass(frozen=True)
class Variable:
    key: str
    value: str
    public: bool = True
    internal: bool = False  # added by the runner: visible to services like public ones
    masked: bool = False
    file: bool = False
    raw: bool = False

    @property
    def visible_to_services(self) -> bool:
        return self.public or self.internal


def from_payload(variables: Iterable[JobVariable]) -> list[Variable]:
    return [Variable(v.key, v.value, v.public, False, v.masked, v.file, v.raw) for v in variables]


def internal(key: str, value: str) -> Variable:
    return Variable(key, value, public=True, internal=True)


def lookup(variables: Sequence[Variable], key: str) -> Variable | None:
    for var in reversed(variables):
        if var.key == key:
            return var
    return None


def as_mapping(variables: Iterable[Variable]) -> dict[str, str]:
    result: dict[str, str] = {}
    for var in variables:
        result[var.key] = var.value
    return result


def expand_value(value: str, values: Mapping[str, str]) -> str:
    """One pass of `$VAR`/`${VAR}`; `$$` is a literal `$`; unknown names expand to nothing."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name is not None:
            return values.get(name, "")
        if match.group(3):
            return "$"
        return match.group(0)

    return _REFERENCE.sub(substitute, value)


def expand_all(variables: Sequence[Variable]) -> list[Variable]:
    values = as_mapping(variables)
    return [v if v.raw else replace(v, value=expand_value(v.value, values)) for v in variables]


def deduplicated(variables: Iterable[Variable]) -> list[Variable]:
    """Keep the last occurrence of each key, at the position of that last occurrence."""
    ordered = list(variables)
    last = {var.key: i for i, var in enumerate(ordered)}
    return [var for i, var in enumerate(ordered) if last[var.key] == i]


def masked_phrases(variables: Iterable[Variable]) -> tuple[str, ...]:
    phrases = {v.value.strip() for v in variables if v.masked and v.value.strip()}
    return tuple(sorted(phrases, key=lambda p: (-len(p), p)))


def parse_env_entries(entries: Iterable[str]) -> list[tuple[str, str]]:
    """config.toml `environment = ["K=V", ...]`; an entry without `=` is skipped, as GitLab does."""
    pairs = []
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep and key:
            pairs.append((key, value))
    return pairs


def parse_bool(value: str | None) -> bool | None:
    """Go's strconv.ParseBool."""
    if value is None:
        return None
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None
