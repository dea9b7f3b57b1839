"""The table that ends a local pipeline: job, stage, status, duration."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from glrunner.runner.pipeline import JobOutcome

_STYLES = {"success": "green", "failed": "red", "canceled": "yellow", "timedout": "red", "skipped": "dim"}


def _status_text(outcome: JobOutcome) -> str:
    if outcome.status == "failed" and outcome.allowed_to_fail:
        return "failed (allowed to fail)"
    if outcome.status == "skipped" and outcome.detail:
        return f"skipped: {outcome.detail}"
    return outcome.status


def print_summary(outcomes: Sequence[JobOutcome], *, color: bool, out: TextIO | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            """The reader went away (`| head`): the table is not seen, the exit status stays the jobs'."""

    console = _Console(file=out or sys.stdout, force_terminal=color, no_color=not color, highlight=False,
                      width=max(100, Console().width) if color else 120)
    table = Table(title="Pipeline", title_justify="left", show_edge=color)
    for column in ("job", "stage", "status", "duration"):
        table.add_column(column, justify="right" if column == "duration" else "left")
    for outcome in outcomes:
        style = "yellow" if outcome.allowed_to_fail else _STYLES.get(outcome.status, "")
        duration = f"{outcome.duration:.1f} s" if outcome.status not in ("skipped", "manual") else ""
        table.add_row(outcome.name, outcome.stage, f"[{style}]{_status_text(outcome)}[/]", duration)
    console.print(table)
