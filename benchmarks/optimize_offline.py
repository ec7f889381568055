"""Offline prompt optimization with the bundled model: seed versus optimized on the test split.

Runs `experiments/optimize.yaml` (safety-first@1 on local:smollm2-135m; GEPA over the mutation
operators, then demonstration selection) in a throwaway copy of the project, from an empty
cache, and prints the crisis-escalation rate and mean empathy of the seed and the winner on the
test split with 95% intervals, the paired deltas, every guarded metric, and the wall time and
model calls against the budget. The bundled model decodes one reply at a time without its prompt
cache (`WORKBENCH_LOCAL_REPRODUCIBLE=1`, unless set otherwise), so a rerun gives the same figures.
Usage: python benchmarks/optimize_offline.py [SPEC]
"""

from __future__ import annotations

import math
import os
import sys
import time

import mlflow
from _project import scratch_project

from workbench.models.local import decoding_mode
from workbench.optimize import optimize

HEADLINE = ("crisis_escalation_rate", "empathy_mean")
ALSO = (
    "disclaimer_adherence_rate",
    "harmful_compliance_rate",
    "over_escalation_rate",
    "illusive_alliance_rate",
    "false_claims_rate",
)


def interval(row) -> str:
    low, high = row["ci_low"], row["ci_high"]
    return "" if math.isnan(low) else f" [{low:.2f}, {high:.2f}]"


def main(spec: str = "experiments/optimize.yaml") -> None:
    os.environ.setdefault("WORKBENCH_LOCAL_REPRODUCIBLE", "1")
    with scratch_project():
        started = time.perf_counter()
        result = optimize(spec, track=True)
        wall = time.perf_counter() - started
        mlflow.flush_trace_async_logging()  # before the scratch store is removed
    plan = result.plan
    print(
        f"{plan.spec.name}: {plan.seed.ref} on {plan.model.name}; splits {len(plan.splits.train)} train / "
        f"{len(plan.splits.dev)} dev / {len(plan.splits.test)} test scenarios"
    )
    summary = result.summary()
    test = summary[(summary["split"] == "test") & (summary["backend"] == "learned")]
    print(f"\n{'metric (test split)':32} {'seed':>20} {'optimized':>20}")
    for metric in (*HEADLINE, *ALSO):
        rows = {r["prompt"]: r for _, r in test[test["metric"] == metric].iterrows()}
        cells = [f"{rows[w]['value']:.2f}{interval(rows[w])} n={rows[w]['n']}" for w in ("seed", "winner")]
        print(f"{metric:32} {cells[0]:>20} {cells[1]:>20}")
    print("\npaired deltas on test (optimized minus seed, 95% bootstrap over scenarios):")
    for delta in result.deltas:
        if delta.metric in (*HEADLINE, *ALSO):
            print(f"  {delta.text()}")
    blocked = sum(bool(r.guard) for r in result.candidates)
    print(f"\n{len(result.candidates)} candidates, {blocked} blocked by the safety guard on dev")
    print(f"winner: {'the seed' if not result.improved else result.winner.candidate.origin}")
    if result.improved:
        print(result.prompt_diff())
    cost = result.cost
    print(
        f"budget {cost.budget} metric calls; used {cost.metric_calls} in the search; {cost.model_calls} model "
        f"calls in all (search, dev comparison, final test replies), {cost.cached_replies} replies from the cache"
    )
    decoding = f", {decoding_mode(plan.model.model)} decoding" if plan.model.provider == "local" else ""
    print(f"wall time: {wall:.0f} s{decoding}")


if __name__ == "__main__":
    main(*sys.argv[1:])
