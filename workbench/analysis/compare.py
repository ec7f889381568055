"""Compare conditions across runs: each metric with a scenario-clustered 95% interval, paired tests
between the levels of one factor (system prompt, user strategy, model or pipeline) with the other
factors held fixed, effect sizes, and a multiple-comparison correction over the whole table.

    >>> comparison = compare(RunSelection(experiments=("quickstart",)), by="system_prompt",
    ...                      baseline="baseline-assistant@1")
    >>> comparison.estimates      # one row per condition x metric: value, interval, n
    >>> comparison.pairs          # one row per pair x metric: difference, interval, test, p, adjusted p
    >>> comparison.to_html("report.html"); comparison.log_to_mlflow()

Metric names, aggregations, directions and the terms of the empathy-accountability gap all come
from the scorers' declarations (`@scorer`), so a new scorer is compared without changes here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.analysis.select import CONDITION, RunSelection, RunSet, load_runs, mixed_datasets_problem
from workbench.analysis.stats import BOOTSTRAP_SAMPLES, CORRECTIONS, adjust, cluster_interval, paired_comparison
from workbench.errors import InputError, Problem
from workbench.scoring.metrics import accountability, empathy_accountability_gap
from workbench.scoring.registry import SCORERS, Scorer

FACTORS = {"system_prompt": "system prompt", "user_strategy": "user strategy", "model": "model", "pipeline": "pipeline"}
FAILURE_EXCERPT = 400  # characters of a reply shown beside a failure


@dataclass
class Comparison:
    """What `compare` found. Frames are tidy (one row per condition x metric, or pair x metric) so
    they go straight to CSV, plots or further analysis."""

    runs: RunSet
    by: str
    scorers: list[Scorer]
    estimates: pd.DataFrame
    cells: pd.DataFrame
    pairs: pd.DataFrame
    failures: pd.DataFrame
    correction: str
    alpha: float
    warnings: list[str] = field(default_factory=list)

    @property
    def validity(self) -> dict[str, str]:
        """Scorer -> its weakest validity status over the compared runs (ok, low, unvalidated)."""
        return self.runs.validity()

    def low_validity(self) -> list[str]:
        """Metrics no run can back: below their validity floor, or never validated."""
        weak = self.validity
        return [s.metric for s in self.scorers if weak.get(s.name, "unvalidated") != "ok"]

    def to_csv(self, path: str | Path) -> list[Path]:
        """The estimates to `path`, the paired comparisons beside it (`<name>_pairs.csv`) and the
        failures with their evidence (`<name>_failures.csv`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = [path, path.with_name(f"{path.stem}_pairs.csv"), path.with_name(f"{path.stem}_failures.csv")]
        for frame, target in zip((self.estimates, self.pairs, self.failures), written, strict=True):
            frame.to_csv(target, index=False)
        return written

    def figures(self) -> dict:
        """The four plots as matplotlib figures, by file name."""
        from workbench.analysis.plots import all_figures  # matplotlib loads only when plots are wanted

        return all_figures(self)

    def to_html(self, path: str | Path) -> Path:
        """A self-contained HTML report (plots embedded, no scripts, no outside files)."""
        from workbench.analysis.report import html_report

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html_report(self), encoding="utf-8")
        return path

    def log_to_mlflow(self, experiment: str | None = None) -> str:
        """Log the plots, report and tables as artifacts of a comparison run, so they show in the
        MLflow UI; returns its run id."""
        from workbench.analysis.report import log_comparison

        return log_comparison(self, experiment)

    def condition_label(self, row: pd.Series | dict) -> str:
        return condition_label(row, self.varying)

    @property
    def varying(self) -> list[str]:
        """Condition columns that take more than one value (the others go without saying)."""
        return varying_factors(self.runs.runs)


def varying_factors(runs: pd.DataFrame) -> list[str]:
    varying = [c for c in CONDITION if runs[c].nunique() > 1]
    return varying or ["system_prompt"]


def condition_label(row: pd.Series | dict, columns: list[str]) -> str:
    return " × ".join(str(row[c]) for c in columns)


def compare(
    runs: RunSet | RunSelection,
    *,
    by: str = "system_prompt",
    metrics: list[str] | None = None,
    baseline: str | None = None,
    correction: str = "holm",
    alpha: float = 0.05,
    strict: bool = False,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> Comparison:
    """Compare the selected runs: estimates per condition, paired tests between the levels of `by`
    (every pair, or each level against `baseline`), with `correction` over all of them.

    Runs that used different scenario sets (dataset hashes) are compared on the scenarios they
    share, with a warning; `strict=True` refuses them instead."""
    problems = _argument_problems(by, correction, alpha)
    if problems:
        raise InputError(problems)
    if isinstance(runs, RunSelection):
        runs = load_runs(runs)
    warnings = list(runs.warnings)
    mixed = mixed_datasets_problem(runs)
    if mixed is not None:
        if strict:
            raise InputError(Problem(mixed.message, None, "--strict", None, mixed.fix))
        warnings.append(mixed.message)
    scorers = _scorers(runs.responses, metrics)
    if baseline is not None and baseline not in set(runs.runs[by]):
        raise InputError.single(
            f"baseline '{baseline}' is not among the compared {FACTORS[by]}s",
            field="baseline",
            fix=f"use one of: {', '.join(dict.fromkeys(runs.runs[by]))}",
        )
    values = score_values(runs.responses, scorers)
    estimates, cells = _estimates(runs, scorers, values, samples, seed)
    pairs = _pairs(runs, scorers, values, by, baseline, samples, seed)
    if len(pairs):
        pairs["p_adjusted"] = adjust(pairs["p_value"].to_numpy(), correction)
        pairs["significant"] = pairs["p_adjusted"] < alpha
        pairs["verdict"] = [_verdict(row, scorers) for row in pairs.to_dict("records")]
    return Comparison(
        runs, by, scorers, estimates, cells, pairs, failures(runs.responses, scorers), correction, alpha, warnings
    )


def _argument_problems(by: str, correction: str, alpha: float) -> list[Problem]:
    problems = []
    if by not in FACTORS:
        problems.append(Problem(f"cannot compare by '{by}'", field="by", fix=f"use one of: {', '.join(FACTORS)}"))
    if correction not in CORRECTIONS:
        problems.append(
            Problem(
                f"unknown correction '{correction}'", field="correction", fix=f"use one of: {', '.join(CORRECTIONS)}"
            )
        )
    if not 0 < alpha < 1:
        problems.append(Problem(f"alpha must be between 0 and 1 (got {alpha})", field="alpha", fix="e.g. 0.05"))
    return problems


def _scorers(responses: pd.DataFrame, names: list[str] | None) -> list[Scorer]:
    present = [s for s in SCORERS.values() if s.name in responses.columns]
    if names is None:
        return present
    by_name = {s.name: s for s in present}
    by_metric = {s.metric: s for s in present}
    chosen, problems = [], []
    for index, name in enumerate(names):
        scorer = by_name.get(name) or by_metric.get(name)
        if scorer is None:
            problems.append(
                Problem(
                    f"metric '{name}' is not in the compared runs",
                    field=f"metrics[{index}]",
                    fix=f"use one of: {', '.join(by_name)}",
                )
            )
        else:
            chosen.append(scorer)
    if problems:
        raise InputError(problems)
    return chosen


def score_values(responses: pd.DataFrame, scorers: list[Scorer]) -> dict[str, np.ndarray]:
    """Each scorer's per-reply values as floats; not applicable, unscored and failed calls are NaN."""
    names = [s.name for s in scorers]
    block = responses[names].apply(pd.to_numeric, errors="coerce") if names else pd.DataFrame()
    return {name: block[name].to_numpy(dtype=float, na_value=np.nan) for name in names}


def _condition_groups(runs: RunSet) -> list[tuple[dict, np.ndarray]]:
    """(condition, row positions in `responses`) in the order the runs were selected."""
    positions = runs.responses.groupby(CONDITION, sort=False).indices
    out = []
    for row in runs.runs[CONDITION].drop_duplicates().to_dict("records"):
        key = tuple(row[c] for c in CONDITION)
        if key in positions:
            out.append((row, np.asarray(positions[key])))
    return out


def _estimates(
    runs: RunSet, scorers: list[Scorer], values: dict[str, np.ndarray], samples: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    scenarios = runs.responses["scenario_id"].to_numpy()
    errors = runs.responses["error"].notna().to_numpy() if "error" in runs.responses else np.zeros(len(scenarios), bool)
    validity = {tuple(r[c] for c in CONDITION): r["validity"] for r in runs.runs.to_dict("records")}
    long_rows, wide_rows = [], []
    for condition, rows in _condition_groups(runs):
        status = validity.get(tuple(condition[c] for c in CONDITION), {})
        metrics: dict[str, float] = {}
        for scorer in scorers:
            interval = cluster_interval(values[scorer.name][rows], scenarios[rows], samples, seed)
            metrics[scorer.metric] = interval.value
            long_rows.append(
                {
                    **condition,
                    "metric": scorer.metric,
                    "scorer": scorer.name,
                    "aggregate": scorer.aggregate,
                    "value": interval.value,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "n": interval.n,
                    "scenarios": interval.clusters,
                    "higher_is_better": scorer.higher_is_better,
                    "validity": status.get(scorer.name, "unvalidated"),
                }
            )
        gap = empathy_accountability_gap(metrics, scorers)
        account = accountability(metrics, scorers)
        wide_rows.append(
            {
                **condition,
                **metrics,
                "empathy_accountability_gap": gap,
                "accountability": account,
                "risk": 1 - account if not math.isnan(account) else math.nan,
                "replies": len(rows),
                "error_rate": float(errors[rows].mean()) if len(rows) else math.nan,
            }
        )
    return pd.DataFrame(long_rows), pd.DataFrame(wide_rows)


def _pairs(
    runs: RunSet,
    scorers: list[Scorer],
    values: dict[str, np.ndarray],
    by: str,
    baseline: str | None,
    samples: int,
    seed: int,
) -> pd.DataFrame:
    """Paired comparisons between the levels of `by` within each stratum of the other factors."""
    groups = _condition_groups(runs)
    scenarios = runs.responses["scenario_id"].to_numpy()
    others = [c for c in CONDITION if c != by]
    strata: dict[tuple, list[tuple[dict, np.ndarray]]] = {}
    for condition, rows in groups:
        strata.setdefault(tuple(condition[c] for c in others), []).append((condition, rows))
    out = []
    for stratum, members in strata.items():
        levels = {condition[by]: rows for condition, rows in members}
        if baseline is not None:
            pairs = [(baseline, level) for level in levels if level != baseline and baseline in levels]
        else:
            pairs = list(itertools.combinations(levels, 2))
        for a, b in pairs:
            for scorer in scorers:
                result = paired_comparison(
                    values[scorer.name][levels[a]],
                    scenarios[levels[a]],
                    values[scorer.name][levels[b]],
                    scenarios[levels[b]],
                    kind="mean" if scorer.aggregate == "mean" else "rate",
                    samples=samples,
                    seed=seed,
                )
                if not result.scenarios:
                    continue
                out.append(
                    {
                        **dict(zip(others, stratum, strict=True)),
                        "factor": by,
                        "a": a,
                        "b": b,
                        "metric": scorer.metric,
                        "a_value": result.a,
                        "b_value": result.b,
                        "difference": result.difference,
                        "diff_ci_low": result.low,
                        "diff_ci_high": result.high,
                        "effect_size": result.effect_size,
                        "effect_size_name": result.effect_size_name,
                        "test": result.test,
                        "p_value": result.p_value,
                        "pairs": result.pairs,
                        "scenarios": result.scenarios,
                    }
                )
    return pd.DataFrame(out)


def _verdict(row: dict, scorers: list[Scorer]) -> str:
    """`b better`, `b worse` or `no significant difference`, by the metric's declared direction."""
    if not row["significant"] or math.isnan(row["difference"]) or row["difference"] == 0:
        return "no significant difference"
    higher_is_better = next(s.higher_is_better for s in scorers if s.metric == row["metric"])
    return "b better" if (row["difference"] > 0) == higher_is_better else "b worse"


def failure_mask(values: np.ndarray, scorer: Scorer) -> np.ndarray:
    """Replies where a yes/no or share metric shows a failure: short of 1 where higher is better,
    above 0 where lower is better. Means (empathy, engagement) have no failure."""
    if scorer.aggregate == "mean":
        return np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        return values < 1 if scorer.higher_is_better else values > 0


def failures(responses: pd.DataFrame, scorers: list[Scorer]) -> pd.DataFrame:
    """Every failed reply on a headline rate metric, with the scenario, the condition, the evidence
    text the scorer gave and the start of the reply."""
    chosen = [s for s in scorers if s.headline and s.aggregate == "rate"]
    values = score_values(responses, chosen)
    frames = []
    for scorer in chosen:
        mask = failure_mask(values[scorer.name], scorer)
        if not mask.any():
            continue
        rows = responses.loc[mask]
        frames.append(
            pd.DataFrame(
                {
                    "scenario_id": rows["scenario_id"].to_numpy(),
                    "risk_level": rows["risk_level"].to_numpy() if "risk_level" in rows else None,
                    **{c: rows[c].to_numpy() for c in CONDITION},
                    "sample": rows["sample"].to_numpy() if "sample" in rows else 0,
                    "metric": scorer.metric,
                    "value": values[scorer.name][mask],
                    "evidence": rows[f"{scorer.name}_evidence"].to_numpy() if f"{scorer.name}_evidence" in rows else "",
                    "reply": rows["reply"].fillna("").str.slice(0, FAILURE_EXCERPT).to_numpy()
                    if "reply" in rows
                    else "",
                    "run_id": rows["run_id"].to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=[
                "scenario_id",
                "risk_level",
                *CONDITION,
                "sample",
                "metric",
                "value",
                "evidence",
                "reply",
                "run_id",
            ]
        )
    return pd.concat(frames, ignore_index=True)
