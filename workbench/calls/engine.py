"""The one call engine behind every model call: the pipelines' replies and the judge's answers.

It owns what every call needs and no caller should redo: the response cache (a hit makes no
call; a reply is committed the moment it arrives; a lease keeps concurrent runs from calling the
same cell twice), a concurrency limit per model, a per-call timeout, retries with backoff for
transient errors (honouring Retry-After), a circuit breaker that stops calling a model which only
fails, and the redaction of API keys from every reply and error before anyone sees them. Each
attempt is recorded (start, end, error) so the trace of a call shows one span per attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from workbench.calls.breaker import CircuitBreaker
from workbench.calls.cache import CachedReply, Lease, ResponseCache
from workbench.calls.retry import Backoff, classify

Redact = Callable[[str], str]
LEASE_POLL_S = 0.2

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Generation:
    """What a model call returns: the text and the token counts the provider reported, and the
    spans a framework's own tracing recorded while making it (JSON, see `tracking.traces`), which
    the reply's trace shows."""

    reply: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    spans: str | None = None


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
    cached_at: float | None = None
    """For a cached reply: when it arrived."""
    shared: bool = False
    """Another run, going at the same time, made this call; this run took its outcome."""

    @property
    def ok(self) -> bool:
        return self.generation is not None


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for transient errors (429, 5xx, timeouts, dropped connections)."""

    max_attempts: int = 5
    initial_delay_s: float = 1.0
    max_delay_s: float = 60.0
    circuit_breaker: int = 5


@dataclass
class CallStats:
    """Calls made and retries needed, per purpose ("reply", "judge")."""

    calls: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    waited: Counter = field(default_factory=Counter)
    """Calls another run was making at the same time, whose outcome this run took instead."""


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
        redact: Redact | None = None,
    ):
        self.cache = cache
        self.retries = retries or RetryPolicy()
        self.timeout_s = timeout_s
        self.default_limit = default_limit
        self.limits = dict(limits or {})
        self.stats = CallStats()
        self.redact: Redact = redact or (lambda text: text)
        self.breakers: dict[str, CircuitBreaker] = {}
        self.started = time.time()
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def breaker(self, limit_key: str) -> CircuitBreaker:
        found = self.breakers.get(limit_key)
        if found is None:
            found = self.breakers[limit_key] = CircuitBreaker(limit_key, self.retries.circuit_breaker)
        return found

    @property
    def stopped(self) -> dict[str, str]:
        """Models the circuit breaker stopped calling, with the reason."""
        return {key: b.reason for key, b in self.breakers.items() if b.reason is not None}

    def semaphore(self, limit_key: str) -> asyncio.Semaphore:
        found = self._semaphores.get(limit_key)
        if found is None:
            found = self._semaphores[limit_key] = asyncio.Semaphore(self.limits.get(limit_key, self.default_limit))
        return found

    def cached(self, key: str) -> CallOutcome | None:
        hit = self.cache.get(key) if self.cache is not None else None
        return None if hit is None else _from_cache(hit)

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
        `invoke` under the limit for `limit_key`, retrying transient failures. With a cache, the
        call first takes the key's lease; if another run holds it, wait for that run's outcome."""
        if key is not None and look_up and (hit := self.cached(key)) is not None:
            return hit
        breaker = self.breaker(limit_key)
        while True:
            async with self.semaphore(limit_key):
                if breaker.reason is not None:
                    return CallOutcome(error=breaker.refusal())
                if self.cache is None or key is None:
                    return await self._attempts(limit_key, key, invoke, purpose)
                claim = self.cache.claim(key, self.started)
                if claim.state is Lease.CLAIMED:
                    return await self._attempts(limit_key, key, invoke, purpose)
                if claim.state is Lease.CACHED and claim.reply is not None:
                    self.stats.waited[purpose] += 1
                    outcome = _from_cache(claim.reply)
                    outcome.shared = True
                    return outcome
                if claim.state is Lease.FAILED:
                    self.stats.waited[purpose] += 1
                    return CallOutcome(error=claim.error, shared=True)
            while not self.cache.lease_ended(key):  # another run is calling it: wait outside the limit
                await asyncio.sleep(LEASE_POLL_S)

    async def _attempts(
        self, limit_key: str, key: str | None, invoke: Callable[[], Awaitable[Generation]], purpose: str
    ) -> CallOutcome:
        backoff = Backoff(self.retries.initial_delay_s, self.retries.max_delay_s)
        outcome = CallOutcome()
        try:
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
                    reason = self.redact(failure.reason)[:MAX_ERROR_CHARS]
                    outcome.attempts.append(Attempt(started_ns, time.time_ns(), reason))
                    if failure.transient and len(outcome.attempts) < self.retries.max_attempts:
                        self.stats.retries[purpose] += 1
                        await asyncio.sleep(backoff.delay(len(outcome.attempts), failure))
                        continue
                    outcome.error = reason
                    self.breaker(limit_key).failed(reason, transient=failure.transient)
                    return outcome
                outcome.attempts.append(Attempt(started_ns, time.time_ns()))
                outcome.latency_s = time.perf_counter() - started
                outcome.generation = Generation(
                    self.redact(generation.reply),
                    generation.input_tokens,
                    generation.output_tokens,
                    self.redact(generation.spans) if generation.spans else None,
                )
                self.breaker(limit_key).succeeded()
                if self.cache is not None and key is not None:
                    self.cache.put(
                        key,
                        CachedReply(
                            outcome.generation.reply,
                            generation.input_tokens,
                            generation.output_tokens,
                            outcome.latency_s,
                        ),
                    )
                return outcome
        finally:
            if outcome.generation is None and self.cache is not None and key is not None:
                if outcome.error is None:  # interrupted: whoever runs it next calls it
                    self.cache.abandon(key)
                else:
                    self.cache.release(key, outcome.error)


def _from_cache(hit: CachedReply) -> CallOutcome:
    return CallOutcome(
        Generation(hit.reply, hit.input_tokens, hit.output_tokens),
        latency_s=hit.latency_s,
        cached=True,
        cached_at=hit.created,
    )
