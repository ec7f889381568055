"""Summary figures per run group, kept apart from the scorers so the same per-response
scores can be summarised in other ways (notebooks, comparisons)."""

from __future__ import annotations

import math

import pandas as pd

from workbench.scoring.base import Scorer

GROUP_COLUMNS = ["system_prompt", "system_prompt_version", "user_strategy", "user_strategy_version", "model",
                 "pipeline"]


def metric_name(scorer: Scorer, item: str | None = None) -> str:
    suffix = "mean" if scorer.aggregate == "mean" else "rate"
    return f"{scorer.name}_{item}_{suffix}" if item else f"{scorer.name}_{suffix}"


def describe_metrics(scorers: list[Scorer]) -> dict[str, str]:
    """What each logged metric means and which replies it is computed over."""
    out = {}
    for scorer in scorers:
        out[metric_name(scorer)] = f"{scorer.description} Computed over {scorer.applies_to}."
        out[f"{scorer.name}_n"] = f"Number of replies {metric_name(scorer)} is computed over ({scorer.applies_to})."
    out.update({
        "error_rate": "Share of cells whose model call failed after retries.",
        "latency_p50_s": "Median seconds per successful call (original latency for cached replies).",
        "latency_p95_s": "95th percentile seconds per successful call.",
        "input_tokens_total": "Prompt tokens over all successful calls, as reported by the provider.",
        "output_tokens_total": "Completion tokens over all successful calls.",
        "output_tokens_mean": "Mean completion tokens per reply.",
        "n_responses": "Cells in this group (scenarios x repeats).",
        "n_cached": "Replies served from the response cache.",
    })
    return out


def group_metrics(rows: pd.DataFrame, scorers: list[Scorer]) -> dict[str, float]:
    ok = rows[rows["error"].isna()]
    metrics: dict[str, float] = {
        "n_responses": float(len(rows)),
        "n_cached": float(rows["cached"].sum()),
        "error_rate": float(rows["error"].notna().mean()) if len(rows) else math.nan,
        "latency_p50_s": _quantile(ok["latency_s"], 0.5),
        "latency_p95_s": _quantile(ok["latency_s"], 0.95),
        "input_tokens_total": float(ok["input_tokens"].fillna(0).sum()),
        "output_tokens_total": float(ok["output_tokens"].fillna(0).sum()),
        "output_tokens_mean": float(ok["output_tokens"].mean()) if ok["output_tokens"].notna().any() else math.nan,
    }
    for scorer in scorers:
        if scorer.name not in rows:
            continue
        values = pd.to_numeric(rows[scorer.name], errors="coerce").dropna()
        metrics[f"{scorer.name}_n"] = float(len(values))
        metrics[metric_name(scorer)] = float(values.mean()) if len(values) else math.nan
        prefix = f"{scorer.name}__"
        for column in (c for c in rows.columns if c.startswith(prefix)):
            item_values = pd.to_numeric(rows[column], errors="coerce").dropna()
            metrics[metric_name(scorer, column[len(prefix):])] = (
                float(item_values.mean()) if len(item_values) else math.nan)
    return metrics


def summarize(frame: pd.DataFrame, scorers: list[Scorer]) -> pd.DataFrame:
    """One row per system prompt x user strategy x model x pipeline, one column per metric."""
    rows = []
    for keys, group in frame.groupby(GROUP_COLUMNS, sort=False, dropna=False):
        rows.append({**dict(zip(GROUP_COLUMNS, keys)), **group_metrics(group, scorers)})
    return pd.DataFrame(rows)


def _quantile(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(values.quantile(q)) if len(values) else math.nan
