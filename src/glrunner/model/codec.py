"""JSON <-> model conversions, done by pydantic so that bad input gets a located message."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from glrunner.errors import RunnerError
from glrunner.model.payload import JobPayload
from glrunner.model.spec import JobSpec


@cache
def _payload_adapter() -> TypeAdapter[JobPayload]:
    return TypeAdapter(JobPayload)


@cache
def _spec_adapter() -> TypeAdapter[JobSpec]:
    return TypeAdapter(JobSpec)


def parse_payload(data: dict[str, Any]) -> JobPayload:
    """A job as GitLab sent it; `null`s where GitLab sends them become the defaults."""
    try:
        return _payload_adapter().validate_python(_drop_nulls(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RunnerError(f"job payload: {where}: {first['msg']}") from exc


def payload_to_json(payload: JobPayload) -> dict[str, Any]:
    return _payload_adapter().dump_python(payload, mode="json")  # type: ignore[no-any-return]


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    return _spec_adapter().dump_python(spec, mode="json")  # type: ignore[no-any-return]


def spec_from_json(data: dict[str, Any]) -> JobSpec:
    return _spec_adapter().validate_python(data)


def dumps(obj: Any) -> str:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = TypeAdapter(type(obj)).dump_python(obj, mode="json")
    return json.dumps(obj, indent=2, sort_keys=False)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value
