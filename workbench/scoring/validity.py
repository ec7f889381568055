"""How far a scorer's numbers can be trusted: agreement with human labels, item by item and
metric by metric, each with its n and a 95% bootstrap interval, train and test side by side.

A *validity card* is computed for every scorer version on the gold set's frozen test split (and,
after calibration, on the team's own labels). Runs log it with their metrics, and a metric whose
agreement falls below its floor is marked low-validity wherever it is shown, so nobody promotes a
prompt on a number the scorer cannot back.

Statistics: F1 and Cohen's kappa for yes/no items and rate metrics, linearly weighted kappa for
EPITOME's 0-2 items, Pearson's r for mean metrics (empathy 0-6, engagement 0-1), accuracy and
ROC AUC for the `appropriate` verdict. Intervals resample conversations (contrast pairs stay
together), 1000 times.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.items import ITEMS, Analysis, Finding
from workbench.scoring.registry import Scorer

FLOORS = {"kappa": 0.40, "weighted_kappa": 0.40, "pearson_r": 0.50}
"""Below these a metric is low-validity: 0.40 is the bottom of "moderate" agreement (Landis and
Koch 1977), and r = 0.5 a large correlation (Cohen 1988)."""
BOOTSTRAP = 1000


def f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(((labels == 1) & (predicted == 1)).sum())
    fp = float(((labels == 0) & (predicted == 1)).sum())
    fn = float(((labels == 1) & (predicted == 0)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def kappa(labels: np.ndarray, predicted: np.ndarray, weights: str | None = None) -> float:
    classes = np.union1d(labels, predicted)
    if len(classes) < 2:
        return math.nan
    k = len(classes)
    cells = np.searchsorted(classes, labels) * k + np.searchsorted(classes, predicted)
    matrix = np.bincount(cells, minlength=k * k).reshape(k, k).astype(float)
    positions = np.arange(k)
    if weights == "linear":
        weight = np.abs(positions[:, None] - positions[None, :]) / (k - 1)
    elif weights == "quadratic":
        weight = (positions[:, None] - positions[None, :]) ** 2 / (k - 1) ** 2
    else:
        weight = 1 - np.eye(k)
    total = matrix.sum()
    expected = np.outer(matrix.sum(axis=1), matrix.sum(axis=0)) / total
    denominator = (weight * expected).sum()
    return float(1 - (weight * matrix).sum() / denominator) if denominator else math.nan


def pearson(labels: np.ndarray, predicted: np.ndarray) -> float:
    if len(labels) < 3 or labels.std() == 0 or predicted.std() == 0:
        return math.nan
    return float(np.corrcoef(labels, predicted)[0, 1])


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by ranks (ties shared), the Mann-Whitney statistic."""
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


STATISTICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "f1": f1,
    "kappa": kappa,
    "weighted_kappa": lambda y, p: kappa(y, p, "linear"),
    "pearson_r": pearson,
    "accuracy": lambda y, p: float((y == p).mean()) if len(y) else math.nan,
    "auc": auc,
}


@dataclass(frozen=True)
class Estimate:
    statistic: str
    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return {
            "statistic": self.statistic,
            "value": _round(self.value),
            "ci": [_round(self.low), _round(self.high)],
            "n": self.n,
        }

    def __str__(self) -> str:
        return f"{self.statistic} {self.value:.2f} [{self.low:.2f}, {self.high:.2f}] (n={self.n})"


def estimate(
    statistic: str, labels: Sequence[float], predicted: Sequence[float], groups: Sequence[str], seed: int = 0
) -> Estimate:
    """The statistic with a 95% percentile interval from resampling whole groups (conversations)."""
    y, p = np.asarray(labels, dtype=float), np.asarray(predicted, dtype=float)
    compute = STATISTICS[statistic]
    value = compute(y, p) if len(y) else math.nan
    if len(y) < 5:
        return Estimate(statistic, value, math.nan, math.nan, len(y))
    names, index = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(index == g) for g in range(len(names))]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        chosen = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        draw = compute(y[chosen], p[chosen])
        if not math.isnan(draw):
            draws.append(draw)
    low, high = np.percentile(draws, [2.5, 97.5]) if len(draws) >= 50 else (math.nan, math.nan)
    return Estimate(statistic, value, float(low), float(high), len(y))


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


# -- what is compared -----------------------------------------------------------------------------
def gold_analysis(labels: dict[str, int], reply: str) -> Analysis:
    """The labels as an analysis, so the scorers compute the metrics humans' labels imply."""
    findings = {key: Finding(float(value)) for key, value in labels.items() if key in ITEMS}
    return Analysis(findings, backend="gold", words=len(reply.split()))


def metric_statistic(scorer: Scorer) -> str:
    return "pearson_r" if scorer.aggregate == "mean" else "kappa"


@dataclass
class Labelled:
    """One reply with (possibly partial) human labels and its group for resampling."""

    item: ScoringInput
    labels: dict[str, int]
    group: str


def card(
    labelled: Sequence[Labelled],
    analyse: Callable[[ScoringInput], Analysis],
    scorers: Sequence[Scorer],
) -> dict:
    """Agreement of a back-end with human labels: every labelled item, every scorer's metric on
    the replies it applies to (computed from the labels versus from the back-end), and for the
    `appropriate` verdict its accuracy and ROC AUC."""
    analyses = [analyse(example.item) for example in labelled]
    items: dict[str, dict] = {}
    for key, spec in ITEMS.items():
        rows = [
            (e.labels[key], a.findings[key], e.group)
            for e, a in zip(labelled, analyses, strict=True)
            if key in e.labels and key in a.findings
        ]
        if not rows:
            continue
        labels = [r[0] for r in rows]
        predicted = [r[1].value for r in rows]
        groups = [r[2] for r in rows]
        entry: dict[str, Any] = {"positives": int(sum(1 for v in labels if v > 0))}
        if spec.scale == "0-2":
            entry["weighted_kappa"] = estimate("weighted_kappa", labels, predicted, groups).as_dict()
        else:
            entry["f1"] = estimate("f1", labels, predicted, groups).as_dict()
            entry["kappa"] = estimate("kappa", labels, predicted, groups).as_dict()
            entry["accuracy"] = estimate("accuracy", labels, predicted, groups).as_dict()
            probabilities = [r[1].probability for r in rows]
            if all(p is not None for p in probabilities):
                entry["auc"] = estimate("auc", labels, [float(p or 0) for p in probabilities], groups).as_dict()
        items[key] = entry
    metrics = {}
    for scorer in scorers:
        pairs = []
        for example, analysis in zip(labelled, analyses, strict=True):
            if not all(k in example.labels for c in scorer.constructs for k in _keys(c)):
                continue
            human = _value(scorer(gold_analysis(example.labels, example.item.reply), example.item))
            machine = _value(scorer(analysis, example.item))
            if human is not None and machine is not None:
                pairs.append((human, machine, example.group))
        if pairs:
            statistic = metric_statistic(scorer)
            result = estimate(statistic, [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs])
            metrics[scorer.name] = {
                **result.as_dict(),
                "floor": FLOORS[statistic],
                "valid": bool(not math.isnan(result.value) and result.value >= FLOORS[statistic]),
            }
    return {"items": items, "metrics": metrics}


def _keys(construct: str) -> list[str]:
    return [key for key, item in ITEMS.items() if item.construct == construct]


def _value(score: Score) -> float | None:
    return score.value if score.status == "scored" else None


def run_validity(
    scorers: Sequence[Scorer], backends: dict[str, str], version_card: dict | None, version: str | None
) -> dict[str, dict]:
    """What a run can say about each of its metrics: the agreement its back-end showed on the frozen
    test split (and on the team's own labels, for a calibrated version), and whether that clears
    the floor. A judge's metrics are `unvalidated` until `workbench validate-scorers --backend judge`
    has been run for that judge."""
    out: dict[str, dict] = {}
    for scorer in scorers:
        backend = backends.get(scorer.name, "learned")
        source = {"learned": "test", "fast": "fast_test"}.get(backend)
        entry = (version_card or {}).get(source, {}).get("metrics", {}).get(scorer.name) if source else None
        if not entry or entry.get("value") is None:
            out[scorer.name] = {"backend": backend, "version": version, "status": "unvalidated"}
            continue
        team = (version_card or {}).get("team", {}).get("metrics", {}).get(scorer.name)
        out[scorer.name] = {
            "backend": backend,
            "version": version if backend == "learned" else None,
            "status": "ok" if entry.get("valid") else "low",
            **{k: entry[k] for k in ("statistic", "value", "ci", "n", "floor")},
            **({"team": {k: team.get(k) for k in ("statistic", "value", "ci", "n")}} if team else {}),
        }
    return out


def validity_note(entry: dict) -> str:
    """One line for people: `kappa 0.62 [0.51, 0.72], n=222 (floor 0.40)`, or why there is none."""
    if entry.get("status") == "unvalidated":
        return f"unvalidated ({entry.get('backend')} back-end: no measured agreement)"
    low, high = entry.get("ci") or [None, None]
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    text = f"{entry['statistic']} {entry['value']:.2f}{interval}, n={entry['n']} (floor {entry['floor']:.2f})"
    return text + (" LOW VALIDITY" if entry.get("status") == "low" else "")
