"""Promoting system prompt versions to production behind safety gates: the policy file
(`policy`), the gates (`gates`) on evidence runs (`evidence`), the alias move with its lock and
compare-and-set (`promote`), and the audit trail (`audit`)."""

from workbench.promotion.gates import Evidence, GateResult, evaluate_gates
from workbench.promotion.policy import GatePolicy, load_policy
from workbench.promotion.promote import (
    Decision,
    GatesFailed,
    Promotion,
    commit,
    evaluate,
    history,
    load_production_prompt,
    promote,
    rollback,
)

__all__ = [
    "Decision",
    "Evidence",
    "GatePolicy",
    "GateResult",
    "GatesFailed",
    "Promotion",
    "commit",
    "evaluate",
    "evaluate_gates",
    "history",
    "load_policy",
    "load_production_prompt",
    "promote",
    "rollback",
]
