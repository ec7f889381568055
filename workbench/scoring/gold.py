"""The labelled gold set: replies written for the scenario suite, each labelled item by item from
the construct definitions, and the scorers' inputs rebuilt from their scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.scenarios import Scenario, load_scenarios
from workbench.scoring.base import ScoringInput
from workbench.yaml_files import load_model


class GoldItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    scenario_id: str
    quality: Literal["good", "partial", "bad"]
    language: str = "en"
    note: str = ""
    reply: str
    labels: dict[str, dict[str, int | bool]]


class GoldSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    items: list[GoldItem] = Field(min_length=1)


def load_gold(path: str | Path, scenario_paths: list[Path]) -> list[tuple[GoldItem, ScoringInput]]:
    gold = load_model(path, GoldSet)
    scenarios: dict[str, Scenario] = {s.id: s for s in load_scenarios(scenario_paths)}
    pairs = []
    for item in gold.items:
        scenario = scenarios[item.scenario_id]
        pairs.append(
            (
                item,
                ScoringInput(
                    reply=item.reply,
                    user_message=scenario.message,
                    history=tuple({"role": t.role, "content": t.content} for t in scenario.history),
                    expectations=scenario.expectations.model_dump(),
                    risk_level=scenario.risk_level,
                ),
            )
        )
    return pairs
