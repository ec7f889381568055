"""The scorer interface: a scorer reads one reply in context and returns a `Score`
that always carries its evidence (the matched span, or why nothing applied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Mapping, Protocol


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
    """`value` is None when the metric does not apply to this scenario."""

    name: str
    value: float | None
    evidence: str
    items: Mapping[str, float] = field(default_factory=dict)

    @property
    def applicable(self) -> bool:
        return self.value is not None


Aggregate = Literal["mean", "rate"]


class Scorer(Protocol):
    name: str
    description: str
    aggregate: Aggregate
    """'rate': values are 0..1 shares, reported as a rate; 'mean': values on the metric's own scale."""

    def __call__(self, item: ScoringInput) -> Score: ...


@dataclass(frozen=True)
class FunctionScorer:
    """Adapts a plain function to the `Scorer` protocol."""

    name: str
    description: str
    aggregate: Aggregate
    applies_to: str
    fn: Callable[[ScoringInput], Score]

    def __call__(self, item: ScoringInput) -> Score:
        return self.fn(item)


def scorer(name: str, *, description: str, aggregate: Aggregate, applies_to: str):
    """Decorator registering a function as a scorer: `@scorer("empathy", ...)`."""

    def wrap(fn: Callable[[ScoringInput], Score]) -> FunctionScorer:
        return FunctionScorer(name, description.strip(), aggregate, applies_to, fn)

    return wrap


def not_applicable(name: str, reason: str) -> Score:
    return Score(name, None, f"not applicable: {reason}")
