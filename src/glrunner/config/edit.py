"""Round-trip edits of config.toml text: add a runner, remove runners, keep everything else.

Edits are made on lines located by `locate.scan_structure`, not by re-serialising a parsed
document: that keeps a user's comments, spacing and other runners byte for byte. (tomlkit was
tried first; deleting an `[[runners]]` entry with it keeps the removed entry's leading comment
and drops the next entry's.) A comment block directly above a `[[runners]]` header belongs to that
runner. Every result is checked with `tomllib` before it is returned.
"""

from __future__ import annotations

import tomllib

from glrunner.config.locate import Header, KeyPath, Structure, scan_structure
from glrunner.config.model import RunnerSettings
from glrunner.config.render import render_header, render_runner, render_value
from glrunner.errors import RunnerError, UsageError

# GitLab Runner's order of the global plain keys, and the ones it always writes with their defaults.
_GLOBAL_ORDER = (
    "listen_address",
    "concurrent",
    "check_interval",
    "log_level",
    "log_format",
    "user",
    "sentry_dsn",
    "connection_max_age",
    "shutdown_timeout",
)
_GLOBAL_DEFAULTS: dict[str, object] = {
    "concurrent": 1,
    "check_interval": 0,
    "connection_max_age": "15m0s",
    "shutdown_timeout": 0,
}
_SESSION_SERVER = "[session_server]\n  session_timeout = 1800\n"


def add_runner(text: str | None, runner: RunnerSettings) -> str:
    """The file with `runner` appended. `text` None: the file did not exist (spec 1.7 layout)."""
    if text is None:
        result = render_header(connection_max_age=False) + "\n" + render_runner(runner)
    else:
        base = ensure_global_settings(text).rstrip("\n")
        result = (base + "\n\n" if base else "") + render_runner(runner)
    _check(result, expected_runners=_count_runners(text) + 1)
    return result


def remove_runners(text: str, indices: set[int]) -> str:
    """The file without the `[[runners]]` entries at `indices` (0-based)."""
    structure = scan_structure(text)
    lines = split_lines(text)
    spans = [_runner_span(structure, lines, index) for index in indices]
    for start, end in sorted(spans, reverse=True):  # later spans first: earlier indices stay valid
        del lines[start:end]
    result = ensure_global_settings(_tidy_end("".join(lines)))
    _check(result, expected_runners=_count_runners(text) - len(indices))
    return result


def ensure_global_settings(text: str) -> str:
    """Add the global keys GitLab Runner always writes when they are missing, in its order."""
    for key in _GLOBAL_DEFAULTS:
        structure = scan_structure(text)
        if not _has_global(structure, key):
            text = _insert_global(text, structure, key)
    return _ensure_session_server(text)


def split_lines(text: str) -> list[str]:
    """Lines ending in "\n" only: TOML's newline. (str.splitlines also breaks at U+0085, U+2028, ...,
    which may appear inside a string value.)"""
    *complete, last = text.split("\n")
    return [line + "\n" for line in complete] + ([last] if last else [])


def _count_runners(text: str | None) -> int:
    if not text:
        return 0
    runners = tomllib.loads(text).get("runners", [])
    return len(runners) if isinstance(runners, list) else 0


def _check(text: str, expected_runners: int) -> None:
    try:
        count = _count_runners(text)
    except tomllib.TOMLDecodeError as exc:
        raise RunnerError(f"internal error: editing config.toml produced invalid TOML ({exc})") from None
    if count != expected_runners:
        raise RunnerError("internal error: editing config.toml did not change the runners as intended")


def _first_header_line(structure: Structure) -> int | None:
    return structure.headers[0].line if structure.headers else None


def _has_global(structure: Structure, key: str) -> bool:
    line = structure.lines.get((key,))
    first = _first_header_line(structure)
    return line is not None and (first is None or line < first)


def _insert_global(text: str, structure: Structure, key: str) -> str:
    lines = split_lines(text)
    new_line = f"{key} = {render_value(_GLOBAL_DEFAULTS[key])}\n"
    position = _KEY_ORDER[key]
    before = [k for k in _GLOBAL_ORDER[:position] if _has_global(structure, k)]
    after = [k for k in _GLOBAL_ORDER[position + 1 :] if _has_global(structure, k)]
    if before:
        at = structure.ends[(before[-1],)]  # insert after the line where that value ends
    elif after:
        at = structure.lines[(after[0],)] - 1
    else:
        at = 0
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, new_line)
    return "".join(lines)


_KEY_ORDER = {key: index for index, key in enumerate(_GLOBAL_ORDER)}


def _ensure_session_server(text: str) -> str:
    structure = scan_structure(text)
    if ("session_server",) in structure.lines:
        return text
    lines = split_lines(text)
    first = _first_header_line(structure)
    if first is None:
        body = "".join(lines).rstrip("\n")
        return (body + "\n\n" if body else "") + _SESSION_SERVER
    at = _comment_block_start(lines, first - 1)
    lines.insert(at, _SESSION_SERVER + "\n")
    if at > 0 and lines[at - 1].strip():
        lines.insert(at, "\n")
    return "".join(lines)


def _runner_span(structure: Structure, lines: list[str], index: int) -> tuple[int, int]:
    """0-based [start, end) line range of a `[[runners]]` entry, its leading comments included."""
    path: KeyPath = ("runners", index)
    headers = list(structure.headers)
    own = next((i for i, h in enumerate(headers) if h.path == path and h.array), None)
    if own is None:
        raise UsageError(
            "this config.toml defines its runners as an inline array; only [[runners]] tables can be "
            "edited. Rewrite them as [[runners]] sections."
        )
    start = _comment_block_start(lines, headers[own].line - 1)
    following = next((h for h in headers[own + 1 :] if not _inside(h, path)), None)
    end = len(lines) if following is None else _comment_block_start(lines, following.line - 1)
    return start, end


def _inside(header: Header, path: KeyPath) -> bool:
    return header.path[: len(path)] == path


def _comment_block_start(lines: list[str], header_index: int) -> int:
    """Index of the first line of the comment lines directly above line `header_index`."""
    start = header_index
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start


def _tidy_end(text: str) -> str:
    stripped = text.rstrip()
    return stripped + "\n" if stripped else ""
