"""The I/O edge of `glrunner.ci`: read .gitlab-ci.yml and its `include: local:` files from disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from glrunner.ci.model import Pipeline
from glrunner.ci.pipeline import compose_pipeline
from glrunner.errors import CIConfigError, Problem


def load_pipeline(
    path: str | Path,
    *,
    project_dir: str | Path | None = None,
    read_file: Callable[[str], str] | None = None,
) -> Pipeline:
    """Parse the pipeline file at `path`; includes are read relative to `project_dir` (default: the
    file's directory). `read_file(relative_path) -> text` replaces the file system (FileNotFoundError
    for a missing file)."""
    path = Path(path)
    root = Path(project_dir) if project_dir is not None else path.parent
    try:
        config_path = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        config_path = path.name
    read = read_file or (lambda relative: _read_below(root, relative))
    try:
        text = read(config_path)
    except (FileNotFoundError, IsADirectoryError):
        raise CIConfigError([Problem(config_path, None, "", "file not found; run in the project directory "
                                     "or pass its path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CIConfigError([Problem(config_path, None, "", f"cannot be read: {exc}")]) from exc
    return compose_pipeline(text, config_path, lambda relative: _optional(read, relative))


def _read_below(root: Path, relative: str) -> str:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise FileNotFoundError(relative)  # outside the project: as if it did not exist
    return target.read_text(encoding="utf-8")


def _optional(read: Callable[[str], str], relative: str) -> str | None:
    try:
        return read(relative)
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None
