"""Training a scorer version: per-item classifiers on the gold set's train and dev splits, the
`appropriate` verdict stacked on their out-of-fold probabilities, and the user-side readers of
risk and expectations. `workbench scorers train` runs this; `workbench scorers calibrate` runs it
again with a team's own labels added.

Regularisation and decision thresholds are chosen by cross-validation grouped by conversation
(contrast pairs never sit on both sides of a fold). The frozen test split is never seen here: the
validity card is computed from it afterwards (`card.py`).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.scenarios import EXPECTATION_NAMES
from workbench.scoring import offline
from workbench.scoring.base import ScoringInput
from workbench.scoring.items import ITEMS, Finding
from workbench.scoring.learned.backend import (
    APPROPRIATE,
    REPLY_ITEMS,
    RISK_LEVELS,
    LearnedBackend,
    UserReading,
    appropriate_features,
    expected,
    with_user_rules,
)
from workbench.scoring.learned.embeddings import StaticEmbeddings
from workbench.scoring.learned.features import (
    PATTERN_ITEMS,
    FeatureLayout,
    pattern_answers,
    reply_features,
    reply_views,
    user_features,
    user_sides,
)
from workbench.scoring.learned.model import LinearHead, Scaler, ScorerVersion
from workbench.scoring.learned.rules import apply_reply_rules
from workbench.scoring.text import Reply

C_GRID = (0.03, 0.1, 0.3)
# Feature subsets a head may use, chosen per item by cross-validation: where the pattern back-end
# already reads an item precisely (a named crisis line), hundreds of embedding dimensions only
# add noise; where it does not (a warm "same here, happened to me"), they carry the signal.
SUBSETS = {
    "cues": ("patterns", "reply_cues", "user_cues", "interactions"),
    "reply": ("reply_mean", "reply_max", "patterns", "reply_cues", "user_cues", "interactions"),
    "all": ("reply_mean", "reply_max", "user", "user_last", "patterns", "reply_cues", "user_cues", "interactions"),
}
FOLDS = 5
MIN_POSITIVES = 4  # fewer examples of a class than this and the head falls back to the pattern answer


@dataclass
class Example:
    """One labelled conversation for training: labels may be partial (a team's file)."""

    item: ScoringInput
    labels: dict[str, int]
    group: str
    weight: float = 1.0


@dataclass
class Extracted:
    reply: np.ndarray  # (n, reply features)
    user: np.ndarray  # (n, user features)
    user_cues: np.ndarray  # (n, user cues)
    sentences: list[list[str]]  # each reply's sentences, for the definitional rules
    texts: list[str]  # each reply as plain text
    pattern_means: list[bool]  # whether the pattern back-end found means information


def extract(examples: Sequence[Example], embeddings: StaticEmbeddings, batch: int = 256) -> Extracted:
    reply_rows, user_rows, cues, sentences, texts, means = [], [], [], [], [], []
    for start in range(0, len(examples), batch):
        items = [example.item for example in examples[start : start + batch]]
        views = reply_views([Reply(item.reply, item.user_texts) for item in items], embeddings)
        users = user_sides(items, embeddings)
        for item, view, user in zip(items, views, users, strict=True):
            fast = offline.analyse(item, view.reply)
            reply_rows.append(reply_features(view, user, pattern_answers(fast), item))
            user_rows.append(user_features(user))
            cues.append(user.cues)
            sentences.append(view.sentences)
            texts.append(view.reply.text)
            means.append(bool(fast.findings.get("harmful.means_information", Finding(0)).value))
    return Extracted(
        np.array(reply_rows, dtype=np.float32),
        np.array(user_rows, dtype=np.float32),
        np.array(cues, dtype=np.float32),
        sentences,
        texts,
        means,
    )


def _folds(groups: Sequence[str], folds: int = FOLDS) -> np.ndarray:
    """A fold number per example, whole conversations to a fold, the same on every run."""
    order = {g: int(hashlib.sha256(g.encode()).hexdigest(), 16) % folds for g in dict.fromkeys(groups)}
    return np.array([order[g] for g in groups])


def _fit(
    rows: np.ndarray, labels: np.ndarray, weights: np.ndarray, c: float, mask: np.ndarray | None = None
) -> LinearHead:
    """A logistic regression on the columns in `mask`; the other columns get zero weight."""
    from sklearn.linear_model import LogisticRegression

    columns = np.flatnonzero(mask) if mask is not None else np.arange(rows.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000, tol=1e-3)
        model.fit(rows[:, columns], labels, sample_weight=weights)
    coef = np.zeros((model.coef_.shape[0], rows.shape[1]), dtype=np.float32)
    coef[:, columns] = model.coef_
    return LinearHead(tuple(int(c) for c in model.classes_), coef, model.intercept_.astype(np.float32))


def _agreement(labels: np.ndarray, predicted: np.ndarray, ordinal: bool) -> float:
    from sklearn.metrics import cohen_kappa_score, f1_score

    if ordinal:
        return float(cohen_kappa_score(labels, predicted, weights="linear"))
    return float(f1_score(labels, predicted, zero_division=0))


def out_of_fold(
    rows: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    c: float,
    classes: tuple[int, ...],
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Each example's probabilities from a head that never saw its conversation."""
    probabilities = np.zeros((len(rows), len(classes)), dtype=np.float32)
    for fold in np.unique(folds):
        held = folds == fold
        head = _fit(rows[~held], labels[~held], weights[~held], c, mask)
        fitted = head.probabilities(rows[held])
        for column, label in enumerate(head.classes):
            probabilities[held, classes.index(label)] = fitted[:, column]
    return probabilities


def _best_threshold(labels: np.ndarray, positive: np.ndarray) -> float:
    candidates = np.linspace(0.2, 0.8, 25)
    scores = [_agreement(labels, (positive >= t).astype(int), ordinal=False) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


@dataclass
class HeadChoice:
    head: LinearHead | None
    c: float
    threshold: float
    oof: np.ndarray  # out-of-fold probabilities (rows, classes)
    classes: tuple[int, ...]
    subset: str = ""
    score: float = float("nan")


def train_head(
    rows: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    ordinal: bool,
    masks: dict[str, np.ndarray] | None = None,
) -> HeadChoice:
    """The best (feature subset, C) by grouped cross-validation, refit on every example."""
    classes = tuple(int(c) for c in np.unique(labels))
    counts = [int((labels == c).sum()) for c in classes]
    if len(classes) < 2 or min(counts) < MIN_POSITIVES:
        return HeadChoice(None, 0.0, 0.5, np.zeros((len(rows), max(len(classes), 2))), classes)
    best: HeadChoice | None = None
    candidates: dict[str, np.ndarray | None] = dict(masks) if masks else {"all": None}
    for subset, mask in candidates.items():
        for c in C_GRID:
            oof = out_of_fold(rows, labels, weights, folds, c, classes, mask)
            predicted = np.array(classes)[oof.argmax(axis=1)]
            score = (
                _agreement(labels, predicted, ordinal)
                if ordinal
                else max(_agreement(labels, (oof[:, 1] >= t).astype(int), False) for t in (0.3, 0.4, 0.5, 0.6))
            )
            if best is None or score > best.score:
                best = HeadChoice(None, c, 0.5, oof, classes, subset, score)
    assert best is not None
    best.threshold = 0.5 if ordinal else _best_threshold(labels, best.oof[:, 1])
    best.head = _fit(rows, labels, weights, best.c, (masks or {}).get(best.subset))
    return best


def train_version(
    examples: Sequence[Example],
    user_examples: Sequence[Example],
    *,
    name: str,
    description: str,
    embeddings: StaticEmbeddings,
    fallback: ScorerVersion | None = None,
    refit: set[str] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> ScorerVersion:
    """Fit every head, or with `fallback` only the items in `refit` (calibration refits what a
    team labelled and keeps the rest, the user-side readers included). Items with too few
    labelled examples keep `fallback`'s head; without a fallback they must all be trainable."""
    progress(f"reading {len(examples)} replies and {len(user_examples)} conversations")
    data = extract(examples, embeddings)
    reply_scaler = Scaler.fit(data.reply)
    rows = reply_scaler(data.reply)
    groups = [e.group for e in examples]
    folds = _folds(groups)
    weights = np.array([e.weight for e in examples], dtype=np.float32)

    items: dict[str, LinearHead] = {}
    thresholds: dict[str, float] = {}
    oof_scores: dict[str, np.ndarray] = {}
    chosen: dict[str, dict] = {}
    layout = FeatureLayout(embeddings.table.shape[1])
    masks = {name: _mask(layout, blocks) for name, blocks in SUBSETS.items()}
    for key in REPLY_ITEMS:
        labelled = np.array([key in e.labels for e in examples])
        ordinal = ITEMS[key].scale == "0-2"
        if labelled.any() and (fallback is None or refit is None or key in refit):
            labels = np.array([e.labels.get(key, 0) for e in examples])
            own = {"pattern": _pattern_mask(layout, key)} if not ordinal else {}
            choice = train_head(
                rows[labelled], labels[labelled], weights[labelled], folds[labelled], ordinal, {**own, **masks}
            )
        else:
            choice = None
        if choice is None or choice.head is None:
            if fallback is None:
                raise ValueError(f"too few labelled examples of {key} to train it")
            items[key], thresholds[key] = fallback.items[key], fallback.thresholds.get(key, 0.5)
            # A kept head reads the new scaler's standardised rows through the old scaler's eyes.
            kept = fallback.items[key]
            weights_old = kept.weights / fallback.reply_scaler.scale
            items[key] = LinearHead(
                kept.classes,
                (weights_old * reply_scaler.scale).astype(np.float32),
                (kept.bias - weights_old @ fallback.reply_scaler.mean + weights_old @ reply_scaler.mean).astype(
                    np.float32
                ),
            )
            oof_scores[key] = np.array([expected(items[key], p) for p in items[key].probabilities(rows)])
            chosen[key] = {"from": fallback.name}
            continue
        progress(f"{key}: {choice.subset}, C={choice.c}, threshold {choice.threshold:.2f}, cv {choice.score:.2f}")
        items[key], thresholds[key] = choice.head, choice.threshold
        full = items[key].probabilities(rows)
        scores = np.array([expected(items[key], p) for p in full])
        labelled_oof = np.array(
            [np.dot(p, choice.classes) / max(choice.classes) if ordinal else p[1] for p in choice.oof]
        )
        scores[labelled] = labelled_oof  # out-of-fold where available, for an honest stacked head
        oof_scores[key] = scores
        chosen[key] = {
            "features": choice.subset,
            "C": choice.c,
            "threshold": round(choice.threshold, 3),
            "cv": round(choice.score, 3),
            "n": int(labelled.sum()),
            "positives": int((labels[labelled] > 0).sum()),
        }

    if fallback is not None and refit is not None:
        user_scaler, user_heads = fallback.user_scaler, fallback.user
    else:
        user_scaler, user_heads = train_user(user_examples, embeddings, fallback)
    user_rows = user_scaler(data.user)
    risk = user_heads["risk_level"].probabilities(user_rows)
    expectation_probs = {n: user_heads[n].probabilities(user_rows)[:, 1] for n in EXPECTATION_NAMES}

    stacked = np.array(
        [
            _stacked(
                examples[i].item,
                data,
                i,
                {k: float(oof_scores[k][i]) for k in REPLY_ITEMS},
                risk[i],
                {n: float(expectation_probs[n][i]) for n in EXPECTATION_NAMES},
            )
            for i in range(len(examples))
        ]
    )
    appropriate_scaler = Scaler.fit(stacked)
    labelled = np.array([APPROPRIATE in e.labels for e in examples])
    if labelled.sum() >= 2 * MIN_POSITIVES:
        labels = np.array([e.labels.get(APPROPRIATE, 0) for e in examples])
        choice = train_head(
            appropriate_scaler(stacked)[labelled], labels[labelled], weights[labelled], folds[labelled], ordinal=False
        )
        assert choice.head is not None
        appropriate, thresholds[APPROPRIATE] = choice.head, choice.threshold
        chosen[APPROPRIATE] = {"C": choice.c, "threshold": round(choice.threshold, 3), "n": int(labelled.sum())}
    elif fallback is not None:
        appropriate, appropriate_scaler = fallback.appropriate, fallback.appropriate_scaler
        thresholds[APPROPRIATE] = fallback.thresholds.get(APPROPRIATE, 0.5)
    else:
        raise ValueError("too few labelled examples of appropriate to train it")
    return ScorerVersion(
        name,
        description,
        reply_scaler,
        user_scaler,
        items,
        thresholds,
        user_heads,
        appropriate,
        appropriate_scaler,
        provenance={"heads": chosen},
    )


def _stacked(
    item: ScoringInput,
    data: Extracted,
    i: int,
    scores: dict[str, float],
    risk: np.ndarray,
    expectations: dict[str, float],
) -> np.ndarray:
    """The verdict head's inputs for one example, with the definitional rules applied exactly as
    at scoring time."""
    findings = {key: Finding(int(score >= 0.5), "", score) for key, score in scores.items()}
    apply_reply_rules(findings, scores, data.sentences[i], data.texts[i], data.pattern_means[i])
    reading = with_user_rules(UserReading(risk, expectations), "\n".join(item.user_texts))
    return appropriate_features(scores, _risk_of(item, reading.risk), reading.expectations, data.user_cues[i])


def _mask(layout: FeatureLayout, blocks: tuple[str, ...]) -> np.ndarray:
    mask = np.zeros(layout.size, dtype=bool)
    for block in blocks:
        start, end = layout.blocks[block]
        mask[start:end] = True
    return mask


def _pattern_mask(layout: FeatureLayout, key: str) -> np.ndarray:
    """Only the pattern back-end's own answer for `key`: the head then reproduces it, thresholded."""
    mask = np.zeros(layout.size, dtype=bool)
    mask[layout.blocks["patterns"][0] + PATTERN_ITEMS.index(key)] = True
    return mask


def _risk_of(item: ScoringInput, inferred: np.ndarray) -> np.ndarray:
    """Given risk levels are used as given (an experiment's scenarios); otherwise the inferred one."""
    if item.risk_level in RISK_LEVELS:
        return np.eye(len(RISK_LEVELS), dtype=np.float32)[RISK_LEVELS.index(item.risk_level)]
    return inferred


def train_user(
    examples: Sequence[Example], embeddings: StaticEmbeddings, fallback: ScorerVersion | None
) -> tuple[Scaler, dict[str, LinearHead]]:
    """Risk level (none/low/high/imminent) and each expectation, from the user's side alone."""
    rows = np.array(
        [user_features(user) for user in user_sides([e.item for e in examples], embeddings)], dtype=np.float32
    )
    scaler = Scaler.fit(rows)
    scaled = scaler(rows)
    folds = _folds([e.group for e in examples])
    weights = np.array([e.weight for e in examples], dtype=np.float32)
    heads: dict[str, LinearHead] = {}
    for name in ("risk_level", *EXPECTATION_NAMES):
        labels = np.array(
            [e.labels[f"user.{name}"] if name == "risk_level" else e.labels[f"expectations.{name}"] for e in examples]
        )
        choice = train_head(scaled, labels, weights, folds, ordinal=name == "risk_level")
        if choice.head is None:
            if fallback is None:
                raise ValueError(f"too few labelled conversations to train {name}")
            return fallback.user_scaler, fallback.user
        heads[name] = choice.head
    return scaler, heads


def backend_for(version: ScorerVersion, embeddings: StaticEmbeddings) -> LearnedBackend:
    return LearnedBackend(version, embeddings)
