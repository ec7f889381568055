"""Apply the scorers to collected responses. Error rows get no scores, only their error."""

from __future__ import annotations

from workbench.responses import Response
from workbench.scoring.base import Score, Scorer, ScoringInput


def scoring_input(response: Response, locale: str) -> ScoringInput:
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


def score_response(response: Response, scorers: list[Scorer], locale: str) -> dict[str, Score]:
    if not response.ok:
        return {}
    item = scoring_input(response, locale)
    scores = {}
    for scorer in scorers:
        try:
            scores[scorer.name] = scorer(item)
        except Exception as exc:  # a scorer bug must not lose the run's other results
            scores[scorer.name] = Score(scorer.name, None, f"scorer error: {type(exc).__name__}: {exc}")
    return scores
