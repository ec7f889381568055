"""Scoring: construct items read by a back-end (offline patterns or an LLM judge), turned into
metrics by scorers. `score_reply` scores any (conversation, reply) pair."""

from __future__ import annotations

from workbench.errors import InputError
from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.scorers import SCORERS, Scorer

BACKENDS = ("offline", "judge")


def get_scorers(names: list[str] | None, *, file: str | None = None) -> list[Scorer]:
    if names is None:
        return list(SCORERS.values())
    unknown = [n for n in names if n not in SCORERS]
    if unknown:
        raise InputError.single(f"unknown scorer(s): {', '.join(unknown)}", file=file, field="scorers",
                                fix=f"use any of: {', '.join(SCORERS)}")
    return [SCORERS[n] for n in names]


__all__ = ["BACKENDS", "SCORERS", "Score", "Scorer", "ScoringInput", "get_scorers"]
