"""`workbench score` and `workbench validate-scorers`: scoring replies from anywhere, and the
scorers' agreement with the gold set."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.table import Table

from workbench.calls.cache import ResponseCache
from workbench.calls.engine import CallEngine
from workbench.cli.app import app, friendly
from workbench.cli.scorers import validity_table
from workbench.console import console, errors
from workbench.errors import InputError, display_path
from workbench.locales import get_locale
from workbench.models.registry import check_model
from workbench.models.spec import ModelSpec
from workbench.paths import cache_path, project_root, prompts_dir
from workbench.preflight import check_endpoints, model_endpoints
from workbench.prompts import PromptLibrary
from workbench.redaction import Redactor
from workbench.scoring.engine import BACKENDS, ScoringEngine, backend_name, build_engine
from workbench.scoring.learned.versions import version_folder
from workbench.scoring.metrics import score_metrics
from workbench.scoring.registry import get_scorers
from workbench.scoring.team_labels import read_team_labels
from workbench.scoring.transcripts import Columns, check_columns, check_values, read_table, score_frame
from workbench.scoring.validate import log_validation, validate_gold_v1, validate_gold_v2, validate_labels
from workbench.tracking.store import configure, use_experiment
from workbench.yaml_files import validate


def scoring_engine(
    backend: str, judge_model: str | None, scorers: list[str] | None = None, scorer_version: str | None = None
) -> ScoringEngine:
    """The engine a scoring command asked for; a judge's answers go to the project's response cache."""
    backend = backend_name(backend)
    if backend not in BACKENDS:
        raise InputError.single(
            f"unknown back-end '{backend}'", field="--backend", fix=f"use {', '.join(BACKENDS)} (default learned)"
        )
    selected = get_scorers(scorers)
    root = project_root()
    if scorer_version is not None:
        version_folder(scorer_version, root, field="--scorer-version")
    if backend != "judge":
        return build_engine(selected, {s.name: backend for s in selected}, scorer_version=scorer_version, root=root)
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
    calls = CallEngine(cache=ResponseCache(cache_path(root)), redact=Redactor.for_models([model]))
    return build_engine(
        selected,
        {s.name: "judge" for s in selected},
        judge_model=model,
        library=PromptLibrary.load(prompts_dir(root)),
        calls=calls,
        scorer_version=scorer_version,
        root=root,
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
    backend: str = typer.Option("learned", help="learned (default), fast or judge"),
    scorer_version: Optional[str] = typer.Option(None, help="Learned back-end version (default learned-1)"),
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
    engine = scoring_engine(backend, judge_model, scorer_version=scorer_version)
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
    backend: str = typer.Option("learned", help="learned, fast or judge"),
    labels: Optional[Path] = typer.Option(None, "--labels", help="A team's labels (CSV or JSONL) to validate against"),
    gold: Optional[Path] = typer.Option(None, help="Gold set: the v2 folder (default) or a v1 file"),
    scorer_version: Optional[str] = typer.Option(None, help="Learned back-end version (default learned-1)"),
    judge_model: Optional[str] = typer.Option(None, help="Model spec for the judge back-end"),
    limit: Optional[int] = typer.Option(None, help="Only the first N labelled replies of each split"),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Agreement of a scoring back-end with human labels, item by item and metric by metric, with
    95% intervals: the gold set's frozen test split beside its training data, or a team's labels."""
    if limit is not None and limit < 1:
        raise InputError.single(
            f"--limit must be at least 1 (got {limit})",
            field="--limit",
            fix="give the number of labelled replies to use, or leave --limit out to use all of them",
        )
    if gold is not None and not gold.exists():
        raise InputError.single(
            "gold set not found",
            file=gold,
            field="--gold",
            fix="give the gold set v2 folder or a v1 YAML file, or leave --gold out",
        )
    root = project_root()
    engine = scoring_engine(backend, judge_model, scorer_version=scorer_version)
    scorers = engine.scorers
    name = backend_name(backend)
    with console.status(f"validating the {name} back-end", spinner="dots") if not quiet else nullcontext():
        if labels is not None:
            validation = validate_labels(read_team_labels(labels), name, scorers, engine)
        elif gold is not None and gold.is_file():
            validation = validate_gold_v1(gold, root, name, scorers, engine, limit)
        else:
            validation = validate_gold_v2(root, name, scorers, engine, gold, limit)
    console.print(validity_table(f"{name} back-end: metrics (human labels vs scorer)", validation.cards, "metrics"))
    console.print(validity_table(f"{name} back-end: items", validation.cards, "items"))
    if validation.unscored:
        console.print(f"non-English replies flagged unscored: {validation.unscored}")
    if validation.misses:
        table = Table(title="worst misses (most confident disagreements)")
        for column in ("row", "item", "label", "scored", "evidence", "reply"):
            table.add_column(column)
        for miss in validation.misses:
            table.add_row(
                str(miss["row"]),
                miss["item"],
                str(miss["label"]),
                str(miss["scored"]),
                escape(miss["evidence"]),
                escape(miss["reply"]),
            )
        console.print(table)
    if not no_track:
        run_id = log_validation(root, validation, judge_model)
        console.print(f"logged to MLflow run {run_id} (experiment scorer-validation)")
