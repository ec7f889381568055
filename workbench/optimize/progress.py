"""Progress callbacks of an optimization (light to import: the CLI subclasses it before DSPy loads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.optimize.planning import Estimate


class OptimizeProgress:
    """Callbacks for progress displays; the CLI draws a bar from them."""

    def start(self, total: int, estimate: Estimate) -> None:
        pass

    def reply(self, cached: bool) -> None:
        pass

    def phase(self, text: str) -> None:
        pass
