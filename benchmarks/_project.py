"""Shared set-up for benchmarks: a throwaway copy of the project's prompts and scenarios with
its own MLflow store and cache, so measurements never touch the repository's mlruns/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def scratch_project():
    with tempfile.TemporaryDirectory(prefix="workbench-bench-") as folder:
        root = Path(folder)
        shutil.copytree(REPO / "prompts", root / "prompts")
        shutil.copytree(REPO / "experiments", root / "experiments")
        previous = {k: os.environ.get(k) for k in ("WORKBENCH_CACHE_PATH", "MLFLOW_TRACKING_URI")}
        os.environ["WORKBENCH_CACHE_PATH"] = str(root / ".workbench" / "responses.sqlite3")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(cwd)
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextmanager
def loopback_endpoint(latency_s: float, reply: str):
    """A scripted OpenAI-compatible server in its own process (so it does not share our CPU)."""
    code = (
        "import sys, time\nfrom workbench.testing.loopback import LoopbackServer, fixed\n"
        f"with LoopbackServer(fixed({reply!r}, delay_s={latency_s})) as s:\n"
        "    print(s.base_url, flush=True)\n    sys.stdin.read()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=10)
