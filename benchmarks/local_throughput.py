"""Bundled model throughput: tokens/s through the workbench vs raw xllamacpp on the same prompts.

Raw: the quickstart's exact message lists sent straight to `xllamacpp.Server.handle_chat_completions`
from as many threads as the server has slots. Workbench: `run_experiment` on the same spec with
the cache off (LangChain pipeline over loopback HTTP, tracking on). Both use the same server
settings (slots, threads, context) and decoding; tokens/s is completion tokens over the seconds
spent generating (model loading excluded from both). Rounds alternate which side goes first,
and the pooled ratio (all tokens over all seconds, per side) is reported beside each round's:
on 2 shared cores a single round varies by about 10%.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from _project import scratch_project


def raw_tokens_per_second(plan, slots: int) -> tuple[int, float]:
    import xllamacpp

    from workbench.models.local import bundled_model_path, sizing
    from workbench.responses import build_pipelines, prepare

    decoding = plan.decoding(plan.models[0])
    params = xllamacpp.CommonParams()
    params.model.path = str(bundled_model_path("smollm2-135m"))
    params.n_parallel, params.n_ctx = slots, slots * 2048
    for cpu in (params.cpuparams, params.cpuparams_batch):  # the same sizing as the workbench's server
        cpu.n_threads, cpu.poll = sizing().threads, 0
    params.verbosity, params.ui = -1, False
    server = xllamacpp.Server(params)
    messages = [r.messages for r in prepare(plan, build_pipelines(plan))]

    def call(m):
        reply = server.handle_chat_completions(
            {
                "messages": m,
                "max_tokens": decoding.max_tokens,
                "temperature": decoding.temperature,
                "seed": decoding.seed,
            }
        )
        return reply["usage"]["completion_tokens"]

    started = time.perf_counter()
    with ThreadPoolExecutor(slots) as pool:
        tokens = sum(pool.map(call, messages))
    seconds = time.perf_counter() - started
    server = None  # free the model before the workbench loads its own
    return tokens, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=["plain@1"],
        help="user strategies to include (default: plain only, 40 calls)",
    )
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with scratch_project() as root:
        from workbench import run_experiment
        from workbench.plan import build_plan

        spec = root / "experiments" / "quickstart.yaml"
        overrides = {"user_strategies": args.strategies}
        plan = build_plan(spec, overrides=overrides)
        slots = plan.concurrency(plan.models[0])
        print(f"{len(plan.cells)} calls, max_tokens {plan.spec.decoding.max_tokens}, {slots} slots")
        totals = {"raw": [0, 0.0], "workbench": [0, 0.0]}

        def raw() -> tuple[int, float]:
            return raw_tokens_per_second(plan, slots)

        def workbench() -> tuple[int, float]:
            result = run_experiment(spec, use_cache=False, overrides=overrides)
            return int(result.df["output_tokens"].sum()), result.stats.generation_seconds

        for round_ in range(1, args.rounds + 1):
            order = [("raw", raw), ("workbench", workbench)]
            measured = dict((name, run()) for name, run in (order if round_ % 2 else order[::-1]))
            for name, (tokens, seconds) in measured.items():
                totals[name][0] += tokens
                totals[name][1] += seconds
            (raw_tokens, raw_seconds), (wb_tokens, wb_seconds) = measured["raw"], measured["workbench"]
            raw_rate, wb_rate = raw_tokens / raw_seconds, wb_tokens / wb_seconds
            print(
                f"round {round_} ({'raw' if round_ % 2 else 'workbench'} first): raw {raw_tokens} tokens in "
                f"{raw_seconds:.1f} s = {raw_rate:.1f} tok/s | workbench {wb_tokens} tokens in {wb_seconds:.1f} s "
                f"= {wb_rate:.1f} tok/s | ratio {wb_rate / raw_rate:.3f}"
            )
        raw_rate = totals["raw"][0] / totals["raw"][1]
        wb_rate = totals["workbench"][0] / totals["workbench"][1]
        print(
            f"pooled: raw {raw_rate:.1f} tok/s, workbench {wb_rate:.1f} tok/s, ratio {wb_rate / raw_rate:.3f} "
            f"(target >= 0.95)"
        )


if __name__ == "__main__":
    main()
