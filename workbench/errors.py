"""Errors meant for people: what is wrong, where (file and field), and how to fix it.

Every check on user input (specs, prompt files, scenario files, model specs) raises
`InputError` before any model is called, so a bad run costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    message: str
    file: str | None = None
    field: str | None = None
    line: int | None = None
    fix: str | None = None

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.field:
            parts.append(self.field)
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\n  fix: {self.fix}" if self.fix else text


class InputError(Exception):
    """One or more problems in user input; raised before any model call."""

    def __init__(self, problems: Problem | list[Problem]):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def single(
        cls,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> InputError:
        return cls(Problem(message, display_path(file) if file else None, field, line, fix))


class Problems(list[Problem]):
    """Problems gathered over many checks of one file, so every mistake in it is reported at once
    rather than one per attempt."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def attempt(self, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """The check's result, or None with its problems kept (placed in this file unless they name
        another), so later checks still run."""
        try:
            return check(*args, **kwargs)
        except InputError as exc:
            self.extend(p if p.file else replace(p, file=self.file) for p in exc.problems)
            return None


def display_path(path: str | Path) -> str:
    """Paths relative to the working directory read better in messages."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
