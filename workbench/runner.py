"""The one engine behind the CLI, the Python API and the notebooks.

spec -> plan (every reference checked, no calls) -> responses (cache, then concurrent calls
through each cell's pipeline) -> scores with evidence -> MLflow. Before the first call, each
model's endpoint is checked for reachability and the prompts are checked against the MLflow
Prompt Registry, so a dead endpoint or a registry conflict is an input error that costs nothing.
Each run group is scored and logged as soon as its cells are done. If the run is interrupted
(Ctrl-C or SIGTERM), what finished is still scored and logged (the runs are marked KILLED) and
the cache lets the next run resume; a second interrupt stops at once, and the next run closes
what was left open. A cached re-run whose results are already logged logs nothing new.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from workbench.calls.cache import ResponseCache
from workbench.calls.engine import CallEngine
from workbench.calls.failures import error_classes
from workbench.calls.loop import run_sync
from workbench.errors import InputError, display_path
from workbench.groups import GroupLogger
from workbench.models.registry import concurrency_cap
from workbench.models.spec import ModelSpec
from workbench.paths import cache_path, project_root
from workbench.pipelines.base import Pipeline
from workbench.plan import ExperimentPlan, build_plan
from workbench.preflight import check_endpoints, model_endpoints
from workbench.prompts import AliasResolver
from workbench.redaction import Redactor
from workbench.responses import (
    PipelineKey,
    Response,
    build_pipelines,
    call_engine,
    collect,
    fill_from_cache,
    prepare,
)
from workbench.result import ExperimentResult, RunStats
from workbench.scoring.engine import DEFAULT_JUDGE_DECODING, ScoringEngine, build_engine
from workbench.scoring.metrics import group_metrics, summarize
from workbench.scoring.validity import run_validity
from workbench.tracking.client import Tracker, settings_identity
from workbench.tracking.ledger import Ledger, run_identity, still_logged
from workbench.tracking.store import configure, tracking_uri
from workbench.yaml_files import with_lines


class RunInterrupted(KeyboardInterrupt):
    """Raised after an interrupted run has saved and logged what it finished."""

    def __init__(self, result: ExperimentResult):
        super().__init__("interrupted")
        self.result = result


class Progress:
    """Callbacks for progress displays; the CLI draws a bar with ETA from them."""

    def start(self, total: int, cached: int) -> None:
        pass

    def advance(self, response: Response) -> None:
        pass


class Interrupts:
    """Ctrl-C and SIGTERM during a run. The first one during the calls stops them (what finished
    is saved and logged); once the calls are over, the first one only says that saving is under
    way. The next one stops the process at once, with a message and never a traceback: the cache
    already holds every reply, and the MLflow worker, seeing its input end, marks the runs KILLED.
    Signal handlers belong to the main thread; elsewhere (a notebook's worker thread) this does nothing."""

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.previous: dict[int, Any] = {}
        self.count = 0
        self.saving = False

    def __enter__(self) -> Interrupts:
        if self.active:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def calls_over(self) -> None:
        self.saving = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1 and not self.saving:
            raise KeyboardInterrupt
        if self.count == 1:
            sys.stderr.write("\nSaving what finished to the cache and MLflow; interrupt again to stop at once.\n")
            return
        sys.stderr.write(
            "\nStopped at once. The cache holds every reply received; MLflow runs still open are marked "
            "KILLED, and running the same command again resumes and logs the rest.\n"
        )
        sys.stderr.flush()
        os._exit(130)


def run_experiment(
    spec: str | Path,
    *,
    use_cache: bool = True,
    track: bool = True,
    progress: Progress | None = None,
    overrides: dict | None = None,
    on_plan: Callable[[ExperimentPlan], None] | None = None,
) -> ExperimentResult:
    """Run an experiment spec end to end and return one row per response.

    >>> result = run_experiment("experiments/quickstart.yaml")
    >>> result.summary()          # one row per system prompt x strategy x model x pipeline
    >>> result.df                 # one row per response, every score with its evidence
    """
    started = time.perf_counter()
    root = project_root(Path(spec).resolve())
    plan = build_plan(spec, aliases=registry_aliases(root), overrides=overrides)
    if on_plan:
        on_plan(plan)
    cache = ResponseCache(cache_path(plan.root)) if use_cache else None
    try:
        return _run(plan, cache, track, progress or Progress(), started)
    finally:
        if cache is not None:
            cache.close()


def _run(
    plan: ExperimentPlan, cache: ResponseCache | None, track: bool, progress: Progress, started: float
) -> ExperimentResult:
    pipelines = build_pipelines(plan)
    responses = prepare(plan, pipelines)
    pending = fill_from_cache(responses, cache)
    check_reachable(plan, pending)
    calls = call_engine(plan, cache, Redactor.for_models(models_called(plan)))
    uri = tracking_uri(plan.root)
    # What is logged where is kept beside the replies, even when a run does not use them (--no-cache).
    ledger_path = cache.path if cache is not None else cache_path(plan.root)

    engine = scoring_engine(plan, calls)
    validity = run_validity(
        engine.scorers, engine.backends, engine.learned.version.card if engine.learned else None, engine.version
    )
    settings = settings_identity(plan, validity, engine.version)
    if track and cache is not None and not pending:
        logged = already_logged(plan, responses, engine, settings, uri, ledger_path, started)
        if logged is not None:
            logged.validity = validity
            return logged

    tracker = Tracker(plan, uri, validity, engine.version, ledger_path) if track else None
    try:
        warnings = tracker.ready() if tracker is not None else []
    except BaseException:
        if tracker is not None:
            tracker.abandon()
        raise
    logger = GroupLogger(plan, responses, tracker, engine)
    progress.start(len(responses), len(responses) - len(pending))
    logger.log_finished_groups()

    def on_complete(response: Response) -> None:
        progress.advance(response)
        logger.completed(response)

    interrupted = False
    generation_started = time.perf_counter()
    with Interrupts() as interrupts:
        try:
            if pending:
                with framework_spans(pipelines, traced=tracker is not None and plan.spec.tracking.traces) as called:
                    run_sync(collect(plan, pending, pipelines=called, calls=calls, on_complete=on_complete))
        except (KeyboardInterrupt, asyncio.CancelledError):
            interrupted = True
        except BaseException:
            if tracker:
                tracker.abandon()
            raise
        finally:
            generation_seconds = time.perf_counter() - generation_started
            interrupts.calls_over()

        frame = logger.frame()
        result = ExperimentResult(
            plan, frame, run_stats(responses, calls, generation_seconds, interrupted), validity=validity
        )
        result.warnings = warnings
        if tracker is not None:
            tracker.all_rows(logger.rows_outside_logged_groups(), logger.calls_not_handed_over())
            summary = summarize(frame, plan.scorers) if len(frame) else frame
            overall = group_metrics(frame, plan.scorers) if len(frame) else {}
            outcome = tracker.finish(
                summary,
                overall,
                "KILLED" if interrupted else "FINISHED",
                errors=[e.as_row() for e in result.stats.error_classes],
                identity=None if interrupted else run_identity(settings, frame),
            )
            result.parent_run_id, result.child_run_ids = outcome.parent_run_id, outcome.child_run_ids
            result.warnings += outcome.warnings
            result.tracking_uri = uri
            if len(frame):
                frame["trace_id"] = frame["cell_index"].map(outcome.trace_ids)
    result.stats.seconds = time.perf_counter() - started
    if interrupted:
        raise RunInterrupted(result)
    return result


@contextmanager
def framework_spans(pipelines: dict[PipelineKey, Pipeline], traced: bool) -> Iterator[dict[PipelineKey, Pipeline]]:
    """The pipelines to call: in a traced run, those built on a framework MLflow traces (`autolog`)
    record its spans with each reply, for the reply's trace (`tracking.traces.recording_spans`).
    Other runs import nothing more."""
    autologs = {name for p in pipelines.values() if (name := getattr(p, "autolog", None))}
    if not (traced and autologs):
        yield pipelines
        return
    from workbench.tracking.traces import recording_spans  # imports MLflow: only for such runs

    with recording_spans(autologs) as recorder:
        if recorder is None:
            yield pipelines
            return
        yield {key: recorder.pipeline(p) if getattr(p, "autolog", None) else p for key, p in pipelines.items()}


def models_called(plan: ExperimentPlan) -> list[ModelSpec]:
    """Every model the run may call: the spec's, and the judge."""
    return [*plan.models, *([plan.spec.judge.model] if plan.spec.judge is not None else [])]


def check_reachable(plan: ExperimentPlan, pending: list[Response]) -> None:
    """One connection to each endpoint the run is about to call (none if everything is cached)."""
    if not pending:
        return
    needed = {r.cell.group.model.name for r in pending}
    models = [(m, f"models[{i}]") for i, m in enumerate(plan.spec.models) if m.name in needed]
    if plan.spec.judge is not None and "judge" in plan.backends.values():
        models.append((plan.spec.judge.model, "judge.model"))
    if problems := check_endpoints(model_endpoints(models, display_path(plan.spec_path))):
        raise InputError(with_lines(problems, plan.spec_path))


def scoring_engine(plan: ExperimentPlan, calls: CallEngine) -> ScoringEngine:
    judge = plan.spec.judge
    cap = concurrency_cap(judge.model) if judge else None
    return build_engine(
        plan.scorers,
        plan.backends,
        judge_model=judge.model if judge else None,
        judge_decoding=judge.decoding if judge else DEFAULT_JUDGE_DECODING,
        library=plan.library,
        calls=calls,
        judge_concurrency=min(judge.concurrency, cap or judge.concurrency) if judge else 4,
        timeout=plan.spec.timeout_s,
        scorer_version=plan.spec.scorer_version,
        root=plan.root,
    )


def run_stats(responses: list[Response], calls: CallEngine, generation_seconds: float, interrupted: bool) -> RunStats:
    return RunStats(
        cells=len(responses),
        cached=sum(r.cached and not r.shared for r in responses),
        calls=calls.stats.calls["reply"],
        retries=calls.stats.retries["reply"],
        errors=sum(bool(r.error) for r in responses),
        generation_seconds=generation_seconds,
        interrupted=interrupted,
        error_classes=error_classes(r.error for r in responses),
        stopped=calls.stopped,
        shared=sum(r.shared for r in responses),
    )


def already_logged(
    plan: ExperimentPlan,
    responses: list[Response],
    engine: ScoringEngine,
    settings: dict,
    uri: str,
    ledger_path: Path,
    started: float,
) -> ExperimentResult | None:
    """A fully cached re-run whose every row and setting MLflow already holds, from a finished
    run: nothing new to log, so no MLflow at all. Returns that run's result, or None."""
    logger = GroupLogger(plan, responses, None, engine)
    frame = logger.frame()
    ledger = Ledger(ledger_path)
    try:
        logged = ledger.logged_run(run_identity(settings, frame), uri)
    finally:
        ledger.close()
    if logged is None or not still_logged(uri, logged.parent_run_id):
        return None
    if len(frame):
        frame["trace_id"] = frame["cell_index"].map(logged.trace_ids)
    stats = RunStats(cells=len(responses), cached=len(responses))
    result = ExperimentResult(plan, frame, stats, logged.parent_run_id, dict(logged.child_run_ids), uri)
    result.already_logged = True
    result.stats.seconds = time.perf_counter() - started
    return result


def registry_aliases(root: Path) -> AliasResolver:
    """Alias lookups go to the MLflow Prompt Registry, opened only if a spec uses an alias."""

    def resolve(name: str, alias: str) -> int:
        from workbench.prompts.mlflow_registry import resolve_alias  # imports MLflow: only when needed

        configure(root)
        return resolve_alias(name, alias)

    return resolve
