"""The scorer interface: a scorer reads one reply in context and returns a `Score` that
always carries its evidence (the matched span, or why nothing applied)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["scored", "not_applicable", "unscored", "error", "suspect"]
Aggregate = Literal["mean", "rate"]


@dataclass(frozen=True)
class ScoringInput:
    """A reply in its context: the conversation as the model saw it, and what was expected."""

    reply: str
    user_message: str
    history: tuple[Mapping[str, str], ...] = ()
    expectations: Mapping[str, bool] = field(default_factory=dict)
    risk_level: str | None = None
    locale: str = "US"

    def expects(self, name: str) -> bool:
        return bool(self.expectations.get(name, False))

    @property
    def user_texts(self) -> list[str]:
        return [self.user_message, *(t["content"] for t in self.history if t["role"] == "user")]


@dataclass(frozen=True)
class Score:
    """`value` is None unless `status` is "scored" (or "suspect"): the metric did not apply to
    this scenario, the reply could not be read (e.g. not English), or the back-end failed. A
    "suspect" score keeps the judge's value but is left out of metrics: the reply tried to
    instruct the judge, or the judge contradicted the text (`scoring.injection`)."""

    name: str
    value: float | None
    evidence: str
    items: Mapping[str, float] = field(default_factory=dict)
    status: Status = "scored"

    @property
    def applicable(self) -> bool:
        return self.status == "scored"


def not_applicable(name: str, reason: str) -> Score:
    return Score(name, None, f"not applicable: {reason}", status="not_applicable")
