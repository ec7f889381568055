"""Named extension points, declared where the thing is defined.

Pipelines (`@pipeline("langchain")`), scorers (`@scorer(...)`) and model providers
(`@provider(...)`) register themselves in a `Registry` when their module is imported, the way
Inspect's `@modelapi` and MLflow's `@scorer` do. A registry imports its built-in modules (every
module of a package) the first time it is asked for a name, and then the modules other packages
declare under the entry-point group `workbench.<kind>s`. Specs are validated against the names
registered, so adding a pipeline, scorer or provider is one new file.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from workbench.errors import Problem

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind by name: `kind` names it in messages ("pipeline", "scorer")."""

    def __init__(self, kind: str, *, packages: tuple[str, ...] = (), modules: tuple[str, ...] = ()):
        self.kind = kind
        self.packages = packages
        self.modules = modules
        self._entries: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.RLock()

    @property
    def group(self) -> str:
        return f"workbench.{self.kind.replace(' ', '_')}s"

    def add(self, name: str, entry: T) -> T:
        """Register `entry` under `name`; registering the same name twice is a programming error,
        except that re-importing a module (a notebook's reload) replaces its own entry."""
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None and _origin(existing) != _origin(entry):
                raise ValueError(f"{self.kind} '{name}' is already registered by {_origin(existing)}")
            self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Forget an entry (tests register throwaway entries)."""
        with self._lock:
            self._entries.pop(name, None)

    def decorator(self, name: str, wrap: Callable[[Callable], T]) -> Callable[[Callable], Callable]:
        """`@registry.decorator(name, wrap)` registers `wrap(function)` and returns the function."""

        def register(function: Callable) -> Callable:
            self.add(name, wrap(function))
            return function

        return register

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module in self.modules:
                importlib.import_module(module)
            for package in self.packages:
                found = importlib.import_module(package)
                for info in pkgutil.iter_modules(found.__path__, f"{package}."):
                    if not info.name.rpartition(".")[2].startswith("_"):
                        importlib.import_module(info.name)
            for entry_point in entry_points(group=self.group):
                entry_point.load()

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} '{name}'; known: {', '.join(self.names())}") from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        self._load()
        return list(self._entries)

    def values(self) -> list[T]:
        self._load()
        return list(self._entries.values())

    def unknown(self, name: str, *, file: str | None = None, field: str | None = None) -> Problem | None:
        """A problem naming the registered alternatives, or None if `name` is registered."""
        if name in self:
            return None
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return Problem(
            f"unknown {self.kind} '{name}'",
            file,
            field,
            None,
            f"{hint}registered {self.kind}s: {', '.join(self.names())}",
        )


def _origin(entry: object) -> str:
    """Where an entry was defined, to tell a reload from a clash."""
    target = getattr(entry, "factory", None) or getattr(entry, "compute", None) or entry
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"
