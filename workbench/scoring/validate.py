"""`workbench validate-scorers`: a back-end's agreement with human labels, logged to MLflow.

Against the gold set v2 (the default), the card reports the frozen test split and the training
data side by side. Against a team's labels (`--labels FILE`), it reports every labelled item and
metric and the worst misses: the rows where the scorer disagreed most confidently. A v1 gold
file (`--gold experiments/gold/replies.yaml`) is read in its own format.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.calls.loop import run_sync
from workbench.scoring import offline
from workbench.scoring.base import ScoringInput
from workbench.scoring.engine import ScoringEngine
from workbench.scoring.gold import load_gold, load_gold_v2
from workbench.scoring.items import CONSTRUCTS, ITEMS, Analysis
from workbench.scoring.registry import Scorer
from workbench.scoring.team_labels import TeamLabels
from workbench.scoring.validity import Labelled, card, estimate
from workbench.tracking.store import configure, use_experiment

GOLD_V2 = Path("experiments") / "gold" / "v2"
MISSES = 15


@dataclass
class Validation:
    """What was compared and the cards that came out: {"test": ..., "train": ...} for the gold set,
    {"labels": ...} for a team's file."""

    backend: str
    source: Path
    source_sha256: str
    cards: dict[str, dict]
    misses: list[dict] = field(default_factory=list)
    unscored: int = 0
    version: str | None = None


def analyser(backend: str, engine: ScoringEngine | None) -> Callable[[Sequence[ScoringInput]], list[Analysis]]:
    """A function from many inputs to their analyses by `backend` (a judge's, concurrently)."""
    if backend == "fast":
        return lambda items: [offline.analyse(item) for item in items]
    if engine is None:
        raise ValueError(f"the {backend} back-end needs a scoring engine")
    if backend == "learned":
        learned = engine.learned
        assert learned is not None
        return lambda items: [learned.analyse(item) for item in items]
    judge = engine.judge
    assert judge is not None

    def judged(items: Sequence[ScoringInput]) -> list[Analysis]:
        async def every() -> list[Analysis]:
            return list(await asyncio.gather(*(judge.analyse(item, CONSTRUCTS) for item in items)))

        return run_sync(every())

    return judged


def _card(rows: Sequence[Labelled], analyse_many, scorers: Sequence[Scorer]) -> tuple[dict, list[Analysis]]:
    analyses = analyse_many([row.item for row in rows])
    by_id = {id(row.item): analysis for row, analysis in zip(rows, analyses, strict=True)}
    return card(rows, lambda item: by_id[id(item)], scorers), analyses


def validate_gold_v2(
    root: Path,
    backend: str,
    scorers: Sequence[Scorer],
    engine: ScoringEngine | None = None,
    folder: Path | None = None,
    limit: int | None = None,
) -> Validation:
    gold = load_gold_v2(folder or root / GOLD_V2)
    analyse_many = analyser(backend, engine)
    cards = {}
    for name, parts in (("test", ("test",)), ("train", ("train", "dev"))):
        rows = [Labelled(e.item, e.labels, e.conversation_key) for e in gold.split(*parts)][:limit]
        cards[name], _ = _card(rows, analyse_many, scorers)
    return Validation(backend, gold.folder, gold.test_sha256, cards, version=engine.version if engine else None)


def validate_gold_v1(
    path: Path,
    root: Path,
    backend: str,
    scorers: Sequence[Scorer],
    engine: ScoringEngine | None = None,
    limit: int | None = None,
) -> Validation:
    pairs = load_gold(path, [root / "experiments" / "scenarios"])[:limit]
    rows = [
        Labelled(item, {f"{c}.{k}": int(v) for c, values in gold.labels.items() for k, v in values.items()}, gold.id)
        for gold, item in pairs
        if gold.language == "en"
    ]
    other = [item for gold, item in pairs if gold.language != "en"]
    analyse_many = analyser(backend, engine)
    result, _ = _card(rows, analyse_many, scorers)
    unscored = sum(1 for analysis in analyse_many(other) if analysis.unscored)
    return Validation(
        backend, path, _sha256(path), {"gold": result}, unscored=unscored, version=engine.version if engine else None
    )


def validate_labels(
    team: TeamLabels, backend: str, scorers: Sequence[Scorer], engine: ScoringEngine | None = None
) -> Validation:
    rows = [Labelled(e.item, e.items, e.group) for e in team.examples]
    result, analyses = _card(rows, analyser(backend, engine), scorers)
    result["metrics"].update(_metric_labels(team, analyses, scorers))
    return Validation(
        backend,
        team.path,
        _sha256(team.path),
        {"labels": result},
        _misses(team, analyses),
        version=engine.version if engine else None,
    )


def _metric_labels(team: TeamLabels, analyses: list[Analysis], scorers: Sequence[Scorer]) -> dict[str, dict]:
    """Metrics the team labelled directly (e.g. `appropriate`, `crisis_escalation`)."""
    out = {}
    for scorer in scorers:
        pairs = []
        for example, analysis in zip(team.examples, analyses, strict=True):
            if scorer.name not in example.metrics:
                continue
            score = scorer(analysis, example.item)
            if score.status == "scored" and score.value is not None:
                probability = score.items.get("probability")
                pairs.append((example.metrics[scorer.name], score.value, probability, example.group))
        if not pairs:
            continue
        statistic = "pearson_r" if scorer.aggregate == "mean" else "kappa"
        labels, values, groups = [p[0] for p in pairs], [p[1] for p in pairs], [p[3] for p in pairs]
        entry: dict[str, Any] = {**estimate(statistic, labels, values, groups).as_dict(), "labelled": True}
        if scorer.aggregate == "rate":
            entry["accuracy"] = estimate("accuracy", labels, values, groups).as_dict()
            if all(p[2] is not None for p in pairs):
                entry["auc"] = estimate("auc", labels, [float(p[2] or 0) for p in pairs], groups).as_dict()
        out[scorer.name] = entry
    return out


def _misses(team: TeamLabels, analyses: list[Analysis]) -> list[dict]:
    """Disagreements, the most confident first (a probability far from the label)."""
    rows: list[dict[str, Any]] = []
    for example, analysis in zip(team.examples, analyses, strict=True):
        labels = {**example.items}
        if "appropriate" in example.metrics:
            labels["appropriateness.appropriate"] = int(example.metrics["appropriate"])
        for key, label in labels.items():
            finding = analysis.findings.get(key)
            if finding is None or finding.value == label:
                continue
            scale = 2 if ITEMS[key].scale == "0-2" else 1
            confidence = abs(label / scale - finding.probability) if finding.probability is not None else 0.5
            rows.append(
                {
                    "row": example.row,
                    "item": key,
                    "label": label,
                    "scored": finding.value,
                    "confidence": round(confidence, 3),
                    "evidence": finding.evidence[:200],
                    "reply": example.item.reply[:200],
                }
            )
    return sorted(rows, key=lambda r: -r["confidence"])[:MISSES]


def _sha256(path: Path) -> str:
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(path.rglob("*.yaml")):
            digest.update(file.read_bytes())
        return digest.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flat_metrics(validation: Validation) -> dict[str, float]:
    """`<card>.item.<key>.<statistic>` and `<card>.metric.<name>` values, for MLflow."""
    out: dict[str, float] = {}
    for name, result in validation.cards.items():
        for key, entry in result["items"].items():
            for statistic in ("f1", "kappa", "weighted_kappa", "accuracy", "auc"):
                value = entry.get(statistic, {}).get("value")
                if value is not None and not math.isnan(value):
                    out[f"{name}.item.{key}.{statistic}"] = value
        for key, entry in result["metrics"].items():
            if entry.get("value") is not None:
                out[f"{name}.metric.{key}"] = entry["value"]
    return out


def log_validation(root: Path, validation: Validation, judge_model: str | None) -> str:
    import mlflow

    configure(root)
    use_experiment("scorer-validation")
    with mlflow.start_run(
        run_name=f"{validation.backend}" + (f" {validation.version}" if validation.version else "")
    ) as run:
        mlflow.log_params(
            {
                "backend": validation.backend,
                "scorer_version": validation.version or "",
                "judge_model": judge_model or "",
                "source": str(validation.source),
                "source_sha256": validation.source_sha256,
            }
        )
        mlflow.log_metrics(flat_metrics(validation))
        mlflow.log_dict(validation.cards, "validity_card.json")
        if validation.misses:
            mlflow.log_text(json.dumps(validation.misses, indent=1, ensure_ascii=False), "worst_misses.json")
    return run.info.run_id
