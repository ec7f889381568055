"""`workbench`: run experiments, inspect prompts, scenarios and models, open the MLflow UI.

Every command reports bad input as a list of problems with their fixes and exits with
code 2 before calling any model; an interrupted run exits with 130 after saving its work.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from workbench.console import console, errors, progress_bar, show_input_error, summary_table
from workbench.errors import InputError, display_path
from workbench.paths import artifact_root, project_root, prompts_dir, store_dir

app = typer.Typer(help="Alliance Workbench: prompt experiments on mental-health chatbots, tracked in MLflow.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
prompts_app = typer.Typer(help="Versioned prompt templates (prompts/*.yaml).", no_args_is_help=True)
scenarios_app = typer.Typer(help="The labelled scenario suite (experiments/scenarios/).", no_args_is_help=True)
models_app = typer.Typer(help="Model specs: providers, packages, keys, the bundled offline model.",
                         no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(scenarios_app, name="scenarios")
app.add_typer(models_app, name="models")


def friendly(fn):
    """Turn input errors into a readable panel and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            show_input_error(exc)
            raise typer.Exit(2) from None

    return wrapper


# -- run --------------------------------------------------------------------------------------
@app.command()
@friendly
def run(spec: Path = typer.Argument(..., help="Experiment spec, e.g. experiments/quickstart.yaml"),
        no_cache: bool = typer.Option(False, "--no-cache", help="Ignore and do not fill the response cache."),
        no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar.")):
    """Run an experiment spec: every system prompt x user strategy x scenario x model."""
    from workbench.runner import RunInterrupted, run_experiment

    def announce(plan) -> None:
        console.print(f"[bold]{plan.spec.name}[/bold]: {len(plan.groups)} run groups x {len(plan.scenarios)} "
                      f"scenarios x {plan.spec.repeats} repeats = {len(plan.cells)} replies "
                      f"(dataset {plan.dataset_hash[:12]})")

    try:
        with progress_bar(enabled=not quiet) as progress:
            result = run_experiment(spec, use_cache=not no_cache, track=not no_track, progress=progress,
                                    on_plan=announce)
    except RunInterrupted as interrupted:
        stats = interrupted.result.stats
        errors.print(f"[yellow]Interrupted.[/yellow] {len(interrupted.result.frame)} of {stats.cells} replies are "
                     "saved (cache and MLflow, runs marked KILLED). Run the same command again to resume.")
        raise typer.Exit(130) from None
    stats = result.stats
    for warning in result.warnings:
        errors.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    if len(result.frame):
        console.print(summary_table(result.summary(), title=f"{result.plan.spec.name}: summary"))
    console.print(f"{stats.cells} replies: {stats.cached} from cache, {stats.calls} model calls "
                  f"({stats.retries} retries), {stats.errors} errors, {stats.seconds:.1f} s")
    if result.parent_run_id:
        console.print(f"MLflow run {result.parent_run_id} in {result.tracking_uri}\n"
                      "Open the UI with: [bold]workbench ui[/bold]")


# -- prompts ----------------------------------------------------------------------------------
def _library():
    from workbench.prompts import PromptLibrary

    return PromptLibrary.load(prompts_dir(project_root()))


def _resolve(ref: str):
    from workbench.runner import registry_aliases

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
        table.add_row(name, family.kind, ", ".join(map(str, sorted(family.versions))), ", ".join(family.variables),
                      family.description)
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
    from workbench.prompts import unified_diff

    diff = unified_diff(_resolve(a), _resolve(b))
    console.print(Syntax(diff, "diff", theme="ansi_dark") if diff else "[dim]no differences[/dim]")


@prompts_app.command("seal")
@friendly
def prompts_seal(files: list[Path] = typer.Argument(..., help="Prompt files to seal")):
    """Record the sha256 of new versions (after adding a version to a file)."""
    from workbench.prompts import seal

    for file in files:
        sealed = seal(file)
        console.print(f"{display_path(file)}: " + (f"sealed version(s) {', '.join(map(str, sealed))}"
                                                   if sealed else "nothing new to seal"))


@prompts_app.command("sync")
@friendly
def prompts_sync():
    """Register every local version in the MLflow Prompt Registry (idempotent)."""
    from workbench import tracking
    from workbench.prompt_registry import sync

    tracking.configure(project_root())
    library = _library()
    for name, mapping in sync(library.families.values()).items():
        console.print(f"{name}: " + ", ".join(f"v{local} -> registry v{reg}" for local, reg in mapping.items()))


# -- scenarios --------------------------------------------------------------------------------
def _scenario_paths(paths: list[Path] | None) -> list[Path]:
    return paths or [project_root() / "experiments" / "scenarios"]


@scenarios_app.command("list")
@friendly
def scenarios_list(paths: Optional[list[Path]] = typer.Argument(None, help="Files or folders"),
                   category: Optional[str] = typer.Option(None), risk: Optional[str] = typer.Option(None)):
    """List scenarios with their labels."""
    from workbench.scenarios import load_scenarios

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
    from workbench.scenarios import coverage, dataset_hash, load_scenarios

    scenarios = load_scenarios(_scenario_paths(paths))
    counts = coverage(scenarios)
    console.print(f"[green]valid[/green]: {len(scenarios)} scenarios, dataset hash {dataset_hash(scenarios)}")
    for name, counter in counts.items():
        console.print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))


# -- models -----------------------------------------------------------------------------------
@models_app.command("list")
def models_list():
    """Providers, whether their package and key are present, and the bundled offline models."""
    from workbench.models.local import BUNDLED_MODELS, bundled_model_path
    from workbench.models.providers import PROVIDERS

    table = Table(title="Providers")
    for column in ("provider", "package", "installed", "API key", "install"):
        table.add_column(column)
    for p in PROVIDERS.values():
        key = "not needed" if not p.key_envs else ("set" if p.key_present() else f"missing ({p.key_envs[0]})")
        table.add_row(p.name, p.package, "yes" if p.installed() else "no", key, "" if p.installed() else p.install_hint())
    console.print(table)
    console.print("Other LangChain providers (init_chat_model) work once their package is installed; "
                  "OpenAI-compatible servers: openai:MODEL with base_url.")
    for name, model in BUNDLED_MODELS.items():
        state = "installed" if bundled_model_path(name) else f"not installed: {model.install}"
        console.print(f"bundled [bold]local:{name}[/bold]: {model.description} ({state})")


@models_app.command("check")
@friendly
def models_check(spec: str = typer.Argument(..., help="provider:model"),
                 base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible endpoint"),
                 api_key_env: Optional[str] = typer.Option(None, help="Environment variable with the key"),
                 ping: bool = typer.Option(False, help="Also send one short message.")):
    """Check that a model spec can be called (package, key), optionally with a real call."""
    from workbench.models.providers import build_chat_model, check_model
    from workbench.models.spec import Decoding, ModelSpec
    from workbench.yaml_files import validate

    model = validate({"spec": spec, "base_url": base_url, "api_key_env": api_key_env}, ModelSpec,
                     path="command line")
    problems = check_model(model, field="SPEC")
    if problems:
        raise InputError(problems)
    console.print(f"[green]ok[/green]: {model.spec} can be called")
    if ping:
        reply = build_chat_model(model, Decoding(max_tokens=16), timeout=60).invoke("Say hello in five words.")
        console.print(f"reply: {escape(str(reply.content))}")


# -- scoring from anywhere and validation --------------------------------------------------------
def _engine(backend: str, judge_model: Optional[str], scorers: list[str] | None = None):
    from workbench.cache import ResponseCache
    from workbench.evaluation import build_engine
    from workbench.models.providers import check_model
    from workbench.models.spec import ModelSpec
    from workbench.paths import cache_path
    from workbench.scoring import get_scorers
    from workbench.yaml_files import validate

    if backend not in ("offline", "judge"):
        raise InputError.single(f"unknown back-end '{backend}'", field="--backend", fix="use offline or judge")
    selected = get_scorers(scorers)
    if backend == "offline":
        return build_engine(selected, {})
    if not judge_model:
        raise InputError.single("the judge back-end needs a model", field="--judge-model",
                                fix="add --judge-model provider:model (e.g. openai:gpt-4o-mini)")
    model = validate({"spec": judge_model}, ModelSpec, path="command line")
    if problems := check_model(model, field="--judge-model"):
        raise InputError(problems)
    return build_engine(selected, {s.name: "judge" for s in selected}, judge_model=model, library=_library(),
                        cache=ResponseCache(cache_path(project_root())))


@app.command()
@friendly
def score(file: Path = typer.Argument(..., help="CSV or JSONL with replies to score"),
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
          quiet: bool = typer.Option(False, "--quiet", "-q")):
    """Score replies the workbench did not generate (production logs, other tools' output)."""
    from rich.progress import Progress as RichProgress

    from workbench.locales import get_locale
    from workbench.transcripts import Columns, check_columns, read_table, score_frame

    get_locale(locale, field="--locale")
    frame = read_table(file)
    columns = Columns(user_message=user_col, conversation=conversation_col, reply=reply_col, risk_level=risk_col)
    check_columns(frame, columns, file)
    engine = _engine(backend, judge_model)
    with RichProgress(console=console, disable=quiet) as bar:
        task = bar.add_task("scoring", total=len(frame))
        scored = score_frame(frame, engine, columns, locale=locale.upper(), progress=lambda: bar.advance(task),
                             workers=4 if backend == "judge" else 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(out, index=False)
    failed = scored["score_error"].notna()
    console.print(f"scored {int((~failed).sum())} of {len(scored)} rows -> {display_path(out)}")
    for index, reason in scored.loc[failed, "score_error"].head(20).items():
        errors.print(f"[yellow]row {index + 1} not scored:[/yellow] {escape(str(reason))}", soft_wrap=True)
    if failed.sum() > 20:
        errors.print(f"... and {int(failed.sum()) - 20} more rows (see the score_error column)")
    if mlflow_log:
        from workbench import tracking
        from workbench.metrics import score_metrics

        tracking.configure(project_root())
        tracking.use_experiment(experiment)
        import mlflow

        with mlflow.start_run(run_name=file.stem) as run:
            mlflow.log_params({"file": display_path(file), "rows": len(scored), "backend": backend,
                               "judge_model": judge_model or "", "locale": locale.upper()})
            mlflow.log_metrics({k: v for k, v in score_metrics(scored, engine.scorers).items() if v == v})
            mlflow.log_table(scored, artifact_file="scored.json")
        console.print(f"MLflow run {run.info.run_id}")


@app.command("validate-scorers")
@friendly
def validate_scorers(backend: str = typer.Option("offline", help="offline or judge"),
                     gold: Path = typer.Option(None, help="Gold set (default experiments/gold/replies.yaml)"),
                     judge_model: Optional[str] = typer.Option(None, help="Model spec for the judge back-end"),
                     limit: Optional[int] = typer.Option(None, help="Only the first N gold items"),
                     no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow"),
                     quiet: bool = typer.Option(False, "--quiet", "-q")):
    """Agreement of a scoring back-end with the labelled gold set, item by item."""
    from workbench.scorer_validation import run_validation

    report, run_id = run_validation(project_root(), backend=backend, gold=gold, judge_model=judge_model, limit=limit,
                                    track=not no_track, quiet=quiet, engine_factory=_engine)
    table = Table(title=f"{backend} back-end vs gold")
    for column in ("item", "n", "pos", "accuracy", "precision", "recall", "F1", "kappa", "confusion (rows gold)"):
        table.add_column(column)
    for row in report.table():
        binary = row["scale"] == "binary"
        fmt = lambda key: "-" if row.get(key) is None or row[key] != row[key] else f"{row[key]:.2f}"
        table.add_row(row["item"], str(int(row["n"])), str(int(row["positives"])) if binary else "0-2",
                      fmt("accuracy"), fmt("precision") if binary else "", fmt("recall") if binary else "",
                      fmt("f1") if binary else "", fmt("kappa" if binary else "weighted_kappa"), str(row["confusion"]))
    console.print(table)
    console.print(f"non-English items flagged unscored: {report.unscored_correctly}/{report.unscored_expected}"
                  + (f"; English items wrongly unscored: {', '.join(report.unscored_wrongly)}"
                     if report.unscored_wrongly else ""))
    if report.errors:
        errors.print(f"[yellow]{len(report.errors)} judge errors[/yellow], e.g. {escape(report.errors[0])}")
    if run_id:
        console.print(f"logged to MLflow run {run_id} (experiment scorer-validation)")


# -- ui ---------------------------------------------------------------------------------------
@app.command()
def ui(port: int = typer.Option(5000, help="Port on 127.0.0.1"),
       dry_run: bool = typer.Option(False, "--dry-run", help="Print the command and URL only.")):
    """Start the MLflow UI on the local store and print its URL."""
    from workbench.tracking import tracking_uri

    root = project_root()
    store_dir(root).mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(root)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
               "--port", str(port)]
    if artifacts := artifact_root(uri):
        command += ["--default-artifact-root", artifacts]
    console.print(f"MLflow UI for {uri}\nOpen [bold]http://127.0.0.1:{port}[/bold]  (Ctrl-C to stop)")
    if dry_run:
        console.print(" ".join(command))
        return
    try:
        subprocess.run(command, check=False, env={**os.environ, "MLFLOW_TRACKING_URI": uri})
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # pragma: no cover
    app()
