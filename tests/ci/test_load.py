"""`load_pipeline`: the file-system edge, with `include: local:` files relative to the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from glrunner.ci import load_pipeline
from glrunner.errors import CIConfigError


def test_reads_the_file_and_local_includes(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / ".gitlab-ci.yml").write_text("include: /ci/jobs.yml\nvariables: {A: main}\n")
    (tmp_path / "ci" / "jobs.yml").write_text("build:\n  script: [make]\n")
    pipeline = load_pipeline(tmp_path / ".gitlab-ci.yml")
    assert list(pipeline.jobs) == ["build"]
    assert pipeline.config_path == ".gitlab-ci.yml"


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: [x]\ninclude:\n  - local: nope.yml\n")
    with pytest.raises(CIConfigError) as caught:
        load_pipeline(tmp_path / ".gitlab-ci.yml")
    assert str(caught.value) == (
        ".gitlab-ci.yml:4: include: Local file `nope.yml` does not exist! The path is relative to the project root"
    )


def test_includes_cannot_leave_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "secret.yml").write_text("stolen:\n  script: [x]\n")
    (project / "link.yml").symlink_to(tmp_path / "secret.yml")
    (project / ".gitlab-ci.yml").write_text("include: [../secret.yml, link.yml]\njob:\n  script: [x]\n")
    with pytest.raises(CIConfigError) as caught:
        load_pipeline(project / ".gitlab-ci.yml")
    assert [p.message.split(";")[0].split("!")[0] for p in caught.value.problems] == [
        "local: `../secret.yml`: wildcards and '..' are not supported",
        "Local file `link.yml` does not exist",
    ]


def test_missing_pipeline_file(tmp_path: Path) -> None:
    with pytest.raises(CIConfigError) as caught:
        load_pipeline(tmp_path / ".gitlab-ci.yml")
    assert str(caught.value) == ".gitlab-ci.yml: file not found; run in the project directory or pass its path"


def test_config_file_in_a_subdirectory_of_the_project(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "pipeline.yml").write_text("include: ci/more.yml\njob:\n  scriptt: [x]\n")
    (tmp_path / "ci" / "more.yml").write_text("more:\n  script: [x]\n")
    with pytest.raises(CIConfigError) as caught:
        load_pipeline(tmp_path / "ci" / "pipeline.yml", project_dir=tmp_path)
    assert str(caught.value.problems[0]).startswith("ci/pipeline.yml:2: job: ")


def test_read_file_replaces_the_file_system() -> None:
    files = {".gitlab-ci.yml": "include: x.yml\n", "x.yml": "j:\n  script: [x]\n"}

    def read(path: str) -> str:
        if path not in files:
            raise FileNotFoundError(path)
        return files[path]

    assert list(load_pipeline("/nowhere/.gitlab-ci.yml", read_file=read).jobs) == ["j"]
