"""Train, dev and test splits of the scenario suite, stratified by risk level.

Within each risk level the scenarios are ordered by a salted hash of their id (and the spec's
seed) and cut by the shares, largest remainders first, so every split sees every risk level in
proportion and the same suite always splits the same way. Multi-turn conversations are split like
any other scenario. The optimizer learns from train, compares candidates on dev and never sees
test, which is scored only to report; the split is recorded with every optimization run.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from workbench.scenarios import RISK_LEVELS, Scenario, dataset_hash

SPLITS = ("train", "dev", "test")
SALT = "scenario-split|"


@dataclass(frozen=True)
class ScenarioSplits:
    train: list[Scenario]
    dev: list[Scenario]
    test: list[Scenario]
    seed: int

    def __getitem__(self, name: str) -> list[Scenario]:
        return {"train": self.train, "dev": self.dev, "test": self.test}[name]

    def record(self) -> dict:
        """What is logged with the run: ids per split, their hashes and risk counts."""
        return {
            "rule": "per risk level: order by sha256('scenario-split|<seed>|<id>'), cut by the shares "
            "(largest remainders); workbench.optimize.splits",
            "seed": self.seed,
            **{
                name: {
                    "ids": [s.id for s in self[name]],
                    "dataset_hash": dataset_hash(self[name]),
                    "risk_levels": {level: sum(s.risk_level == level for s in self[name]) for level in RISK_LEVELS},
                }
                for name in SPLITS
            },
        }


def split_scenarios(scenarios: list[Scenario], shares: dict[str, float], seed: int = 0) -> ScenarioSplits:
    """Deterministic stratified split; each split keeps the suite's order."""
    assigned: dict[str, str] = {}
    for level in RISK_LEVELS:
        members = sorted(
            (s for s in scenarios if s.risk_level == level),
            key=lambda s: hashlib.sha256(f"{SALT}{seed}|{s.id}".encode()).hexdigest(),
        )
        for scenario, part in zip(members, _allocation(len(members), shares), strict=True):
            assigned[scenario.id] = part
    parts = {name: [s for s in scenarios if assigned[s.id] == name] for name in SPLITS}
    return ScenarioSplits(parts["train"], parts["dev"], parts["test"], seed)


def _allocation(count: int, shares: dict[str, float]) -> list[str]:
    """`count` labels in the order test, dev, train, sized by largest remainders."""
    order = ("test", "dev", "train")
    exact = {name: count * shares[name] for name in order}
    sizes = {name: math.floor(value) for name, value in exact.items()}
    left = count - sum(sizes.values())
    for name in sorted(order, key=lambda n: (exact[n] - sizes[n], -order.index(n)), reverse=True)[:left]:
        sizes[name] += 1
    return [name for name in order for _ in range(sizes[name])]
