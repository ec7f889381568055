"""`workbench validate-scorers`: run a back-end over the gold set and log the agreement."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from workbench.scoring import offline
from workbench.scoring.items import CONSTRUCTS
from workbench.validation import ValidationReport, load_gold, validate_backend

DEFAULT_GOLD = Path("experiments") / "gold" / "replies.yaml"


def run_validation(root: Path, *, backend: str, gold: Path | None, judge_model: str | None, limit: int | None,
                   track: bool, quiet: bool, engine_factory: Callable) -> tuple[ValidationReport, str | None]:
    gold = gold or root / DEFAULT_GOLD
    pairs = load_gold(gold, [root / "experiments" / "scenarios"])
    if limit:
        pairs = pairs[:limit]
    if backend == "offline":
        analyse = offline.analyse
    else:
        engine = engine_factory(backend, judge_model)

        def analyse(item):
            return engine.judge.analyse(item, CONSTRUCTS)
    from rich.progress import Progress

    from workbench.console import console

    with Progress(console=console, disable=quiet) as bar:
        task = bar.add_task(f"validating {backend}", total=len(pairs))
        report = validate_backend(pairs, analyse, backend, progress=lambda: bar.advance(task))
    run_id = log_report(root, report, gold, judge_model) if track else None
    return report, run_id


def log_report(root: Path, report: ValidationReport, gold: Path, judge_model: str | None) -> str:
    import mlflow

    from workbench import tracking

    tracking.configure(root)
    tracking.use_experiment("scorer-validation")
    table = report.table()
    metrics = {}
    for row in table:
        key = row["item"].replace(".", "__")
        for name in ("accuracy", "precision", "recall", "f1", "kappa", "weighted_kappa"):
            value = row.get(name)
            if value is not None and value == value:
                metrics[f"{key}__{name}"] = value
    metrics["unscored_expected"] = report.unscored_expected
    metrics["unscored_correctly"] = report.unscored_correctly
    metrics["judge_errors"] = len(report.errors)
    with mlflow.start_run(run_name=f"{report.backend}") as run:
        mlflow.log_params({"backend": report.backend, "judge_model": judge_model or "",
                           "gold_file": str(gold), "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
                           "items": sum(1 for _ in table)})
        mlflow.log_metrics(metrics)
        mlflow.log_table({"item": [r["item"] for r in table], "n": [r["n"] for r in table],
                          "accuracy": [r["accuracy"] for r in table], "f1": [r.get("f1") for r in table],
                          "kappa": [r.get("kappa", r.get("weighted_kappa")) for r in table],
                          "confusion": [str(r["confusion"]) for r in table]}, artifact_file="agreement.json")
        mlflow.log_dict({"rows": table, "errors": report.errors[:200],
                         "unscored_wrongly": report.unscored_wrongly}, "report.json")
    return run.info.run_id
