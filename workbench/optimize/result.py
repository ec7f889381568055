"""What `optimize` returns: every candidate with its dev metrics, seed and winner on test (with
the judge's reading too, where a judge is configured), the paired deltas, the cost against the
budget, and the registered version (if any)."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import pandas as pd

from workbench.optimize.evaluate import Evaluation
from workbench.optimize.objective import OBJECTIVE_SCORERS, CandidateMetrics, Delta
from workbench.optimize.planning import OptimizationPlan
from workbench.optimize.register import RegisteredVersion
from workbench.optimize.search import Candidate


@dataclass
class CandidateRecord:
    candidate: Candidate
    dev: Evaluation
    guard: list[str]

    @property
    def template(self) -> str:
        return self.candidate.template

    @property
    def eligible(self) -> bool:
        return not self.guard


@dataclass
class Cost:
    budget: int
    metric_calls: int = 0
    model_calls: int = 0
    retries: int = 0
    cached_replies: int = 0
    proposer_calls: int = 0
    judge_calls: int = 0
    seconds: float = 0.0

    def text(self) -> str:
        return (
            f"{self.metric_calls} of {self.budget} budgeted metric calls; {self.model_calls} model calls "
            f"({self.retries} retries, {self.cached_replies} replies from the cache), {self.proposer_calls} proposer "
            f"calls, {self.judge_calls} judge calls; {self.seconds:.0f} s"
        )


@dataclass
class OptimizationResult:
    plan: OptimizationPlan
    seed: CandidateRecord
    winner: CandidateRecord
    candidates: list[CandidateRecord]
    test: dict[str, Evaluation]
    """"seed" and "winner" on the test split, learned back-end."""
    deltas: list[Delta]
    judge_test: dict[str, CandidateMetrics] = field(default_factory=dict)
    judge_deltas: list[Delta] = field(default_factory=list)
    cost: Cost = field(default_factory=lambda: Cost(0))
    registered: RegisteredVersion | None = None
    run_id: str | None = None
    tracking_uri: str | None = None
    details: list[dict] = field(default_factory=list)

    @property
    def improved(self) -> bool:
        return self.winner.template != self.seed.template

    def candidates_frame(self) -> pd.DataFrame:
        rows = []
        for index, record in enumerate(self.candidates):
            metrics = record.dev.metrics
            rows.append(
                {
                    "candidate": index,
                    "stage": record.candidate.stage,
                    "optimizer": record.candidate.optimizer,
                    "origin": record.candidate.origin,
                    "objective": record.dev.objective,
                    "eligible": record.eligible,
                    "guard": "; ".join(record.guard),
                    "winner": record.template == self.winner.template,
                    **{metrics_name(name): metrics.get(name) for name in OBJECTIVE_SCORERS},
                    "error_rate": metrics.error_rate,
                    "template": record.template,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Seed and winner per split and back-end, each metric with its 95% interval and n."""
        rows = []
        readings: list[tuple[str, str, str, CandidateMetrics]] = [
            ("dev", "learned", "seed", self.seed.dev.metrics),
            ("dev", "learned", "winner", self.winner.dev.metrics),
            ("test", "learned", "seed", self.test["seed"].metrics),
            ("test", "learned", "winner", self.test["winner"].metrics),
        ]
        readings += [("test", "judge", who, metrics) for who, metrics in self.judge_test.items()]
        for split, backend, who, metrics in readings:
            for name in OBJECTIVE_SCORERS:
                low, high = metrics.interval(name)
                rows.append(
                    {
                        "split": split,
                        "backend": backend,
                        "prompt": who,
                        "metric": metrics_name(name),
                        "value": metrics.get(name),
                        "ci_low": low,
                        "ci_high": high,
                        "n": metrics.count(name),
                    }
                )
        return pd.DataFrame(rows)

    def deltas_frame(self) -> pd.DataFrame:
        rows = [{"backend": "learned", **d.__dict__} for d in self.deltas]
        rows += [{"backend": "judge", **d.__dict__} for d in self.judge_deltas]
        return pd.DataFrame(rows)

    def prompt_diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.seed.template.splitlines(keepends=True),
                self.winner.template.splitlines(keepends=True),
                fromfile=self.plan.seed.ref,
                tofile=self.registered.ref if self.registered else "winner",
            )
        )

    def delta(self, metric: str, backend: str = "learned") -> Delta | None:
        found = self.deltas if backend == "learned" else self.judge_deltas
        return next((d for d in found if d.metric == metric), None)


def metrics_name(scorer: str) -> str:
    return f"{scorer}_mean" if scorer == "empathy" else f"{scorer}_rate"


def finite(value: float) -> bool:
    return value is not None and not math.isnan(value)
