"""Offline scorer throughput: replies per second on the gold set's replies (377 replies of
0-270 words, in their conversations), for the item analysis alone and for all nine metrics.
The target is at least 2,000 replies/s on one core."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from workbench.scoring import get_scorers, offline
from workbench.scoring.engine import ScoringEngine
from workbench.scoring.gold import load_gold

REPO = Path(__file__).resolve().parents[1]


def rate(fn, items, rounds: int = 5) -> float:
    for item in items:  # warm-up: compile patterns, fill caches
        fn(item)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            fn(item)
        rates.append(len(items) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    items = [
        item
        for _, item in load_gold(REPO / "experiments" / "gold" / "replies.yaml", [REPO / "experiments" / "scenarios"])
    ]
    words = statistics.mean(len(i.reply.split()) for i in items)
    engine = ScoringEngine(get_scorers(None))
    print(f"{len(items)} replies, {words:.0f} words on average")
    print(f"item analysis (30 items):       {rate(offline.analyse, items):7.0f} replies/s")
    print(f"all nine metrics with evidence: {rate(engine.score, items):7.0f} replies/s (target >= 2000)")


if __name__ == "__main__":
    main()
