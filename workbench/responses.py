"""Collect one reply per cell: cached replies first, then model calls run concurrently
with a per-model limit, retried with backoff on transient errors.

A cell that still fails becomes a `Response` with an `error`; the run goes on. Each reply
is written to the cache the moment it arrives, so an interrupted run loses nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from workbench.cache import CachedReply, ResponseCache, cache_key
from workbench.pipelines.base import Message, Pipeline
from workbench.pipelines.langchain import render
from workbench.plan import Cell, ExperimentPlan
from workbench.retry import Backoff, classify


@dataclass
class Attempt:
    started_ns: int
    ended_ns: int
    error: str | None = None


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
    attempts: list[Attempt] = field(default_factory=list)
    trace_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.reply is not None

    @property
    def done(self) -> bool:
        return self.ok or self.error is not None


@dataclass
class CallStats:
    calls: int = 0
    retries: int = 0


def prepare(plan: ExperimentPlan) -> list[Response]:
    """Messages and cache keys for every cell, without calling anything."""
    rendered: dict[tuple, list[Message]] = {}
    responses = []
    for cell in plan.cells:
        key = (cell.group.system_prompt.template, cell.group.user_strategy.template, cell.scenario.id)
        if key not in rendered:
            rendered[key] = render(cell.conversation(plan.values))
        messages = rendered[key]
        model = cell.group.model
        responses.append(Response(cell, messages, cache_key(model.identity(), plan.decoding(model).model_dump(),
                                                            messages, cell.sample)))
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
        response.latency_s, response.cached = hit.latency_s, True
    return pending


async def collect(plan: ExperimentPlan, pending: list[Response], *, pipeline_for: Callable[[Cell], Pipeline],
                  cache: ResponseCache | None, stats: CallStats,
                  on_complete: Callable[[Response], None] = lambda response: None) -> None:
    """Call the model for every pending response, filling them in place."""
    limits = {model.name: asyncio.Semaphore(plan.concurrency(model)) for model in plan.models}
    backoff = Backoff(plan.spec.retries.initial_delay_s, plan.spec.retries.max_delay_s)
    attempts_allowed = plan.spec.retries.max_attempts
    timeout = plan.spec.timeout_s

    async def one(response: Response) -> None:
        cell = response.cell
        pipeline = pipeline_for(cell)
        conversation = cell.conversation(plan.values)
        async with limits[cell.group.model.name]:
            while True:
                stats.calls += 1
                started, started_ns = time.perf_counter(), time.time_ns()
                try:
                    async with asyncio.timeout(timeout):
                        generation = await pipeline.respond(conversation)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # providers raise many types; classify decides what is transient
                    failure = classify(exc)
                    response.attempts.append(Attempt(started_ns, time.time_ns(), failure.reason[:2000]))
                    if failure.transient and len(response.attempts) < attempts_allowed:
                        stats.retries += 1
                        await asyncio.sleep(backoff.delay(len(response.attempts), failure))
                        continue
                    response.error = failure.reason[:2000]
                    break
                response.attempts.append(Attempt(started_ns, time.time_ns()))
                response.latency_s = time.perf_counter() - started
                response.reply = generation.reply
                response.input_tokens = generation.input_tokens
                response.output_tokens = generation.output_tokens
                if cache is not None:
                    cache.put(response.cache_key, CachedReply(
                        generation.reply, generation.input_tokens, generation.output_tokens, response.latency_s))
                break
        on_complete(response)

    await asyncio.gather(*(one(r) for r in pending))
