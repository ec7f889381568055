"""Bundled model throughput: tokens/s through the workbench vs raw xllamacpp on the same prompts.

Raw: the quickstart's exact message lists sent straight to `xllamacpp.Server.handle_chat_completions`
from as many threads as the server has slots. Workbench: `run_experiment` on the same spec with
the cache off (LangChain pipeline over loopback HTTP, tracking on). Both use the same server
settings (slots, threads, context) and decoding; tokens/s is completion tokens over the seconds
spent generating (model loading excluded from both).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from _project import scratch_project


def raw_tokens_per_second(plan, slots: int) -> tuple[int, float]:
    import xllamacpp

    from workbench.models.local import bundled_model_path
    from workbench.responses import prepare

    decoding = plan.decoding(plan.models[0])
    params = xllamacpp.CommonParams()
    params.model.path = str(bundled_model_path("smollm2-135m"))
    params.n_parallel, params.n_ctx = slots, slots * 2048
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = __import__("os").cpu_count() or 2
    params.verbosity, params.ui = -1, False
    server = xllamacpp.Server(params)
    messages = [r.messages for r in prepare(plan)]

    def call(m):
        reply = server.handle_chat_completions({"messages": m, "max_tokens": decoding.max_tokens,
                                                "temperature": decoding.temperature, "seed": decoding.seed})
        return reply["usage"]["completion_tokens"]

    started = time.perf_counter()
    with ThreadPoolExecutor(slots) as pool:
        tokens = sum(pool.map(call, messages))
    seconds = time.perf_counter() - started
    del server
    return tokens, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strategies", nargs="+", default=["plain@1"],
                        help="user strategies to include (default: plain only, 40 calls)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with scratch_project() as root:
        from workbench import run_experiment
        from workbench.plan import build_plan

        spec = root / "experiments" / "quickstart.yaml"
        overrides = {"user_strategies": args.strategies}
        plan = build_plan(spec, overrides=overrides)
        slots = plan.concurrency(plan.models[0])
        print(f"{len(plan.cells)} calls, max_tokens {plan.spec.decoding.max_tokens}, {slots} slots")
        ratios = []
        for round_ in range(1, args.rounds + 1):
            raw_tokens, raw_seconds = raw_tokens_per_second(plan, slots)
            result = run_experiment(spec, use_cache=False, overrides=overrides)
            wb_tokens = int(result.df["output_tokens"].sum())
            wb_seconds = result.stats.generation_seconds
            raw_rate, wb_rate = raw_tokens / raw_seconds, wb_tokens / wb_seconds
            ratios.append(wb_rate / raw_rate)
            print(f"round {round_}: raw {raw_tokens} tokens in {raw_seconds:.1f} s = {raw_rate:.1f} tok/s | "
                  f"workbench {wb_tokens} tokens in {wb_seconds:.1f} s = {wb_rate:.1f} tok/s | "
                  f"ratio {wb_rate / raw_rate:.3f}")
        print(f"mean ratio {sum(ratios) / len(ratios):.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
