""".gitlab-ci.yml -> plan + JobPayloads, against golden files (`pytest --update-golden` rewrites them).

Each case directory holds `.gitlab-ci.yml` (and any file it includes), optionally `context.json`
(PipelineContext fields to change, plus `"selected": [jobs]`), and `expected.json`: the warnings,
the plan, and the payload of every planned job as GitLab would send it (spec 4.2).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from glrunner.ci import build_payload, load_pipeline, plan_pipeline
from glrunner.model.codec import payload_to_json
from glrunner.model.payload import JobVariable
from tests.ci.conftest import make_context

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def render_case(folder: Path) -> dict[str, Any]:
    settings = json.loads((folder / "context.json").read_text()) if (folder / "context.json").exists() else {}
    selected = settings.pop("selected", [])
    extra = tuple(JobVariable(**v) for v in settings.pop("extra_variables", []))
    ctx = make_context(**settings, extra_variables=extra)
    pipeline = load_pipeline(folder / ".gitlab-ci.yml")
    plan = plan_pipeline(pipeline, ctx, selected)
    payloads = {
        job.name: payload_to_json(build_payload(pipeline, job.name, ctx, job_id))
        for job_id, job in enumerate(plan.jobs, start=100)
    }
    return {
        "warnings": list(pipeline.warnings),
        "plan": {
            "stages": [
                {"name": stage.name, "jobs": [dataclasses.asdict(job) for job in stage.jobs]} for stage in plan.stages
            ],
            "skipped": [list(s) for s in plan.skipped],
            "workflow_blocked": plan.workflow_blocked,
        },
        "payloads": payloads,
    }


@pytest.mark.parametrize("case", CASES)
def test_ci_golden(case: str, update_golden: bool) -> None:
    folder = GOLDEN / case
    result = json.loads(json.dumps(render_case(folder)))  # tuples -> lists, as in the file
    expected_file = folder / "expected.json"
    if update_golden:
        expected_file.write_text(json.dumps(result, indent=2) + "\n")
    assert result == json.loads(expected_file.read_text())
