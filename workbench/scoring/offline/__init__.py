"""The offline back-end: patterns and lexicons, no model. Fast (thousands of replies a
second), deterministic, and every finding carries the span it matched.

Each construct module registers its reader with `@offline_analyser`; `analyse` runs them all.
"""

from __future__ import annotations

from functools import lru_cache

from workbench.scoring.base import ScoringInput
from workbench.scoring.items import ITEMS, Analysis, Finding
from workbench.scoring.offline.base import ANALYSERS, OfflineAnalyser, run_order
from workbench.scoring.offline.verdict import verdict
from workbench.scoring.text import Reply

ENGLISH_OR_UNKNOWN = ("en", "unknown")


@lru_cache(maxsize=1)
def analysers() -> tuple[OfflineAnalyser, ...]:
    return tuple(run_order(ANALYSERS.values()))


def analyse(item: ScoringInput, reply: Reply | None = None) -> Analysis:
    """Every item's answer; `reply` is the item's reply already prepared (it is, if given)."""
    reply = reply or Reply(item.reply, item.user_texts)
    if reply.empty:
        return Analysis({key: Finding(0, "empty reply") for key in ITEMS})  # an empty reply is not appropriate either
    if reply.language not in ENGLISH_OR_UNKNOWN:
        return Analysis(
            unscored=f"the reply appears to be in '{reply.language}', not English; the offline "
            "lexicons read English only (use the judge back-end for other languages)"
        )
    findings: dict[str, Finding] = {}
    for analyser in analysers():
        findings.update(analyser.analyse(reply, findings))
    findings["appropriateness.appropriate"] = verdict(findings, item.risk_level)
    return Analysis(findings, words=reply.words)


__all__ = ["analyse", "analysers"]
