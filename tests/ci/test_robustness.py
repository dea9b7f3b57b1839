"""Whatever the file holds, parsing and planning end in a result or a CIConfigError, never a traceback."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from glrunner.ci import build_payload, parse_pipeline, plan_pipeline
from glrunner.errors import CIConfigError
from tests.ci.conftest import make_context

KEYWORDS = [
    "script", "before_script", "after_script", "image", "services", "variables", "stage", "stages", "when",
    "allow_failure", "timeout", "extends", "rules", "only", "except", "needs", "parallel", "matrix", "tags",
    "cache", "artifacts", "retry", "default", "include", "workflow", "if", "name", "alias", "exit_codes",
    "inherit", "dependencies", "environment", "local", ".hidden", "job", "build", "test", "value", "expand",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.sampled_from(KEYWORDS),
    st.sampled_from(["$CI_COMMIT_BRANCH == 'main'", "1h", "always", "manual", "docker:dind", "a b", ""]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYWORDS), inner, max_size=5)),
    max_leaves=30,
)


def dump(data: Any) -> str:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


def run_everything(text: str) -> None:
    try:
        pipeline = parse_pipeline(text)
        plan = plan_pipeline(pipeline, make_context())
        for index, job in enumerate(plan.jobs):
            build_payload(pipeline, job.name, make_context(), index + 1)
    except CIConfigError as exc:
        assert exc.problems and all(p.file and p.message for p in exc.problems)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_structures(data: Any) -> None:
    run_everything(dump(data))


@settings(max_examples=100)
@given(st.dictionaries(st.sampled_from(["job", "build", ".t"]), st.dictionaries(st.sampled_from(KEYWORDS), scalars)))
def test_random_jobs(data: dict[str, Any]) -> None:
    run_everything(dump(data))


@given(st.text(max_size=80))
def test_random_text(text: str) -> None:
    run_everything(text)
