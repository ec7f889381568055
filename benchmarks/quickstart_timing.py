"""`make demo` on a fresh clone, then a cached re-run of the quickstart.

Clones the committed repository into a temporary folder, times `make demo` (venv, install,
offline model, 120-reply quickstart), reads the quickstart's own timing from its output, then
times a second `workbench run` that should be served entirely from the cache.
Packages come from pip's cache if this machine has downloaded them before.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout + done.stderr


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="workbench-demo-") as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        demo_seconds, output = timed(["make", "demo"], clone)
        run = re.search(r"(\d+) replies: (\d+) from cache, (\d+) model calls .*?, ([\d.]+) s", output)
        print(f"make demo (fresh clone): {demo_seconds:.1f} s")
        if run:
            print(f"  quickstart run inside it: {run[4]} s for {run[1]} replies ({run[3]} model calls)")
        rerun_seconds, output = timed([".venv/bin/workbench", "run", "experiments/quickstart.yaml"], clone)
        again = re.search(r"(\d+) replies: (\d+) from cache, (\d+) model calls", output)
        print(f"cached re-run: {rerun_seconds:.1f} s wall, {again[3] if again else '?'} model calls")


if __name__ == "__main__":
    main()
