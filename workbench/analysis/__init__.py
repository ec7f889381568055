"""Reading runs back from MLflow and comparing them: which runs (`select`), the statistics
(`stats`: scenario-clustered intervals, paired tests, effect sizes, corrections), the comparison
itself (`compare`), its plots (`plots`) and its report (`report`: self-contained HTML, and
artifacts of a comparison run in MLflow)."""

from workbench.analysis.compare import Comparison, compare
from workbench.analysis.select import RunSelection, RunSet, load_runs

__all__ = ["Comparison", "RunSelection", "RunSet", "compare", "load_runs"]
