"""What `run_experiment` returns: the per-response DataFrame, the plan it ran, its MLflow runs
and the run's statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.plan import ExperimentPlan
from workbench.scoring.metrics import summarize


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
