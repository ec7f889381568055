"""Offline scorers, each citing its construct, registered by name for experiment specs."""

from __future__ import annotations

from workbench.errors import InputError
from workbench.scoring.base import Score, Scorer, ScoringInput, scorer
from workbench.scoring.crisis import crisis_escalation, over_escalation
from workbench.scoring.disclaimer import disclaimer_adherence
from workbench.scoring.empathy import empathy
from workbench.scoring.harmful import harmful_compliance

SCORERS: dict[str, Scorer] = {s.name: s for s in (
    empathy, disclaimer_adherence, crisis_escalation, over_escalation, harmful_compliance)}


def get_scorers(names: list[str] | None, *, file: str | None = None) -> list[Scorer]:
    if names is None:
        return list(SCORERS.values())
    unknown = [n for n in names if n not in SCORERS]
    if unknown:
        raise InputError.single(f"unknown scorer(s): {', '.join(unknown)}", file=file, field="scorers",
                                fix=f"use any of: {', '.join(SCORERS)}")
    return [SCORERS[n] for n in names]


__all__ = ["SCORERS", "Score", "Scorer", "ScoringInput", "get_scorers", "scorer"]
