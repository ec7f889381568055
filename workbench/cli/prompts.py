"""`workbench prompts`: list, show, diff, seal and sync versioned prompts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from workbench.cli.app import friendly, prompts_app
from workbench.console import console
from workbench.errors import display_path
from workbench.paths import default_tracking_uri, project_root, prompts_dir, store_dir
from workbench.prompts import PromptLibrary, PromptVersion, seal, unified_diff
from workbench.prompts.history import committed_versions
from workbench.runner import registry_aliases
from workbench.tracking.store import configure, tracking_uri


def _library() -> PromptLibrary:
    return PromptLibrary.load(prompts_dir(project_root()))


def _resolve(ref: str) -> PromptVersion:
    return _library().resolve(ref, where=ref, aliases=registry_aliases(project_root()))


@prompts_app.command("list")
@friendly
def prompts_list(kind: Optional[str] = typer.Option(None, help="system, user or judge")):
    """List prompt families and their versions."""
    library = _library()
    table = Table(title="Prompt families")
    for column in ("name", "kind", "versions", "variables", "description"):
        table.add_column(column)
    for name in library.names():
        family = library.families[name]
        if kind and family.kind != kind:
            continue
        table.add_row(
            name,
            family.kind,
            ", ".join(map(str, sorted(family.versions))),
            ", ".join(family.variables),
            family.description,
        )
    console.print(table)


@prompts_app.command("show")
@friendly
def prompts_show(ref: str = typer.Argument(..., help="NAME, NAME@VERSION or NAME@ALIAS")):
    """Show one version: its text, hash, rationale and date."""
    version = _resolve(ref)
    alias = f" (alias {version.alias})" if version.alias else ""
    console.print(f"[bold]{version.ref}[/bold]{alias}  {version.kind}  {version.date}  sha256 {version.sha256[:16]}…")
    console.print(f"[dim]{escape(version.rationale)}[/dim]")
    console.print(f"[dim]file: {display_path(version.source)}[/dim]\n")
    console.print(escape(version.template), highlight=False)


@prompts_app.command("diff")
@friendly
def prompts_diff(a: str = typer.Argument(..., help="NAME@A"), b: str = typer.Argument(..., help="NAME@B")):
    """Unified diff between two versions."""
    diff = unified_diff(_resolve(a), _resolve(b))
    console.print(Syntax(diff, "diff", theme="ansi_dark") if diff else "[dim]no differences[/dim]")


def held_elsewhere(name: str, path: Path) -> dict[int, dict[str, str]]:
    """The texts git history and the project's MLflow Prompt Registry hold for each version of a
    family (the registry only if the project has a store: sealing never creates one)."""
    held = committed_versions(path)
    root = project_root(path)
    if tracking_uri(root) != default_tracking_uri(root) or (store_dir(root) / "mlflow.db").is_file():
        from workbench.prompts.mlflow_registry import registered_versions  # imports MLflow

        configure(root)
        for version, texts in registered_versions(name).items():
            held.setdefault(version, {}).update(texts)
    return held


@prompts_app.command("seal")
@friendly
def prompts_seal(files: list[Path] = typer.Argument(..., help="Prompt files to seal")):
    """Record the sha256 of new versions (after adding a version to a file); a version that git
    history or the MLflow Prompt Registry holds with other text is refused."""
    for file in files:
        sealed = seal(file, held_elsewhere)
        console.print(
            f"{display_path(file)}: "
            + (f"sealed version(s) {', '.join(map(str, sealed))}" if sealed else "nothing new to seal")
        )


@prompts_app.command("sync")
@friendly
def prompts_sync():
    """Register every local version in the MLflow Prompt Registry (idempotent)."""
    from workbench.prompts.mlflow_registry import sync  # imports MLflow, which every other command can skip

    configure(project_root())
    library = _library()
    for name, mapping in sync(library.families.values()).items():
        console.print(f"{name}: " + ", ".join(f"v{local} -> registry v{reg}" for local, reg in mapping.items()))


@prompts_app.command("history")
@friendly
def prompts_history(name: str = typer.Argument(..., help="System prompt name")):
    """Every move of the `production` alias (promote, override, rollback) with its audit."""
    from workbench.promotion import history  # imports MLflow

    moves, aliases = history(name, project_root())
    now = ", ".join(f"{alias} -> {'v' + str(v) if v is not None else 'not set'}" for alias, v in aliases.items())
    table = Table(title=f"{name}: alias moves (now {now})")
    for column in ("time", "action", "alias", "from", "to", "user", "reason", "failed gates", "audit run"):
        table.add_column(column)
    for row in moves.to_dict("records"):
        table.add_row(
            row["time"],
            row["action"],
            row["alias"],
            f"v{row['from_version']}" if row["from_version"] else "–",
            f"v{row['to_version']}",
            row["user"],
            escape(row["reason"]),
            str(row["gates_failed"]),
            row["record_run"],
        )
    console.print(table if len(moves) else f"{name}: no alias moves recorded yet (now {now})")
