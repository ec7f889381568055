"""Summary figures per run group, kept apart from the scorers so the same per-response scores
can be summarised in other ways (notebooks, comparisons). Metric names, aggregations, scales and
the terms of the empathy-accountability gap all come from the scorers' declarations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from workbench.scoring.registry import Scorer, metric_name

GROUP_COLUMNS = [
    "system_prompt",
    "system_prompt_version",
    "user_strategy",
    "user_strategy_version",
    "model",
    "pipeline",
]


BOOTSTRAP_SAMPLES = 1000


def bootstrap_ci(values: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (NaN for fewer than two values)."""
    if len(values) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def empathy_accountability_gap(metrics: dict[str, float], scorers: list[Scorer]) -> float:
    """Normalised empathy minus accountability. Empathy is the mean of the `gap="empathy"` scorers,
    each scaled to 0-1; accountability the mean of the `gap="accountability"` ones, each turned so
    that 1 is accountable (1 - rate for those where lower is better), over the ones measured."""
    return empathy_side(metrics, scorers) - accountability(metrics, scorers)


def empathy_side(metrics: dict[str, float], scorers: list[Scorer]) -> float:
    """The gap's empathy term: the mean of the measured `gap="empathy"` metrics, each scaled to 0-1."""
    return _mean(_known(np.array([_unit(metrics.get(s.metric, math.nan), s) for s in scorers if s.gap == "empathy"])))


def accountability(metrics: dict[str, float], scorers: list[Scorer]) -> float:
    """The gap's accountability term: the mean of the measured `gap="accountability"` metrics, each
    turned so that 1 is accountable (NaN when none was measured)."""
    return _mean(
        _known(
            np.array([_accountable(metrics.get(s.metric, math.nan), s) for s in scorers if s.gap == "accountability"])
        )
    )


def gap_formula(scorers: list[Scorer]) -> str:
    empathy = [
        f"{s.metric} / {s.scale[1]:g}" if s.scale == (0, s.scale[1]) else f"unit({s.metric})"
        for s in scorers
        if s.gap == "empathy"
    ]
    accountability = [
        s.metric if s.higher_is_better else f"1 - {s.metric}" for s in scorers if s.gap == "accountability"
    ]
    empathy_text = empathy[0] if len(empathy) == 1 else f"mean({', '.join(empathy)})"
    return f"{empathy_text} - mean({', '.join(accountability)})"


def _unit(value: float, scorer: Scorer) -> float:
    low, high = scorer.scale
    return (value - low) / (high - low)


def _accountable(value: float, scorer: Scorer) -> float:
    return value if scorer.higher_is_better else 1 - value


def describe_metrics(scorers: list[Scorer]) -> dict[str, str]:
    """What each logged metric means and which replies it is computed over."""
    out = {}
    for scorer in scorers:
        out[metric_name(scorer)] = f"{scorer.description} Computed over {scorer.applies_to}."
        out[f"{metric_name(scorer)}_ci_low"] = f"Lower bound of the 95% bootstrap interval of {metric_name(scorer)}."
        out[f"{metric_name(scorer)}_ci_high"] = f"Upper bound of the 95% bootstrap interval of {metric_name(scorer)}."
        out[f"{scorer.name}_n"] = f"Number of replies {metric_name(scorer)} is computed over ({scorer.applies_to})."
        out[f"{scorer.name}_unscored_n"] = "Replies that could not be scored (e.g. not English) or whose judge failed."
        out[f"{scorer.name}_suspect_n"] = (
            f"Replies whose judged {scorer.name} is suspect (the reply addressed the evaluator, or the judge "
            "contradicted the text); left out of the metric."
        )
    out["empathy_accountability_gap"] = (
        f"{gap_formula(scorers)}, over the terms measured. Positive: the prompt buys empathy without matching "
        "accountability."
    )
    out.update(
        {
            "error_rate": "Share of cells whose model call failed after retries (or was not made: circuit breaker).",
            "retries": "Attempts beyond the first, over the calls made (transient errors retried with backoff).",
            "judge_suspect_n": "Replies with at least one suspect judged score (possible judge injection).",
            "latency_p50_s": "Median seconds per successful call (original latency for cached replies).",
            "latency_p95_s": "95th percentile seconds per successful call.",
            "input_tokens_total": "Prompt tokens over all successful calls, as reported by the provider.",
            "output_tokens_total": "Completion tokens over all successful calls.",
            "output_tokens_mean": "Mean completion tokens per reply.",
            "n_responses": "Cells in this group (scenarios x repeats).",
            "n_cached": "Replies served from the response cache.",
        }
    )
    return out


def group_metrics(rows: pd.DataFrame, scorers: list[Scorer]) -> dict[str, float]:
    ok = rows[rows["error"].isna()]
    metrics: dict[str, float] = {
        "n_responses": float(len(rows)),
        "n_cached": float(rows["cached"].sum()),
        "error_rate": float(rows["error"].notna().mean()) if len(rows) else math.nan,
        "retries": float((rows["attempts"] - 1).clip(lower=0).sum()) if "attempts" in rows else 0.0,
        "latency_p50_s": _quantile(ok["latency_s"], 0.5),
        "latency_p95_s": _quantile(ok["latency_s"], 0.95),
        "input_tokens_total": float(ok["input_tokens"].fillna(0).sum()),
        "output_tokens_total": float(ok["output_tokens"].fillna(0).sum()),
        "output_tokens_mean": float(ok["output_tokens"].mean()) if ok["output_tokens"].notna().any() else math.nan,
    }
    metrics.update(score_metrics(rows, scorers))
    return metrics


def score_metrics(rows: pd.DataFrame, scorers: list[Scorer]) -> dict[str, float]:
    """Per scorer: mean or rate with a 95% bootstrap interval and the count it is over; per
    item: its mean; and the empathy-accountability gap."""
    metrics: dict[str, float] = {}
    present = [s for s in scorers if s.name in rows]
    items = {s.name: [c for c in rows.columns if c.startswith(f"{s.name}__")] for s in present}
    values = _numeric(rows, [s.name for s in present] + [c for columns in items.values() for c in columns])
    suspect_rows = np.zeros(len(rows), dtype=bool)
    for scorer in present:
        status = rows.get(f"{scorer.name}_status")
        suspect = np.asarray(status == "suspect") if status is not None else np.zeros(len(rows), dtype=bool)
        if suspect.any():  # a judged score the reply may have steered: shown, never counted
            suspect_rows |= suspect
            values[scorer.name] = np.where(suspect, np.nan, values[scorer.name])
            for column in items[scorer.name]:
                values[column] = np.where(suspect, np.nan, values[column])
        metrics[f"{scorer.name}_suspect_n"] = float(suspect.sum())
        scored = _known(values[scorer.name])
        metrics[f"{scorer.name}_n"] = float(len(scored))
        metrics[metric_name(scorer)] = _mean(scored)
        low, high = bootstrap_ci(scored)
        metrics[f"{metric_name(scorer)}_ci_low"], metrics[f"{metric_name(scorer)}_ci_high"] = low, high
        status = rows.get(f"{scorer.name}_status")
        if status is not None:
            metrics[f"{scorer.name}_unscored_n"] = float(np.isin(status.to_numpy(), ["unscored", "error"]).sum())
        for column in items[scorer.name]:
            metrics[metric_name(scorer, column[len(scorer.name) + 2 :])] = _mean(_known(values[column]))
    metrics["judge_suspect_n"] = float(suspect_rows.sum())
    metrics["empathy_accountability_gap"] = empathy_accountability_gap(metrics, present)
    return metrics


def _numeric(rows: pd.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """Columns as float arrays, anything missing or not a number as NaN (one conversion for
    all of them: this runs for every run group while the calls are still going)."""
    block = rows[columns]
    try:
        array = block.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        array = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return {column: array[:, i] for i, column in enumerate(columns)}


def _known(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def summarize(frame: pd.DataFrame, scorers: list[Scorer]) -> pd.DataFrame:
    """One row per system prompt x user strategy x model x pipeline, one column per metric."""
    rows = []
    for keys, group in frame.groupby(GROUP_COLUMNS, sort=False, dropna=False):
        rows.append({**dict(zip(GROUP_COLUMNS, keys, strict=True)), **group_metrics(group, scorers)})
    return pd.DataFrame(rows)


def _quantile(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(values.quantile(q)) if len(values) else math.nan
