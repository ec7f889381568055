"""The one engine behind the CLI, the Python API and the notebooks.

spec -> plan (every reference checked, no calls) -> responses (cache, then concurrent calls
through each cell's pipeline) -> scores with evidence -> MLflow. Each run group is scored and
logged as soon as its cells are done. If the run is interrupted, what finished is still scored
and logged (the runs are marked KILLED) and the cache lets the next run resume.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from workbench.calls.cache import ResponseCache
from workbench.calls.loop import run_sync
from workbench.groups import GroupLogger
from workbench.paths import cache_path, project_root
from workbench.plan import ExperimentPlan, build_plan
from workbench.prompts import AliasResolver
from workbench.responses import Response, build_pipelines, call_engine, collect, fill_from_cache, prepare
from workbench.result import ExperimentResult, RunStats
from workbench.scoring.engine import DEFAULT_JUDGE_DECODING, build_engine
from workbench.scoring.metrics import group_metrics, summarize
from workbench.scoring.validity import run_validity
from workbench.tracking.client import Tracker
from workbench.tracking.store import configure, tracking_uri


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
    progress = progress or Progress()
    cache = ResponseCache(cache_path(plan.root)) if use_cache else None
    pipelines = build_pipelines(plan)
    responses = prepare(plan, pipelines)
    pending = fill_from_cache(responses, cache)

    uri = tracking_uri(plan.root)
    calls = call_engine(plan, cache)
    judge = plan.spec.judge
    engine = build_engine(
        plan.scorers,
        plan.backends,
        judge_model=judge.model if judge else None,
        judge_decoding=judge.decoding if judge else DEFAULT_JUDGE_DECODING,
        library=plan.library,
        calls=calls,
        judge_concurrency=judge.concurrency if judge else 4,
        timeout=plan.spec.timeout_s,
        scorer_version=plan.spec.scorer_version,
        root=plan.root,
    )
    validity = run_validity(
        engine.scorers, engine.backends, engine.learned.version.card if engine.learned else None, engine.version
    )
    tracker = Tracker(plan, uri, validity, engine.version) if track else None
    logger = GroupLogger(plan, responses, tracker, engine)
    progress.start(len(responses), len(responses) - len(pending))
    logger.log_finished_groups()

    def on_complete(response: Response) -> None:
        progress.advance(response)
        logger.completed(response)

    interrupted = False
    generation_started = time.perf_counter()
    try:
        if pending:
            run_sync(collect(plan, pending, pipelines=pipelines, calls=calls, on_complete=on_complete))
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    except BaseException:
        if tracker:
            tracker.abandon()
        raise
    finally:
        generation_seconds = time.perf_counter() - generation_started

    frame = logger.frame()
    if cache is not None:
        cache.close()
    result = ExperimentResult(
        plan,
        frame,
        RunStats(
            cells=len(responses),
            cached=sum(r.cached for r in responses),
            calls=calls.stats.calls["reply"],
            retries=calls.stats.retries["reply"],
            errors=sum(bool(r.error) for r in responses),
            generation_seconds=generation_seconds,
            interrupted=interrupted,
        ),
        validity=validity,
    )
    if tracker is not None:
        tracker.all_rows(logger.rows_outside_logged_groups(), logger.calls_not_handed_over())
        summary = summarize(frame, plan.scorers) if len(frame) else frame
        overall = group_metrics(frame, plan.scorers) if len(frame) else {}
        outcome = tracker.finish(summary, overall, "KILLED" if interrupted else "FINISHED")
        result.parent_run_id, result.child_run_ids = outcome.parent_run_id, outcome.child_run_ids
        result.warnings = outcome.warnings
        result.tracking_uri = uri
        if len(frame):
            frame["trace_id"] = frame["cell_index"].map(outcome.trace_ids)
    result.stats.seconds = time.perf_counter() - started
    if interrupted:
        raise RunInterrupted(result)
    return result


def registry_aliases(root: Path) -> AliasResolver:
    """Alias lookups go to the MLflow Prompt Registry, opened only if a spec uses an alias."""

    def resolve(name: str, alias: str) -> int:
        from workbench.prompts.mlflow_registry import resolve_alias  # imports MLflow: only when needed

        configure(root)
        return resolve_alias(name, alias)

    return resolve
