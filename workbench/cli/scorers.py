"""`workbench scorers`: the learned back-end's versions: list them, show a validity card, train
the built-in version again from the gold set, calibrate a team version on a team's own labels."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from workbench.cli.app import friendly, scorers_app
from workbench.console import console, errors
from workbench.errors import InputError
from workbench.paths import project_root
from workbench.scoring.learned.versions import DEFAULT_VERSION, NAME, available, builtin_dir, load_version, project_dir


def _check_name(name: str, option: str = "--name") -> None:
    if not NAME.match(name):
        raise InputError.single(
            f"'{name}' is not a usable version name",
            field=option,
            fix="use lower-case letters, digits, '.', '_' or '-' (e.g. team-2026-11)",
        )


@scorers_app.command("list")
@friendly
def scorers_list():
    """Scorer versions: built-in and this project's, with their headline agreement on the test split."""
    table = Table(title="Scorer versions (learned back-end)")
    for column in ("name", "where", "created", "appropriate (test)", "empathy r (test)", "description"):
        table.add_column(column)
    for name, folder in available(project_root()).items():
        version = load_version(name, project_root())
        metrics = version.card.get("test", {}).get("metrics", {})
        table.add_row(
            name + (" (default)" if name == DEFAULT_VERSION else ""),
            "built-in" if folder.parent == builtin_dir() else "project",
            str(version.provenance.get("created", ""))[:10],
            _value(metrics.get("appropriate")),
            _value(metrics.get("empathy")),
            version.description,
        )
    console.print(table)


def _value(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "-"
    low, high = entry.get("ci", [None, None])
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return f"{entry['value']:.2f}{interval}"


def validity_table(title: str, cards: dict[str, dict], kind: str) -> Table:
    """Items or metrics of one or more cards, side by side (e.g. train beside test)."""
    table = Table(title=title)
    table.add_column(kind)
    names = list(cards)
    for name in names:
        table.add_column(f"{name}", justify="right")
    keys = list(dict.fromkeys(k for c in cards.values() for k in c.get(kind, {})))
    for key in keys:
        cells = []
        for name in names:
            entry = cards[name].get(kind, {}).get(key)
            if entry is None:
                cells.append("-")
                continue
            if kind == "metrics":
                mark = "" if entry.get("valid", True) else " LOW"
                cells.append(f"{entry['statistic']} {_value(entry)} n={entry['n']}{mark}")
            else:
                statistic = "weighted_kappa" if "weighted_kappa" in entry else "f1"
                shown = entry[statistic]
                cells.append(f"{'wκ' if statistic == 'weighted_kappa' else 'F1'} {_value(shown)} n={shown['n']}")
        table.add_row(key, *cells)
    return table


@scorers_app.command("card")
@friendly
def scorers_card(name: str = typer.Argument(DEFAULT_VERSION, help="Scorer version")):
    """A version's validity card: agreement with human labels on the frozen test split and on its
    training data, item by item and metric by metric, with 95% intervals."""
    version = load_version(name, project_root())
    cards: dict[str, dict] = {k: version.card[k] for k in ("train", "test", "team") if k in version.card}
    console.print(validity_table(f"{name}: metrics (human labels vs scorer)", cards, "metrics"))
    console.print(validity_table(f"{name}: items", cards, "items"))
    user = version.card.get("user", {})
    if user:
        console.print(
            "risk inferred from the user's side (test split): " + ", ".join(f"{k} {_value(v)}" for k, v in user.items())
        )
    appropriate = version.card.get("test_with_inferred_risk", {}).get("appropriate", {})
    if appropriate:
        console.print(
            f"appropriate with inferred risk (test split): accuracy {_value(appropriate.get('accuracy'))}, "
            f"AUC {_value(appropriate.get('auc'))}"
        )


@scorers_app.command("prepare")
@friendly
def scorers_prepare():
    """Compute (once per machine) the sentence-embedding table the learned back-end reads."""
    from workbench.scoring.learned.embeddings import cache_dir, static_embeddings

    embeddings = static_embeddings()
    console.print(
        f"sentence embeddings ready: {embeddings.table.shape[0]} tokens x {embeddings.table.shape[1]} "
        f"dimensions (cached in {cache_dir()})"
    )


@scorers_app.command("train")
@friendly
def scorers_train(
    name: str = typer.Option(DEFAULT_VERSION, help="Version name"),
    out: Optional[Path] = typer.Option(None, help="Folder to write (default: the project's scorers/NAME)"),
    builtin: bool = typer.Option(False, "--builtin", help="Write the package's built-in version (for releases)"),
):
    """Train a version from the gold set's train and dev splits and card it on the frozen test split."""
    from workbench.scoring.learned.build import build

    _check_name(name)
    root = project_root()
    folder = out or (builtin_dir() / name if builtin else project_dir(root) / name)
    version = build(
        root,
        name,
        "Trained on gold set v2 (train and dev splits) and the scenario suite.",
        progress=lambda message: console.print(f"  {message}", highlight=False),
    )
    version.save(folder)
    console.print(f"saved {name} to {folder}")
    scorers_card_from(version)


def scorers_card_from(version) -> None:
    cards: dict[str, dict] = {k: version.card[k] for k in ("train", "test", "team") if k in version.card}
    console.print(validity_table(f"{version.name}: metrics", cards, "metrics"))


@scorers_app.command("calibrate")
@friendly
def scorers_calibrate(
    labels: Path = typer.Option(..., "--labels", help="CSV or JSONL of conversations, replies and labels"),
    name: str = typer.Option(..., "--name", help="Name of the new version (e.g. team-2026-11)"),
    base: str = typer.Option(DEFAULT_VERSION, help="Version whose heads are kept for items the labels lack"),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log the new version to MLflow"),
):
    """Refit the classifiers and thresholds with a team's own labels added, as a new version a spec
    can pin (`scorer_version: NAME`); logged to MLflow like an aligned judge."""
    from workbench.scoring.learned.build import build
    from workbench.scoring.team_labels import as_training, read_team_labels, summary

    _check_name(name)
    root = project_root()
    if name in available(root):
        raise InputError.single(
            f"scorer version '{name}' already exists",
            field="--name",
            fix="choose a new name; versions are immutable once saved",
        )
    base_version = load_version(base, root)
    team = read_team_labels(labels)
    examples = as_training(team)
    if not examples:
        raise InputError.single(
            "the labels name no item and no `appropriate` verdict, so there is nothing to refit",
            file=labels,
            field="columns",
            fix="add item columns (e.g. crisis_resource) or an appropriate column; metric "
            "labels alone can validate (`workbench validate-scorers --labels`) but not calibrate",
        )
    for row, reason in team.skipped[:10]:
        errors.print(f"[yellow]row {row} not used:[/yellow] {reason}")
    console.print("labels: " + ", ".join(f"{k} {v}" for k, v in summary(team).items()))
    version = build(
        root,
        name,
        f"Calibrated from {base} with {len(examples)} labelled replies ({labels.name}).",
        team=examples,
        base=base_version,
        progress=lambda message: console.print(f"  {message}", highlight=False),
    )
    version.provenance["labels_file"] = str(labels)
    version.provenance["labels_sha256"] = hashlib.sha256(labels.read_bytes()).hexdigest()
    folder = version.save(project_dir(root) / name)
    console.print(f"saved {name} to {folder}; pin it with `scorer_version: {name}` in a spec")
    scorers_card_from(version)
    if not no_track:
        run_id = log_version(root, version, folder)
        console.print(f"logged to MLflow run {run_id} (experiment scorer-calibration)")


def log_version(root: Path, version, folder: Path) -> str:
    import mlflow

    from workbench.tracking.store import configure, use_experiment

    configure(root)
    use_experiment("scorer-calibration")
    with mlflow.start_run(run_name=version.name) as run:
        mlflow.log_params(
            {
                "scorer_version": version.name,
                "base": version.provenance.get("base") or "",
                "labels_file": version.provenance.get("labels_file", ""),
                "labels_sha256": version.provenance.get("labels_sha256", ""),
                "team_labels": version.provenance.get("team_labels", 0),
            }
        )
        metrics = {}
        for card_name in ("test", "team"):
            for metric, entry in version.card.get(card_name, {}).get("metrics", {}).items():
                value = entry.get("value")
                if value is not None and not math.isnan(value):
                    metrics[f"{card_name}.{metric}"] = value
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(folder), artifact_path="scorer_version")
    return run.info.run_id
