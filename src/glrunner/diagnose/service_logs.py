"""Why did a service container die? Known failure signatures in its logs, and what to do about them.

Pure: text in, advice out. The signatures are the messages dockerd (dind), and the runtime print for
the classic misconfigurations (spec section 6 lists where users meet them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    pattern: re.Pattern[str]
    advice: str


_SIGNATURES = (
    Signature(
        re.compile(r"is the container --privileged\?|failed to mount overlay: operation not permitted|"
                   r"mount: permission denied|Operation not permitted.*cgroup", re.IGNORECASE),
        "Docker-in-Docker needs a privileged container: set `privileged = true` in [runners.docker] of "
        "config.toml (or pass --docker-privileged to glrunner exec).",
    ),
    Signature(
        re.compile(r"address already in use", re.IGNORECASE),
        "two services listen on the same port in the job's network namespace; give them different ports.",
    ),
    Signature(
        re.compile(r"no space left on device", re.IGNORECASE),
        "the engine's disk is full; remove unused images and volumes (dind's /var/lib/docker volumes grow).",
    ),
    Signature(
        re.compile(r"x509: certificate signed by unknown authority", re.IGNORECASE),
        "the inner daemon does not trust your registry's CA; mount it into the dind service under "
        "/etc/docker/certs.d/<registry>/ca.crt.",
    ),
)


def explain(logs: str) -> list[str]:
    """Advice for every known failure signature found in a service's logs (in a stable order)."""
    return [s.advice for s in _SIGNATURES if s.pattern.search(logs)]


_NOISE = re.compile(r'level=(?:info|debug|trace|warning)\b')


def telling_lines(logs: str, limit: int = 20) -> list[str]:
    """The lines worth showing from a dead service's logs: its errors, not its routine chatter."""
    lines = [line for line in logs.rstrip().splitlines() if line.strip()]
    kept = [line for line in lines if not _NOISE.search(line)]
    return (kept or lines)[-limit:]
