"""Apply the scorers to replies: one offline analysis per reply, plus a judge analysis for the
constructs whose metrics the spec routes to the LLM judge. Error rows get no scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.scoring import offline
from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.scorers import Scorer

if TYPE_CHECKING:
    from workbench.responses import Response
    from workbench.scoring.judge import Judge


def judged_constructs(scorers: list[Scorer], backends: dict[str, str]) -> tuple[str, ...]:
    """The constructs the judge must read: those of every scorer routed to the judge back-end."""
    return tuple(dict.fromkeys(c for s in scorers if backends.get(s.name) == "judge" for c in s.constructs))


class ScoringEngine:
    def __init__(self, scorers: list[Scorer], backends: dict[str, str] | None = None, judge: "Judge | None" = None):
        self.scorers = scorers
        self.backends = {s.name: (backends or {}).get(s.name, "offline") for s in scorers}
        self.judge = judge
        self.judged_constructs = judged_constructs(scorers, self.backends)

    def score(self, item: ScoringInput) -> dict[str, Score]:
        local = offline.analyse(item)
        judged = None
        if self.judged_constructs and self.judge is not None:
            judged = self.judge.analyse(item, self.judged_constructs)
            judged.words = local.words
        scores = {}
        for scorer in self.scorers:
            analysis = judged if judged is not None and self.backends[scorer.name] == "judge" else local
            try:
                scores[scorer.name] = scorer(analysis, item)
            except Exception as exc:  # a scorer bug must not lose the run's other results
                scores[scorer.name] = Score(scorer.name, None, f"error: {type(exc).__name__}: {exc}", status="error")
        return scores


def scoring_input(response: "Response", locale: str) -> ScoringInput:
    """The conversation exactly as sent: the final (strategy-wrapped) user turn and the history."""
    turns = [m for m in response.messages if m["role"] != "system"]
    return ScoringInput(
        reply=response.reply or "",
        user_message=turns[-1]["content"] if turns else "",
        history=tuple(turns[:-1]),
        expectations=response.cell.expectations,
        risk_level=response.cell.scenario.risk_level,
        locale=locale,
    )


def score_response(response: "Response", engine: ScoringEngine, locale: str) -> dict[str, Score]:
    if not response.ok:
        return {}
    return engine.score(scoring_input(response, locale))


def build_engine(scorers: list[Scorer], backends: dict[str, str], *, judge_model=None, judge_decoding=None,
                 library=None, cache=None, timeout: float = 120) -> ScoringEngine:
    """A scoring engine; builds the judge only if some scorer is routed to it."""
    judged = judged_constructs(scorers, backends)
    judge = None
    if judged:
        from workbench.models.spec import Decoding
        from workbench.scoring.judge import Judge

        judge = Judge.build(judge_model, judge_decoding or Decoding(temperature=0, max_tokens=600), library, judged,
                            cache=cache, timeout=timeout)
    return ScoringEngine(scorers, backends, judge)
