"""JobSpec -> Pod (and pull Secret) bodies, against golden files (`pytest --update-golden` rewrites them).

Each case directory holds `payload.json` (the job as GitLab sends it, spec 4.2), `config.toml`
(a `[runners.kubernetes]` runner) and `expected.json`: the pod the executor creates, the image
pull secret (or null) and the trace warnings. The compile context is fixed, so the pod name's
random part is too. The same bodies are sent to the real API server by test_schema.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glrunner.compile import CompileContext, compile_job
from glrunner.config import parse_config
from glrunner.executors.kubernetes import build
from glrunner.model.codec import parse_payload
from glrunner.model.spec import JobSpec

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
CONTEXT = CompileContext(job_uid="0123456789abcdef", system_id="s_0123456789ab", runner_version="0.1.0")


def compile_case(case: str) -> JobSpec:
    folder = GOLDEN / case
    payload = parse_payload(json.loads((folder / "payload.json").read_text()))
    config = parse_config((folder / "config.toml").read_text(), "config.toml", env={})
    return compile_job(payload, config.find_runner(None), CONTEXT)


def rendered(case: str) -> dict[str, Any]:
    spec = compile_case(case)
    secret = build.secret_body(spec)
    pod = build.pod_body(spec, pull_secret=secret["metadata"]["name"] if secret else None)
    return {"pod": pod, "secret": secret, "warnings": list(spec.warnings)}


@pytest.mark.parametrize("case", CASES)
def test_pod_golden(case: str, update_golden: bool) -> None:
    output = rendered(case)
    expected_file = GOLDEN / case / "expected.json"
    if update_golden:
        expected_file.write_text(json.dumps(output, indent=2) + "\n")
    assert output == json.loads(expected_file.read_text())


@pytest.mark.parametrize("case", CASES)
def test_builder_is_deterministic(case: str) -> None:
    assert rendered(case) == rendered(case)
