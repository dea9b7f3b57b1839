"""The stage scripts run by a real bash (spec 2.7): errexit, echoed commands, quoting, after_script status."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from glrunner.model import ScriptPlan, ScriptVariable
from glrunner.shells.bash import render_after_script, render_step_script


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "stage"
    path.write_text(script)
    return subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=30)


def _plan(tmp_path: Path, **kwargs: object) -> ScriptPlan:
    base = dict(project_dir=str(tmp_path), tmp_dir=str(tmp_path) + ".tmp")
    return ScriptPlan(**{**base, **kwargs})  # type: ignore[arg-type]


def test_layout_matches_gitlab(tmp_path: Path) -> None:
    script = render_step_script(_plan(tmp_path, script=("echo hi",)))
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "trap 'exit 1' TERM" in lines
    assert 'case "$(set -o)" in *"pipefail"*) set -o pipefail;; esac; set -o errexit' in lines
    assert "set +o noclobber" in lines
    assert lines[-1] == "exit 0"


def test_commands_echoed_green_and_stop_at_first_failure(tmp_path: Path) -> None:
    result = _run(render_step_script(_plan(tmp_path, script=("echo one", "false", "echo never"))), tmp_path)
    assert result.returncode == 1
    assert "\x1b[32;1m$ echo one\x1b[0;m\none\n" in result.stdout
    assert "never" not in result.stdout


def test_exit_code_is_kept(tmp_path: Path) -> None:
    assert _run(render_step_script(_plan(tmp_path, script=("exit 3",))), tmp_path).returncode == 3


def test_pipefail(tmp_path: Path) -> None:
    assert _run(render_step_script(_plan(tmp_path, script=("false | cat", "echo no"))), tmp_path).returncode == 1


def test_multiline_command_collapsed_in_echo(tmp_path: Path) -> None:
    result = _run(render_step_script(_plan(tmp_path, script=("x=5\necho got $x",))), tmp_path)
    assert "$ x=5 # collapsed multi-line command" in result.stdout
    assert "got 5" in result.stdout


def test_file_variable_holds_a_path(tmp_path: Path) -> None:
    conf = ScriptVariable("CONF", "a=b\n", file=True)
    plan = _plan(tmp_path, variables=(conf,), script=('cat "$CONF"', 'echo "$CONF"'))
    result = _run(render_step_script(plan), tmp_path)
    assert result.stdout.count("a=b") == 1
    assert f"{tmp_path}.tmp/CONF" in result.stdout


def test_after_script_sees_status(tmp_path: Path) -> None:
    plan = _plan(tmp_path, variables=(ScriptVariable("CI_JOB_STATUS", "running"),),
                 after_script=("echo status=$CI_JOB_STATUS",))
    result = _run(render_after_script(plan, "failed"), tmp_path)
    assert "Running after script..." in result.stdout
    assert "status=failed" in result.stdout


@settings(max_examples=150, deadline=None)
@given(value=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40))
def test_any_variable_value_survives_quoting(tmp_path_factory: object, value: str) -> None:
    tmp = Path(__import__("tempfile").mkdtemp())
    plan = _plan(tmp, variables=(ScriptVariable("V", value),), script=('printf "%s" "$V"',))
    result = subprocess.run(["bash", "-c", render_step_script(plan)], capture_output=True, timeout=30)
    assert result.returncode == 0
    out = result.stdout.decode("utf-8", "surrogateescape")
    assert out.endswith(value)
