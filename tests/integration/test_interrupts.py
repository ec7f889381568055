"""A run interrupted part-way loses nothing: kill -9, Ctrl-C and SIGTERM all resume from the
cache; Ctrl-C and SIGTERM still log what finished (runs marked KILLED); a second interrupt stops
at once without a traceback; a re-run after a hard kill closes the runs left open and traces
what was never traced; and two runs of one spec at once call each cell once and both log."""

from __future__ import annotations

import json
import os
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


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def runs(project: Path, level: str | None = None) -> list:
    client = MlflowClient(tracking_uri(project))
    experiment = client.get_experiment_by_name("test-spec")
    if experiment is None:
        return []
    where = f"tags.`workbench.level` = '{level}'" if level else ""
    return client.search_runs([experiment.experiment_id], filter_string=where, max_results=1000)


def traces(project: Path) -> list:
    client = MlflowClient(tracking_uri(project))
    return client.search_traces(locations=[client.get_experiment_by_name("test-spec").experiment_id])


def test_kill_9_resumes_where_it_stopped(project, slow_spec):
    """The worker outlives its caller long enough to write what it received and mark the runs
    KILLED; the re-run calls only what is missing and traces each call once."""
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.3)) as server:
        spec = slow_spec(server)
        process = start_run(project, spec)
        wait_for_cache(project, 4)
        worker = children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        saved = cached(project)
        assert 4 <= saved < CELLS
        for pid in worker:
            wait_gone(pid)
        assert "RUNNING" not in {r.info.status for r in runs(project)}, "nothing is left RUNNING"
        assert runs(project, "invocation")[0].info.status == "KILLED"
        result = run_experiment(spec)
    assert result.stats.calls == CELLS - saved
    assert result.stats.cached == saved
    assert len(result.df) == CELLS and result.df["error"].isna().all()
    assert len(traces(project)) == CELLS, "every call traced once: none lost, none twice"


def test_a_rerun_after_a_hard_kill_closes_stale_runs_and_traces_what_was_not(project, slow_spec):
    """Caller and worker both killed (an OOM kill, a closed terminal): the runs stay RUNNING and
    some cached replies were never traced. Running the same command again makes MLflow whole."""
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.3)) as server:
        spec = slow_spec(server)
        process = start_run(project, spec)
        wait_for_cache(project, 6)
        for pid in children(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        saved = cached(project)
        stale = [r.info.run_id for r in runs(project) if r.info.status == "RUNNING"]
        assert stale, "the hard kill left runs RUNNING"
        result = run_experiment(spec)
    client = MlflowClient(tracking_uri(project))
    assert {client.get_run(run_id).info.status for run_id in stale} == {"KILLED"}
    assert not [r for r in runs(project) if r.info.status == "RUNNING"]
    assert result.stats.calls == CELLS - saved
    assert len(traces(project)) == CELLS, "the cached replies never traced are traced now, the others not again"
    assert result.df["trace_id"].notna().all()


def test_sigterm_is_handled_like_ctrl_c(project, slow_spec):
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.3)) as server:
        process = start_run(project, slow_spec(server))
        wait_for_cache(project, 4)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "Interrupted" in output and "Traceback" not in output
    parent = runs(project, "invocation")[0]
    assert parent.info.status == "KILLED" and parent.data.metrics["n_responses"] == cached(project)


def test_a_second_interrupt_stops_at_once_without_a_traceback(project, slow_spec):
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.3)) as server:
        spec = slow_spec(server)
        process = start_run(project, spec)
        wait_for_cache(project, 4)
        worker = children(process.pid)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 130, output
        assert "Traceback" not in output and "Error" not in output, output
        assert "Stopped at once" in output or "Interrupted" in output
        for pid in worker:
            wait_gone(pid)
        assert not [r for r in runs(project) if r.info.status == "RUNNING"]
        result = run_experiment(spec)
    assert len(result.df) == CELLS and len(traces(project)) == CELLS


def test_two_runs_of_one_spec_at_once_call_each_cell_once_and_both_log(project, slow_spec):
    """On a new store and an empty cache: the cells are shared out through leases in the cache,
    the store is created once under a lock, and both runs are logged in full."""
    with LoopbackServer(fixed("Take a breath with me.", delay_s=0.2)) as server:
        spec = slow_spec(server)
        first, second = start_run(project, spec), start_run(project, spec)
        outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
        assert [first.returncode, second.returncode] == [0, 0], outputs
        assert len(server.requests) == CELLS, "no cell was called twice"
    assert not any("warning" in o.lower() or "Traceback" in o for o in outputs), outputs
    parents = runs(project, "invocation")
    assert len(parents) == 2 and {r.info.status for r in runs(project)} == {"FINISHED"}
    client = MlflowClient(tracking_uri(project))
    for parent in parents:
        table = json.loads(Path(client.download_artifacts(parent.info.run_id, "responses.json")).read_text())
        assert len(table["data"]) == CELLS
    assert len(traces(project)) == CELLS, "each call traced once, by the run that made it"


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
