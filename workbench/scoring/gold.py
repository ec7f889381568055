"""The labelled gold sets the scorers are checked against.

- **v1** (`experiments/gold/replies.yaml`): 377 replies to the scenario suite, written alongside
  the first pattern scorers. Kept as a regression set for the `fast` back-end.
- **v2** (`experiments/gold/v2/`): about 690 conversations and replies written and labelled
  blind, from the construct definitions alone (`LABELLING.md`), by labellers who never saw the
  scorers, in three styles (LLM, peer support, clinician). Each item carries the user-side labels
  (risk level, expectations) as well as the reply's. Its **test split is frozen**
  (`splits.yaml`, with the hash of its items): scored only to report, never to tune.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from workbench.errors import InputError
from workbench.scenarios import EXPECTATION_NAMES, Scenario, load_scenarios
from workbench.scoring.base import ScoringInput
from workbench.yaml_files import load_model, parse_yaml

Split = Literal["train", "dev", "test"]
SPLIT_SALT = "gold-v2-split|"
TEST_SHARE, DEV_SHARE = 0.30, 0.15


# -- v1 ---------------------------------------------------------------------------------------------
class GoldItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    scenario_id: str
    quality: Literal["good", "partial", "bad"]
    language: str = "en"
    note: str = ""
    reply: str
    labels: dict[str, dict[str, int | bool]]


class GoldSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    items: list[GoldItem] = Field(min_length=1)


def load_gold(path: str | Path, scenario_paths: list[Path]) -> list[tuple[GoldItem, ScoringInput]]:
    gold = load_model(path, GoldSet)
    scenarios: dict[str, Scenario] = {s.id: s for s in load_scenarios(scenario_paths)}
    pairs = []
    for item in gold.items:
        scenario = scenarios[item.scenario_id]
        pairs.append(
            (
                item,
                ScoringInput(
                    reply=item.reply,
                    user_message=scenario.message,
                    history=tuple({"role": t.role, "content": t.content} for t in scenario.history),
                    expectations=scenario.expectations.model_dump(),
                    risk_level=scenario.risk_level,
                ),
            )
        )
    return pairs


# -- v2 ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldExample:
    """One v2 item: the conversation and reply as the scorers see them, and every label."""

    id: str
    source: str
    style: str
    topic: str
    strategy: str
    locale: str
    item: ScoringInput
    labels: dict[str, int]  # "construct.item" -> 0/1 (0-2 for EPITOME), and "appropriateness.appropriate"
    split: Split = "train"
    note: str = ""

    @property
    def conversation_key(self) -> str:
        """Items sharing a conversation (contrast pairs) always share a split."""
        turns = [*self.item.history, {"role": "user", "content": self.item.user_message}]
        return json.dumps([{"role": t["role"], "content": t["content"]} for t in turns], sort_keys=True)


@dataclass
class GoldV2:
    folder: Path
    examples: list[GoldExample]
    test_sha256: str
    relabels: dict[str, dict[str, int]] = field(default_factory=dict)  # id -> second labeller's labels

    def split(self, *names: Split) -> list[GoldExample]:
        return [e for e in self.examples if e.split in names]


SPLIT_FILES = ("seed", "sa", "pm", "pe", "us", "cl")
"""The files the frozen split was drawn over; files added later are training-only."""


def flatten_labels(labels: dict, risk_level: str, expectations: dict) -> dict[str, int]:
    flat = {"appropriateness.appropriate": int(labels["appropriate"]), "user.risk_level": _RISK[risk_level]}
    for construct, values in labels.items():
        if isinstance(values, dict):
            flat.update({f"{construct}.{name}": int(value) for name, value in values.items()})
    flat.update({f"expectations.{name}": int(expectations[name]) for name in EXPECTATION_NAMES})
    return flat


_RISK = {"none": 0, "low": 1, "high": 2, "imminent": 3}
RISK_LEVELS = tuple(_RISK)


def _example(source: str, raw: dict) -> GoldExample:
    turns = [{"role": str(t["role"]), "content": str(t["content"])} for t in raw["conversation"]]
    item = ScoringInput(
        reply=raw["reply"],
        user_message=turns[-1]["content"],
        history=tuple(turns[:-1]),
        expectations={k: bool(v) for k, v in raw["expectations"].items()},
        risk_level=raw["risk_level"],
        locale=raw.get("locale", "US"),
    )
    return GoldExample(
        raw["id"],
        source,
        raw["style"],
        raw["topic"],
        raw["strategy"],
        raw.get("locale", "US"),
        item,
        flatten_labels(raw["labels"], raw["risk_level"], raw["expectations"]),
        note=raw.get("note", ""),
    )


def item_files(folder: Path) -> list[Path]:
    """Every file of items: the ones the split was drawn over first, then later additions."""
    later = sorted(p for p in folder.glob("*.yaml") if p.stem not in (*SPLIT_FILES, "splits"))
    return [folder / f"{name}.yaml" for name in SPLIT_FILES] + later


def read_examples(folder: Path, files: Iterable[Path] | None = None) -> list[GoldExample]:
    examples: list[GoldExample] = []
    for path in files or item_files(folder):
        data, _ = parse_yaml(path)
        examples.extend(_example(path.stem, raw) for raw in data["items"])
    return examples


def assign_splits(examples: Iterable[GoldExample]) -> dict[str, Split]:
    """The rule the frozen split was drawn with: conversations grouped, stratified by topic, ordered
    by a salted hash; per topic the first 30% of items go to test and the next 15% to dev."""
    groups: dict[str, list[GoldExample]] = defaultdict(list)
    for example in examples:
        groups[example.conversation_key].append(example)
    by_topic: dict[str, list[tuple[str, list[GoldExample]]]] = defaultdict(list)
    for key, group in groups.items():
        digest = hashlib.sha256((SPLIT_SALT + key).encode("utf-8")).hexdigest()
        by_topic[group[0].topic].append((digest, group))
    split: dict[str, Split] = {}
    for _, ordered in sorted(by_topic.items()):
        ordered.sort(key=lambda pair: pair[0])
        total = sum(len(group) for _, group in ordered)
        test = dev = 0
        for _, group in ordered:
            part: Split
            if test < TEST_SHARE * total:
                part, test = "test", test + len(group)
            elif dev < DEV_SHARE * total:
                part, dev = "dev", dev + len(group)
            else:
                part = "train"
            for example in group:
                split[example.id] = part
    return split


def content_sha256(examples: Iterable[GoldExample]) -> str:
    """Hash of items' conversations, replies and labels: any edit changes it."""
    payload = [
        {"id": e.id, "conversation": e.conversation_key, "reply": e.item.reply, "labels": e.labels}
        for e in sorted(examples, key=lambda e: e.id)
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def load_gold_v2(folder: str | Path) -> GoldV2:
    """The v2 items with their frozen splits; refuses a test split whose items were edited."""
    folder = Path(folder)
    examples = read_examples(folder)
    frozen, _ = parse_yaml(folder / "splits.yaml")
    parts: dict[str, Split] = {**dict.fromkeys(frozen["test"], "test"), **dict.fromkeys(frozen["dev"], "dev")}
    examples = [GoldExample(**{**e.__dict__, "split": parts.get(e.id, "train")}) for e in examples]
    test = [e for e in examples if e.split == "test"]
    digest = content_sha256(test)
    if digest != frozen["test_sha256"] or len(test) != len(frozen["test"]):
        raise InputError.single(
            f"the frozen test split changed (sha256 {digest[:12]}…, recorded {frozen['test_sha256'][:12]}…)",
            file=folder / "splits.yaml",
            field="test_sha256",
            fix="restore the test items as they were; the test split is scored only to report and is never edited",
        )
    relabels: dict[str, dict[str, int]] = {}
    for path in sorted((folder / "relabel").glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            relabels[raw["id"]] = flatten_labels(raw["labels"], raw["risk_level"], raw["expectations"])
    return GoldV2(folder, examples, digest, relabels)


def freeze_splits(folder: str | Path) -> Path:
    """Write `splits.yaml` for the items in `folder` (done once, when the set was complete)."""
    folder = Path(folder)
    examples = read_examples(folder, [folder / f"{name}.yaml" for name in SPLIT_FILES])
    split = assign_splits(examples)
    test = sorted(i for i, part in split.items() if part == "test")
    dev = sorted(i for i, part in split.items() if part == "dev")
    digest = content_sha256([e for e in examples if split[e.id] == "test"])
    text = yaml.safe_dump(
        {
            "description": (
                "Frozen splits of gold set v2. Conversations are grouped (contrast pairs share a split), "
                "stratified by topic and ordered by sha256('gold-v2-split|' + conversation JSON); per topic the "
                "first 30% of items are test and the next 15% dev, the rest train "
                "(workbench.scoring.gold.assign_splits). The test split is scored only to report; "
                "test_sha256 covers its conversations, replies and labels."
            ),
            "test_sha256": digest,
            "counts": {"train": len(examples) - len(test) - len(dev), "dev": len(dev), "test": len(test)},
            "test": test,
            "dev": dev,
        },
        sort_keys=False,
        width=100,
    )
    path = folder / "splits.yaml"
    path.write_text(text, encoding="utf-8")
    return path
