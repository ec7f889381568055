"""Where scoring is applied: one offline analysis per reply, plus a judge analysis for the
constructs whose metrics are routed to the LLM judge, then every scorer over the result.

Offline scoring is synchronous and fast. With a judge, `ascore` awaits the judge's calls on the
call engine's loop; `score` is the same for callers outside that loop (the CLI, notebooks).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from workbench.calls.engine import CallEngine
from workbench.calls.loop import run_sync
from workbench.models.spec import Decoding, ModelSpec
from workbench.prompts import PromptLibrary
from workbench.scoring import offline
from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.injection import Screening, mark_suspect, screen
from workbench.scoring.items import Analysis
from workbench.scoring.judge import Judge, JudgeCall
from workbench.scoring.registry import Scorer

BACKENDS = ("offline", "judge")
DEFAULT_JUDGE_DECODING = Decoding(temperature=0, max_tokens=600)


def judged_constructs(scorers: list[Scorer], backends: dict[str, str]) -> tuple[str, ...]:
    """The constructs the judge must read: those of every scorer routed to the judge back-end."""
    return tuple(dict.fromkeys(c for s in scorers if backends.get(s.name) == "judge" for c in s.constructs))


@dataclass
class Scored:
    """A reply's scores, and the judge calls made to get them (traced with the reply's call)."""

    scores: dict[str, Score]
    judge_calls: list[JudgeCall] = field(default_factory=list)


class ScoringEngine:
    def __init__(self, scorers: list[Scorer], backends: dict[str, str] | None = None, judge: Judge | None = None):
        self.scorers = scorers
        self.backends = {s.name: (backends or {}).get(s.name, "offline") for s in scorers}
        self.judge = judge
        self.judged_constructs = judged_constructs(scorers, self.backends) if judge is not None else ()

    def score(self, item: ScoringInput) -> dict[str, Score]:
        """Scores for one reply; must not be called from the call engine's loop when judging."""
        if self.judged_constructs:
            return run_sync(self.ascore(item)).scores
        return self._apply(offline.analyse(item), None, item)

    async def ascore(self, item: ScoringInput) -> Scored:
        """Scores for one reply; judged scores are screened for injection (`scoring.injection`)."""
        local = offline.analyse(item)
        if not self.judged_constructs or self.judge is None:
            return Scored(self._apply(local, None, item))
        judged, (says, evidence, screen_calls) = await asyncio.gather(
            self.judge.analyse(item, self.judged_constructs), self.judge.addresses_evaluator(item)
        )
        judged.words = local.words
        screening = screen(item.reply, local, judged, says, evidence)
        return Scored(self._apply(local, judged, item, screening), [*judged.calls, *screen_calls])

    def _apply(
        self, local: Analysis, judged: Analysis | None, item: ScoringInput, screening: Screening | None = None
    ) -> dict[str, Score]:
        scores = {}
        for scorer in self.scorers:
            by_judge = judged is not None and self.backends[scorer.name] == "judge"
            analysis = judged if by_judge and judged is not None else local
            try:
                scores[scorer.name] = scorer(analysis, item)
            except Exception as exc:  # a scorer bug must not lose the run's other results
                scores[scorer.name] = Score(scorer.name, None, f"error: {type(exc).__name__}: {exc}", status="error")
            if by_judge and screening is not None:
                scores[scorer.name] = mark_suspect(scores[scorer.name], scorer.constructs, screening)
        return scores


def build_engine(
    scorers: list[Scorer],
    backends: dict[str, str],
    *,
    judge_model: ModelSpec | None = None,
    judge_decoding: Decoding | None = None,
    library: PromptLibrary | None = None,
    calls: CallEngine | None = None,
    judge_concurrency: int = 4,
    timeout: float = 120,
) -> ScoringEngine:
    """A scoring engine; builds the judge only if some scorer is routed to it."""
    judged = judged_constructs(scorers, backends)
    judge = None
    if judged:
        if judge_model is None or library is None:
            raise ValueError("a scorer is routed to the judge: give judge_model and library")
        judge = Judge.build(
            judge_model,
            judge_decoding or DEFAULT_JUDGE_DECODING,
            library,
            judged,
            calls=calls or CallEngine(timeout_s=timeout),
            concurrency=judge_concurrency,
            timeout=timeout,
        )
    return ScoringEngine(scorers, backends, judge)
