"""Evaluate a candidate prompt on a split exactly as a run would, without logging a run.

A candidate's replies come from the responses stage (the spec's DSPy pipeline, the call engine,
the response cache), so they are the replies `workbench run` would get for the same text, and a
candidate the optimizer already tried costs no call. Its scores come from the scoring engine,
its metrics from the same aggregation runs use (rates and means with 95% bootstrap intervals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from workbench.calls.cache import ResponseCache
from workbench.calls.engine import CallEngine
from workbench.calls.loop import run_sync
from workbench.groups import response_input
from workbench.optimize.objective import CandidateMetrics, candidate_metrics, objective_value
from workbench.optimize.planning import OptimizationPlan
from workbench.pipelines.base import Pipeline
from workbench.response_table import response_row, responses_frame
from workbench.responses import Response, build_pipelines, collect, fill_from_cache, prepare
from workbench.scoring.base import Score
from workbench.scoring.engine import ScoringEngine


@dataclass
class Evaluation:
    """One candidate on one split: its per-reply rows and its metrics."""

    template: str
    split: str
    rows: pd.DataFrame
    metrics: CandidateMetrics
    objective: float
    responses: list[Response]


class Evaluator:
    def __init__(
        self,
        plan: OptimizationPlan,
        calls: CallEngine,
        cache: ResponseCache | None,
        engine: ScoringEngine,
        *,
        on_reply: Callable[[bool], None] | None = None,
    ):
        self.plan, self.calls, self.cache, self.engine = plan, calls, cache, engine
        self.on_reply = on_reply
        self._pipelines: dict = {}
        self._done: dict[tuple[str, str], Evaluation] = {}

    def pipelines(self, plan) -> dict[tuple[str, str], Pipeline]:
        if not self._pipelines:
            self._pipelines = build_pipelines(plan)
        return self._pipelines

    def replies(self, template: str, split: str) -> list[Response]:
        """Each scenario's reply for this candidate: cached ones first, then calls."""
        plan = self.plan.plan_for(template, split)
        pipelines = self.pipelines(plan)
        responses = prepare(plan, pipelines)
        pending = fill_from_cache(responses, self.cache)
        for response in responses:
            if response.cached and self.on_reply is not None:
                self.on_reply(True)

        def arrived(response: Response) -> None:
            if self.on_reply is not None:
                self.on_reply(False)

        if pending:
            run_sync(collect(plan, pending, pipelines=pipelines, calls=self.calls, on_complete=arrived))
        return responses

    def evaluate(self, template: str, split: str) -> Evaluation:
        found = self._done.get((template, split))
        if found is not None:
            return found
        responses = self.replies(template, split)
        rows = self.rows(responses, self.engine)
        metrics = candidate_metrics(rows, self.plan.scorers)
        evaluation = Evaluation(
            template, split, rows, metrics, objective_value(metrics, self.plan.spec.objective.empathy_weight), responses
        )
        self._done[(template, split)] = evaluation
        return evaluation

    def rows(self, responses: list[Response], engine: ScoringEngine) -> pd.DataFrame:
        """The per-reply table runs log, scored by `engine` (the learned back-end, or a judge)."""
        locale, values = self.plan.locale.code, self.plan.values
        answered = [r for r in responses if r.ok]
        inputs = [response_input(r, locale, values) for r in answered]
        if engine.judged_constructs:

            async def judged() -> list[dict[str, Score]]:
                import asyncio

                return [s.scores for s in await asyncio.gather(*(engine.ascore(item) for item in inputs))]

            scored = run_sync(judged())
        else:
            scored = engine.score_many(inputs)
        by_response = {id(r): s for r, s in zip(answered, scored, strict=True)}
        return responses_frame([response_row(r, by_response.get(id(r), {})) for r in responses])
