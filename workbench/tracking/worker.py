"""The MLflow worker process: registry sync, runs, traces and tables, written while the main
process keeps calling models (`python -m workbench.tracking.worker`).

It works through its commands in order (see `protocol`), runs at a lower priority than the model
calls, ignores Ctrl-C so an interrupted run is still logged, and exits when its input ends. If the
input ends without `Finish` (the caller was killed), it still writes what it received and marks
its runs KILLED, so nothing is left RUNNING. Calls that arrive while a write is under way are
merged into one batch.

Setting up (creating the store, the experiment, the prompt versions) happens under a file lock,
because two runs may start on a new store at once; then runs left RUNNING by processes that no
longer exist are marked KILLED.
"""

from __future__ import annotations

import math
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any, BinaryIO, Protocol

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import AssessmentSource, Feedback, Metric, Param, RunTag

from workbench.errors import InputError
from workbench.prompts.library import PromptFamily
from workbench.prompts.mlflow_registry import sync_family
from workbench.response_table import loggable, responses_frame
from workbench.scoring.metrics import group_metrics
from workbench.scoring.registry import get_scorers
from workbench.tracking.ledger import Ledger, LoggedRun, prompt_versions
from workbench.tracking.protocol import (
    AllRows,
    CallRecord,
    Calls,
    Command,
    Done,
    Finish,
    GroupDone,
    InputProblems,
    Row,
    Start,
    Started,
    WorkerWarning,
    read_frame,
    write_frame,
)
from workbench.tracking.store import setup_lock, use_experiment, use_wal_journal
from workbench.tracking.traces import TraceWriter


class Answers(Protocol):
    def put(self, message: Any) -> None: ...


def main() -> None:
    """Read commands from stdin until `Finish`, or until stdin closes (the caller is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(5)  # logging can wait a moment; the caller's model calls should not
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"  # this process is the background
    commands, results = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # library output must not corrupt the result stream

    class Results:
        gone = False

        @classmethod
        def put(cls, message: Any) -> None:
            if cls.gone:
                return
            try:
                write_frame(results, message)
            except OSError:  # the caller is gone (killed): keep writing to MLflow, stop answering
                cls.gone = True

    serve(commands, Results())
    # Everything is committed; skip the interpreter's teardown, which takes most of a second
    # with MLflow loaded and would hold up the caller waiting for this process to exit.
    sys.stderr.flush()
    os._exit(0)


def serve(commands: BinaryIO, results: Answers) -> None:
    writer: MlflowWriter | None = None
    for command in incoming(commands):
        try:
            if isinstance(command, Start):
                writer = MlflowWriter(command, results)
            elif writer is None or writer.failed:
                if isinstance(command, Finish):
                    results.put(Done(None, {}, {}))
                    return
            elif isinstance(command, Calls):
                writer.trace(command.calls, command.rows)
            elif isinstance(command, GroupDone):
                writer.group(command)
            elif isinstance(command, AllRows):
                writer.all_rows(command)
            elif isinstance(command, Finish):
                writer.finish(command)
                return
        except Exception as exc:  # keep serving: one failed write must not lose the rest
            results.put(
                WorkerWarning(
                    f"MLflow {type(command).__name__} failed: {type(exc).__name__}: {exc}\n"
                    f"{traceback.format_exc(limit=3)}"
                )
            )
            if isinstance(command, Finish):
                results.put(
                    Done(
                        writer.parent_run_id if writer else None,
                        writer.child_run_ids if writer else {},
                        writer.trace_ids if writer else {},
                    )
                )
                return
    if writer is not None and not writer.failed:  # the input ended without Finish: the caller is gone
        writer.close_open_runs("KILLED")


def incoming(commands: BinaryIO) -> Iterator[Command]:
    """Commands in order until the stream ends (or an abandoning `None`), read on a thread of their
    own so that calls which arrive while a write is under way are merged and written as one batch."""
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
        while isinstance(message, Calls):
            try:
                following = inbox.get_nowait()
            except queue.Empty:
                break
            if not isinstance(following, Calls):
                held.append(following)
                break
            message = message.merged(following)
        yield message


class MlflowWriter:
    def __init__(self, start: Start, results: Answers):
        self.results = results
        self.failed = False
        self.uri = start.uri
        self.owner = start.owner
        self.assessments = start.assessments
        self.scorers = start.scorers
        self.validity = start.validity
        self.tracer: TraceWriter | None = None
        self.trace_ids: dict[int, str] = {}
        self.child_run_ids: dict[str, str] = {}
        self.finished_runs: set[str] = set()
        self.group_tables: list[pd.DataFrame] = []
        self.parent_run_id: str | None = None
        self.ledger = Ledger(start.ledger) if start.ledger else None
        self.location = ""
        mlflow.set_tracking_uri(start.uri)
        mlflow.set_registry_uri(start.uri)
        if start.uri.startswith("sqlite:"):
            use_wal_journal()
        with setup_lock(start.lock):  # creating the client creates a new store's tables
            self.client = MlflowClient(start.uri)
            try:
                registry = self._sync(start.families)
            except InputError as exc:
                self.failed = True
                results.put(InputProblems(exc.problems))
                return
            if self.ledger is not None:
                self.ledger.record_synced(start.uri, prompt_versions(start.families))
            self.experiment_id = use_experiment(start.experiment)
            self.closed_stale = self._close_stale_runs()
        experiment = self.client.get_experiment(self.experiment_id)
        self.location = f"{start.uri}#{self.experiment_id}@{experiment.creation_time}"
        self._create_runs(start, registry)
        if start.traces:
            self.tracer = TraceWriter(start.uri, self.experiment_id)
        results.put(Started(self.parent_run_id))

    # -- setup ----------------------------------------------------------------------------------
    def _sync(self, families: list[PromptFamily]) -> dict[tuple[str, int], int]:
        return {
            (family.name, local): registry
            for family in families
            for local, registry in sync_family(family, self.client).items()
        }

    def _close_stale_runs(self) -> int:
        """Mark KILLED the runs this machine's processes left RUNNING when they were killed
        (`kill -9`, a closed terminal): their process no longer exists."""
        closed = 0
        host = socket.gethostname()
        for run in self.client.search_runs(
            [self.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
        ):
            tags = run.data.tags
            pid = tags.get("workbench.pid") or ""
            if tags.get("workbench.host") != host or not pid.isdigit() or _alive(int(pid)):
                continue
            self.client.set_terminated(run.info.run_id, status="KILLED")
            closed += 1
        return closed

    def _create_runs(self, start: Start, registry: dict[tuple[str, int], int]) -> None:
        parent = start.parent
        owner = {"workbench.host": start.owner.host, "workbench.pid": str(start.owner.pid)}
        run = self.client.create_run(
            self.experiment_id,
            run_name=parent.name,
            tags={**parent.tags, **owner, "mlflow.note.content": parent.note},
        )
        parent_run_id = self.parent_run_id = run.info.run_id
        self.client.log_batch(parent_run_id, params=[Param(k, v) for k, v in parent.params.items()])
        self.client.log_dict(parent_run_id, parent.descriptions, "metric_descriptions.json")
        if self.validity:
            self.client.log_dict(parent_run_id, self.validity, "validity_card.json")
        self.client.log_text(parent_run_id, parent.spec_text, f"spec/{parent.spec_file}")
        for group in start.groups:
            params = dict(group.params)
            for (name, version), prefix in zip(group.prompts, ("system_prompt", "user_strategy"), strict=True):
                params[f"{prefix}_registry_version"] = str(registry.get((name, version), ""))
            run = self.client.create_run(
                self.experiment_id,
                run_name=group.name,
                tags={**group.tags, **owner, "mlflow.parentRunId": parent_run_id},
            )
            run_id = self.child_run_ids[group.key] = run.info.run_id
            self.client.log_batch(
                run_id,
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag("mlflow.note.content", group.note), *self._validity_tags()],
            )
            for name, version in group.prompts:
                if (name, version) in registry:
                    self.client.link_prompt_version_to_run(run_id, f"prompts:/{name}/{registry[(name, version)]}")

    def _validity_metrics(self) -> dict[str, float]:
        """Each metric's measured agreement, logged beside it (`crisis_escalation_rate_validity`)."""
        by_name = {s.name: s for s in get_scorers([s.name for s in self.scorers])}
        return {
            f"{by_name[name].metric}_validity": entry["value"]
            for name, entry in self.validity.items()
            if name in by_name and entry.get("value") is not None
        }

    def _validity_tags(self) -> list[RunTag]:
        return [
            RunTag(f"workbench.validity.{name}", entry.get("status", "unvalidated"))
            for name, entry in self.validity.items()
        ]

    # -- during the run -------------------------------------------------------------------------
    def group(self, done: GroupDone) -> None:
        """A finished run group (its calls already traced): metrics, per-response table, and
        its child run marked finished."""
        run_id = self.child_run_ids[done.key]
        table = self._responses_table(done.rows)
        self.group_tables.append(table)
        metrics = group_metrics(table, get_scorers([s.name for s in self.scorers]))
        self.client.log_batch(run_id, metrics=_metrics({**metrics, **self._validity_metrics()}))
        mlflow.log_table(table, artifact_file="responses.json", run_id=run_id)
        self.client.set_terminated(run_id, status="FINISHED")
        self.finished_runs.add(run_id)

    def trace(self, calls: list[CallRecord], rows: list[Row]) -> None:
        """Trace each call, except cached replies an earlier run already traced in this experiment
        (their trace ids are reused)."""
        if self.tracer is None or not calls:
            return
        earlier = (
            self.ledger.traced(self.location, [c.cache_key for c in calls if c.cached and c.cache_key])
            if self.ledger is not None
            else {}
        )
        by_index = {row["cell_index"]: row for row in rows}
        written: dict[str, str] = {}
        try:
            for call in calls:
                if call.cached and call.cache_key in earlier:
                    self.trace_ids[call.index] = earlier[call.cache_key]
                    continue
                trace_id = self.tracer.add(
                    call, self.child_run_ids[call.group], self._assessments(by_index.get(call.index, {}))
                )
                self.trace_ids[call.index] = trace_id
                if call.cache_key and call.reply is not None:
                    written[call.cache_key] = trace_id
        finally:
            self.tracer.flush()
            if self.ledger is not None and written:
                self.ledger.record_traces(self.location, written)

    def _assessments(self, row: Row) -> list:
        """Each score as an assessment on its call's trace, so the UI shows it per reply."""
        if not self.assessments:
            return []
        out = []
        for scorer in self.scorers:
            value = row.get(scorer.name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            out.append(
                Feedback(
                    name=scorer.name,
                    value=float(value),
                    rationale=str(row.get(f"{scorer.name}_evidence", ""))[:5000],
                    source=AssessmentSource(
                        source_type="LLM_JUDGE" if scorer.backend == "judge" else "CODE",
                        source_id=f"workbench.{scorer.backend}",
                    ),
                )
            )
        return out

    def _responses_table(self, rows: list[Row]) -> pd.DataFrame:
        """Rows as logged: with their trace ids (those traced by another run at the same time
        from the ledger), and message lists as JSON text."""
        missing = [row["cache_key"] for row in rows if row["cell_index"] not in self.trace_ids and row.get("cache_key")]
        elsewhere = (
            self.ledger.traced(self.location, missing)
            if self.ledger is not None and self.tracer is not None and missing
            else {}
        )
        for row in rows:
            row["trace_id"] = self.trace_ids.get(row["cell_index"]) or elsewhere.get(row.get("cache_key") or "")
        return loggable(responses_frame(rows))

    def all_rows(self, command: AllRows) -> None:
        """The parent run's table of every response: the groups' tables and the rows of groups
        that never finished (their calls traced first)."""
        self.trace(command.calls, command.rows)
        tables = [*self.group_tables, self._responses_table(command.rows)] if command.rows else self.group_tables
        if tables:
            table = pd.concat(tables, ignore_index=True).sort_values("cell_index", ignore_index=True)
            mlflow.log_table(table, artifact_file="responses.json", run_id=self.parent_run_id)

    def finish(self, finish: Finish) -> None:
        parent = self.parent_run_id
        assert parent is not None
        self.client.log_batch(
            parent, metrics=_metrics({**finish.metrics, **self._validity_metrics()}), tags=self._validity_tags()
        )
        if finish.summary:
            mlflow.log_table(pd.DataFrame(finish.summary), artifact_file="summary.json", run_id=parent)
        if finish.errors:
            self.client.log_dict(parent, {"errors": finish.errors}, "errors.json")
        self.close_open_runs(finish.status)
        if self.ledger is not None and finish.identity and finish.status == "FINISHED":
            self.ledger.record_run(
                finish.identity, self.uri, LoggedRun(parent, dict(self.child_run_ids), dict(self.trace_ids))
            )
        self.results.put(Done(parent, dict(self.child_run_ids), dict(self.trace_ids)))

    def close_open_runs(self, status: str) -> None:
        for run_id in [*self.child_run_ids.values(), self.parent_run_id]:
            if run_id is not None and run_id not in self.finished_runs:
                self.client.set_terminated(run_id, status=status)
                self.finished_runs.add(run_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _metrics(values: dict[str, float]) -> list[Metric]:
    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None and not math.isnan(v)]


if __name__ == "__main__":
    main()
