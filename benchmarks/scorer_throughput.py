"""Scorer throughput, replies per second with every metric and its evidence, for both offline
back-ends, on two sets of replies in their conversations:

- gold v1: 377 short replies (47 words on average) to the scenario suite;
- gold v2: about 1,000 replies of every style (long LLM answers with markdown, short peer
  messages), about 120 words on average.

Targets: the fast (pattern) back-end at least 2,000 replies/s, the learned back-end at least 200
replies/s, both on this 2-core machine. The learned back-end reads replies in batches of 128, as
`workbench score` and runs do. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from workbench.scoring import get_scorers
from workbench.scoring.engine import build_engine
from workbench.scoring.gold import load_gold, load_gold_v2

REPO = Path(__file__).resolve().parents[1]
BATCH = 128


def rate(score_all: Callable[[Sequence], object], items: Sequence, rounds: int = 3) -> float:
    score_all(items)  # warm-up: compile patterns, load the version and the embedding table
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        score_all(items)
        rates.append(len(items) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    v1 = [
        item
        for gold, item in load_gold(
            REPO / "experiments" / "gold" / "replies.yaml", [REPO / "experiments" / "scenarios"]
        )
        if gold.language == "en"
    ]
    v2 = [example.item for example in load_gold_v2(REPO / "experiments" / "gold" / "v2").examples]
    scorers = get_scorers(None)
    fast = build_engine(scorers, {s.name: "fast" for s in scorers})
    learned = build_engine(scorers, {})

    def fast_all(items: Sequence) -> None:
        for item in items:
            fast.score(item)

    def learned_all(items: Sequence) -> None:
        for start in range(0, len(items), BATCH):
            learned.score_many(items[start : start + BATCH])

    print(f"{len(scorers)} metrics with evidence, replies per second")
    for name, items in (("gold v1", v1), ("gold v2", v2)):
        words = statistics.mean(len(i.reply.split()) for i in items)
        print(f"{name}: {len(items)} replies, {words:.0f} words on average")
        print(f"  fast back-end:    {rate(fast_all, items):7.0f} replies/s (target >= 2000)")
        print(f"  learned back-end: {rate(learned_all, items):7.0f} replies/s (target >= 200)")


if __name__ == "__main__":
    main()
