"""The one call engine behind every model call: the pipelines' replies and the judge's answers.

It owns what every call needs and no caller should redo: the response cache (a hit makes no
call; a reply is committed the moment it arrives), a concurrency limit per model, a per-call
timeout, and retries with backoff for transient errors, honouring Retry-After. Each attempt is
recorded (start, end, error) so the trace of a call shows one span per attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from workbench.calls.cache import CachedReply, ResponseCache
from workbench.calls.retry import Backoff, classify

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Generation:
    """What a model call returns: the text and the token counts the provider reported."""

    reply: str
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass
class Attempt:
    started_ns: int
    ended_ns: int
    error: str | None = None


@dataclass
class CallOutcome:
    """A finished call: a generation, or the error that ended it after retries."""

    generation: Generation | None = None
    error: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    latency_s: float | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.generation is not None


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for transient errors (429, 5xx, timeouts, dropped connections)."""

    max_attempts: int = 5
    initial_delay_s: float = 1.0
    max_delay_s: float = 60.0


@dataclass
class CallStats:
    """Calls made and retries needed, per purpose ("reply", "judge")."""

    calls: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)


class CallEngine:
    """Runs calls on the current event loop. `limits` maps a limit key (usually the model's name,
    `judge:<name>` for the judge) to how many of its calls may be in flight at once."""

    def __init__(
        self,
        *,
        cache: ResponseCache | None = None,
        retries: RetryPolicy | None = None,
        timeout_s: float = 120.0,
        limits: dict[str, int] | None = None,
        default_limit: int = 4,
    ):
        self.cache = cache
        self.retries = retries or RetryPolicy()
        self.timeout_s = timeout_s
        self.default_limit = default_limit
        self.limits = dict(limits or {})
        self.stats = CallStats()
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def semaphore(self, limit_key: str) -> asyncio.Semaphore:
        found = self._semaphores.get(limit_key)
        if found is None:
            found = self._semaphores[limit_key] = asyncio.Semaphore(self.limits.get(limit_key, self.default_limit))
        return found

    def cached(self, key: str) -> CallOutcome | None:
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is None:
            return None
        return CallOutcome(
            Generation(hit.reply, hit.input_tokens, hit.output_tokens), latency_s=hit.latency_s, cached=True
        )

    async def call(
        self,
        limit_key: str,
        key: str | None,
        invoke: Callable[[], Awaitable[Generation]],
        *,
        purpose: str = "reply",
        look_up: bool = True,
    ) -> CallOutcome:
        """Answer from the cache (unless `look_up` is off: the caller already looked), or call
        `invoke` under the limit for `limit_key`, retrying transient failures."""
        if key is not None and look_up and (hit := self.cached(key)) is not None:
            return hit
        backoff = Backoff(self.retries.initial_delay_s, self.retries.max_delay_s)
        outcome = CallOutcome()
        async with self.semaphore(limit_key):
            while True:
                self.stats.calls[purpose] += 1
                started, started_ns = time.perf_counter(), time.time_ns()
                try:
                    async with asyncio.timeout(self.timeout_s):
                        generation = await invoke()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # providers raise many types; classify decides what is transient
                    failure = classify(exc)
                    outcome.attempts.append(Attempt(started_ns, time.time_ns(), failure.reason[:MAX_ERROR_CHARS]))
                    if failure.transient and len(outcome.attempts) < self.retries.max_attempts:
                        self.stats.retries[purpose] += 1
                        await asyncio.sleep(backoff.delay(len(outcome.attempts), failure))
                        continue
                    outcome.error = failure.reason[:MAX_ERROR_CHARS]
                    return outcome
                outcome.attempts.append(Attempt(started_ns, time.time_ns()))
                outcome.latency_s = time.perf_counter() - started
                outcome.generation = generation
                if self.cache is not None and key is not None:
                    self.cache.put(
                        key,
                        CachedReply(
                            generation.reply, generation.input_tokens, generation.output_tokens, outcome.latency_s
                        ),
                    )
                return outcome
