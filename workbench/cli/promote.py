"""`workbench promote`, `workbench rollback`, `workbench gate`: moving the registry alias
`production` behind the gates of a policy file, undoing a move, and checking a spec in CI.

Exit codes: 0 done (or every gate passed), 1 a gate failed (the alias is unchanged), 2 bad input
(nothing called, nothing moved); `gate` also 3 when cells ended in error and 130 when interrupted,
as `workbench run`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from workbench.cli.app import EXIT_CELL_ERRORS, EXIT_INTERRUPTED, app, friendly
from workbench.console import console, errors, progress_bar, show_error_summary
from workbench.errors import InputError
from workbench.paths import project_root, prompts_dir
from workbench.prompts import PromptLibrary

GATE_FAILED = 1


def _policy(path: Path):
    from workbench.promotion import load_policy

    return load_policy(path, PromptLibrary.load(prompts_dir(project_root())))


def _value(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def gates_table(decision) -> Table:
    """One row per gate (the deciding cell), failures first."""
    table = Table(title=f"{decision.label}: gates of {decision.policy_file} on {len(decision.evidence.run_ids)} runs")
    for column in ("gate", "result", "value", "threshold", "cell", "failed cells"):
        table.add_column(column)
    for gate in sorted(decision.summary(), key=lambda g: g["passed"]):
        table.add_row(
            gate["gate"],
            "[green]pass[/green]" if gate["passed"] else "[red]FAIL[/red]",
            _value(gate["value"]),
            gate["threshold"],
            escape(gate["cell"]),
            f"{gate['failed_cells']}/{gate['cells']}",
        )
    return table


def failures_table(decision) -> Table:
    table = Table(title="Failed gates, every cell")
    for column in ("gate", "cell", "value", "threshold", "why"):
        table.add_column(column)
    for row in decision.failed().to_dict("records"):
        value = row["value"]
        table.add_row(row["gate"], escape(row["cell"]), _value(value), row["threshold"], escape(row["reason"]))
    return table


def show_decision(decision) -> None:
    for warning in decision.warnings:
        errors.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    console.print(gates_table(decision))
    if not decision.passed:
        console.print(failures_table(decision))


@app.command()
@friendly
def promote(
    ref: str = typer.Argument(..., help="NAME@VERSION of a system prompt, e.g. safety-first@2"),
    policy: Path = typer.Option(Path("gates.yaml"), "--policy", help="Gates policy file."),
    evidence: list[str] = typer.Option([], "--evidence", help="Run id(s) to judge on (default: latest runs)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Evaluate the gates only; move nothing."),
    override_reason: Optional[str] = typer.Option(
        None, "--override-reason", help="Move the alias although gates failed; recorded in the audit."
    ),
):
    """Point the registry alias `production` at NAME@VERSION if every gate of the policy passes."""
    from workbench.promotion import commit, evaluate

    rules = _policy(policy)
    decision = evaluate(ref, rules, policy_file=policy, evidence=tuple(evidence))
    show_decision(decision)
    if dry_run:
        verdict = "every gate passed" if decision.passed else "gates failed"
        console.print(f"Dry run: {verdict}; {rules.alias} unchanged.")
        raise typer.Exit(0 if decision.passed else GATE_FAILED)
    if not decision.passed and override_reason is None:
        console.print(
            f"[red]Not promoted[/red]: {rules.alias} of {decision.name} is unchanged "
            f"({'v' + str(decision.production) if decision.production is not None else 'not set'})."
        )
        raise typer.Exit(GATE_FAILED)
    done = commit(decision, override_reason=override_reason)
    record = done.record
    assert record is not None
    what = "[yellow]Overridden[/yellow]" if record.action == "override" else "[green]Promoted[/green]"
    console.print(
        f"{what}: {rules.alias} of {decision.name} -> v{decision.version}"
        + (f" ({rules.previous_alias} -> v{record.from_version})" if record.from_version is not None else "")
        + f". Audit: tags on the prompt version, run {record.record_run} in experiment 'promotions'."
    )


@app.command()
@friendly
def rollback(
    name: str = typer.Argument(..., help="System prompt name"),
    reason: str = typer.Option("", "--reason", help="Why; recorded in the audit."),
    policy: Optional[Path] = typer.Option(
        None, "--policy", help="Policy file naming the aliases (default: production/previous)."
    ),
):
    """Point `production` back at the `previous` version (and `previous` at the one it replaces)."""
    from workbench.promotion import rollback as roll_back

    aliases = ("production", "previous")
    if policy is not None:
        rules = _policy(policy)
        aliases = (rules.alias, rules.previous_alias)
    done = roll_back(name, alias=aliases[0], previous_alias=aliases[1], reason=reason)
    record = done.record
    assert record is not None
    console.print(
        f"Rolled back: {aliases[0]} of {name} -> v{record.to_version}, {aliases[1]} -> v{record.from_version}. "
        f"Audit run {record.record_run}."
    )


@app.command()
@friendly
def gate(
    spec: Path = typer.Argument(..., help="Experiment spec to run and judge"),
    policy: Path = typer.Option(Path("gates.yaml"), "--policy", help="Gates policy file."),
    prompt: list[str] = typer.Option(
        [], "--prompt", help="Judge only these NAME@VERSION (default: every system prompt)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Run a spec and check its system prompts against the gates, for CI: exit 1 when a gate fails,
    3 when cells ended in error (the evidence is incomplete), 130 when interrupted."""
    from workbench.promotion import evaluate
    from workbench.runner import RunInterrupted, run_experiment

    rules = _policy(policy)  # a malformed policy is refused before any model is called
    chosen: list[str] = []

    def check(plan) -> None:
        """The options against the spec, before any model is called."""
        labels = list(dict.fromkeys(g.system_prompt.ref for g in plan.groups))
        unknown = [p for p in prompt if p not in labels]
        if unknown:
            raise InputError.single(
                f"{', '.join(unknown)} not in the spec's system prompts",
                field="--prompt",
                fix=f"use: {', '.join(labels)}",
            )
        chosen.extend(prompt or labels)

    try:
        with progress_bar(enabled=not quiet) as progress:
            result = run_experiment(spec, progress=progress, on_plan=check)
    except RunInterrupted:
        errors.print("[yellow]Interrupted.[/yellow] What finished is saved; run the same command again to resume.")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    show_error_summary(result.stats)
    if result.stats.errors:
        errors.print(
            f"[red]{result.stats.errors} of {result.stats.cells} cells ended in error[/red]: the evidence is "
            f"incomplete, so no gate is judged (exit code {EXIT_CELL_ERRORS}). Running the same command again "
            "retries only those cells."
        )
        raise typer.Exit(EXIT_CELL_ERRORS)
    assert result.parent_run_id, "gate runs are tracked"
    failed = []
    for label in chosen:
        decision = evaluate(label, rules, policy_file=policy, evidence=(result.parent_run_id,))
        show_decision(decision)
        if not decision.passed:
            failed.append(label)
    if failed:
        console.print(f"[red]Gates failed[/red] for {', '.join(failed)} (run {result.parent_run_id}).")
        raise typer.Exit(GATE_FAILED)
    console.print(f"[green]Every gate passed[/green] for {', '.join(chosen)} (run {result.parent_run_id}).")
