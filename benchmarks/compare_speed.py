"""`compare` over 20 runs x about 500 responses each: reading the runs and their per-response tables
from MLflow, every metric's scenario-clustered interval, every paired test with its interval and
correction (target: under 10 s on this 2-core machine), then the four plots and the HTML report.

Set-up (not timed): a scratch project runs 4 system prompts x 5 user strategies over the 99
scenarios with 5 repeats (9,900 replies) against a scripted model on loopback, scored by the
default learned back-end and logged to its own MLflow store. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import scratch_project

from workbench import run_experiment
from workbench.analysis import RunSelection, compare, load_runs
from workbench.scenarios import load_scenarios
from workbench.testing.careful_model import careful_script
from workbench.testing.loopback import LoopbackServer

SPEC = {
    "name": "compare-speed",
    "system_prompts": ["baseline-assistant@1", "supportive-companion@1", "safety-first@1", "augmented-care@1"],
    "user_strategies": [
        "plain@1",
        "anthropomorphic-framing@1",
        "referral-suppression@1",
        "therapist-roleplay@1",
        "emotional-dependence@1",
    ],
    "scenarios": {"files": ["scenarios"]},
    "repeats": 5,
    "locale": "US",
    "concurrency": 32,
    "tracking": {"traces": False},
}


def main() -> None:
    with scratch_project() as root:
        scenarios = load_scenarios([root / "experiments" / "scenarios"])
        with LoopbackServer(careful_script(scenarios)) as server:
            spec = {**SPEC, "models": [{"spec": "openai:scripted", "base_url": server.base_url, "label": "scripted"}]}
            path = root / "experiments" / "compare-speed.yaml"
            path.write_text(yaml.safe_dump(spec), encoding="utf-8")
            started = time.perf_counter()
            result = run_experiment(path)
            print(
                f"set-up: {len(result.frame)} replies in {len(result.child_run_ids)} runs, {time.perf_counter() - started:.0f} s"
            )
        selection = RunSelection(experiments=("compare-speed",))
        loads, compares, reports = [], [], []
        for _ in range(3):
            started = time.perf_counter()
            runs = load_runs(selection)
            loads.append(time.perf_counter() - started)
            started = time.perf_counter()
            comparison = compare(runs, by="system_prompt")
            compares.append(time.perf_counter() - started + loads[-1])
            started = time.perf_counter()
            comparison.to_html(root / "report.html")
            reports.append(time.perf_counter() - started)
        print(
            f"compared {len(comparison.runs.runs)} runs x {len(comparison.runs.responses) / len(comparison.runs.runs):.0f} "
            f"responses: {len(comparison.estimates)} estimates, {len(comparison.pairs)} paired tests"
        )
        print(f"read runs and tables from MLflow: median {statistics.median(loads):.2f} s")
        print(
            f"compare (read + intervals + paired tests + correction): median {statistics.median(compares):.2f} s (target < 10 s)"
        )
        print(f"plots + self-contained HTML report: median {statistics.median(reports):.2f} s")


if __name__ == "__main__":
    main()
