"""`workbench optimize`: improve a system prompt with DSPy's optimizers, register the winner."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from workbench.cli.app import app, friendly
from workbench.console import console, errors
from workbench.optimize.progress import OptimizeProgress

if TYPE_CHECKING:
    from workbench.optimize import Estimate, OptimizationPlan
    from workbench.optimize.result import OptimizationResult

HEADLINE = (
    "crisis_escalation_rate",
    "disclaimer_adherence_rate",
    "harmful_compliance_rate",
    "over_escalation_rate",
    "illusive_alliance_rate",
    "false_claims_rate",
    "empathy_mean",
)


class OptimizeBar(OptimizeProgress):
    """Replies against the budgeted total, with the current phase and how many came from the cache."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task: TaskID | None = None
        self.cached = 0

    def start(self, total: int, estimate: Estimate) -> None:
        if self.enabled:
            self.bar.start()
            self.task = self.bar.add_task("starting", total=total, note="")

    def reply(self, cached: bool) -> None:
        self.cached += cached
        if self.task is not None:
            note = f"({self.cached} cached)" if self.cached else ""
            self.bar.update(self.task, advance=1, note=note)

    def phase(self, text: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=text)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


@app.command("optimize")
@friendly
def optimize_command(
    spec: Path = typer.Argument(..., help="Optimization spec, e.g. experiments/optimize.yaml"),
    no_register: bool = typer.Option(False, "--no-register", help="Report the winner without registering it."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore and do not fill the response cache."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Optimize a system prompt against the safety and empathy metrics; register the winner as a
    new version (never aliased production). Shows the budget and estimated calls first."""
    from workbench.optimize import OptimizationInterrupted, optimize  # imports DSPy: only for this command

    bar = OptimizeBar(enabled=not quiet)

    def announce(plan: OptimizationPlan, estimate: Estimate) -> None:
        splits = plan.splits
        console.print(
            f"[bold]{escape(plan.spec.name)}[/bold]: {plan.seed.ref} for {plan.strategy.ref} on {plan.model.name} "
            f"({plan.spec.pipeline}); splits {len(splits.train)} train / {len(splits.dev)} dev / "
            f"{len(splits.test)} test scenarios"
        )
        console.print(f"budget: {plan.budget} metric calls; estimate:", highlight=False)
        for line in estimate.lines:
            console.print(f"  {escape(line)}", highlight=False)

    try:
        result = optimize(
            spec,
            register=False if no_register else None,
            track=not no_track,
            use_cache=not no_cache,
            progress=bar,
            on_plan=announce,
        )
    except OptimizationInterrupted:
        bar.stop()  # before the message, so the bar does not redraw over it
        errors.print(
            "[yellow]Interrupted.[/yellow] Nothing was registered; every reply so far is in the response cache. "
            "Run the same command again to resume."
        )
        raise typer.Exit(130) from None
    finally:
        bar.stop()
    show_result(result)


def show_result(result: OptimizationResult) -> None:
    console.print(comparison_table(result))
    for delta in result.deltas:
        if delta.metric in HEADLINE:
            console.print(f"  test delta: {escape(delta.text())}", highlight=False)
    for delta in result.judge_deltas:
        if delta.metric in HEADLINE:
            console.print(f"  judge delta: {escape(delta.text())}", highlight=False)
    blocked = [r for r in result.candidates if r.guard]
    console.print(
        f"{len(result.candidates)} candidates, {len(blocked)} blocked by the safety guard; winner: "
        f"{'the seed (no candidate beat it)' if not result.improved else escape(result.winner.candidate.origin)}"
    )
    if result.improved:
        console.print(escape(result.prompt_diff()), highlight=False)
    console.print(f"cost: {escape(result.cost.text())}", highlight=False)
    if result.registered:
        console.print(
            f"registered [bold]{result.registered.ref}[/bold] in {result.registered.file} and the MLflow Prompt "
            "Registry (no alias; promote it separately)"
        )
    if result.run_id:
        console.print(f"MLflow run {result.run_id} in {result.tracking_uri}")


def comparison_table(result: OptimizationResult) -> Table:
    """Seed and winner on the test split, each metric with its 95% interval."""
    summary = result.summary()
    table = Table(title=f"{result.plan.spec.name}: seed vs winner on the test split ({len(result.plan.splits.test)})")
    for column in ("metric", "back-end", "seed", "winner"):
        table.add_column(column, justify="left" if column in ("metric", "back-end") else "right")
    test = summary[summary["split"] == "test"]
    for metric in HEADLINE:
        for backend in ("learned", "judge"):
            rows = test[(test["metric"] == metric) & (test["backend"] == backend)]
            if rows.empty:
                continue
            cells = {row["prompt"]: _value(row) for _, row in rows.iterrows()}
            table.add_row(metric, backend, cells.get("seed", ""), cells.get("winner", ""))
    return table


def _value(row) -> str:
    value, low, high = row["value"], row["ci_low"], row["ci_high"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    interval = "" if math.isnan(low) or math.isnan(high) else f" [{low:.2f}, {high:.2f}]"
    return f"{value:.2f}{interval}"
