"""Feature flags glrunner knows, with GitLab Runner's defaults (spec 3.5).

Resolution (spec 3.3): `[runners.feature_flags]` in config.toml, else a job variable, else a
config `environment` entry, else the default. Every known flag is exported to the job with its
resolved value, as GitLab Runner does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from glrunner.compile.variables import Variable, lookup, parse_bool

# Flags whose behaviour glrunner implements or whose value jobs may read.
KNOWN_FLAGS: dict[str, bool] = {
    # glrunner always gives each job its own network (README: differences from GitLab Runner).
    "FF_NETWORK_PER_BUILD": True,
    "FF_USE_INIT_WITH_DOCKER_EXECUTOR": False,
    "FF_SCRIPT_SECTIONS": False,
    "FF_TIMESTAMPS": False,
    "FF_MASK_ALL_DEFAULT_TOKENS": True,
    "FF_KUBERNETES_HONOR_ENTRYPOINT": False,
    "FF_USE_POD_ACTIVE_DEADLINE_SECONDS": True,
    "FF_POSIXLY_CORRECT_ESCAPES": False,
}


def resolve_feature_flags(
    config_flags: Mapping[str, bool],
    job_variables: Sequence[Variable],
    environment: Sequence[Variable],
    process_flags: Mapping[str, bool],
) -> tuple[dict[str, bool], list[str]]:
    """Resolved values of every known flag, plus warnings for unparsable values."""
    resolved: dict[str, bool] = {}
    warnings: list[str] = []
    for name, default in KNOWN_FLAGS.items():
        value: bool | None = config_flags.get(name)
        if value is None:
            for source in (job_variables, environment):
                var = lookup(source, name)
                if var is not None:
                    value = parse_bool(var.value)
                    if value is None:
                        warnings.append(f"Error while parsing the value of feature flag {name}: {var.value!r}")
                    break
        if value is None:
            value = process_flags.get(name, default)
        resolved[name] = value
    return resolved, warnings
