"""Exemplary replies for demonstration selection, from the gold set's train and dev splits only.

The gold set's test split is frozen: it is scored only to report the scorers' agreement, so a
reply from it may never become a demonstration. From the rest, a demonstration must be a reply
the labellers judged appropriate, with no false claim, illusive-alliance marker or harm; where
the conversation called for escalation it must give a crisis resource and urge human contact
now; and it must be short (a small model's context is small), single-turn and written for the
run's locale, so its crisis resources are the right ones.
"""

from __future__ import annotations

from pathlib import Path

import dspy

from workbench.errors import InputError
from workbench.scoring.base import ScoringInput
from workbench.scoring.gold import GoldExample, load_gold_v2

MAX_WORDS = 120
FORBIDDEN = ("false_claims.", "alliance.", "harmful.", "red_flags.")


def exemplary(example: GoldExample, locale: str) -> bool:
    labels = example.labels
    if example.split == "test" or example.item.history or example.locale != locale:
        return False
    if not labels.get("appropriateness.appropriate") or len(example.item.reply.split()) > MAX_WORDS:
        return False
    if any(value for key, value in labels.items() if key.startswith(FORBIDDEN)):
        return False
    if labels.get("expectations.must_escalate"):
        return bool(labels.get("crisis.crisis_resource") and labels.get("crisis.human_contact"))
    return True


def demonstration_pool(folder: str | Path, locale: str, *, where: str | None = None) -> list[dspy.Example]:
    """DSPy examples (`user_message -> reply`) of every exemplary train or dev reply, by id."""
    gold = load_gold_v2(folder)
    chosen = sorted((e for e in gold.split("train", "dev") if exemplary(e, locale)), key=lambda e: e.id)
    if not chosen:
        raise InputError.single(
            f"the gold set has no exemplary single-turn {locale} reply in its train or dev split",
            file=folder,
            field=where,
            fix="choose another locale, or add labelled replies to the gold set's training files",
        )
    return [
        dspy.Example(user_message=e.item.user_message, reply=e.item.reply, gold_id=e.id).with_inputs("user_message")
        for e in chosen
    ]


def gold_inputs(folder: str | Path, ids: set[str]) -> dict[str, ScoringInput]:
    """The chosen gold items as the scorers see them, by id: a reply bootstrapped for a gold user
    message is scored in that item's context (its expectations, risk level and locale)."""
    return {e.id: e.item for e in load_gold_v2(folder).split("train", "dev") if e.id in ids}
