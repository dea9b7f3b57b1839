"""What the runner's configuration allows: images, services, privileges, pull policies (spec 2.4, 2.5)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from glrunner.errors import JobConfigurationError
from glrunner.model.spec import PullPolicy

DEFAULT_PULL_POLICY: tuple[PullPolicy, ...] = ("always",)
_VALID_POLICIES = ("always", "if-not-present", "never")


@cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """doublestar semantics: `**` crosses `/`, `*` and `?` do not, `[...]` classes, `{a,b}` choices."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif ch == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                choices = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(re.escape(c) for c in choices) + ")")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def matches_allowed(name: str, patterns: Sequence[str]) -> bool:
    """An empty list allows everything; `!pattern` entries exclude."""
    if not patterns:
        return True
    positive = [p for p in patterns if not p.startswith("!")]
    negative = [p[1:] for p in patterns if p.startswith("!")]
    if any(_glob_regex(p).match(name) for p in negative):
        return False
    return not positive or any(_glob_regex(p).match(name) for p in positive)


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
