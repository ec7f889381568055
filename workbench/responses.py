"""Collect one reply per cell: cached replies first, then the rest through each cell's pipeline
on the call engine (per-model concurrency, retries with backoff, the cache).

A cell that still fails becomes a `Response` with an `error`; the run goes on. Each reply is
written to the cache the moment it arrives, so an interrupted run loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.calls.cache import ResponseCache, cache_key
from workbench.calls.engine import Attempt, CallEngine, Redact, RetryPolicy
from workbench.pipelines.base import Message, Pipeline, build_pipeline
from workbench.plan import Cell, ExperimentPlan


@dataclass
class Response:
    cell: Cell
    messages: list[Message]
    cache_key: str
    reply: str | None = None
    latency_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None
    cached: bool = False
    cached_at: float | None = None
    shared: bool = False
    """Another run going at the same time made this call (its trace is that run's)."""
    attempts: list[Attempt] = field(default_factory=list)
    trace_id: str | None = None
    spans: str | None = None
    """The spans a framework's tracing recorded during the call (DSPy autolog), as JSON; None when cached."""
    judge_calls: list = field(default_factory=list)  # set when the reply is scored by a judge

    @property
    def ok(self) -> bool:
        return self.error is None and self.reply is not None

    @property
    def done(self) -> bool:
        return self.ok or self.error is not None


PipelineKey = tuple[str, str]
"""(model name, pipeline name)"""


def pipeline_key(cell: Cell) -> PipelineKey:
    return cell.group.model.name, cell.group.pipeline


def build_pipelines(plan: ExperimentPlan) -> dict[PipelineKey, Pipeline]:
    """One pipeline per (model, pipeline name); cheap, since clients start on the first call."""
    pipelines: dict[PipelineKey, Pipeline] = {}
    for group in plan.groups:
        key = (group.model.name, group.pipeline)
        if key not in pipelines:
            pipelines[key] = build_pipeline(
                group.pipeline, group.model, plan.decoding(group.model), plan.spec.timeout_s
            )
    return pipelines


def prepare(plan: ExperimentPlan, pipelines: dict[PipelineKey, Pipeline]) -> list[Response]:
    """Messages and cache keys for every cell, without calling anything."""
    rendered: dict[tuple, list[Message]] = {}
    responses = []
    for cell in plan.cells:
        key = (
            pipeline_key(cell),
            cell.group.system_prompt.template,
            cell.group.user_strategy.template,
            cell.scenario.id,
        )
        if key not in rendered:
            rendered[key] = pipelines[pipeline_key(cell)].messages(cell.conversation(plan.values))
        messages = rendered[key]
        model = cell.group.model
        responses.append(
            Response(
                cell,
                messages,
                cache_key(
                    cell.group.pipeline, model.identity(), plan.decoding(model).model_dump(), messages, cell.sample
                ),
            )
        )
    return responses


def fill_from_cache(responses: list[Response], cache: ResponseCache | None) -> list[Response]:
    """Fill cached replies in place; return the responses that still need a call."""
    if cache is None:
        return list(responses)
    hits = cache.get_many([r.cache_key for r in responses])
    pending = []
    for response in responses:
        hit = hits.get(response.cache_key)
        if hit is None:
            pending.append(response)
            continue
        response.reply, response.input_tokens, response.output_tokens = hit.reply, hit.input_tokens, hit.output_tokens
        response.latency_s, response.cached, response.cached_at = hit.latency_s, True, hit.created
    return pending


async def collect(
    plan: ExperimentPlan,
    pending: list[Response],
    *,
    pipelines: dict[PipelineKey, Pipeline],
    calls: CallEngine,
    on_complete: Callable[[Response], None] = lambda response: None,
) -> None:
    """Call the model for every pending response (already looked up in the cache), filling them
    in place."""

    async def one(response: Response) -> None:
        pipeline = pipelines[pipeline_key(response.cell)]
        conversation = response.cell.conversation(plan.values)
        outcome = await calls.call(
            response.cell.group.model.name, response.cache_key, lambda: pipeline.respond(conversation), look_up=False
        )
        response.attempts, response.shared = outcome.attempts, outcome.shared
        response.cached, response.cached_at = outcome.cached, outcome.cached_at
        if outcome.generation is None:
            response.error = outcome.error
        else:
            generation = outcome.generation
            response.reply, response.latency_s = generation.reply, outcome.latency_s
            response.input_tokens, response.output_tokens = generation.input_tokens, generation.output_tokens
            response.spans = generation.spans
        on_complete(response)

    await asyncio.gather(*(one(r) for r in pending))


def call_engine(plan: ExperimentPlan, cache: ResponseCache | None, redact: Redact | None = None) -> CallEngine:
    """The run's call engine: the spec's retry policy, circuit breaker and timeout, each model's
    concurrency, and the redaction of the keys the run uses."""
    retries = plan.spec.retries
    return CallEngine(
        cache=cache,
        retries=RetryPolicy(
            retries.max_attempts, retries.initial_delay_s, retries.max_delay_s, retries.circuit_breaker
        ),
        timeout_s=plan.spec.timeout_s,
        limits={m.name: plan.concurrency(m) for m in plan.models},
        redact=redact,
    )
