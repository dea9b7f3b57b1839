"""Running the real `glrunner` command, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GLRUNNER = str(Path(sys.executable).parent / "glrunner")


def glrunner(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
             timeout: float = 600, input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([GLRUNNER, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, input=input)


def start_glrunner(*args: str, until: str) -> tuple[subprocess.Popen[str], str]:
    """Start `glrunner` and read its output up to the first line beginning with `until`.

    Returns the running process and what it printed so far (for signal and crash tests)."""
    process = subprocess.Popen([GLRUNNER, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NO_COLOR": "1"})
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(until):
            return process, "".join(seen)
    process.wait(timeout=60)
    raise AssertionError(f"glrunner ended (status {process.returncode}) before printing {until!r}:\n{''.join(seen)}")


# Project directories written by the current test: their ids (glrunner exec labels everything with
# com.gitlab.gitlab-runner.project.id) tell this test's objects from those of other runs on the engine.
PROJECTS: list[Path] = []


def project_ids() -> set[str]:
    from glrunner.cli.exec_cmd import _local_project_id

    return {str(_local_project_id(p.resolve())) for p in PROJECTS}


def write_project(root: Path, files: dict[str, str]) -> Path:
    PROJECTS.append(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    return root
