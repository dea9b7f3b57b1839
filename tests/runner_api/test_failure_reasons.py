"""Which `failure_reason` GitLab is sent (spec 4.3): as is when the payload's
`features.failure_reasons` lists it, else the older reason it grew out of, else unknown_failure."""

from __future__ import annotations

import pytest

from glrunner.coordinator.jobs import map_failure_reason

ALL_OF_THEM = ("script_failure", "runner_system_failure", "job_execution_timeout", "image_pull_failure",
               "unknown_failure", "runner_configuration_error", "runner_external_dependency_failure",
               "runner_interrupted")


@pytest.mark.parametrize(
    ("reason", "supported", "sent"),
    [
        (None, (), "script_failure"),  # no reason: a script failure
        ("", ALL_OF_THEM, "script_failure"),
        ("script_failure", (), "script_failure"),  # always supported
        ("runner_system_failure", (), "runner_system_failure"),
        ("job_execution_timeout", (), "job_execution_timeout"),
        ("image_pull_failure", ALL_OF_THEM, "image_pull_failure"),
        ("image_pull_failure", (), "runner_system_failure"),  # fallback
        ("runner_configuration_error", (), "script_failure"),
        ("runner_configuration_error", ("runner_configuration_error",), "runner_configuration_error"),
        ("runner_external_dependency_failure", (), "runner_system_failure"),
        ("runner_interrupted", ("runner_interrupted",), "runner_interrupted"),
        ("runner_interrupted", ("unknown_failure",), "unknown_failure"),  # no fallback
        ("job_canceled", ALL_OF_THEM, "unknown_failure"),  # runner-internal, never sent as such
        ("something_new", (), "unknown_failure"),
    ],
)
def test_failure_reason_mapping(reason: str | None, supported: tuple[str, ...], sent: str) -> None:
    assert map_failure_reason(reason, supported) == sent
