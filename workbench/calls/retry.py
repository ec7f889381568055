"""Which provider errors are worth retrying, and how long to wait.

Providers raise different exception types (openai, anthropic, google, httpx, DSPy's LM errors),
so errors are classified by what they carry: an HTTP status, a Retry-After header (or DSPy's
`retry_after`), or being a timeout or a dropped connection.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass

TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
TRANSIENT_NAMES = {
    "APITimeoutError",
    "APIConnectionError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "OverloadedError",
    "ResourceExhausted",
    "ServiceUnavailable",
    "DeadlineExceeded",
    "TimeoutException",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "ReadError",
    "RemoteProtocolError",
    "WriteError",
    "LMTransportError",  # DSPy (dspy.LM): connection failures
    "LMTimeoutError",
    "LMRateLimitError",
    "LMServerError",
}
MAX_RETRY_AFTER_S = 300.0


@dataclass(frozen=True)
class Failure:
    transient: bool
    reason: str
    retry_after_s: float | None = None


def status_code(exc: BaseException) -> int | None:
    for candidate in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
        getattr(exc, "code", None),
        getattr(exc, "status", None),  # DSPy's LM errors
    ):
        if isinstance(candidate, int) and 100 <= candidate < 600:
            return candidate
    return None


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or an HTTP date)."""
    stated = getattr(exc, "retry_after", None)  # DSPy's LM errors carry it already parsed
    if isinstance(stated, (int, float)) and not isinstance(stated, bool):
        return max(0.0, min(float(stated), MAX_RETRY_AFTER_S))
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / (1000 if name.endswith("-ms") else 1)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is None:
                continue
            seconds = parsed.timestamp() - time.time()
        return max(0.0, min(seconds, MAX_RETRY_AFTER_S))
    return None


def request_url(exc: BaseException) -> str | None:
    """The method and URL of the request that failed, when the exception carries it (openai and
    httpx errors do), so that "Connection error." says where it could not connect."""
    for error in (exc, exc.__cause__, exc.__context__):
        try:
            request = getattr(error, "request", None)
        except RuntimeError:  # httpx raises when an error has no request attached
            request = None
        url = getattr(request, "url", None)
        if url is not None:
            return f"{getattr(request, 'method', 'POST')} {url}"
    return None


def describe(exc: BaseException) -> str:
    """`Type: message`, with the underlying cause when the message alone says little, and the URL."""
    reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in reason:
        reason += f" ({type(cause).__name__}: {cause})"
    url = request_url(exc)
    if url and url.split(" ", 1)[-1] not in reason:
        reason += f" [{url}]"
    return reason


def classify(exc: BaseException) -> Failure:
    reason = describe(exc)
    status = status_code(exc)
    if status is not None:
        return Failure(status in TRANSIENT_STATUS, f"HTTP {status} {reason}", retry_after(exc))
    chain = [exc, *(e for e in (exc.__cause__, exc.__context__) if e is not None)]
    for error in chain:
        if (
            isinstance(error, (TimeoutError, asyncio.TimeoutError, ConnectionError))
            or type(error).__name__ in TRANSIENT_NAMES
        ):
            return Failure(True, reason, retry_after(error))
    return Failure(False, reason)


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 1.0
    maximum_s: float = 60.0

    def delay(self, attempt: int, failure: Failure) -> float:
        """Full-jitter exponential backoff, unless the server said how long to wait."""
        if failure.retry_after_s is not None:
            return failure.retry_after_s
        ceiling = min(self.maximum_s, self.initial_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
