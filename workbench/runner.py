"""The one engine behind the CLI, the Python API and the notebooks.

spec -> plan (every reference checked, no calls) -> responses (cache, then concurrent calls)
-> scores with evidence -> MLflow. Each run group is scored and logged as soon as its cells
are done. If the run is interrupted, what finished is still scored and logged (the runs are
marked KILLED) and the cache lets the next run resume.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Callable, Coroutine

from workbench.cache import ResponseCache
from workbench.evaluation import ScoringEngine, build_engine, score_response
from workbench.metrics import group_metrics, summarize
from workbench.paths import cache_path, project_root
from workbench.pipelines.base import Pipeline
from workbench.plan import Cell, ExperimentPlan, build_plan
from workbench.responses import CallStats, Response, collect, fill_from_cache, prepare
from workbench.results import ExperimentResult, RunStats, response_row, responses_frame


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


def run_experiment(spec: str | Path, *, use_cache: bool = True, track: bool = True,
                   progress: Progress | None = None, overrides: dict | None = None,
                   on_plan: Callable[[ExperimentPlan], None] | None = None) -> ExperimentResult:
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
    responses = prepare(plan)
    pending = fill_from_cache(responses, cache)

    tracker = None
    if track:
        from workbench.tracking import Tracker, tracking_uri

        tracker = Tracker(plan, tracking_uri(plan.root))
    judge = plan.spec.judge
    engine = build_engine(plan.scorers, plan.backends, judge_model=judge.model if judge else None,
                          judge_decoding=judge.decoding if judge else None, library=plan.library, cache=cache,
                          timeout=plan.spec.timeout_s)
    logger = GroupLogger(plan, responses, tracker, engine, workers=judge.concurrency if judge else 1)
    progress.start(len(responses), len(responses) - len(pending))
    logger.log_finished_groups()

    def on_complete(response: Response) -> None:
        progress.advance(response)
        logger.completed(response)

    stats = CallStats()
    interrupted = False
    generation_started = time.perf_counter()
    try:
        if pending:
            pipelines = build_pipelines(plan, pending)
            generation_started = time.perf_counter()
            run_sync(collect(plan, pending, pipeline_for=lambda cell: pipelines[pipeline_key(cell)], cache=cache,
                             stats=stats, on_complete=on_complete))
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
    result = ExperimentResult(plan, frame, RunStats(
        cells=len(responses), cached=sum(r.cached for r in responses), calls=stats.calls, retries=stats.retries,
        errors=sum(bool(r.error) for r in responses), generation_seconds=generation_seconds,
        interrupted=interrupted))
    if tracker is not None:
        tracker.all_rows(logger.rows_outside_logged_groups(), logger.calls_not_handed_over())
        summary = summarize(frame, plan.scorers) if len(frame) else frame
        overall = group_metrics(frame, plan.scorers) if len(frame) else {}
        outcome = tracker.finish(summary, overall, "KILLED" if interrupted else "FINISHED")
        result.parent_run_id, result.child_run_ids = outcome.parent_run_id, outcome.child_run_ids
        result.warnings = outcome.warnings
        result.tracking_uri = tracker_uri(plan)
        if len(frame):
            frame["trace_id"] = frame["cell_index"].map(outcome.trace_ids)
    result.stats.seconds = time.perf_counter() - started
    if interrupted:
        raise RunInterrupted(result)
    return result


class GroupLogger:
    """Scores responses and hands them to the tracker: each call to be traced, and each run
    group once all its cells are done.

    Offline scoring is fast and runs inline, so each call is scored and traced as it finishes;
    with an LLM judge, groups are scored on a background thread (the judge's calls in
    parallel) so model calls are never held up, and traced once scored.
    """

    def __init__(self, plan: ExperimentPlan, responses: list[Response], tracker, engine: ScoringEngine,
                 workers: int = 1):
        self.plan = plan
        self.tracker = tracker
        self.engine = engine
        self.index = {id(r): i for i, r in enumerate(responses)}
        self.by_group: dict[str, list[Response]] = {}
        for response in responses:
            self.by_group.setdefault(response.cell.group.key, []).append(response)
        self.remaining = {key: sum(not r.done for r in group) for key, group in self.by_group.items()}
        self.rows: dict[int, dict] = {}
        self.handed_over: set[int] = set()
        self.logged_groups: set[str] = set()
        self._lock = threading.Lock()
        self._background = self._pool = None
        if engine.judge is not None:
            from concurrent.futures import ThreadPoolExecutor

            self._background = ThreadPoolExecutor(1, thread_name_prefix="workbench-scoring")
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="workbench-judge")

    def completed(self, response: Response) -> None:
        if self.tracker is not None:
            self.tracker.check()
            if self._background is None:
                self._hand_over([response])
        key = response.cell.group.key
        self.remaining[key] -= 1
        if self.remaining[key] == 0:
            self._group_done(key)

    def log_finished_groups(self) -> None:
        for key, left in self.remaining.items():
            if left == 0:
                self._group_done(key)

    def _group_done(self, key: str) -> None:
        if self._background is not None:
            self._background.submit(self._log_group, key)
        else:
            self._log_group(key)

    def _log_group(self, key: str) -> None:
        group = self.by_group[key]
        if self._pool is not None:
            list(self._pool.map(self._row, group))
        else:
            for response in group:
                self._row(response)
        if self.tracker is not None:
            self._hand_over(group)
            self.tracker.group_done(key, [self.rows[self.index[id(r)]] for r in group])
            self.logged_groups.add(key)

    def _hand_over(self, responses: list[Response]) -> None:
        """Calls not yet handed to the tracker, with their scored rows, to be traced."""
        fresh = [(self.index[id(r)], r) for r in responses if self.index[id(r)] not in self.handed_over]
        if fresh:
            self.handed_over.update(index for index, _ in fresh)
            self.tracker.calls(fresh, [self._row(r) for _, r in fresh])

    def _row(self, response: Response) -> dict:
        index = self.index[id(response)]
        with self._lock:
            if index in self.rows:
                return self.rows[index]
        scores = score_response(response, self.engine, self.plan.locale.code)
        row = {"cell_index": index, **response_row(response, scores)}
        with self._lock:
            return self.rows.setdefault(index, row)

    def frame(self):
        """Every finished response (all of them, unless the run was interrupted), in cell order."""
        if self._background is not None:
            self._background.shutdown(wait=True)
        finished = [r for group in self.by_group.values() for r in group if r.done]
        if self._pool is not None:
            list(self._pool.map(self._row, finished))
            self._pool.shutdown(wait=True)
        else:
            for response in finished:
                self._row(response)
        return responses_frame(self.finished_rows())

    def finished_rows(self) -> list[dict]:
        return [self.rows[i] for i in sorted(self.rows)]

    def rows_outside_logged_groups(self) -> list[dict]:
        """Finished rows whose group was never logged (the run was interrupted)."""
        logged = {self.index[id(r)] for key in self.logged_groups for r in self.by_group[key]}
        return [row for index, row in sorted(self.rows.items()) if index not in logged]

    def calls_not_handed_over(self) -> list[tuple[int, Response]]:
        """Finished calls not yet traced (with a judge, those of groups an interruption cut short)."""
        return [(self.index[id(r)], r) for group in self.by_group.values() for r in group
                if r.done and self.index[id(r)] not in self.handed_over]


def pipeline_key(cell: Cell) -> tuple[str, str]:
    return cell.group.model.name, cell.group.pipeline


def build_pipelines(plan: ExperimentPlan, pending: list[Response]) -> dict[tuple[str, str], Pipeline]:
    """One pipeline per (model, pipeline) that still has calls to make; local models start here."""
    from workbench.models.providers import build_chat_model
    from workbench.pipelines.langchain import LangChainPipeline

    pipelines: dict[tuple[str, str], Pipeline] = {}
    for response in pending:
        key = pipeline_key(response.cell)
        if key not in pipelines:
            model = response.cell.group.model
            pipelines[key] = LangChainPipeline(build_chat_model(model, plan.decoding(model), timeout=plan.spec.timeout_s))
    return pipelines


def tracker_uri(plan: ExperimentPlan) -> str:
    from workbench.tracking import tracking_uri

    return tracking_uri(plan.root)


def registry_aliases(root: Path) -> Callable[[str, str], int]:
    """Alias lookups go to the MLflow Prompt Registry, opened only if a spec uses an alias."""

    def resolve(name: str, alias: str) -> int:
        from workbench import tracking
        from workbench.prompt_registry import resolve_alias

        tracking.configure(root)
        return resolve_alias(name, alias)

    return resolve


_engine: dict = {}
_engine_lock = threading.Lock()


def engine_loop() -> asyncio.AbstractEventLoop:
    """One event loop for the process, on its own thread. Reusing it keeps provider clients
    (which bind their connection pools to a loop) valid from one run to the next, and lets
    runs start from notebooks, whose own loop is already running."""
    with _engine_lock:
        loop = _engine.get("loop")
        if loop is None or loop.is_closed():
            loop = _engine["loop"] = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="workbench-engine", daemon=True).start()
        return loop


def run_sync(coro: Coroutine):
    """Run a coroutine on the engine loop and wait; Ctrl-C cancels it and waits for it to stop."""
    done = threading.Event()
    outcome: dict = {}

    async def supervised():
        try:
            outcome["value"] = await coro
        except BaseException as exc:  # handed back to the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    future = asyncio.run_coroutine_threadsafe(supervised(), engine_loop())
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        future.cancel()
        done.wait()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
