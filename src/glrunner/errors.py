"""The one exception tree of glrunner, and GitLab's failure reasons.

Every error a user can cause or meet derives from `RunnerError`. The command line turns them into
a message and an exit status, never a traceback: `UsageError` (bad input: files, flags) exits 2,
everything else 1.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class FailureReason(enum.StrEnum):
    """The `failure_reason` strings GitLab accepts in `PUT /api/v4/jobs/:id` (spec section 4.3)."""

    SCRIPT_FAILURE = "script_failure"
    RUNNER_SYSTEM_FAILURE = "runner_system_failure"
    JOB_EXECUTION_TIMEOUT = "job_execution_timeout"
    IMAGE_PULL_FAILURE = "image_pull_failure"
    UNKNOWN_FAILURE = "unknown_failure"
    RUNNER_CONFIGURATION_ERROR = "runner_configuration_error"
    RUNNER_EXTERNAL_DEPENDENCY_FAILURE = "runner_external_dependency_failure"
    RUNNER_INTERRUPTED = "runner_interrupted"
    JOB_CANCELED = "job_canceled"  # runner-internal, never sent as such


class RunnerError(Exception):
    """Root of every error glrunner raises on purpose."""

    exit_status = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Problem:
    """One located problem in a user's file: where, what, and how to fix it."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class UsageError(RunnerError):
    """Bad input from the user: flags, .gitlab-ci.yml, config.toml. Exit status 2."""

    exit_status = 2


class InvalidFileError(UsageError):
    """A user's file has one or more problems; all of them are reported at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CIConfigError(InvalidFileError):
    """.gitlab-ci.yml is invalid."""


class ConfigError(InvalidFileError):
    """config.toml is invalid."""


class JobError(RunnerError):
    """A job could not run to its end; carries the reason GitLab is told."""

    reason = FailureReason.RUNNER_SYSTEM_FAILURE

    def __init__(self, message: str, reason: FailureReason | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ImagePullError(JobError):
    reason = FailureReason.IMAGE_PULL_FAILURE


class JobConfigurationError(JobError):
    """The job asks for something the runner's configuration forbids (images, privileges, policies)."""

    reason = FailureReason.RUNNER_CONFIGURATION_ERROR


class ExecutorError(JobError):
    """The container engine or cluster failed us (not the user's script)."""

    reason = FailureReason.RUNNER_SYSTEM_FAILURE


class JobTimeoutError(JobError):
    reason = FailureReason.JOB_EXECUTION_TIMEOUT


class JobCanceledError(JobError):
    reason = FailureReason.JOB_CANCELED


class CoordinatorError(RunnerError):
    """GitLab answered in a way we cannot go on from (HTTP status, unreachable)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
