"""Terminal output shared by the CLI: error panels, the progress bar and summary tables."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from workbench.errors import InputError
from workbench.result import RunStats
from workbench.runner import Progress
from workbench.scoring.registry import Scorer
from workbench.scoring.validity import validity_note

console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)

GROUP_COLUMNS = {"system_prompt": "system prompt", "user_strategy": "user strategy", "model": "model"}
RUN_COLUMNS = {"empathy_accountability_gap": "gap", "error_rate": "errors", "latency_p50_s": "p50 s"}


def show_input_error(error: InputError) -> None:
    """Problems as plain lines (never wrapped, so paths and fixes stay copyable)."""
    count = "1 problem" if len(error.problems) == 1 else f"{len(error.problems)} problems"
    errors.print(f"[bold red]{count}, nothing was run:[/bold red]")
    for problem in error.problems:
        where = problem.where()
        errors.print(
            f"[bold]{escape(where)}[/bold]: {escape(problem.message)}" if where else escape(problem.message),
            soft_wrap=True,
            highlight=False,
        )
        if problem.fix:
            errors.print(f"  [green]fix:[/green] {escape(problem.fix)}", soft_wrap=True, highlight=False)


def show_error_summary(stats: RunStats) -> None:
    """Each class of error with its count and one example (which says where: the URL), and the
    models the circuit breaker stopped."""
    for model, reason in stats.stopped.items():
        errors.print(f"[red]stopped calling {escape(model)}[/red]: {escape(reason)}", soft_wrap=True, highlight=False)
    for error in stats.error_classes:
        errors.print(
            f"[red]{error.count} x {escape(error.name)}[/red], e.g. {escape(error.example[:500])}",
            soft_wrap=True,
            highlight=False,
        )


class ProgressBar(Progress):
    """A rich progress bar with ETA driven by the runner's callbacks; drawn only once the
    plan is valid, so error messages are not preceded by an empty bar."""

    def __init__(self):
        self.bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None
        self.errors = 0

    def start(self, total: int, cached: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task(
            "replies", total=total, completed=cached, note=f"({cached} cached)" if cached else ""
        )

    def advance(self, response) -> None:
        self.errors += bool(response.error)
        assert self.task is not None, "start() comes first"
        if self.errors:
            self.bar.update(self.task, advance=1, note=f"({self.errors} errors)")
        else:
            self.bar.update(self.task, advance=1)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    if not enabled:
        yield Progress()
        return
    bar = ProgressBar()
    try:
        yield bar
    finally:
        bar.stop()


def summary_columns(scorers: list[Scorer]) -> dict[str, str]:
    """Column -> heading: the group, the metric of each scorer declared a headline (under its
    declared label), the gap, errors and latency; the rest are in the DataFrame and the UI."""
    return {**GROUP_COLUMNS, **{s.metric: s.label for s in scorers if s.headline}, **RUN_COLUMNS}


LOW_VALIDITY = "†"


def summary_table(
    summary: pd.DataFrame, scorers: list[Scorer], title: str = "Summary", validity: dict[str, dict] | None = None
) -> Table:
    """The headline metrics per run group; a metric whose scorer is low-validity or unvalidated is
    marked † in its heading (see `validity_notes`)."""
    table = Table(title=title, show_lines=False)
    headings = summary_columns(scorers)
    weak = {s.metric for s in scorers if (validity or {}).get(s.name, {}).get("status", "ok") != "ok"}
    columns = [c for c in headings if c in summary.columns]
    for column in columns:
        heading = headings[column] + (LOW_VALIDITY if column in weak else "")
        table.add_column(heading, justify="left" if summary[column].dtype == object else "right")
    for _, row in summary.iterrows():
        table.add_row(*(_cell(row[c]) for c in columns))
    return table


def validity_notes(scorers: list[Scorer], validity: dict[str, dict]) -> list[str]:
    """One line per low-validity or unvalidated metric: do not promote a prompt on these alone."""
    return [
        f"{LOW_VALIDITY} {s.metric}: {validity_note(validity[s.name])}"
        for s in scorers
        if s.name in validity and validity[s.name].get("status") != "ok"
    ]


def _cell(value) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.2f}"
    return str(value)
