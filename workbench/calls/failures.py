"""What went wrong in a run's calls, by class: a count and one example message for each, so a
run in which everything failed says why in one line instead of "198 errors"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from workbench.calls.breaker import cause


@dataclass(frozen=True)
class ErrorClass:
    name: str
    count: int
    example: str

    def as_row(self) -> dict:
        return asdict(self)


def error_classes(errors: Iterable[str | None]) -> list[ErrorClass]:
    """Errors grouped by their class (`HTTP 401 AuthenticationError`, `APIConnectionError`,
    `not called`), most frequent first, each with its first message as the example."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for error in errors:
        if not error:
            continue
        name = cause(error)
        counts[name] = counts.get(name, 0) + 1
        examples.setdefault(name, error)
    return [ErrorClass(name, counts[name], examples[name]) for name in sorted(counts, key=lambda n: -counts[n])]
