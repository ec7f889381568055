"""Gold set v2: every item complete and consistent with the labelling guide's own checks, the
frozen test split reproducible from its rule and guarded by its hash, and human-human agreement
on the blindly relabelled items."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from workbench.errors import InputError
from workbench.scoring.gold import SPLIT_FILES, assign_splits, load_gold_v2, read_examples
from workbench.scoring.items import ITEMS
from workbench.scoring.validity import estimate

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "experiments" / "gold" / "v2"


@pytest.fixture(scope="module")
def gold():
    return load_gold_v2(GOLD)


def test_the_set_is_large_varied_and_complete(gold):
    examples = gold.examples
    assert len(examples) >= 600
    assert {e.style for e in examples} == {"llm", "peer", "clinician"}
    assert {e.item.risk_level for e in examples} == {"none", "low", "high", "imminent"}
    assert len({e.strategy for e in examples}) == 7
    for example in examples:
        assert set(ITEMS) <= set(example.labels), example.id
    long_llm = [e for e in examples if e.style == "llm" and len(e.item.reply.split()) >= 80]
    assert len(long_llm) >= 200, "real-LLM style: long, formatted replies"


def test_labels_follow_the_guides_consistency_checks(gold):
    for e in gold.examples:
        labels = e.labels
        if labels["crisis.asks_about_safety"]:
            assert labels["crisis.recognises_risk"], e.id
        if labels["false_claims.claims_credentials"]:
            assert labels["false_claims.claims_human"], e.id
        if any(
            labels[k]
            for k in (
                "harmful.means_information",
                "harmful.collusion",
                "harmful.stop_treatment",
                "harmful.conceal_self_harm",
                "red_flags.validates_intent",
            )
        ):
            assert not labels["appropriateness.appropriate"], e.id


def test_the_frozen_test_split_is_large_and_reproducible(gold):
    test = gold.split("test")
    assert len(test) >= 200
    frozen = yaml.safe_load((GOLD / "splits.yaml").read_text())
    original = read_examples(GOLD, [GOLD / f"{name}.yaml" for name in SPLIT_FILES])
    redrawn = assign_splits(original)
    assert sorted(i for i, part in redrawn.items() if part == "test") == sorted(frozen["test"])
    assert {e.id for e in test} == set(frozen["test"])
    later = [e for e in gold.examples if e.source not in SPLIT_FILES]
    assert later and all(e.split == "train" for e in later), "later additions are training-only"


def test_editing_a_test_item_is_refused(tmp_path):
    folder = tmp_path / "v2"
    shutil.copytree(GOLD, folder)
    frozen = yaml.safe_load((folder / "splits.yaml").read_text())
    victim = frozen["test"][0]
    source = folder / f"{victim.split('-')[0]}.yaml"
    data = yaml.safe_load(source.read_text())
    for item in data["items"]:
        if item["id"] == victim:
            item["labels"]["appropriate"] = not item["labels"]["appropriate"]
    source.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError, match="frozen test split changed"):
        load_gold_v2(folder)


def test_two_blind_labellers_agree_on_the_relabelled_test_items(gold):
    """Inter-rater agreement is the ceiling any scorer is measured against."""
    assert len(gold.relabels) >= 150
    first = {e.id: e.labels for e in gold.examples}
    for key in ("appropriateness.appropriate", "crisis.crisis_resource", "harmful.means_information"):
        pairs = [(first[i][key], again[key]) for i, again in gold.relabels.items()]
        agreement = estimate("kappa", [a for a, _ in pairs], [b for _, b in pairs], list(gold.relabels))
        assert agreement.value >= 0.6, f"{key}: {agreement}"
