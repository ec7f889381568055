"""`workbench validate-scorers`: run a back-end over the gold set and log the agreement."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

from workbench.calls.loop import run_sync
from workbench.scoring import offline
from workbench.scoring.agreement import ValidationReport, validate_backend
from workbench.scoring.base import ScoringInput
from workbench.scoring.engine import ScoringEngine
from workbench.scoring.gold import GoldItem, load_gold
from workbench.scoring.items import CONSTRUCTS, Analysis
from workbench.tracking.store import configure, use_experiment

DEFAULT_GOLD = Path("experiments") / "gold" / "replies.yaml"


def gold_pairs(root: Path, gold: Path | None = None, limit: int | None = None) -> list[tuple[GoldItem, ScoringInput]]:
    """The gold replies with the scorers' inputs rebuilt from their scenarios (the first `limit`)."""
    pairs = load_gold(gold or root / DEFAULT_GOLD, [root / "experiments" / "scenarios"])
    return pairs[:limit] if limit else pairs


def run_validation(
    pairs: list[tuple[GoldItem, ScoringInput]],
    *,
    backend: str,
    engine: ScoringEngine | None = None,
    progress: Callable[[], None] = lambda: None,
) -> ValidationReport:
    """Agreement of `backend` with the gold labels; a judge back-end needs an `engine` with a judge."""
    if backend == "offline":
        return validate_backend(pairs, offline.analyse, backend, progress=progress)
    if engine is None or engine.judge is None:
        raise ValueError("the judge back-end needs an engine with a judge")
    judged = judge_all(engine, pairs, progress)
    return validate_backend(pairs, lambda item: judged[id(item)], backend)


def judge_all(
    engine: ScoringEngine, pairs: list[tuple[GoldItem, ScoringInput]], progress: Callable[[], None]
) -> dict[int, Analysis]:
    """Every gold reply judged, concurrently within the judge's limit on the call engine."""
    judge = engine.judge
    assert judge is not None
    judged: dict[int, Analysis] = {}

    async def one(item: ScoringInput) -> None:
        judged[id(item)] = await judge.analyse(item, CONSTRUCTS)
        progress()

    async def every() -> None:
        await asyncio.gather(*(one(item) for _, item in pairs))

    run_sync(every())
    return judged


def log_report(root: Path, report: ValidationReport, gold: Path, judge_model: str | None) -> str:
    import mlflow

    configure(root)
    use_experiment("scorer-validation")
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
        mlflow.log_params(
            {
                "backend": report.backend,
                "judge_model": judge_model or "",
                "gold_file": str(gold),
                "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
                "items": sum(1 for _ in table),
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.log_table(
            {
                "item": [r["item"] for r in table],
                "n": [r["n"] for r in table],
                "accuracy": [r["accuracy"] for r in table],
                "f1": [r.get("f1") for r in table],
                "kappa": [r.get("kappa", r.get("weighted_kappa")) for r in table],
                "confusion": [str(r["confusion"]) for r in table],
            },
            artifact_file="agreement.json",
        )
        mlflow.log_dict(
            {"rows": table, "errors": report.errors[:200], "unscored_wrongly": report.unscored_wrongly}, "report.json"
        )
    return run.info.run_id
