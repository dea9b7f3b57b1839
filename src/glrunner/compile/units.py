"""Docker resource strings from config.toml (`memory = "512m"`, `cpus = "1.5"`)."""

from __future__ import annotations

import re

from glrunner.errors import JobConfigurationError

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_memory(text: str) -> int:
    """Bytes, as docker's RAMInBytes reads "512m", "1g", "1024"; empty is 0 (unlimited)."""
    if not text:
        return 0
    match = _MEMORY.match(text)
    if not match:
        raise JobConfigurationError(f"memory value {text!r} is not valid; write it like 512m or 2g")
    return int(float(match.group(1)) * _FACTORS[match.group(2).lower()])


def parse_cpus(text: str) -> float:
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError as exc:
        raise JobConfigurationError(f"cpus value {text!r} is not a number; write it like 1.5") from exc
