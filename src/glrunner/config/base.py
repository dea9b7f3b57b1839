"""Building blocks shared by the config.toml models: the base model, Go durations, pull policies.

Every model validates strictly (TOML already has types: `privileged = "yes"` is an error, not a
truthy string), is frozen, and keeps unknown keys aside (`model_extra`) so the parser can warn
about them instead of failing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo

PullPolicyName = Literal["always", "if-not-present", "never"]

# GitLab writes an unset time.Time as Go's zero time.
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


class TomlModel(BaseModel):
    """A TOML table. Attribute names are the TOML keys; aliases only where a key is no identifier."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="allow",
        populate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    # Keys GitLab Runner writes even when they are false/0/empty (its `omitzero` bools, untagged
    # fields, `omitempty` numbers). Everything else is written only when set. See spec 1.7.
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset()


def toml_key(key: str, default: Any) -> Any:
    """A field whose TOML key is no Python identifier (`tls-ca-file`) or is CamelCase (`BucketName`).

    A validation/serialisation alias, not `alias`, so that code constructs models by attribute
    name and type checkers agree.
    """
    return Field(default, validation_alias=key, serialization_alias=key)


def key_of(name: str, field: FieldInfo) -> str:
    """The TOML key of a model field."""
    return field.serialization_alias or field.alias or name


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(value: object) -> object:
    """Go's time.ParseDuration ("15m0s", "1h30m", "300ms"); a bare integer is nanoseconds, as in Go."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(microseconds=value / 1000)
    if not isinstance(value, str):
        raise ValueError(f'expected a duration such as "15m0s" or "30s", got {value!r}')
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return timedelta(0)
    pos, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise ValueError(f'invalid duration "{value}"; write it like "15m0s", "1h30m" or "30s"')
    return timedelta(seconds=sign * seconds)




def normalise_pull_policy(value: object) -> object:
    """`pull_policy` is a string or an array in config.toml; the model always holds a list."""
    if isinstance(value, str):
        return [value]
    return value


GoDuration = Annotated[timedelta, BeforeValidator(parse_go_duration)]
PullPolicies = Annotated[list[PullPolicyName], BeforeValidator(normalise_pull_policy)]
