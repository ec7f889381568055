"""From labelled data to a saved, carded scorer version: what `workbench scorers train` and
`workbench scorers calibrate` run.

Training uses the gold set's train and dev splits (never its frozen test split) and, for the
user-side readers, the scenario suite's labelled conversations. The validity card is computed on
the frozen test split and on the training data, side by side; after calibration, also on a
held-out quarter of the team's own labels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from workbench.scenarios import load_scenarios
from workbench.scoring import offline
from workbench.scoring.base import ScoringInput
from workbench.scoring.gold import GoldV2, load_gold_v2
from workbench.scoring.items import Analysis
from workbench.scoring.learned.backend import RISK_LEVELS, LearnedBackend
from workbench.scoring.learned.embeddings import StaticEmbeddings, static_embeddings
from workbench.scoring.learned.model import ScorerVersion
from workbench.scoring.learned.train import Example, train_version
from workbench.scoring.registry import get_scorers
from workbench.scoring.validity import Labelled, card, estimate

GOLD_V2 = Path("experiments") / "gold" / "v2"
SCENARIOS = Path("experiments") / "scenarios"
TEAM_WEIGHT = 2.0  # a team's own labels count double beside the gold set's


def without_risk(item: ScoringInput) -> ScoringInput:
    """The conversation as an unlabelled transcript arrives: risk and expectations to be inferred."""
    return replace(item, risk_level=None, expectations={})


def gold_examples(gold: GoldV2) -> list[Example]:
    return [Example(without_risk(e.item), e.labels, e.conversation_key) for e in gold.split("train", "dev")]


def user_examples(gold: GoldV2, scenario_folder: Path) -> list[Example]:
    """One example per distinct conversation: the gold set's (train and dev) and the scenario suite's."""
    seen: set[str] = set()
    out = []
    for example in gold.split("train", "dev"):
        if example.conversation_key not in seen:
            seen.add(example.conversation_key)
            out.append(Example(example.item, example.labels, example.conversation_key))
    for scenario in load_scenarios([scenario_folder]):
        turns = tuple({"role": t.role, "content": t.content} for t in scenario.history)
        labels = {
            "user.risk_level": RISK_LEVELS.index(scenario.risk_level),
            **{f"expectations.{k}": int(v) for k, v in scenario.expectations.model_dump().items()},
        }
        out.append(Example(ScoringInput("", scenario.message, turns), labels, f"scenario:{scenario.id}"))
    return out


def labelled(examples: Sequence[Example], *, keep_risk: bool) -> list[Labelled]:
    return [Labelled(e.item if keep_risk else without_risk(e.item), e.labels, e.group) for e in examples]


def test_card(backend: LearnedBackend, gold: GoldV2) -> dict:
    """Agreement on the frozen test split, and on the training data beside it."""
    scorers = get_scorers(None)
    test = [Labelled(e.item, e.labels, e.conversation_key) for e in gold.split("test")]
    train = [Labelled(e.item, e.labels, e.conversation_key) for e in gold.split("train", "dev")]
    inferred_test = [Labelled(without_risk(x.item), x.labels, x.group) for x in test]
    tested, trained = card(test, batched(backend, test), scorers), card(train, batched(backend, train), scorers)
    fast = card(test, offline.analyse, scorers)
    inferred = card(inferred_test, batched(backend, inferred_test), scorers)
    return {
        "gold": {"set": "v2", "test_sha256": gold.test_sha256, "test_n": len(test), "train_n": len(train)},
        "test": tested,
        "train": trained,
        "fast_test": fast,
        "test_with_inferred_risk": {"appropriate": inferred["items"].get("appropriateness.appropriate", {})},
        "user": user_card(backend, gold),
    }


def batched(backend: LearnedBackend, rows: Sequence[Labelled]) -> Callable[[ScoringInput], Analysis]:
    """The rows analysed in one batch, looked up one by one."""
    analyses = backend.analyse_many([row.item for row in rows])
    found = {id(row.item): analysis for row, analysis in zip(rows, analyses, strict=True)}
    return lambda item: found[id(item)]


def user_card(backend: LearnedBackend, gold: GoldV2) -> dict:
    """How well risk level and expectations are inferred from the user's side (test split)."""
    seen: set[str] = set()
    rows = []
    for example in gold.split("test"):
        if example.conversation_key not in seen:
            seen.add(example.conversation_key)
            rows.append((example, backend.infer(example.item)))
    groups = [e.conversation_key for e, _ in rows]
    out = {
        "risk_level": estimate(
            "weighted_kappa",
            [RISK_LEVELS.index(e.item.risk_level or "none") for e, _ in rows],
            [RISK_LEVELS.index(r.risk_level) for _, r in rows],
            groups,
        ).as_dict()
    }
    for name in next(iter(rows))[0].item.expectations:
        out[name] = estimate(
            "f1",
            [int(e.item.expectations[name]) for e, _ in rows],
            [int(r.expectations[name] >= 0.5) for _, r in rows],
            groups,
        ).as_dict()
    return out


def build(
    root: Path,
    name: str,
    description: str,
    *,
    team: Sequence[Example] = (),
    base: ScorerVersion | None = None,
    embeddings: StaticEmbeddings | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> ScorerVersion:
    """Train, card and return a version (not yet saved)."""
    embeddings = embeddings or static_embeddings()
    gold = load_gold_v2(root / GOLD_V2)
    reply_examples = gold_examples(gold)
    users = user_examples(gold, root / SCENARIOS)
    refit = {key for example in team for key in example.labels} if team and base is not None else None

    def fit(examples: Sequence[Example], report: Callable[[str], None] = lambda message: None) -> ScorerVersion:
        return train_version(
            examples,
            users,
            name=name,
            description=description,
            embeddings=embeddings,
            fallback=base,
            refit=refit,
            progress=report,
        )

    team_card: dict = {}
    if team:
        held = [e for e in team if _quarter(e.group)]
        kept = [e for e in team if not _quarter(e.group)]
        if held and kept:
            progress(f"estimating agreement on {len(held)} held-out team labels")
            rows = labelled(held, keep_risk=True)
            trial = LearnedBackend(fit([*reply_examples, *_weighted(kept)]), embeddings)
            team_card = card(rows, batched(trial, rows), get_scorers(None))
        reply_examples = [*reply_examples, *_weighted(team)]
    version = fit(reply_examples, progress)
    progress("computing the validity card on the frozen test split")
    version.card = test_card(LearnedBackend(version, embeddings), gold)
    if team_card:
        version.card["team"] = team_card
    version.provenance.update(
        {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "gold_test_sha256": gold.test_sha256,
            "gold_train_n": len(gold.split("train", "dev")),
            "team_labels": len(team),
            "base": base.name if base else None,
            "embeddings": f"all-MiniLM-L6-v2 static {embeddings.table.shape[1]}d",
        }
    )
    return version


def _quarter(group: str) -> bool:
    return int(hashlib.sha256(("team-holdout|" + group).encode()).hexdigest(), 16) % 4 == 0


def _weighted(examples: Sequence[Example]) -> list[Example]:
    return [replace(e, weight=e.weight * TEAM_WEIGHT) for e in examples]
