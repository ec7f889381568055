"""`make demo` on a fresh clone, then a cached re-run of the quickstart.

Clones the committed repository into a temporary folder, times `make demo` (venv, install,
offline model, 120-reply quickstart), reads the quickstart's own timing from its output, then
times a second `workbench run` that should be served entirely from the cache and log nothing new
(wall time, from the command's start to its exit). The sentence-embedding table is distilled
afresh, as on a new machine. Prints each figure with its target: `make demo`
under 5 minutes, the cached re-run at least 50 times faster than the first run. Packages come
from pip's cache if this machine has downloaded them before. The load average is printed beside
each figure: on a shared machine it explains much of the spread.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"(\d+) replies: (\d+) from cache, (\d+) model calls .*?, ([\d.]+) s")


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout + done.stderr


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="workbench-demo-") as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        # As on a fresh machine: the sentence-embedding table is distilled again, not read from ~/.cache.
        env = {**os.environ, "WORKBENCH_EMBEDDINGS_DIR": str(Path(folder) / "embeddings")}
        demo_seconds, output = timed(["make", "demo"], clone, env)
        print(f"make demo (fresh clone): {demo_seconds:.1f} s (target: under 300 s; {load()})")
        first = SUMMARY.search(output)
        first_seconds = float(first[4]) if first else float("nan")
        if first:
            print(f"  quickstart run inside it: {first_seconds:.1f} s for {first[1]} replies ({first[3]} model calls)")
        rerun_seconds, output = timed([".venv/bin/workbench", "run", "experiments/quickstart.yaml"], clone, env)
        again = SUMMARY.search(output)
        logged = "nothing new logged" if "Nothing new to log" in output else "logged again"
        print(
            f"cached re-run: {rerun_seconds:.2f} s wall, {again[3] if again else '?'} model calls, {logged} ({load()})"
        )
        print(
            f"speed-up: first run {first_seconds:.1f} s / cached re-run {rerun_seconds:.2f} s = "
            f"{first_seconds / rerun_seconds:.0f}x (target: at least 50x)"
        )


if __name__ == "__main__":
    main()
