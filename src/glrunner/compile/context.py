"""Facts the compiler needs from outside (ids, slots, versions), passed in so it stays pure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CompileContext:
    job_uid: str  # 16 hex characters, random per job run (GitLab: 8 random bytes)
    system_id: str = "s_000000000000"
    concurrent_id: int = 0  # runner-wide slot
    concurrent_project_id: int = 0  # slot among this project's running jobs
    runner_version: str = "0.0.0"
    runner_revision: str = "unknown"
    architecture: str = "linux/amd64"
    # Feature flags from the process or command line (lowest precedence), e.g. {"FF_X": True}.
    feature_flags: dict[str, bool] = field(default_factory=dict)
