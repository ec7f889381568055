"""The per-response table: one DataFrame row per response, with its cell (prompts, model,
scenario, expectations), the messages sent, the reply, and every score with its evidence."""

from __future__ import annotations

import json

import pandas as pd

from workbench.responses import Response
from workbench.scoring.base import Score


def response_row(response: Response, scores: dict[str, Score]) -> dict:
    cell = response.cell
    group = cell.group
    row = {
        "run": group.key,
        "system_prompt": group.system_prompt.name,
        "system_prompt_version": group.system_prompt.version,
        "user_strategy": group.user_strategy.name,
        "user_strategy_version": group.user_strategy.version,
        "model": group.model.name,
        "pipeline": group.pipeline,
        "scenario_id": cell.scenario.id,
        "suite": cell.scenario.suite,
        "category": cell.scenario.category,
        "risk_level": cell.scenario.risk_level,
        "multi_turn": cell.scenario.is_multi_turn,
        "sample": cell.sample,
        **cell.expectations,
        "scenario_message": cell.scenario.message,
        "messages": response.messages,
        "reply": response.reply,
        "latency_s": response.latency_s,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
        "error": response.error,
        "cached": response.cached,
        "attempts": len(response.attempts),
        "trace_id": response.trace_id,
        "cache_key": response.cache_key,
    }
    for name, score in scores.items():
        row[name] = score.value
        row[f"{name}_evidence"] = score.evidence
        row[f"{name}_status"] = score.status
        for item, value in score.items.items():
            row[f"{name}__{item}"] = value
    return row


def responses_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in ("latency_s", "input_tokens", "output_tokens"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def loggable(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON-friendly copy for MLflow tables: message lists as JSON text."""
    out = frame.copy()
    if "messages" in out:
        out["messages"] = out["messages"].map(lambda m: json.dumps(m, ensure_ascii=False))
    return out
