"""What a scorer is, and the registry that holds them.

A scorer turns an `Analysis` of construct items (from either back-end) into one per-reply
`Score`, and declares, where it is defined, everything the rest of the workbench needs to know
about it: which constructs it reads, which replies it applies to, how it aggregates over a run,
its scale, which way is better and whether it enters the empathy-accountability gap.

    @scorer("crisis_escalation", description="...", aggregate="rate", applies_to="scenarios with must_escalate",
            constructs=("crisis",), gap="accountability", label="escalation")
    def crisis_escalation(analysis: Analysis, item: ScoringInput) -> Score: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from workbench.errors import InputError
from workbench.registry import Registry
from workbench.scoring.base import Aggregate, Score, ScoringInput
from workbench.scoring.items import Analysis

Compute = Callable[[Analysis, ScoringInput], Score]
GapRole = Literal["empathy", "accountability"]


@dataclass(frozen=True)
class Scorer:
    name: str
    description: str
    aggregate: Aggregate
    applies_to: str
    constructs: tuple[str, ...]
    compute: Compute = field(compare=False, repr=False)
    scale: tuple[float, float] = (0.0, 1.0)
    higher_is_better: bool = True
    gap: GapRole | None = None
    label: str = ""
    headline: bool = False
    version: int = 1

    @property
    def metric(self) -> str:
        """The run-level metric: `<name>_mean` or `<name>_rate`."""
        return metric_name(self)

    def __call__(self, analysis: Analysis, item: ScoringInput) -> Score:
        if analysis.unscored:
            return Score(self.name, None, f"unscored: {analysis.unscored}", status="unscored")
        failed = [f"{c}: {analysis.errors[c]}" for c in self.constructs if c in analysis.errors]
        if failed:
            return Score(self.name, None, "error: " + "; ".join(failed), status="error")
        return self.compute(analysis, item)


def metric_name(scorer: Scorer, item: str | None = None) -> str:
    suffix = "mean" if scorer.aggregate == "mean" else "rate"
    return f"{scorer.name}_{item}_{suffix}" if item else f"{scorer.name}_{suffix}"


SCORERS: Registry[Scorer] = Registry("scorer", packages=("workbench.scoring.scorers",))


def scorer(
    name: str,
    *,
    description: str,
    aggregate: Aggregate,
    applies_to: str,
    constructs: tuple[str, ...],
    scale: tuple[float, float] = (0.0, 1.0),
    higher_is_better: bool = True,
    gap: GapRole | None = None,
    label: str = "",
    headline: bool = False,
    version: int = 1,
) -> Callable[[Compute], Compute]:
    """Register `compute(analysis, item) -> Score` as scorer `name`, with its metadata: `label` is
    its short heading, `headline` puts it in the CLI's summary table, `version` changes when what
    it computes does (runs log it)."""
    return SCORERS.decorator(
        name,
        lambda compute: Scorer(
            name,
            description,
            aggregate,
            applies_to,
            constructs,
            compute,
            scale,
            higher_is_better,
            gap,
            label or name.replace("_", " "),
            headline,
            version,
        ),
    )


def get_scorers(names: list[str] | None, *, file: str | None = None) -> list[Scorer]:
    """The named scorers (all registered ones for None), or an `InputError` naming the unknown."""
    if names is None:
        return SCORERS.values()
    problems = [
        p for i, n in enumerate(names) if (p := SCORERS.unknown(n, file=file, field=f"scorers[{i}]")) is not None
    ]
    if problems:
        raise InputError(problems)
    return [SCORERS.get(n) for n in names]
