"""Collecting every problem of a .gitlab-ci.yml before raising, and warnings beside them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from glrunner.errors import CIConfigError, Problem

if TYPE_CHECKING:
    from glrunner.ci.yamltree import Loc


class Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.warnings: list[str] = []

    def add(self, loc: Loc, key: str, message: str) -> None:
        problem = Problem(loc.file, loc.line, key, message)
        if problem not in self.items:
            self.items.append(problem)

    def warn(self, loc: Loc, key: str, message: str) -> None:
        text = str(Problem(loc.file, loc.line, key, message))
        if text not in self.warnings:
            self.warnings.append(text)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            problems = _group_shared(self.items)
            first_seen: dict[str, int] = {}
            for problem in problems:
                first_seen.setdefault(problem.file, len(first_seen))
            raise CIConfigError(sorted(problems, key=lambda p: (first_seen[p.file], p.line or 0)))


def _group_shared(problems: list[Problem]) -> list[Problem]:
    """One problem in a template shared by many jobs (extends, !reference) is reported once."""
    groups: dict[tuple[str, int | None, str, str], list[str]] = {}
    for problem in problems:
        head, dot, rest = problem.key.partition(".")
        tail = dot + rest
        groups.setdefault((problem.file, problem.line, tail, problem.message), []).append(head)
    result: list[Problem] = []
    for (file, line, tail, message), heads in groups.items():
        if len(heads) == 1:
            key = heads[0] + tail
        else:
            shown = ", ".join(heads[:3]) + (f" and {len(heads) - 3} more" if len(heads) > 3 else "")
            key = f"{shown} ({tail.lstrip('.') or 'job'})" if tail else shown
        result.append(Problem(file, line, key, message))
    return result


def closest(word: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean `script`?` for a near miss, else ""."""
    close = closest(word, candidates)
    return f"; did you mean `{close}`?" if close else ""
