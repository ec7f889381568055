"""The MLflow worker process: registry sync, runs, traces and tables, written while the
main process keeps calling models.

It works through its queue in order (start, then traces and finished groups, then finish),
ignores Ctrl-C so an interrupted run is still logged, and exits if its parent dies.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

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
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"  # this process is the background
    commands, results = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # library output must not corrupt the result stream

    class Results:
        @staticmethod
        def put(message: Any) -> None:
            write_frame(results, message)

    writer = None
    while True:
        try:
            message = read_frame(commands)
        except EOFError:
            return
        if message is None:
            return
        kind, payload = message
        try:
            if kind == "start":
                writer = MlflowWriter(payload, Results)
            elif writer is None or writer.failed:
                if kind == "finish":
                    Results.put(("done", None, {}, {}))
                    return
            elif kind == "trace":
                writer.trace(payload)
            elif kind == "group":
                writer.group(payload)
            elif kind == "finish":
                writer.finish(payload)
                return
        except Exception as exc:  # keep serving: one failed write must not lose the rest
            Results.put(("warning", f"MLflow {kind} failed: {type(exc).__name__}: {exc}\n"
                                    f"{traceback.format_exc(limit=3)}"))
            if kind == "finish":
                Results.put(("done", writer.parent_run_id if writer else None,
                             writer.child_run_ids if writer else {}, writer.trace_ids if writer else {}))
                return


class MlflowWriter:
    def __init__(self, payload: dict, results):
        import mlflow
        from mlflow import MlflowClient

        from workbench.errors import InputError

        self.mlflow = mlflow
        self.results = results
        self.failed = False
        self.traces = payload["traces"]
        self.assessments = payload.get("assessments", True)
        self.trace_ids: dict[int, str] = {}
        self.child_run_ids: dict[str, str] = {}
        self.parent_run_id: str | None = None
        mlflow.set_tracking_uri(payload["uri"])
        mlflow.set_registry_uri(payload["uri"])
        self.client = MlflowClient(payload["uri"])
        try:
            registry = self._sync(payload["families"])
        except InputError as exc:
            self.failed = True
            results.put(("input_error", [p.__dict__ for p in exc.problems]))
            return
        self.experiment_id = self._experiment(payload["experiment"], payload["artifact_location"])
        mlflow.set_experiment(experiment_id=self.experiment_id)
        self._create_runs(payload, registry)
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

    def _experiment(self, name: str, artifact_location: str | None) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(name, artifact_location=artifact_location)

    def _create_runs(self, payload: dict, registry: dict[tuple[str, int], int]) -> None:
        from mlflow.entities import Param, RunTag

        parent = payload["parent"]
        run = self.client.create_run(self.experiment_id, run_name=parent["name"],
                                     tags={**parent["tags"], "mlflow.note.content": parent["note"]})
        self.parent_run_id = run.info.run_id
        self.client.log_batch(self.parent_run_id, params=[Param(k, v) for k, v in parent["params"].items()])
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
    def trace(self, record: dict) -> None:
        """One trace per model call, with the exact messages sent and the reply. A call that
        needed retries gets one child span per attempt, failed ones carrying their error."""
        if not self.traces:
            return
        mlflow = self.mlflow
        attempts = record["attempts"]
        reply = {"choices": [{"message": {"role": "assistant", "content": record["reply"]}}]} \
            if record["reply"] is not None else None
        root = mlflow.start_span_no_context(
            record["name"], span_type="CHAT_MODEL", inputs={"messages": record["messages"]}, tags=record["tags"],
            metadata={"mlflow.sourceRun": self.child_run_ids[record["group"]]}, experiment_id=self.experiment_id,
            start_time_ns=attempts[0][0], attributes={"model": record["model"]})
        if len(attempts) > 1:
            for number, (started, ended, error) in enumerate(attempts, start=1):
                child = mlflow.start_span_no_context(f"attempt {number}", span_type="CHAT_MODEL", parent_span=root,
                                                     start_time_ns=started)
                child.end(attributes={"error": error} if error else None, status="ERROR" if error else "OK",
                          end_time_ns=ended)
        root.end(outputs=reply if reply else {"error": record["error"]},
                 attributes={"attempts": len(attempts), "input_tokens": record["input_tokens"] or 0,
                             "output_tokens": record["output_tokens"] or 0},
                 status="ERROR" if record["error"] else "OK", end_time_ns=attempts[-1][1])
        self.trace_ids[record["index"]] = root.trace_id

    def group(self, payload: dict) -> None:
        run_id = self.child_run_ids[payload["key"]]
        self.client.log_batch(run_id, metrics=_metrics(payload["metrics"]))
        self._table(payload["rows"], "responses.json", run_id)
        if self.traces and self.assessments:
            self._assess(payload["rows"], payload["scorers"])

    def _assess(self, rows: list[dict], scorers: list[tuple[str, str]]) -> None:
        """Each score as an assessment on its call's trace, so the UI shows it per reply."""
        import math

        from mlflow.entities import AssessmentSource

        for row in rows:
            trace_id = self.trace_ids.get(row.get("cell_index"))
            if trace_id is None:
                continue
            for name, backend in scorers:
                value = row.get(name)
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                self.mlflow.log_feedback(
                    trace_id=trace_id, name=name, value=float(value), rationale=str(row.get(f"{name}_evidence", ""))[:5000],
                    source=AssessmentSource(source_type="LLM_JUDGE" if backend == "judge" else "CODE",
                                            source_id=f"workbench.{backend}"))

    def _table(self, rows: list[dict[str, Any]], name: str, run_id: str) -> None:
        import pandas as pd

        if not rows:
            return
        for row in rows:
            if "cell_index" in row and row["cell_index"] in self.trace_ids:
                row["trace_id"] = self.trace_ids[row["cell_index"]]
        self.mlflow.log_table(pd.DataFrame(rows), artifact_file=name, run_id=run_id)

    def finish(self, payload: dict) -> None:
        parent = self.parent_run_id
        self.client.log_batch(parent, metrics=_metrics(payload["metrics"]))
        self._table(payload["rows"], "responses.json", parent)
        self._table(payload["summary"], "summary.json", parent)
        self.client.log_dict(parent, payload["descriptions"], "metric_descriptions.json")
        self.client.log_text(parent, payload["spec_text"], f"spec/{payload['spec_name']}")
        for run_id in [*self.child_run_ids.values(), parent]:
            self.client.set_terminated(run_id, status=payload["status"])
        self.results.put(("done", parent, dict(self.child_run_ids), dict(self.trace_ids)))


def _metrics(values: dict[str, float]) -> list:
    import math

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None and not math.isnan(v)]


if __name__ == "__main__":
    main()
