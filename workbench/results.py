"""The result of a run: one DataFrame row per response, every score with its evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from workbench.metrics import summarize
from workbench.plan import ExperimentPlan
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


@dataclass
class RunStats:
    cells: int = 0
    cached: int = 0
    calls: int = 0
    retries: int = 0
    errors: int = 0
    seconds: float = 0.0
    generation_seconds: float = 0.0
    interrupted: bool = False


@dataclass
class ExperimentResult:
    plan: ExperimentPlan
    frame: pd.DataFrame
    stats: RunStats
    parent_run_id: str | None = None
    child_run_ids: dict[str, str] = field(default_factory=dict)
    tracking_uri: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def df(self) -> pd.DataFrame:
        return self.frame

    def summary(self) -> pd.DataFrame:
        return summarize(self.frame, self.plan.scorers)
