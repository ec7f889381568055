"""`workbench compare`: metrics of selected runs with scenario-clustered intervals, paired tests
between the levels of one factor, a CSV, a self-contained HTML report, plots in MLflow."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from workbench.cli.app import app, friendly
from workbench.console import console, errors
from workbench.paths import project_root
from workbench.tracking.store import configure

HEADLINE_PAIRS = 40


@app.command()
@friendly
def compare(
    experiment: list[str] = typer.Option([], "--experiment", "-e", help="Experiment name (repeatable)."),
    run: list[str] = typer.Option([], "--run", "-r", help="Run id; a parent run stands for its child runs."),
    tag: list[str] = typer.Option([], "--tag", "-t", help="KEY=VALUE, e.g. workbench.model=local:smollm2-135m."),
    prompt: list[str] = typer.Option([], "--prompt", "-p", help="NAME@VERSION or NAME@ALIAS of a prompt."),
    by: str = typer.Option("system_prompt", help="Factor to compare: system_prompt, user_strategy, model, pipeline."),
    baseline: Optional[str] = typer.Option(None, help="Compare every level with this one (default: every pair)."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Limit to these metrics (default: all)."),
    correction: str = typer.Option("holm", help="Multiple-comparison correction: holm, bh or none."),
    alpha: float = typer.Option(0.05, help="Significance level after correction."),
    strict: bool = typer.Option(False, "--strict", help="Refuse runs on different scenario sets (dataset hashes)."),
    csv: Optional[Path] = typer.Option(None, help="Write estimates (and _pairs, _failures) as CSV here."),
    html: Optional[Path] = typer.Option(None, help="Write the self-contained HTML report here."),
    log: bool = typer.Option(True, "--log/--no-log", help="Log plots, report and tables to MLflow."),
):
    """Compare runs: intervals per condition, paired tests with effect sizes, plots and a report."""
    from workbench.analysis import RunSelection
    from workbench.analysis import compare as run_compare  # pandas, scipy and MLflow load only here

    configure(project_root())
    selection = RunSelection(tuple(experiment), tuple(run), tuple(tag), tuple(prompt))
    comparison = run_compare(
        selection,
        by=by,
        baseline=baseline,
        metrics=list(metric) or None,
        correction=correction,
        alpha=alpha,
        strict=strict,
    )
    for warning in comparison.warnings:
        errors.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    console.print(estimates_table(comparison))
    if len(comparison.pairs):
        console.print(pairs_table(comparison))
    weak = comparison.low_validity()
    if weak:
        console.print(f"† below the validity floor or unvalidated in some run: {', '.join(weak)}", highlight=False)
    if csv:
        written = comparison.to_csv(csv)
        console.print("CSV: " + ", ".join(str(p) for p in written))
    if html:
        console.print(f"HTML report: {comparison.to_html(html)}")
    if log:
        run_id = comparison.log_to_mlflow()
        console.print(f"Plots and report logged to MLflow run {run_id} (artifacts: plots/, report.html)")


def _number(value: float, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def estimates_table(comparison) -> Table:
    estimates = comparison.estimates
    headline = {s.metric for s in comparison.scorers if s.headline} or set(estimates["metric"])
    metrics = [m for m in dict.fromkeys(estimates["metric"]) if m in headline]
    weak = set(comparison.low_validity())
    columns = comparison.varying
    table = Table(title=f"{len(comparison.runs.runs)} runs: value [95% CI over scenarios]")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for metric in metrics:
        table.add_column(
            metric.removesuffix("_rate").removesuffix("_mean") + ("†" if metric in weak else ""), justify="right"
        )
    for _, group in estimates.groupby(columns, sort=False):
        by_metric = {r["metric"]: r for r in group.to_dict("records")}
        cells = []
        for metric in metrics:
            entry = by_metric.get(metric)
            cells.append(
                "–"
                if entry is None or math.isnan(entry["value"])
                else f"{_number(entry['value'])} [{_number(entry['ci_low'])}, {_number(entry['ci_high'])}]"
            )
        table.add_row(*(str(group.iloc[0][c]) for c in columns), *cells)
    return table


def pairs_table(comparison) -> Table:
    pairs = comparison.pairs
    ordered = pairs.sort_values("p_adjusted", na_position="last").head(HEADLINE_PAIRS)
    others = [c for c in ("system_prompt", "user_strategy", "model", "pipeline") if c != comparison.by]
    shown = [c for c in others if pairs[c].nunique() > 1]
    table = Table(
        title=f"Paired comparisons by {comparison.by.replace('_', ' ')} ({comparison.correction}-corrected, "
        f"α={comparison.alpha}; {min(len(pairs), HEADLINE_PAIRS)} of {len(pairs)} by p)"
    )
    for column in [*shown, "A", "B", "metric", "B − A [95% CI]", "effect", "test", "p adj.", "verdict"]:
        table.add_column(column.replace("_", " "))
    for entry in ordered.to_dict("records"):
        style = "bold" if entry["significant"] else None
        table.add_row(
            *(str(entry[c]) for c in shown),
            entry["a"],
            entry["b"],
            entry["metric"],
            f"{_number(entry['difference'])} [{_number(entry['diff_ci_low'])}, {_number(entry['diff_ci_high'])}]",
            f"{_number(entry['effect_size'])} {entry['effect_size_name'].split(' ')[-1]}",
            "McNemar" if entry["test"].startswith("McNemar") else "Wilcoxon",
            _number(entry["p_adjusted"], 3),
            entry["verdict"],
            style=style,
        )
    return table
