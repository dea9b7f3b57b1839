"""payload + config.toml -> JobSpec, against golden files (`pytest --update-golden` rewrites them).

Each case directory holds `payload.json` (the job as GitLab sends it, spec 4.2), `config.toml` and
`expected.json` (the compiled JobSpec). The compile context is fixed so the output is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glrunner.compile import CompileContext, compile_job
from glrunner.config import parse_config
from glrunner.model.codec import parse_payload, spec_to_json

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
CONTEXT = CompileContext(job_uid="0123456789abcdef", system_id="s_0123456789ab", runner_version="0.1.0")


@pytest.mark.parametrize("case", CASES)
def test_compile_golden(case: str, update_golden: bool) -> None:
    folder = GOLDEN / case
    payload = parse_payload(json.loads((folder / "payload.json").read_text()))
    config = parse_config((folder / "config.toml").read_text(), "config.toml", env={})
    spec = spec_to_json(compile_job(payload, config.find_runner(None), CONTEXT))
    expected_file = folder / "expected.json"
    if update_golden:
        expected_file.write_text(json.dumps(spec, indent=2) + "\n")
    assert spec == json.loads(expected_file.read_text())
