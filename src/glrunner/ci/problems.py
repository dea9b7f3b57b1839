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
            first_seen: dict[str, int] = {}
            for problem in self.items:
                first_seen.setdefault(problem.file, len(first_seen))
            raise CIConfigError(sorted(self.items, key=lambda p: (first_seen[p.file], p.line or 0)))


def closest(word: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean `script`?` for a near miss, else ""."""
    close = closest(word, candidates)
    return f"; did you mean `{close}`?" if close else ""
