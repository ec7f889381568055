"""How well a scoring back-end agrees with the labelled gold set, item by item.

Binary items: accuracy, precision, recall, F1 and Cohen's kappa with the confusion matrix.
EPITOME's 0-2 items: accuracy and linearly weighted kappa with the 3x3 confusion matrix.
Non-English gold items are expected to come back unscored and are counted, not compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.scoring.base import ScoringInput
from workbench.scoring.gold import GoldItem
from workbench.scoring.items import ITEMS, Analysis


@dataclass
class ItemAgreement:
    key: str
    scale: str
    labels: list[int] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)

    @property
    def classes(self) -> list[int]:
        return [0, 1, 2] if self.scale == "0-2" else [0, 1]

    def confusion(self) -> list[list[int]]:
        """Rows are gold labels, columns predictions."""
        index = {c: i for i, c in enumerate(self.classes)}
        matrix = [[0] * len(self.classes) for _ in self.classes]
        for gold, predicted in zip(self.labels, self.predictions, strict=True):
            matrix[index[gold]][index[predicted]] += 1
        return matrix

    def metrics(self) -> dict[str, float]:
        n = len(self.labels)
        accuracy = sum(g == p for g, p in zip(self.labels, self.predictions, strict=True)) / n if n else float("nan")
        out = {"n": float(n), "accuracy": accuracy}
        if self.scale == "0-2":
            out["weighted_kappa"] = weighted_kappa(self.confusion())
            return out
        (tn, fp), (fn, tp) = self.confusion()
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        out.update(
            precision=precision,
            recall=recall,
            f1=f1,
            kappa=weighted_kappa([[tn, fp], [fn, tp]]),
            positives=float(tp + fn),
        )
        return out


def weighted_kappa(matrix: list[list[int]]) -> float:
    """Cohen's kappa with linear disagreement weights (plain kappa for a 2x2 matrix)."""
    k = len(matrix)
    total = sum(map(sum, matrix))
    if not total:
        return float("nan")
    rows = [sum(r) for r in matrix]
    cols = [sum(matrix[i][j] for i in range(k)) for j in range(k)]
    weight = [[abs(i - j) / (k - 1) for j in range(k)] for i in range(k)]
    observed = sum(weight[i][j] * matrix[i][j] for i in range(k) for j in range(k)) / total
    expected = sum(weight[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k)) / total**2
    return 1 - observed / expected if expected else float("nan")


@dataclass
class ValidationReport:
    backend: str
    agreements: dict[str, ItemAgreement]
    unscored_expected: int = 0
    unscored_correctly: int = 0
    unscored_wrongly: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def table(self) -> list[dict]:
        rows = []
        for key, agreement in self.agreements.items():
            if agreement.labels:
                rows.append(
                    {"item": key, "scale": agreement.scale, **agreement.metrics(), "confusion": agreement.confusion()}
                )
        return rows


def validate_backend(
    pairs: list[tuple[GoldItem, ScoringInput]],
    analyse: Callable[[ScoringInput], Analysis],
    backend: str,
    *,
    progress: Callable[[], None] = lambda: None,
) -> ValidationReport:
    report = ValidationReport(backend, {key: ItemAgreement(key, item.scale) for key, item in ITEMS.items()})
    for gold, item in pairs:
        analysis = analyse(item)
        progress()
        english = gold.language == "en"
        if not english:
            report.unscored_expected += 1
            if analysis.unscored:
                report.unscored_correctly += 1
                continue
        elif analysis.unscored:
            report.unscored_wrongly.append(gold.id)
            continue
        for construct, error in analysis.errors.items():
            report.errors.append(f"{gold.id} {construct}: {error}")
        for key, agreement in report.agreements.items():
            construct, name = key.split(".")
            if key not in analysis.findings or construct not in gold.labels or not english:
                continue
            agreement.labels.append(int(gold.labels[construct][name]))
            agreement.predictions.append(int(analysis.findings[key].value))
    return report
