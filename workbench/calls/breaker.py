"""The circuit breaker: stop calling a model that only fails, and say why.

Without it, a model whose every call fails (a wrong key, a model name the server does not know,
an endpoint that went away) is called for every cell, each call retried with backoff: minutes
spent learning one thing. The breaker opens, and the model's remaining cells are not called, when

- the first `threshold` calls to a model all failed with the same cause (it never worked), or
- `threshold` calls in a row failed with the same transient cause after all their retries (it
  stopped working: a server that went down, a quota used up).

A run of non-transient failures after a success does not open it: a 400 for one scenario's
over-long context says nothing about the next scenario.
"""

from __future__ import annotations

from dataclasses import dataclass


def cause(error: str) -> str:
    """The class of an error: what `calls.retry.classify` put before the first colon
    (`HTTP 401 AuthenticationError`, `APIConnectionError`)."""
    return error.split(":", 1)[0].strip()


@dataclass
class CircuitBreaker:
    model: str
    threshold: int
    succeeded_once: bool = False
    streak: int = 0
    streak_cause: str | None = None
    streak_transient: bool = True
    example: str | None = None
    reason: str | None = None

    def succeeded(self) -> None:
        self.succeeded_once = True
        self.streak, self.streak_cause = 0, None

    def failed(self, error: str, *, transient: bool) -> None:
        current = cause(error)
        if current == self.streak_cause:
            self.streak += 1
            self.streak_transient = self.streak_transient and transient
        else:
            self.streak, self.streak_cause, self.streak_transient, self.example = 1, current, transient, error
        if self.reason is None and self.streak >= self.threshold:
            if not self.succeeded_once:
                self.reason = f"its first {self.streak} calls all failed with {self.example}"
            elif self.streak_transient:
                self.reason = f"{self.streak} calls in a row failed, after their retries, with {self.example}"

    def refusal(self) -> str:
        return f"not called: {self.model} was stopped because {self.reason}"
