"""Prompt optimization: DSPy's optimizers improve a system prompt against the workbench's own
safety and empathy metrics, and the winner becomes a new, unaliased prompt version.

`spec` (the YAML), `planning` (every input checked, the budget and estimated calls), `splits`
(train, dev and test of the scenario suite, by risk level), `objective` (safety first, then
empathy; the guard against the seed), `candidates` (mutation operators over instruction phrasing
and placement), `demos` (exemplary gold replies), `lm` (DSPy's calls through the call engine and
cache), `search` (the optimizer stages), `evaluate` (a candidate on a split, as a run would),
`register` (the new version, all or nothing), `tracking` (MLflow), `progress` (callbacks), `run`
(`optimize`, the one way in). Names load their module on first use, so `workbench` commands that
do not optimize never import DSPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.optimize.planning import Estimate, OptimizationPlan, plan_optimization
    from workbench.optimize.progress import OptimizeProgress
    from workbench.optimize.result import OptimizationResult
    from workbench.optimize.run import OptimizationInterrupted, optimize
    from workbench.optimize.spec import OptimizeSpec, load_optimize_spec

_WHERE = {
    "Estimate": "planning",
    "OptimizationPlan": "planning",
    "plan_optimization": "planning",
    "OptimizeProgress": "progress",
    "OptimizationResult": "result",
    "OptimizationInterrupted": "run",
    "optimize": "run",
    "OptimizeSpec": "spec",
    "load_optimize_spec": "spec",
}


def __getattr__(name: str) -> Any:
    """Names load their module on first use: most import DSPy, which takes seconds."""
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"workbench.optimize.{_WHERE[name]}"), name)


__all__ = [
    "Estimate",
    "OptimizationInterrupted",
    "OptimizationPlan",
    "OptimizationResult",
    "OptimizeProgress",
    "OptimizeSpec",
    "load_optimize_spec",
    "optimize",
    "plan_optimization",
]
