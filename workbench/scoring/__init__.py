"""Scoring: construct items read by a back-end (learned classifiers, patterns or an LLM judge), turned into
per-reply scores by registered scorers, summarised into run metrics, and checked against gold
labels.

- `items`, `base`: the construct items and the `Score` every scorer returns (value, evidence, status)
- `registry`, `scorers/`: the `@scorer` registry and the built-in scorers
- `learned/` (the default), `offline/` (patterns: the `fast` back-end) and `judge`: the three back-ends;
  `prefilter` skips pattern scans that cannot match
- `engine`: where scoring is applied to a reply; `risk`: expectations inferred from the user's side
- `metrics`: run-level figures with bootstrap intervals; `validity`, `gold`, `validate`, `team_labels`: agreement
  with labelled replies
- `transcripts`: scoring replies the workbench did not generate (`score_reply`, `workbench score`)
"""

from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.engine import BACKENDS, ScoringEngine, build_engine
from workbench.scoring.registry import SCORERS, Scorer, get_scorers, scorer
from workbench.scoring.transcripts import score_reply

__all__ = [
    "BACKENDS",
    "SCORERS",
    "Score",
    "Scorer",
    "ScoringEngine",
    "ScoringInput",
    "build_engine",
    "get_scorers",
    "score_reply",
    "scorer",
]
