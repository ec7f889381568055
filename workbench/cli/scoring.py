"""`workbench score` and `workbench validate-scorers`: scoring replies from anywhere, and the
scorers' agreement with the gold set."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.table import Table

from workbench.calls.cache import ResponseCache
from workbench.calls.engine import CallEngine
from workbench.cli.app import app, friendly
from workbench.console import console, errors
from workbench.errors import InputError, display_path
from workbench.locales import get_locale
from workbench.models.registry import check_model
from workbench.models.spec import ModelSpec
from workbench.paths import cache_path, project_root, prompts_dir
from workbench.preflight import check_endpoints, model_endpoints
from workbench.prompts import PromptLibrary
from workbench.redaction import Redactor
from workbench.scoring.engine import BACKENDS, ScoringEngine, build_engine
from workbench.scoring.metrics import score_metrics
from workbench.scoring.registry import get_scorers
from workbench.scoring.transcripts import Columns, check_columns, check_values, read_table, score_frame
from workbench.scoring.validate import DEFAULT_GOLD, gold_pairs, log_report, run_validation
from workbench.tracking.store import configure, use_experiment
from workbench.yaml_files import validate


def scoring_engine(backend: str, judge_model: str | None, scorers: list[str] | None = None) -> ScoringEngine:
    """The engine a scoring command asked for; a judge's answers go to the project's response cache."""
    if backend not in BACKENDS:
        raise InputError.single(f"unknown back-end '{backend}'", field="--backend", fix=f"use {' or '.join(BACKENDS)}")
    selected = get_scorers(scorers)
    if backend == "offline":
        return build_engine(selected, {})
    if not judge_model:
        raise InputError.single(
            "the judge back-end needs a model",
            field="--judge-model",
            fix="add --judge-model provider:model (e.g. openai:gpt-4o-mini)",
        )
    model = validate({"spec": judge_model}, ModelSpec, path="command line")
    if problems := check_model(model, field="--judge-model"):
        raise InputError(problems)
    if problems := check_endpoints(model_endpoints([(model, "--judge-model")], "command line")):
        raise InputError(problems)
    calls = CallEngine(cache=ResponseCache(cache_path(project_root())), redact=Redactor.for_models([model]))
    return build_engine(
        selected,
        {s.name: "judge" for s in selected},
        judge_model=model,
        library=PromptLibrary.load(prompts_dir(project_root())),
        calls=calls,
    )


def check_output(out: Path, source: Path) -> None:
    """`--out` must be a new or writable file that is not the input, checked before any work."""

    def refuse(message: str, fix: str) -> InputError:
        return InputError.single(message, file=out, field="--out", fix=fix)

    if out.resolve() == source.resolve():
        raise refuse("--out is the input file, which would be overwritten", "write the scores to another file")
    if out.is_dir():
        raise refuse("--out is a folder", f"give a file name, e.g. {display_path(out / 'scored.csv')}")
    existed = out.exists()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise refuse(
            f"--out cannot be written: {exc.strerror or exc}", "choose a path in a folder you can write to"
        ) from None
    if not existed:
        out.unlink()


@app.command()
@friendly
def score(
    file: Path = typer.Argument(..., help="CSV or JSONL with replies to score"),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the scored CSV"),
    user_col: str = typer.Option("user_message", help="Column with the user's message"),
    conversation_col: str = typer.Option("conversation", help="Column with a JSON list of {role, content} turns"),
    reply_col: str = typer.Option("reply", help="Column with the reply to score"),
    risk_col: str = typer.Option("risk_level", help="Optional column with none/low/high/imminent"),
    backend: str = typer.Option("offline", help="offline or judge"),
    judge_model: Optional[str] = typer.Option(None, help="Model spec for the judge back-end"),
    locale: str = typer.Option("US", help="Crisis resources to score against"),
    mlflow_log: bool = typer.Option(False, "--mlflow", help="Also log the scored table and rates to MLflow"),
    experiment: str = typer.Option("scored-transcripts", help="MLflow experiment for --mlflow"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Score replies the workbench did not generate (production logs, other tools' output)."""
    get_locale(locale, field="--locale")
    check_output(out, file)
    frame = read_table(file)
    columns = Columns(user_message=user_col, conversation=conversation_col, reply=reply_col, risk_level=risk_col)
    check_columns(frame, columns, file)
    check_values(frame, columns, file)
    engine = scoring_engine(backend, judge_model)
    with RichProgress(console=console, disable=quiet) as bar:
        task = bar.add_task("scoring", total=len(frame))
        scored = score_frame(frame, engine, columns, locale=locale.upper(), progress=lambda: bar.advance(task))
    out.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(out, index=False)
    failed = scored["score_error"].notna()
    console.print(f"scored {int((~failed).sum())} of {len(scored)} rows -> {display_path(out)}")
    for position, reason in enumerate(scored.loc[failed, "score_error"].head(20)):
        index = int(failed[failed].index[position])
        errors.print(f"[yellow]row {index + 1} not scored:[/yellow] {escape(str(reason))}", soft_wrap=True)
    if failed.sum() > 20:
        errors.print(f"... and {int(failed.sum()) - 20} more rows (see the score_error column)")
    if mlflow_log:
        import mlflow

        configure(project_root())
        use_experiment(experiment)

        with mlflow.start_run(run_name=file.stem) as run:
            mlflow.log_params(
                {
                    "file": display_path(file),
                    "rows": len(scored),
                    "backend": backend,
                    "judge_model": judge_model or "",
                    "locale": locale.upper(),
                }
            )
            mlflow.log_metrics({k: v for k, v in score_metrics(scored, engine.scorers).items() if v == v})
            mlflow.log_table(scored, artifact_file="scored.json")
        console.print(f"MLflow run {run.info.run_id}")


@app.command("validate-scorers")
@friendly
def validate_scorers(
    backend: str = typer.Option("offline", help="offline or judge"),
    gold: Path = typer.Option(None, help="Gold set (default experiments/gold/replies.yaml)"),
    judge_model: Optional[str] = typer.Option(None, help="Model spec for the judge back-end"),
    limit: Optional[int] = typer.Option(None, help="Only the first N gold items"),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Agreement of a scoring back-end with the labelled gold set, item by item."""
    if limit is not None and limit < 1:
        raise InputError.single(
            f"--limit must be at least 1 (got {limit})",
            field="--limit",
            fix="give the number of gold items to use, or leave --limit out to use all of them",
        )
    if gold is not None and not gold.is_file():
        raise InputError.single(
            "gold set not found", file=gold, field="--gold", fix="give a gold-set YAML file, or leave --gold out"
        )
    root = project_root()
    engine = scoring_engine(backend, judge_model) if backend != "offline" else None
    pairs = gold_pairs(root, gold, limit)
    with RichProgress(console=console, disable=quiet) as bar:
        task = bar.add_task(f"validating {backend}", total=len(pairs))
        report = run_validation(pairs, backend=backend, engine=engine, progress=lambda: bar.advance(task))
    run_id = None if no_track else log_report(root, report, gold or root / DEFAULT_GOLD, judge_model)
    table = Table(title=f"{backend} back-end vs gold")
    for column in ("item", "n", "pos", "accuracy", "precision", "recall", "F1", "kappa", "confusion (rows gold)"):
        table.add_column(column)
    for row in report.table():
        binary = row["scale"] == "binary"

        def fmt(key: str, row: dict = row) -> str:
            return "-" if row.get(key) is None or row[key] != row[key] else f"{row[key]:.2f}"

        table.add_row(
            row["item"],
            str(int(row["n"])),
            str(int(row["positives"])) if binary else "0-2",
            fmt("accuracy"),
            fmt("precision") if binary else "",
            fmt("recall") if binary else "",
            fmt("f1") if binary else "",
            fmt("kappa" if binary else "weighted_kappa"),
            str(row["confusion"]),
        )
    console.print(table)
    console.print(
        f"non-English items flagged unscored: {report.unscored_correctly}/{report.unscored_expected}"
        + (f"; English items wrongly unscored: {', '.join(report.unscored_wrongly)}" if report.unscored_wrongly else "")
    )
    if report.errors:
        errors.print(f"[yellow]{len(report.errors)} judge errors[/yellow], e.g. {escape(report.errors[0])}")
    if run_id:
        console.print(f"logged to MLflow run {run_id} (experiment scorer-validation)")
