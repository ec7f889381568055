"""How an offline construct module plugs in: `@offline_analyser(name)` on a function that reads a
reply and returns findings for its items. Every module of `workbench.scoring.offline` is imported
when the back-end first runs; `requires` names items another module must have found first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from workbench.registry import Registry
from workbench.scoring.items import Finding
from workbench.scoring.text import Reply

Findings = Mapping[str, Finding]
Analyse = Callable[[Reply, Findings], dict[str, Finding]]


@dataclass(frozen=True)
class OfflineAnalyser:
    name: str
    constructs: tuple[str, ...]
    analyse: Analyse = field(repr=False)
    requires: tuple[str, ...] = ()

    @property
    def factory(self) -> Analyse:  # what the registry reports as the definition's origin
        return self.analyse


ANALYSERS: Registry[OfflineAnalyser] = Registry("offline analyser", packages=("workbench.scoring.offline",))


def offline_analyser(
    name: str, *, constructs: tuple[str, ...], requires: tuple[str, ...] = ()
) -> Callable[[Analyse], Analyse]:
    """Register `analyse(reply, earlier_findings)` as the offline reader of `constructs`' items."""
    return ANALYSERS.decorator(name, lambda analyse: OfflineAnalyser(name, constructs, analyse, requires))


def run_order(analysers: list[OfflineAnalyser]) -> list[OfflineAnalyser]:
    """Analysers ordered so that each runs after the ones answering the items it requires."""
    ordered: list[OfflineAnalyser] = []
    pending = list(analysers)
    while pending:
        waiting_on = {c for a in pending for c in a.constructs}
        ready = [
            a
            for a in pending
            if not any(key.split(".")[0] in waiting_on and key.split(".")[0] not in a.constructs for key in a.requires)
        ]
        if not ready:
            raise RuntimeError(f"offline analysers with circular requirements: {[a.name for a in pending]}")
        ordered.extend(ready)
        pending = [a for a in pending if a not in ready]
    return ordered
