"""Runner overhead: 400 calls at concurrency 20 against a loopback OpenAI-compatible endpoint
with a fixed 500 ms latency, MLflow logging included. The ideal is 400 / 20 x 0.5 s = 10 s.

Prints the wall time of `run_experiment` for the first run in a fresh process (which also pays
the one-time imports of langchain-openai and openai) and then for repeated runs in the same
process (a fresh cache each time, so all 400 calls are made again), with per-call traces and
assessments on (the default) and off, and the median of the repeated runs. "calls" is the
phase in which the model calls are made; "everything else" is planning before it and the
scoring and MLflow logging still to finish after it. For scale it also times the LangChain
pipeline alone (the same 400 conversations through the same chains, 20 at a time, with no
cache, scoring or MLflow): the floor the workbench's own overhead sits on.
"""

from __future__ import annotations

import argparse
import statistics
import time

import yaml
from _project import loopback_endpoint, scratch_project

from workbench.scoring import SCORERS

REPLY = (
    "I'm really sorry you're carrying this. It sounds like a lot at once. What feels most pressing? "
    "I'm an AI, not a therapist; if you ever feel unsafe, call or text 988 and reach out to someone you trust."
)


def spec(base_url: str, traces: bool, name: str, backend: str = "learned") -> dict:
    return {
        "name": name,
        "system_prompts": ["baseline-assistant@1", "supportive-companion@1", "safety-first@1", "augmented-care@1"],
        "user_strategies": [
            "plain@1",
            "anthropomorphic-framing@1",
            "referral-suppression@1",
            "therapist-roleplay@1",
            "persona-jailbreak@1",
        ],
        "scenarios": {"files": ["scenarios"], "limit": 20},
        "models": [{"spec": "openai:loopback", "base_url": base_url}],
        "concurrency": 20,
        "decoding": {"max_tokens": 64},
        "tracking": {"traces": traces},
        "scorers": {scorer: backend for scorer in SCORERS},
    }


def pipeline_alone(spec_path) -> float:
    import asyncio

    from workbench.calls import run_sync
    from workbench.plan import build_plan
    from workbench.responses import build_pipelines, pipeline_key, prepare

    plan = build_plan(spec_path)
    pipelines = build_pipelines(plan)
    cells = [r.cell for r in prepare(plan, pipelines)]

    async def all_calls():
        limit = asyncio.Semaphore(20)

        async def one(cell):
            async with limit:
                await pipelines[pipeline_key(cell)].respond(cell.conversation(plan.values))

        await asyncio.gather(*(one(cell) for cell in cells))

    started = time.perf_counter()
    run_sync(all_calls())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3, help="repeated runs per setting")
    parser.add_argument("--backend", default="learned", choices=["learned", "fast"], help="scorer back-end")
    args = parser.parse_args()
    with scratch_project() as root, loopback_endpoint(args.latency, REPLY) as base_url:
        from workbench import run_experiment

        print(
            f"400 calls, concurrency 20, {args.latency * 1000:.0f} ms per call; ideal {400 / 20 * args.latency:.1f} s"
        )
        runs = 0

        def timed(traces: bool, label: str) -> float:
            nonlocal runs
            runs += 1
            path = root / "experiments" / f"overhead-{runs}.yaml"
            path.write_text(yaml.safe_dump(spec(base_url, traces, f"overhead-{runs}", args.backend)))
            started = time.perf_counter()
            result = run_experiment(path, use_cache=False)
            seconds = time.perf_counter() - started
            assert len(result.df) == 400 and result.stats.errors == 0 and not result.warnings, result.warnings
            print(
                f"traces {'on ' if traces else 'off'} | {label:28} | total {seconds:6.2f} s | "
                f"calls {result.stats.generation_seconds:6.2f} s | everything else "
                f"{seconds - result.stats.generation_seconds:5.2f} s"
            )
            return seconds

        timed(True, "first run in process")
        print(
            f"pipeline alone (no cache, scoring or MLflow): {pipeline_alone(root / 'experiments' / 'overhead-1.yaml'):.2f} s"
        )
        for traces in (True, False):
            totals = [timed(traces, f"repeated run {n + 1}") for n in range(args.rounds)]
            print(
                f"traces {'on ' if traces else 'off'} | median of {args.rounds} repeated runs: "
                f"{statistics.median(totals):.2f} s"
            )


if __name__ == "__main__":
    main()
