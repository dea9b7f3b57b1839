"""What a job and its stages came to."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from glrunner.errors import FailureReason


class JobStatus(enum.StrEnum):
    """The value `CI_JOB_STATUS` takes for after_script, and the final state of a job."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEDOUT = "timedout"


@dataclass(frozen=True)
class StageOutcome:
    """A stage ran to its end; `exit_code` 0 is success. Infrastructure trouble raises instead."""

    exit_code: int


@dataclass(frozen=True)
class JobResult:
    status: JobStatus
    exit_code: int | None = None
    failure_reason: FailureReason | None = None
    message: str = ""
    duration: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status is JobStatus.SUCCESS
