"""`workbench run`: run an experiment spec."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from workbench.cli.app import app, friendly
from workbench.console import console, errors, progress_bar, summary_table, validity_notes
from workbench.runner import RunInterrupted, run_experiment


@app.command()
@friendly
def run(
    spec: Path = typer.Argument(..., help="Experiment spec, e.g. experiments/quickstart.yaml"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore and do not fill the response cache."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
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
        raise typer.Exit(130) from None
    stats = result.stats
    for warning in result.warnings:
        errors.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    if len(result.frame):
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
    console.print(
        f"{stats.cells} replies: {stats.cached} from cache, {stats.calls} model calls "
        f"({stats.retries} retries), {stats.errors} errors, {stats.seconds:.1f} s"
    )
    if result.parent_run_id:
        console.print(
            f"MLflow run {result.parent_run_id} in {result.tracking_uri}\nOpen the UI with: [bold]workbench ui[/bold]"
        )
