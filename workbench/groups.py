"""Between replies and MLflow: score each finished response and hand it to the tracker, and hand
over each run group (one child run) once all its cells are done.

Scoring never runs on the event loop that makes the model calls. Without a judge, finished
responses go to a scoring thread, which reads whatever has arrived in one batch (the learned
back-end embeds a batch of replies at once) and traces each call as soon as it is scored. With an
LLM judge, a group is scored when its last reply arrives, as a task on the call engine's loop (the
judge's calls in parallel, within its own limit), and its calls are traced once scored, with the
judge's calls inside their traces.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

import pandas as pd

from workbench.calls.loop import engine_loop, run_sync
from workbench.plan import ExperimentPlan
from workbench.prompts.layout import fill
from workbench.response_table import response_row, responses_frame
from workbench.responses import Response
from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.engine import ScoringEngine
from workbench.tracking.client import Tracker

BATCH = 64
_STOP = object()


def response_input(response: Response, locale: str, values: dict[str, str]) -> ScoringInput:
    """The conversation as the user side wrote it: the scenario's earlier turns and its message
    wrapped by the user strategy. What a pipeline adds around it (the system prompt, its
    demonstrations and reminder, DSPy's field markers) is the bot's side, not the user's."""
    conversation = response.cell.conversation(values)
    user_message = fill(conversation.user_template, {**conversation.values, "message": conversation.message})
    return ScoringInput(
        reply=response.reply or "",
        user_message=user_message,
        history=tuple(conversation.history),
        expectations=response.cell.expectations,
        risk_level=response.cell.scenario.risk_level,
        locale=locale,
    )


class GroupLogger:
    def __init__(self, plan: ExperimentPlan, responses: list[Response], tracker: Tracker | None, engine: ScoringEngine):
        self.plan = plan
        self.tracker = tracker
        self.engine = engine
        self.judged = bool(engine.judged_constructs)
        self.index = {id(r): i for i, r in enumerate(responses)}
        self.by_group: dict[str, list[Response]] = {}
        for response in responses:
            self.by_group.setdefault(response.cell.group.key, []).append(response)
        self.remaining = {key: sum(not r.done for r in group) for key, group in self.by_group.items()}
        self.rows: dict[int, dict] = {}
        self.handed_over: set[int] = set()
        self.logged_groups: set[str] = set()
        self._lock = threading.Lock()
        self._group_tasks: list[Future] = []
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        if not self.judged:
            self._thread = threading.Thread(target=self._score_loop, name="workbench-scoring", daemon=True)
            self._thread.start()

    # -- as replies arrive (on the event loop) ------------------------------------------------------
    def completed(self, response: Response) -> None:
        if self.tracker is not None:
            self.tracker.check()
        if not self.judged:
            self._inbox.put(response)
            return
        key = response.cell.group.key
        self.remaining[key] -= 1
        if self.remaining[key] == 0:
            self._group_tasks.append(asyncio.run_coroutine_threadsafe(self._log_group_judged(key), engine_loop()))

    def log_finished_groups(self) -> None:
        """Groups whose replies all came from the cache."""
        for key, left in self.remaining.items():
            if left == 0:
                if self.judged:
                    self._group_tasks.append(
                        asyncio.run_coroutine_threadsafe(self._log_group_judged(key), engine_loop())
                    )
                else:
                    self._inbox.put(key)

    # -- the scoring thread (no judge) --------------------------------------------------------------
    def _score_loop(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._inbox.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            stopping = _STOP in batch
            try:
                self._handle([m for m in batch if m is not _STOP])
            except BaseException as exc:  # handed back to the run in finish_scoring
                self._failure = self._failure or exc

    def _handle(self, batch: list) -> None:
        arrived = [m for m in batch if isinstance(m, Response)]
        cached_groups = [m for m in batch if isinstance(m, str)]
        self._score([r for r in arrived if r.ok])
        for response in arrived:
            self._keep_unscored(response)
        if self.tracker is not None and arrived:
            self._hand_over(arrived)
        finished = list(cached_groups)
        for response in arrived:
            key = response.cell.group.key
            self.remaining[key] -= 1
            if self.remaining[key] == 0:
                finished.append(key)
        for key in finished:
            group = self.by_group[key]
            self._score([r for r in group if r.ok and self.index[id(r)] not in self.rows])
            for response in group:
                self._keep_unscored(response)
            self._log_group(key)

    def _score(self, responses: list[Response]) -> None:
        fresh = [r for r in responses if self.index[id(r)] not in self.rows]
        if not fresh:
            return
        locale = self.plan.locale.code
        for response, scores in zip(
            fresh, self.engine.score_many([response_input(r, locale, self.plan.values) for r in fresh]), strict=True
        ):
            self._keep(self.index[id(response)], response, scores)

    def _keep_unscored(self, response: Response) -> None:
        """An error row (no reply) has no scores but still a row."""
        if self.index[id(response)] not in self.rows and not response.ok and response.done:
            self._keep(self.index[id(response)], response, {})

    # -- with a judge -------------------------------------------------------------------------------
    async def _log_group_judged(self, key: str) -> None:
        await asyncio.gather(*(self._row_judged(r) for r in self.by_group[key]))
        self._log_group(key)

    async def _row_judged(self, response: Response) -> dict:
        index = self.index[id(response)]
        with self._lock:
            if index in self.rows:
                return self.rows[index]
        scores: dict[str, Score] = {}
        if response.ok:
            scored = await self.engine.ascore(response_input(response, self.plan.locale.code, self.plan.values))
            scores, response.judge_calls = scored.scores, scored.judge_calls
        return self._keep(index, response, scores)

    # -- hand-over ----------------------------------------------------------------------------------
    def _log_group(self, key: str) -> None:
        if self.tracker is not None:
            group = self.by_group[key]
            self._hand_over(group)
            self.tracker.group_done(key, [self.rows[self.index[id(r)]] for r in group])
            self.logged_groups.add(key)

    def _hand_over(self, responses: list[Response]) -> None:
        """Calls not yet handed to the tracker, with their scored rows, to be traced."""
        assert self.tracker is not None
        fresh = [(self.index[id(r)], r) for r in responses if self.index[id(r)] not in self.handed_over]
        if fresh:
            self.handed_over.update(index for index, _ in fresh)
            self.tracker.calls(fresh, [self.rows[index] for index, _ in fresh])

    def _keep(self, index: int, response: Response, scores: dict[str, Score]) -> dict:
        row = {"cell_index": index, **response_row(response, scores)}
        with self._lock:
            return self.rows.setdefault(index, row)

    # -- at the end ---------------------------------------------------------------------------------
    def finish_scoring(self) -> None:
        """Let the scorer finish what has arrived, then score every finished response not yet
        scored (those of groups an interruption cut short)."""
        if self._thread is not None:
            self._inbox.put(_STOP)
            self._thread.join()
            if self._failure is not None:
                raise self._failure
        for task in self._group_tasks:
            task.result()
        finished = [r for group in self.by_group.values() for r in group if r.done]
        if self.judged:

            async def rest() -> None:
                await asyncio.gather(*(self._row_judged(r) for r in finished))

            run_sync(rest())
        else:
            self._score([r for r in finished if r.ok])
            for response in finished:
                self._keep_unscored(response)

    def frame(self) -> pd.DataFrame:
        """Every finished response (all of them, unless the run was interrupted), in cell order."""
        self.finish_scoring()
        return responses_frame(self.finished_rows())

    def finished_rows(self) -> list[dict]:
        return [self.rows[i] for i in sorted(self.rows)]

    def rows_outside_logged_groups(self) -> list[dict]:
        """Finished rows whose group was never logged (the run was interrupted)."""
        logged = {self.index[id(r)] for key in self.logged_groups for r in self.by_group[key]}
        return [row for index, row in sorted(self.rows.items()) if index not in logged]

    def calls_not_handed_over(self) -> list[tuple[int, Response]]:
        """Finished calls not yet traced (with a judge, those of groups an interruption cut short)."""
        return [
            (self.index[id(r)], r)
            for group in self.by_group.values()
            for r in group
            if r.done and self.index[id(r)] not in self.handed_over
        ]
