"""What the runner's configuration allows: images, services, privileges, pull policies (spec 2.4, 2.5)."""

from __future__ import annotations

from collections.abc import Sequence

from glrunner.errors import JobConfigurationError
from glrunner.globs import glob_match
from glrunner.model.spec import PullPolicy

DEFAULT_PULL_POLICY: tuple[PullPolicy, ...] = ("always",)
_VALID_POLICIES = ("always", "if-not-present", "never")


def matches_allowed(name: str, patterns: Sequence[str]) -> bool:
    """An empty list allows everything; `!pattern` entries exclude."""
    if not patterns:
        return True
    positive = [p for p in patterns if not p.startswith("!")]
    negative = [p[1:] for p in patterns if p.startswith("!")]
    if any(glob_match(p, name) for p in negative):
        return False
    return not positive or any(glob_match(p, name) for p in positive)


def check_allowed(kind: str, name: str, patterns: Sequence[str], *, internal_default: bool = False) -> None:
    if internal_default or matches_allowed(name, patterns):
        return
    listed = ", ".join(patterns)
    raise JobConfigurationError(
        f"The {name!r} {kind} is not present on list of allowed {kind}s: {listed}\n"
        f"Please check runner's allowed_{kind}s configuration: "
        f"https://docs.gitlab.com/runner/configuration/advanced-configuration/#restrict-docker-images-and-services"
    )


def effective_pull_policies(
    image: str, job_policies: Sequence[str], config_policies: Sequence[str], allowed: Sequence[str]
) -> tuple[PullPolicy, ...]:
    """Job policy, else config policy, else ["always"]; intersected with `allowed_pull_policies`."""
    for policy in (*job_policies, *config_policies, *allowed):
        if policy not in _VALID_POLICIES:
            raise JobConfigurationError(
                f"unsupported pull_policy {policy!r}; use one of: always, if-not-present, never"
            )
    if job_policies:
        chosen, source = list(job_policies), "GitLab pipeline config"
    elif config_policies:
        chosen, source = list(config_policies), "Runner config"
    else:
        chosen, source = list(DEFAULT_PULL_POLICY), "Runner config (default)"
    allowed_set = list(allowed) or list(config_policies) or list(DEFAULT_PULL_POLICY)
    effective = [p for p in chosen if p in allowed_set]
    if not effective:
        raise JobConfigurationError(
            f"invalid pull policy for image \"{image}\": "
            f"pull_policy ([{' '.join(chosen)}]) defined in {source} is not one of the "
            f"allowed_pull_policies ([{' '.join(allowed_set)}])"
        )
    return tuple(dict.fromkeys(effective))  # type: ignore[arg-type]
