"""Fixtures for the .gitlab-ci.yml suite. `--update-golden` (defined in tests/conftest.py) rewrites
tests/ci/golden/<case>/expected.json."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from glrunner.ci import PipelineContext
from glrunner.model.payload import LocalSource

CONTEXT = PipelineContext(
    project_path="group/project",
    project_dir_name="project",
    project_id=42,
    namespace_id=7,
    pipeline_id=1001,
    pipeline_iid=12,
    commit_sha="a" * 40,
    before_sha="b" * 40,
    ref_name="main",
    commit_message="Add the thing\n\nLonger description.\n",
    commit_title="Add the thing",
    commit_description="Longer description.\n",
    commit_author="Ada Lovelace <ada@example.com>",
    commit_timestamp="2026-01-02T03:04:05+00:00",
    default_branch="main",
    created_at="2026-01-02T03:04:06Z",
    job_token="glcbt-64_token0123456789",
    local_source=LocalSource(path="/src/project", files=(".gitlab-ci.yml", "Dockerfile", "src/app.py")),
)


def make_context(**changes: Any) -> PipelineContext:
    return dataclasses.replace(CONTEXT, **changes)


@pytest.fixture
def ctx() -> PipelineContext:
    return CONTEXT


def errors_of(text: str, includes: dict[str, str] | None = None) -> list[str]:
    """The problem lines of an invalid .gitlab-ci.yml (fails when the file is valid)."""
    from glrunner.ci import parse_pipeline
    from glrunner.errors import CIConfigError

    with pytest.raises(CIConfigError) as caught:
        parse_pipeline(text, includes=includes or {})
    return [str(problem) for problem in caught.value.problems]
