"""The response engine with a test-double pipeline: concurrency limits, retries, error rows,
and that errors are never cached."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from workbench.calls.cache import ResponseCache
from workbench.calls.engine import CallEngine, Generation
from workbench.plan import build_plan
from workbench.responses import call_engine, collect, fill_from_cache, pipeline_key, prepare


class FakePipeline:
    name = "fake"

    def __init__(self, fail=None, delay=0.01):
        self.fail = fail or (lambda call: None)
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def respond(self, conversation):
        self.calls += 1
        call = self.calls
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if error := self.fail(call):
                raise error
            return Generation(f"reply to {conversation.message[:20]}", 10, 5)
        finally:
            self.in_flight -= 1


def rate_limited(retry_after="0.01"):
    response = httpx.Response(429, headers={"retry-after": retry_after}, request=httpx.Request("POST", "http://x"))
    return openai.RateLimitError("slow down", response=response, body=None)


def bad_request():
    response = httpx.Response(400, request=httpx.Request("POST", "http://x"))
    return openai.BadRequestError("context too long", response=response, body=None)


@pytest.fixture
def plan(spec_writer):
    spec = spec_writer(
        models=[{"spec": "openai:fake", "base_url": "http://127.0.0.1:9/v1", "concurrency": 3}],
        scenarios={"files": ["scenarios"], "limit": 12},
        repeats=2,
        retries={"max_attempts": 3, "initial_delay_s": 0.01, "max_delay_s": 0.05},
    )
    return build_plan(spec)


class Stats:
    def __init__(self, engine: CallEngine):
        self.calls, self.retries = engine.stats.calls["reply"], engine.stats.retries["reply"]


def engine_for(plan, cache=None) -> CallEngine:
    return call_engine(plan, cache)


def pipelines_of(plan, pipeline):
    return {pipeline_key(cell): pipeline for cell in plan.cells}


def rendered(plan):
    """The cells' responses, with messages rendered by the plan's real (LangChain) pipeline."""
    from workbench.responses import build_pipelines

    return prepare(plan, build_pipelines(plan))


def run(plan, pipeline, cache=None):
    responses = rendered(plan)
    pending = fill_from_cache(responses, cache)
    calls = engine_for(plan, cache)
    asyncio.run(collect(plan, pending, pipelines=pipelines_of(plan, pipeline), calls=calls))
    return responses, Stats(calls)


def test_matrix_is_systems_x_strategies_x_scenarios_x_repeats(plan):
    assert len(plan.groups) == 2 and len(plan.scenarios) == 12
    assert len(plan.cells) == 2 * 12 * 2


def test_per_model_concurrency_limit(plan):
    pipeline = FakePipeline(delay=0.02)
    responses, _ = run(plan, pipeline)
    assert all(r.ok for r in responses)
    assert pipeline.max_in_flight == 3


def test_transient_errors_are_retried(plan):
    pipeline = FakePipeline(fail=lambda call: rate_limited() if call % 4 == 1 else None)
    responses, stats = run(plan, pipeline)
    assert all(r.ok for r in responses)
    assert stats.retries > 0 and stats.calls == len(responses) + stats.retries
    assert 2 <= max(len(r.attempts) for r in responses) <= 3


class AlwaysBadRequest(FakePipeline):
    async def respond(self, conversation):
        self.calls += 1
        raise bad_request()


def test_persistent_failure_becomes_an_error_row(plan, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite3")
    responses = rendered(plan)
    doomed = {id(responses[0].cell), id(responses[5].cell)}
    good, bad = FakePipeline(), AlwaysBadRequest()

    class Switch:
        name = "switch"

        async def respond(self, conversation):
            return await (bad if conversation.message in doomed_messages else good).respond(conversation)

    doomed_messages = {r.cell.scenario.message for r in responses if id(r.cell) in doomed}
    doomed = {id(r.cell) for r in responses if r.cell.scenario.message in doomed_messages}
    asyncio.run(
        collect(
            plan,
            fill_from_cache(responses, cache),
            pipelines=pipelines_of(plan, Switch()),
            calls=engine_for(plan, cache),
        )
    )
    errors = [r for r in responses if r.error]
    assert {id(r.cell) for r in errors} == doomed
    assert all("HTTP 400" in r.error and len(r.attempts) == 1 for r in errors), "4xx is not retried"
    assert all(r.ok for r in responses if id(r.cell) not in doomed), "the run goes on"
    assert len(cache) == len(responses) - len(doomed), "errors are not cached"

    again, stats = run(plan, FakePipeline(), cache)
    assert stats.calls == len(doomed), "a re-run only calls the cells that failed"
    assert all(r.ok for r in again)


def test_rerun_from_cache_makes_no_calls(plan, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite3")
    first, _ = run(plan, FakePipeline(), cache)
    pipeline = FakePipeline()
    second, stats = run(plan, pipeline, cache)
    assert pipeline.calls == 0 and stats.calls == 0
    assert [r.reply for r in second] == [r.reply for r in first]
    assert all(r.cached for r in second)


def test_retries_give_up_after_max_attempts(spec_writer):
    plan = build_plan(
        spec_writer(
            models=[{"spec": "openai:fake", "base_url": "http://127.0.0.1:9/v1", "concurrency": 3}],
            retries={"max_attempts": 3, "initial_delay_s": 0.01, "max_delay_s": 0.05, "circuit_breaker": 1000},
        )
    )
    pipeline = FakePipeline(fail=lambda call: rate_limited())
    responses, _ = run(plan, pipeline)
    assert all(r.error and len(r.attempts) == 3 for r in responses)
    assert all("429" in r.error for r in responses)


def test_circuit_breaker_stops_a_model_whose_first_calls_all_fail(plan):
    """Five calls in, every one a 400: the model's other cells are not called, and say why."""
    pipeline = AlwaysBadRequest()
    responses, stats = run(plan, pipeline)
    called = [r for r in responses if r.attempts]
    skipped = [r for r in responses if not r.attempts]
    assert 5 <= len(called) <= 5 + 2, "only the calls already in flight when it opened finish"
    assert pipeline.calls == stats.calls == len(called)
    assert len(skipped) == len(responses) - len(called) > 0
    assert all(r.error.startswith("not called: openai:fake was stopped because its first 5 calls") for r in skipped)
    assert all("HTTP 400" in r.error for r in skipped), "the refusal carries the cause"


def test_circuit_breaker_ignores_cell_specific_errors_after_a_success(plan):
    """After the model has answered, 400s (one scenario's context too long, say) never stop it."""
    pipeline = FakePipeline(fail=lambda call: bad_request() if call > 1 else None)
    responses, _ = run(plan, pipeline)
    assert all(r.attempts for r in responses), "every cell was called"
    assert sum(r.ok for r in responses) >= 1 and sum(bool(r.error) for r in responses) == len(responses) - 1


class RecordingTracker:
    def __init__(self):
        self.events = []

    def check(self):
        pass

    def calls(self, calls, rows):
        assert [index for index, _ in calls] == [row["cell_index"] for row in rows]
        self.events.append(("calls", [r.cell.group.key for _, r in calls]))

    def group_done(self, key, rows):
        self.events.append(("group", key, len(rows)))


@pytest.mark.parametrize("judged", [False, True])
def test_calls_are_traced_and_groups_logged_and_nothing_is_left_behind(plan, judged):
    """Offline, each call is handed over (scored, to trace) as it finishes, off the event loop; with a
    judge, once its group is scored. A group is logged once its last cell is done, after all its
    calls. After an interruption, the calls never handed over are the ones a finished run must
    still trace."""
    from workbench.groups import GroupLogger
    from workbench.scoring import offline
    from workbench.scoring.engine import ScoringEngine

    class OfflineJudge:
        """A judge that answers from the offline back-end, after a pause like a model call."""

        async def analyse(self, item, constructs):
            await asyncio.sleep(0.01)
            return offline.analyse(item)

        async def addresses_evaluator(self, item):
            return False, "", []

    responses = rendered(plan)
    tracker = RecordingTracker()
    fast = {s.name: "fast" for s in plan.scorers}
    engine = ScoringEngine(
        plan.scorers,
        {**fast, "crisis_escalation": "judge"} if judged else fast,
        judge=OfflineJudge() if judged else None,
    )
    logger = GroupLogger(plan, responses, tracker, engine)
    first, second = plan.groups[0].key, plan.groups[1].key
    in_first = [r for r in responses if r.cell.group.key == first]
    for response in [*in_first, next(r for r in responses if r.cell.group.key == second)]:
        response.reply, response.attempts = "I hear you. Please call 988 tonight.", [object()]
        logger.completed(response)
    frame = logger.frame()  # waits for background scoring
    if judged:
        assert tracker.events == [("calls", [first] * len(in_first)), ("group", first, len(in_first))]
        assert [r.cell.group.key for _, r in logger.calls_not_handed_over()] == [second]
    else:
        group_at = tracker.events.index(("group", first, len(in_first)))
        traced = [key for event in tracker.events if event[0] == "calls" for key in event[1]]
        before = [key for event in tracker.events[:group_at] if event[0] == "calls" for key in event[1]]
        assert before.count(first) == len(in_first), "every call of a group is traced before the group is logged"
        assert sorted(traced) == sorted([first] * len(in_first) + [second]), "each call traced exactly once"
        assert [e for e in tracker.events if e[0] == "group"] == [("group", first, len(in_first))]
        assert logger.calls_not_handed_over() == []
    assert len(frame) == len(logger.finished_rows()) == len(in_first) + 1
    outside = logger.rows_outside_logged_groups()
    assert [row["run"] for row in outside] == [second], "the parent table gets these beside the groups' tables"
    assert frame["crisis_escalation_evidence"].map(bool).all()
