"""The I/O edge of config.toml: where it lives, reading it, replacing it atomically.

Everything else in `glrunner.config` is pure; this module touches the filesystem and the process
environment, and nothing else does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from glrunner.config.identity import SYSTEM_ID_FILE, new_system_id, system_id_from_file_text
from glrunner.config.model import Config
from glrunner.config.parse import default_config, parse_config
from glrunner.errors import ConfigError, Problem, RunnerError

SYSTEM_CONFIG_PATH = Path("/etc/gitlab-runner/config.toml")


def default_config_path() -> Path:
    """GitLab Runner's default (spec 1.2): /etc/gitlab-runner as root, else ~/.gitlab-runner, else ./."""
    if os.geteuid() == 0:
        return SYSTEM_CONFIG_PATH
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if home and home != "~":
        return Path(home) / ".gitlab-runner" / "config.toml"
    return Path("config.toml")


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    """`-c` as given, else $CONFIG_FILE, else the default path."""
    if path is not None and str(path) != "":
        return Path(path)
    from_env = os.environ.get("CONFIG_FILE")
    return Path(from_env) if from_env else default_config_path()


def read_config_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist. Unreadable files are a located error."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), None, "", f"is not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([Problem(str(path), None, "", f"cannot be read: {reason}")]) from None


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Load config.toml (`None`: the default path). A missing file gives GitLab's defaults."""
    resolved = resolve_config_path(path)
    text = read_config_text(resolved)
    if text is None:
        return default_config()
    return parse_config(text, str(resolved), env=os.environ)


def write_config_text(path: Path, text: str) -> None:
    """Replace the file atomically (temp file in the same directory, fsync, rename), mode 0600.

    A missing directory is created with mode 0700. On any error the old file is left as it was,
    and the error is a `RunnerError` naming the file.
    """
    try:
        _replace_atomically(path, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RunnerError(f"cannot write {path}: {reason}; it was left unchanged") from None


def _replace_atomically(path: Path, text: str) -> None:
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def read_machine_id() -> str | None:
    for candidate in MACHINE_ID_FILES:
        try:
            value = candidate.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if value:
            return value
    return None


def load_or_create_system_id(config_path: Path) -> tuple[str, str | None]:
    """The runner's system ID from `.runner_system_id` next to config.toml, created when missing.

    Returns the ID and a warning to show when it could not be saved (GitLab carries on then, too).
    """
    state_file = config_path.parent / SYSTEM_ID_FILE
    try:
        existing = system_id_from_file_text(state_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        existing = None
    if existing:
        return existing, None
    system_id = new_system_id(read_machine_id())
    try:
        write_config_text(state_file, system_id)
    except RunnerError as exc:
        return system_id, f"could not save the system ID: {exc}"
    return system_id, None
