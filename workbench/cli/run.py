"""`workbench run`: run an experiment spec.

Exit codes: 0 every cell answered; 2 bad input (nothing was run); 3 some cells ended in error
(their replies are missing: see the error summary), unless `--allow-errors`; 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from workbench.cli.app import EXIT_CELL_ERRORS, EXIT_INTERRUPTED, app, friendly
from workbench.console import console, errors, progress_bar, show_error_summary, summary_table, validity_notes
from workbench.runner import RunInterrupted, run_experiment


@app.command()
@friendly
def run(
    spec: Path = typer.Argument(..., help="Experiment spec, e.g. experiments/quickstart.yaml"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore and do not fill the response cache."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    allow_errors: bool = typer.Option(
        False, "--allow-errors", help="Exit 0 even if some cells ended in error (otherwise exit 3)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Run an experiment spec: every system prompt x user strategy x scenario x model."""

    def announce(plan) -> None:
        console.print(
            f"[bold]{plan.spec.name}[/bold]: {len(plan.groups)} run groups x {len(plan.scenarios)} "
            f"scenarios x {plan.spec.repeats} repeats = {len(plan.cells)} replies "
            f"(dataset {plan.dataset_hash[:12]})"
        )

    try:
        with progress_bar(enabled=not quiet) as progress:
            result = run_experiment(
                spec, use_cache=not no_cache, track=not no_track, progress=progress, on_plan=announce
            )
    except RunInterrupted as interrupted:
        stats = interrupted.result.stats
        errors.print(
            f"[yellow]Interrupted.[/yellow] {len(interrupted.result.frame)} of {stats.cells} replies are "
            "saved (cache and MLflow, runs marked KILLED). Run the same command again to resume."
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    stats = result.stats
    for warning in result.warnings:
        errors.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    if len(result.frame) and result.frame["error"].isna().any():
        console.print(
            summary_table(
                result.summary(),
                result.plan.scorers,
                validity=result.validity,
                title=f"{result.plan.spec.name}: summary",
            )
        )
        for note in validity_notes(result.plan.scorers, result.validity):
            console.print(note, highlight=False)
    shared = f", {stats.shared} called by another run at the same time" if stats.shared else ""
    console.print(
        f"{stats.cells} replies: {stats.cached} from cache, {stats.calls} model calls "
        f"({stats.retries} retries){shared}, {stats.errors} errors, {stats.seconds:.1f} s"
    )
    if result.suspect:
        errors.print(
            f"[yellow]{result.suspect} replies have suspect judged scores[/yellow] (the reply addressed the "
            "evaluator, or the judge contradicted the text); they are left out of the metrics: see the "
            "*_status and *_evidence columns."
        )
    show_error_summary(stats)
    if result.already_logged:
        console.print(
            f"Nothing new to log: MLflow run {result.parent_run_id} in {result.tracking_uri} already holds these "
            "results.\nOpen the UI with: [bold]workbench ui[/bold]"
        )
    elif result.parent_run_id:
        console.print(
            f"MLflow run {result.parent_run_id} in {result.tracking_uri}\nOpen the UI with: [bold]workbench ui[/bold]"
        )
    if stats.errors and not allow_errors:
        errors.print(
            f"[red]{stats.errors} of {stats.cells} cells ended in error[/red] (exit code {EXIT_CELL_ERRORS}; "
            "--allow-errors exits 0). Running the same command again retries only those cells."
        )
        raise typer.Exit(EXIT_CELL_ERRORS)
