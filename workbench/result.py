"""What `run_experiment` returns: the per-response DataFrame, the plan it ran, its MLflow runs
and the run's statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.calls.failures import ErrorClass
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
    error_classes: list[ErrorClass] = field(default_factory=list)
    """The errors by class, each with a count and an example message."""
    stopped: dict[str, str] = field(default_factory=dict)
    """Models the circuit breaker stopped calling, and why."""
    shared: int = 0
    """Cells another run, going at the same time on the same cache, called instead of this one."""


@dataclass
class ExperimentResult:
    plan: ExperimentPlan
    frame: pd.DataFrame
    stats: RunStats
    parent_run_id: str | None = None
    child_run_ids: dict[str, str] = field(default_factory=dict)
    tracking_uri: str | None = None
    warnings: list[str] = field(default_factory=list)
    validity: dict[str, dict] = field(default_factory=dict)
    """Each scorer's measured agreement with human labels (`workbench.scoring.validity`)."""
    already_logged: bool = False
    """A cached re-run whose results MLflow already held: nothing new was logged."""

    @property
    def suspect(self) -> int:
        """Replies with at least one judged score marked suspect (possible judge injection)."""
        columns = [c for c in self.frame.columns if c.endswith("_status")]
        return int((self.frame[columns] == "suspect").any(axis=1).sum()) if columns else 0

    @property
    def df(self) -> pd.DataFrame:
        return self.frame

    def summary(self) -> pd.DataFrame:
        return summarize(self.frame, self.plan.scorers)

    def validity_table(self) -> pd.DataFrame:
        """One row per metric: the back-end, the agreement it showed with human labels on the
        frozen test split, its interval and floor, and whether it is low-validity."""
        rows = []
        for scorer in self.plan.scorers:
            entry = self.validity.get(scorer.name, {})
            low, high = entry.get("ci") or [None, None]
            rows.append(
                {
                    "metric": scorer.metric,
                    "backend": entry.get("backend"),
                    "version": entry.get("version"),
                    "statistic": entry.get("statistic"),
                    "agreement": entry.get("value"),
                    "ci_low": low,
                    "ci_high": high,
                    "n": entry.get("n"),
                    "floor": entry.get("floor"),
                    "status": entry.get("status", "unvalidated"),
                }
            )
        return pd.DataFrame(rows)

    def low_validity(self) -> list[str]:
        """Metrics whose scorer cannot back them: below their floor, or never validated."""
        return [self.plan_metric(name) for name, entry in self.validity.items() if entry.get("status") != "ok"]

    def plan_metric(self, name: str) -> str:
        return next((s.metric for s in self.plan.scorers if s.name == name), name)
