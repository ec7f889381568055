"""The MLflow worker process: registry sync, runs, traces and tables, written while the
main process keeps calling models.

It works through its commands in order (start; then calls to trace and finished groups; then
the run's rows and finish), runs at a lower priority than the model calls, ignores Ctrl-C so
an interrupted run is still logged, and exits if its parent dies.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import struct
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO, Iterator

HEADER = struct.Struct("!I")


def write_frame(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    size = HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def main() -> None:
    """Read commands from stdin until `finish`, or until stdin closes (the caller is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(5)  # logging can wait a moment; the caller's model calls should not
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"  # this process is the background
    commands, results = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # library output must not corrupt the result stream

    class Results:
        @staticmethod
        def put(message: Any) -> None:
            write_frame(results, message)

    serve(commands, Results)
    # Everything is committed; skip the interpreter's teardown, which takes most of a second
    # with MLflow loaded and would hold up the caller waiting for this process to exit.
    sys.stderr.flush()
    os._exit(0)


def serve(commands: BinaryIO, results) -> None:
    writer = None
    for kind, payload in incoming(commands):
        try:
            if kind == "start":
                writer = MlflowWriter(payload, results)
            elif writer is None or writer.failed:
                if kind == "finish":
                    results.put(("done", None, {}, {}))
                    return
            elif kind == "calls":
                writer.calls(payload)
            elif kind == "group":
                writer.group(payload)
            elif kind == "rows":
                writer.all_rows(payload)
            elif kind == "finish":
                writer.finish(payload)
                return
        except Exception as exc:  # keep serving: one failed write must not lose the rest
            results.put(("warning", f"MLflow {kind} failed: {type(exc).__name__}: {exc}\n"
                                    f"{traceback.format_exc(limit=3)}"))
            if kind == "finish":
                results.put(("done", writer.parent_run_id if writer else None,
                             writer.child_run_ids if writer else {}, writer.trace_ids if writer else {}))
                return


def incoming(commands: BinaryIO) -> Iterator[tuple[str, Any]]:
    """Commands in order until the stream ends, read on a thread of their own so that calls
    which arrive while a write is under way are merged and written as one batch."""
    inbox: queue.Queue = queue.Queue()

    def read() -> None:
        while True:
            try:
                message = read_frame(commands)
            except EOFError:
                message = None
            inbox.put(message)
            if message is None:
                return

    threading.Thread(target=read, name="workbench-mlflow-read", daemon=True).start()
    held: list = []  # a message read while merging calls, to be handled next
    while True:
        message = held.pop() if held else inbox.get()
        if message is None:
            return
        while message[0] == "calls":
            try:
                following = inbox.get_nowait()
            except queue.Empty:
                break
            if following is None or following[0] != "calls":
                held.append(following)
                break
            message = ("calls", {key: message[1][key] + following[1][key] for key in ("calls", "rows")})
        yield message


class MlflowWriter:
    def __init__(self, payload: dict, results):
        import mlflow
        from mlflow import MlflowClient

        from workbench.errors import InputError
        from workbench.tracking import use_experiment

        self.mlflow = mlflow
        self.results = results
        self.failed = False
        self.assessments = payload["assessments"]
        self.scorers: list[tuple[str, str]] = payload["scorers"]
        self.tracer = None
        self.trace_ids: dict[int, str] = {}
        self.child_run_ids: dict[str, str] = {}
        self.finished_runs: set[str] = set()
        self.group_tables: list = []
        self.parent_run_id: str | None = None
        mlflow.set_tracking_uri(payload["uri"])
        mlflow.set_registry_uri(payload["uri"])
        if payload["uri"].startswith("sqlite:"):
            use_wal_journal()
        self.client = MlflowClient(payload["uri"])
        try:
            registry = self._sync(payload["families"])
        except InputError as exc:
            self.failed = True
            results.put(("input_error", [p.__dict__ for p in exc.problems]))
            return
        self.experiment_id = use_experiment(payload["experiment"])
        self._create_runs(payload, registry)
        if payload["traces"]:
            from workbench.trace_writer import TraceWriter

            self.tracer = TraceWriter(payload["uri"], self.experiment_id)
        results.put(("started", self.parent_run_id))

    # -- setup ----------------------------------------------------------------------------------
    def _sync(self, families: list[dict]) -> dict[tuple[str, int], int]:
        import datetime as dt
        from pathlib import Path

        from workbench.prompt_registry import sync_family
        from workbench.prompts import PromptFamily, PromptVersion

        mapping = {}
        for data in families:
            versions = {v["version"]: PromptVersion(
                name=data["name"], kind=data["kind"], version=v["version"], template=v["template"],
                sha256=v["sha256"], variables=(), rationale=v["rationale"], date=dt.date.fromisoformat(v["date"]),
                source=Path(data["source"])) for v in data["versions"]}
            family = PromptFamily(data["name"], data["kind"], "", (), {}, versions, Path(data["source"]))
            for local, registry in sync_family(family, self.client).items():
                mapping[(data["name"], local)] = registry
        return mapping

    def _create_runs(self, payload: dict, registry: dict[tuple[str, int], int]) -> None:
        from mlflow.entities import Param, RunTag

        parent = payload["parent"]
        run = self.client.create_run(self.experiment_id, run_name=parent["name"],
                                     tags={**parent["tags"], "mlflow.note.content": parent["note"]})
        self.parent_run_id = run.info.run_id
        self.client.log_batch(self.parent_run_id, params=[Param(k, v) for k, v in parent["params"].items()])
        self.client.log_dict(self.parent_run_id, parent["descriptions"], "metric_descriptions.json")
        self.client.log_text(self.parent_run_id, parent["spec_text"], f"spec/{parent['spec_file']}")
        for group in payload["groups"]:
            params = dict(group["params"])
            for (name, version), prefix in zip(group["prompts"], ("system_prompt", "user_strategy")):
                params[f"{prefix}_registry_version"] = str(registry.get((name, version), ""))
            run = self.client.create_run(self.experiment_id, run_name=group["name"], tags={
                **group["tags"], "mlflow.parentRunId": self.parent_run_id})
            run_id = self.child_run_ids[group["key"]] = run.info.run_id
            self.client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()],
                                  tags=[RunTag("mlflow.note.content", group["note"])])
            for name, version in group["prompts"]:
                if (name, version) in registry:
                    self.client.link_prompt_version_to_run(run_id, f"prompts:/{name}/{registry[(name, version)]}")

    # -- during the run -------------------------------------------------------------------------
    def calls(self, payload: dict) -> None:
        self._trace(payload["calls"], payload["rows"])

    def group(self, payload: dict) -> None:
        """A finished run group (its calls already traced): metrics, per-response table, and
        its child run marked finished."""
        from workbench.metrics import group_metrics
        from workbench.scoring import get_scorers

        run_id = self.child_run_ids[payload["key"]]
        table = self._responses_table(payload["rows"])
        self.group_tables.append(table)
        metrics = group_metrics(table, get_scorers([name for name, _ in self.scorers]))
        self.client.log_batch(run_id, metrics=_metrics(metrics))
        self.mlflow.log_table(table, artifact_file="responses.json", run_id=run_id)
        self.client.set_terminated(run_id, status="FINISHED")
        self.finished_runs.add(run_id)

    def _trace(self, calls: list[dict], rows: list[dict]) -> None:
        if self.tracer is None or not calls:
            return
        by_index = {row["cell_index"]: row for row in rows}
        try:
            for call in calls:
                self.trace_ids[call["index"]] = self.tracer.add(
                    call, self.child_run_ids[call["group"]], self._assessments(by_index.get(call["index"], {})))
        finally:
            self.tracer.flush()

    def _assessments(self, row: dict) -> list:
        """Each score as an assessment on its call's trace, so the UI shows it per reply."""
        import math

        from mlflow.entities import AssessmentSource, Feedback

        if not self.assessments:
            return []
        out = []
        for name, backend in self.scorers:
            value = row.get(name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            out.append(Feedback(name=name, value=float(value), rationale=str(row.get(f"{name}_evidence", ""))[:5000],
                                source=AssessmentSource(source_type="LLM_JUDGE" if backend == "judge" else "CODE",
                                                        source_id=f"workbench.{backend}")))
        return out

    def _responses_table(self, rows: list[dict[str, Any]]):
        """Rows as logged: with their trace ids, and message lists as JSON text."""
        from workbench.results import loggable, responses_frame

        for row in rows:
            row["trace_id"] = self.trace_ids.get(row["cell_index"])
        return loggable(responses_frame(rows))

    def all_rows(self, payload: dict) -> None:
        """The parent run's table of every response: the groups' tables and the rows of groups
        that never finished (their calls traced first)."""
        import pandas as pd

        self._trace(payload["calls"], payload["rows"])
        tables = [*self.group_tables, self._responses_table(payload["rows"])] if payload["rows"] else self.group_tables
        if tables:
            table = pd.concat(tables, ignore_index=True).sort_values("cell_index", ignore_index=True)
            self.mlflow.log_table(table, artifact_file="responses.json", run_id=self.parent_run_id)

    def finish(self, payload: dict) -> None:
        import pandas as pd

        parent = self.parent_run_id
        self.client.log_batch(parent, metrics=_metrics(payload["metrics"]))
        if payload["summary"]:
            self.mlflow.log_table(pd.DataFrame(payload["summary"]), artifact_file="summary.json", run_id=parent)
        for run_id in [*self.child_run_ids.values(), parent]:
            if run_id not in self.finished_runs:
                self.client.set_terminated(run_id, status=payload["status"])
        self.results.put(("done", parent, dict(self.child_run_ids), dict(self.trace_ids)))


def use_wal_journal() -> None:
    """SQLite stores in WAL mode with normal syncing: a commit no longer waits on a rollback
    journal (most of the cost of MLflow's many small transactions), and the UI can read
    while a run writes. The mode is kept in the database file."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _journal(connection, _record) -> None:
        if type(connection).__module__.startswith("sqlite3"):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def _metrics(values: dict[str, float]) -> list:
    import math

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None and not math.isnan(v)]


if __name__ == "__main__":
    main()
