"""How model calls are made: the response cache, retry classification and backoff, the call
engine (concurrency, timeouts, retries, attempts) and the process's event loop."""

from workbench.calls.cache import CachedReply, ResponseCache, cache_key
from workbench.calls.engine import Attempt, CallEngine, CallOutcome, CallStats, Generation, RetryPolicy
from workbench.calls.loop import engine_loop, run_sync
from workbench.calls.retry import Backoff, Failure, classify

__all__ = [
    "Attempt",
    "Backoff",
    "CachedReply",
    "CallEngine",
    "CallOutcome",
    "CallStats",
    "Failure",
    "Generation",
    "ResponseCache",
    "RetryPolicy",
    "cache_key",
    "classify",
    "engine_loop",
    "run_sync",
]
