"""`workbench scenarios`: list and validate the scenario suite."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from workbench.cli.app import friendly, scenarios_app
from workbench.console import console
from workbench.paths import project_root
from workbench.scenarios import coverage, dataset_hash, load_scenarios


def _scenario_paths(paths: list[Path] | None) -> list[Path]:
    return paths or [project_root() / "experiments" / "scenarios"]


@scenarios_app.command("list")
@friendly
def scenarios_list(
    paths: Optional[list[Path]] = typer.Argument(None, help="Files or folders"),
    category: Optional[str] = typer.Option(None),
    risk: Optional[str] = typer.Option(None),
):
    """List scenarios with their labels."""
    table = Table(title="Scenarios")
    for column in ("id", "category", "risk", "turns", "expectations", "summary"):
        table.add_column(column)
    shown = 0
    for s in load_scenarios(_scenario_paths(paths)):
        if (category and s.category != category) or (risk and s.risk_level != risk):
            continue
        flags = ", ".join(k.removeprefix("must_") for k, v in s.expectations.model_dump().items() if v)
        table.add_row(s.id, s.category, s.risk_level, str(len(s.history) + 1), flags, s.summary)
        shown += 1
    console.print(table)
    console.print(f"{shown} scenarios")


@scenarios_app.command("validate")
@friendly
def scenarios_validate(paths: Optional[list[Path]] = typer.Argument(None, help="Files or folders")):
    """Validate scenario files and print coverage and the dataset hash."""
    scenarios = load_scenarios(_scenario_paths(paths))
    counts = coverage(scenarios)
    console.print(f"[green]valid[/green]: {len(scenarios)} scenarios, dataset hash {dataset_hash(scenarios)}")
    for name, counter in counts.items():
        console.print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))
