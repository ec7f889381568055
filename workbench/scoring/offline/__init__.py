"""The offline back-end: patterns and lexicons, no model. Fast (thousands of replies a
second), deterministic, and every finding carries the span it matched."""

from __future__ import annotations

from workbench.scoring.base import ScoringInput
from workbench.scoring.items import ITEMS, Analysis, Finding
from workbench.scoring.offline import crisis, disclaimer, empathy, harmful, relational
from workbench.scoring.text import Reply

ENGLISH_OR_UNKNOWN = ("en", "unknown")


def analyse(item: ScoringInput) -> Analysis:
    reply = Reply(item.reply, item.user_texts)
    if reply.empty:
        return Analysis({key: Finding(0, "empty reply") for key in ITEMS})
    if reply.language not in ENGLISH_OR_UNKNOWN:
        return Analysis(unscored=f"the reply appears to be in '{reply.language}', not English; the offline "
                                 "lexicons read English only (use the judge back-end for other languages)")
    findings: dict[str, Finding] = {}
    findings.update(empathy.analyse(reply))
    findings.update(crisis.analyse(reply))
    findings.update(disclaimer.analyse(reply))
    findings.update(harmful.analyse(reply))
    findings.update(relational.analyse(reply, findings["epitome.emotional_reactions"].value))
    return Analysis(findings, words=reply.words)
