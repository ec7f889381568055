"""A run interrupted part-way loses nothing: kill -9 and Ctrl-C both resume from the cache,
and Ctrl-C still logs what finished (runs marked KILLED)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from workbench import run_experiment
from workbench.testing.loopback import LoopbackServer, fixed
from workbench.tracking import tracking_uri

pytestmark = pytest.mark.integration
CELLS = 16


def cached(project: Path) -> int:
    path = project / ".workbench" / "responses.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def start_run(project: Path, spec: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "run", str(spec), "--quiet"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_cache(project: Path, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while cached(project) < at_least:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


@pytest.fixture
def slow_spec(project, spec_writer):
    def make(server):
        return spec_writer(
            models=[{"spec": "openai:loopback", "base_url": server.base_url}],
            concurrency=2,
            system_prompts=["baseline-assistant@1", "safety-first@1"],
            user_strategies=["plain@1", "anthropomorphic-framing@1"],
            scenarios={"files": ["scenarios"], "ids": ["exam-week-overwhelm", "car-park-roof-midnight"]},
            repeats=2,
        )

    return make


def test_kill_9_resumes_where_it_stopped(project, slow_spec):
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.3)) as server:
        spec = slow_spec(server)
        process = start_run(project, spec)
        wait_for_cache(project, 4)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        saved = cached(project)
        assert 4 <= saved < CELLS
        result = run_experiment(spec)
    assert result.stats.calls == CELLS - saved
    assert result.stats.cached == saved
    assert len(result.df) == CELLS and result.df["error"].isna().all()


def test_ctrl_c_logs_what_finished_and_resumes(project, slow_spec):
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.3)) as server:
        spec = slow_spec(server)
        process = start_run(project, spec)
        wait_for_cache(project, 4)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 130, output
        assert "Interrupted" in output and "Traceback" not in output
        saved = cached(project)
        client = MlflowClient(tracking_uri(project))
        runs = client.search_runs(
            [client.get_experiment_by_name("test-spec").experiment_id],
            filter_string="tags.`workbench.level` = 'invocation'",
        )
        assert runs[0].info.status == "KILLED"
        assert runs[0].data.metrics["n_responses"] == saved
        traces = client.search_traces(locations=[runs[0].info.experiment_id])
        assert len(traces) == saved, "every finished call is traced, in finished groups or not"
        table = json.loads(Path(client.download_artifacts(runs[0].info.run_id, "responses.json")).read_text())
        assert len(table["data"]) == saved
        result = run_experiment(spec)
    assert result.stats.calls == CELLS - saved
    assert len(result.df) == CELLS
