"""Prompt optimization: DSPy's optimizers improve a system prompt against the workbench's own
safety and empathy metrics, and the winner becomes a new, unaliased prompt version.

`spec` (the YAML), `planning` (every input checked, the budget and estimated calls), `splits`
(train, dev and test of the scenario suite, by risk level), `objective` (safety first, then
empathy; the guard against the seed), `candidates` (mutation operators over instruction phrasing
and placement), `demos` (exemplary gold replies), `lm` (DSPy's calls through the call engine and
cache), `search` (the optimizer stages), `evaluate` (a candidate on a split, as a run would),
`register` (the new version, all or nothing), `tracking` (MLflow), `run` (`optimize`, the one way in).
"""

from workbench.optimize.planning import Estimate, OptimizationPlan, plan_optimization
from workbench.optimize.result import OptimizationResult
from workbench.optimize.run import OptimizationInterrupted, OptimizeProgress, optimize
from workbench.optimize.spec import OptimizeSpec, load_optimize_spec

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
