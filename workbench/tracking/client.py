"""Everything a run leaves in MLflow, handed to a worker process so that logging never
competes with the model calls.

One parent run per invocation and one child run per (system prompt version, user strategy,
model, pipeline). Params say exactly what ran (prompt versions and hashes, model spec,
decoding, dataset hash, git commit); metrics and the per-response table say how it went;
every model call becomes a trace linked to its child run, with one span per attempt and its
scores as assessments. Each child run is logged (one batch of metrics, one table) and closed
as soon as its cells are done.

API keys never reach MLflow: params come from specs, which hold only the *name* of the
environment variable that holds a key, and every reply and error was redacted of the keys in use
by the call engine before it got here.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.errors import InputError, Problem
from workbench.models.local import decoding_mode
from workbench.plan import ExperimentPlan, RunGroup
from workbench.responses import Response
from workbench.scoring.engine import judged_constructs
from workbench.scoring.judge import judge_rubrics
from workbench.scoring.metrics import describe_metrics
from workbench.tracking.ledger import Ledger, prompt_versions
from workbench.tracking.protocol import (
    AllRows,
    CallRecord,
    Calls,
    Done,
    Finish,
    Gone,
    GroupDone,
    GroupRun,
    InputProblems,
    JudgeSpan,
    ParentRun,
    Row,
    RunOwner,
    ScorerBackend,
    SpanAttempt,
    Start,
    Started,
    WorkerWarning,
    read_frame,
    write_frame,
)
from workbench.tracking.store import lock_path

MAX_PARAM = 6000
CALLS_EVERY_S = 0.025


def git_commit(root: Path) -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}{'-dirty' if dirty else ''}" if commit else "unknown"


def run_params(plan: ExperimentPlan, commit: str) -> dict[str, str]:
    spec = plan.spec
    spec_file = plan.spec_path.relative_to(plan.root) if plan.spec_path.is_relative_to(plan.root) else plan.spec_path
    return {
        "spec_name": spec.name,
        "spec_file": str(spec_file),
        "dataset_hash": plan.dataset_hash,
        "scenario_count": str(len(plan.scenarios)),
        "scenario_files": ",".join(spec.scenarios.files),
        "repeats": str(spec.repeats),
        "locale": plan.locale.code,
        "scorers": ",".join(s.name for s in plan.scorers),
        "concurrency": str(spec.concurrency),
        "seed": str(spec.seed),
        "git_commit": commit,
    }


def group_params(plan: ExperimentPlan, group: RunGroup) -> dict[str, str]:
    """Registry versions are added by the worker once the prompts are synced."""
    system, strategy, model = group.system_prompt, group.user_strategy, group.model
    params = {
        "system_prompt": system.name,
        "system_prompt_version": system.version,
        "system_prompt_sha256": system.sha256,
        "system_prompt_alias": system.alias or "",
        "user_strategy": strategy.name,
        "user_strategy_version": strategy.version,
        "user_strategy_sha256": strategy.sha256,
        "user_strategy_alias": strategy.alias or "",
        "model": model.name,
        "model_spec": model.spec,
        "model_provider": model.provider,
        "model_base_url": model.base_url or "",
        "pipeline": group.pipeline,
        **{f"decoding_{k}": v for k, v in plan.decoding(model).model_dump().items()},
    }
    if model.provider == "local":
        params["local_decoding"] = decoding_mode(model.model)
    return {k: str(v)[:MAX_PARAM] for k, v in params.items()}


def start_message(
    plan: ExperimentPlan,
    uri: str,
    validity: dict[str, dict] | None = None,
    scorer_version: str | None = None,
    ledger: Path | None = None,
    commit: str | None = None,
) -> Start:
    """Everything the worker needs to create the runs and sync the prompts."""
    commit = git_commit(plan.root) if commit is None else commit
    backends = {name: entry.get("backend", "") for name, entry in (validity or {}).items()} or plan.backends
    common = {
        **run_params(plan, commit),
        "scorer_version": scorer_version or "",
        "scorer_backends": ",".join(f"{k}={v}" for k, v in sorted(backends.items())),
    }
    tags = {"workbench.spec": plan.spec.name, "workbench.dataset_hash": plan.dataset_hash, **plan.spec.tracking.tags}
    families = {p.name: plan.library.families[p.name] for p in plan.prompts}
    judged = judged_constructs(plan.scorers, plan.backends)
    if judged and plan.spec.judge is not None:
        for name in judge_rubrics(judged):
            families[name] = plan.library.families[name]
        common = {
            **common,
            "judge_model": plan.spec.judge.model.spec,
            "judge_rubrics": ",".join(
                f"{name}@{plan.library.families[name].latest.version}" for name in judge_rubrics(judged)
            ),
        }
    parent = ParentRun(
        name=plan.spec.name,
        params=common,
        tags={**tags, "workbench.level": "invocation"},
        note=plan.spec.description or f"Experiment spec {plan.spec.name}",
        descriptions=describe_metrics(plan.scorers),
        spec_file=plan.spec_path.name,
        spec_text=plan.spec_path.read_text(encoding="utf-8"),
    )
    groups = [
        GroupRun(
            key=group.key,
            name=f"{group.system_prompt.ref} x {group.user_strategy.ref} x {group.model.name}",
            params={**common, **group_params(plan, group)},
            tags={
                **tags,
                "workbench.level": "cell-group",
                "workbench.system_prompt": group.system_prompt.ref,
                "workbench.user_strategy": group.user_strategy.ref,
                "workbench.model": group.model.name,
                "workbench.pipeline": group.pipeline,
            },
            note=(
                f"System prompt **{group.system_prompt.ref}** with user strategy **{group.user_strategy.ref}** "
                f"on **{group.model.name}** through the {group.pipeline} pipeline."
            ),
            prompts=[
                (group.system_prompt.name, group.system_prompt.version),
                (group.user_strategy.name, group.user_strategy.version),
            ],
        )
        for group in plan.groups
    ]
    return Start(
        uri=uri,
        experiment=plan.spec.tracking.experiment or plan.spec.name,
        traces=plan.spec.tracking.traces,
        assessments=plan.spec.tracking.assessments,
        scorers=[ScorerBackend(s.name, backends.get(s.name, "learned")) for s in plan.scorers],
        parent=parent,
        groups=groups,
        families=list(families.values()),
        validity=dict(validity or {}),
        owner=RunOwner(socket.gethostname(), os.getpid()),
        ledger=str(ledger) if ledger is not None else None,
        lock=str(lock_path(uri, plan.root)),
    )


def settings_identity(
    plan: ExperimentPlan, validity: dict[str, dict] | None = None, scorer_version: str | None = None
) -> dict:
    """What, besides the rows, makes two runs log the same thing (not the git commit or the time)."""
    start = start_message(plan, "", validity, scorer_version, commit="")
    return {
        "experiment": start.experiment,
        "traces": start.traces,
        "assessments": start.assessments,
        "scorers": [(s.name, s.backend) for s in start.scorers],
        "parent": start.parent.params,
        "tags": start.parent.tags,
        "spec": start.parent.spec_text,
        "groups": [(g.key, g.params) for g in start.groups],
    }


def span_attempts(response: Response) -> list[SpanAttempt]:
    """A call's attempts; a cached reply, never traced, shows as one attempt when it arrived."""
    if response.attempts:
        return [SpanAttempt(a.started_ns, a.ended_ns, a.error) for a in response.attempts]
    ended = response.cached_at or time.time()
    ended_ns = int(ended * 1e9)
    return [SpanAttempt(ended_ns - int((response.latency_s or 0) * 1e9), ended_ns)]


def call_record(index: int, response: Response) -> CallRecord:
    """What the worker needs to trace one model call (with the judge's calls, if it was judged)."""
    cell = response.cell
    return CallRecord(
        index=index,
        group=cell.group.key,
        name=f"{cell.scenario.id}#{cell.sample}",
        messages=response.messages,
        reply=response.reply,
        error=response.error,
        attempts=span_attempts(response),
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        model=cell.group.model.name,
        tags={
            "workbench.scenario_id": cell.scenario.id,
            "workbench.risk_level": cell.scenario.risk_level,
            "workbench.category": cell.scenario.category,
            "workbench.sample": str(cell.sample),
        },
        judge=[
            JudgeSpan(
                name=f"judge {call.rubric}",
                messages=call.messages,
                reply=call.outcome.generation.reply if call.outcome.generation else None,
                error=call.outcome.error,
                attempts=[SpanAttempt(a.started_ns, a.ended_ns, a.error) for a in call.outcome.attempts],
                cached=call.outcome.cached,
            )
            for call in response.judge_calls
        ],
        cache_key=response.cache_key,
        cached=response.cached and not response.attempts,
        spans=response.spans,
    )


@dataclass
class TrackingOutcome:
    parent_run_id: str | None = None
    child_run_ids: dict[str, str] = field(default_factory=dict)
    trace_ids: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Tracker:
    """The run's side: queue work for the MLflow worker and collect its answers.

    The worker is a separate interpreter (`python -m workbench.tracking.worker`) talking over its
    stdin/stdout, so it never re-imports the caller's script and exits when the caller dies.
    """

    def __init__(
        self,
        plan: ExperimentPlan,
        uri: str,
        validity: dict[str, dict] | None = None,
        scorer_version: str | None = None,
        ledger: Path | None = None,
    ):
        self.plan = plan
        self._process = subprocess.Popen(
            [sys.executable, "-m", "workbench.tracking.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            env={
                **{
                    k: v
                    for k, v in os.environ.items()
                    if k not in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID")
                },
                "PYTHONUNBUFFERED": "1",
                "MLFLOW_TRACKING_URI": uri,
            },
        )
        self._outbox: queue.Queue = queue.Queue()
        self._calls: list[CallRecord] = []
        self._call_rows: list[Row] = []
        self._calls_lock = threading.Lock()
        self._inbox: queue.Queue = queue.Queue()
        self._early: list = []
        threading.Thread(target=self._send_loop, name="workbench-mlflow-send", daemon=True).start()
        threading.Thread(target=self._receive_loop, name="workbench-mlflow-receive", daemon=True).start()
        start = start_message(plan, uri, validity, scorer_version, ledger)
        self._uri, self._ledger, self._prompt_versions = uri, ledger, prompt_versions(start.families)
        self._outbox.put(start)

    def _send_loop(self) -> None:
        """Calls to trace go out every `CALLS_EVERY_S`, together, rather than one by one: waking
        this thread for each would take the interpreter lock from the calls still in flight.
        They always go out before any message queued after them."""
        stdin = self._process.stdin
        assert stdin is not None
        while True:
            try:
                message = self._outbox.get(timeout=CALLS_EVERY_S)
            except queue.Empty:
                message = False
            with self._calls_lock:
                calls, rows, self._calls, self._call_rows = self._calls, self._call_rows, [], []
            try:
                if calls:
                    write_frame(stdin, Calls(calls, rows))
                if message is not False:
                    write_frame(stdin, message)
            except (BrokenPipeError, OSError):
                return
            if message is None or isinstance(message, Finish):
                return

    def _receive_loop(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        while True:
            try:
                message = read_frame(stdout)
            except (EOFError, OSError):
                self._inbox.put(Gone())
                return
            self._inbox.put(message)

    def calls(self, calls: list[tuple[int, Response]], rows: list[Row]) -> None:
        """Finished model calls to trace, with their rows (scores) for the assessments."""
        records = self._records(calls)
        if records:
            with self._calls_lock:
                self._calls.extend(records)
                self._call_rows.extend(rows)

    def group_done(self, key: str, rows: list[Row]) -> None:
        """A finished run group, its calls already handed over."""
        self._outbox.put(GroupDone(key, rows))

    def _records(self, calls: list[tuple[int, Response]]) -> list[CallRecord]:
        """Calls to trace: those made, and cached replies (the worker skips those already traced);
        not those another run made at the same time, which that run traces."""
        if not self.plan.spec.tracking.traces:
            return []
        return [
            call_record(index, response)
            for index, response in calls
            if response.done and not response.shared and (response.attempts or response.cached)
        ]

    def ready(self, timeout_s: float = 600) -> list[str]:
        """Wait until the worker has set up the store, checked the prompts against the registry and
        created the runs: a registry conflict is an input error, raised before any call is made.
        Returns warnings (the worker could not set up, and the run goes on untracked).

        When the ledger says the registry already held every prompt version with this text, the
        calls do not wait for the set-up (a few seconds): the worker still checks, and a conflict
        stops the run at the next reply (`check`)."""
        if self._registry_known():
            return []
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                message = self._inbox.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                return ["the MLflow worker did not start in time; results may be missing from MLflow"]
            if isinstance(message, Started):
                return []
            if isinstance(message, InputProblems):
                self.abandon()
                raise InputError(message.problems)
            if isinstance(message, Gone):
                self._early.append(message)
                return ["the MLflow worker stopped while setting up; results may be missing from MLflow"]
            self._early.append(message)
            if isinstance(message, WorkerWarning):
                return []

    def _registry_known(self) -> bool:
        if self._ledger is None:
            return False
        ledger = Ledger(self._ledger)
        try:
            return ledger.all_synced(self._uri, self._prompt_versions)
        finally:
            ledger.close()

    def check(self) -> None:
        """Raise the worker's input errors (e.g. a registry conflict) as soon as they arrive."""
        try:
            while True:
                message = self._inbox.get_nowait()
                if isinstance(message, InputProblems):
                    raise InputError(message.problems)
                self._early.append(message)
        except queue.Empty:
            pass

    def all_rows(self, rows: list[Row], calls: list[tuple[int, Response]]) -> None:
        """The rows not in a logged group, which with the groups' make the parent run's table,
        and the calls not yet handed over (traced first). Sent before `finish` so the worker
        writes while the summary is computed."""
        self._outbox.put(AllRows(rows, self._records(calls)))

    def finish(
        self,
        summary: pd.DataFrame,
        metrics: dict[str, float],
        status: str,
        timeout_s: float = 900,
        *,
        errors: list[Row] | None = None,
        identity: str | None = None,
    ) -> TrackingOutcome:
        """Log the run's summary, metrics and error classes on the parent run and close the runs;
        wait for the worker to be done."""
        self._outbox.put(
            Finish(
                status,
                metrics,
                [{str(k): v for k, v in row.items()} for row in summary.to_dict("records")],
                errors or [],
                identity,
            )
        )
        outcome = TrackingOutcome()
        conflicts: list[Problem] = []
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                message = (
                    self._early.pop(0)
                    if self._early
                    else self._inbox.get(timeout=max(0.1, deadline - time.monotonic()))
                )
            except queue.Empty:
                outcome.warnings.append("the MLflow worker did not finish in time; some results may be missing")
                break
            if isinstance(message, WorkerWarning):
                outcome.warnings.append(message.text)
            elif isinstance(message, InputProblems):
                conflicts.extend(message.problems)
            elif isinstance(message, Gone):
                outcome.warnings.append("the MLflow worker stopped unexpectedly; some results may be missing")
                break
            elif isinstance(message, Done):
                outcome.parent_run_id, outcome.child_run_ids = message.parent_run_id, message.child_run_ids
                outcome.trace_ids = message.trace_ids
                break
        # Everything is written; reap the worker in the background rather than wait while the
        # system frees its memory.
        threading.Thread(target=self._close, name="workbench-mlflow-reap", daemon=True).start()
        if conflicts:
            raise InputError(conflicts)
        return outcome

    def abandon(self) -> None:
        self._outbox.put(None)
        self._close()

    def _close(self) -> None:
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
