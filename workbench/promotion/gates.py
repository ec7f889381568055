"""The gates of a promotion policy, evaluated on evidence runs of one system prompt version.

Each gate yields one row per evidence cell (user strategy x model x pipeline), so a failure says
where it failed and by how much:

- **thresholds** on rates and means, with the 95% interval over scenarios (repeats clustered), in
  every cell: a prompt that is safe only for plain users fails in the other strategies' cells;
- **no regression** on a metric against the version the policy's alias (`production`) points to:
  a one-sided paired test on the scenarios both answered, Holm-corrected over the cells;
- **coverage**: the evidence holds every user strategy the policy names;
- **freshness**: the evidence used the current scenario files (same dataset hash) and the policy's
  scorer version;
- **validity**: every gated metric's validity card is at or above its floor in every evidence run
  (a gate on a low-validity metric fails with that reason).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from workbench.analysis.compare import score_values
from workbench.analysis.select import RunSet
from workbench.analysis.stats import PairedResult, adjust, cluster_interval, paired_comparison
from workbench.promotion.policy import GatePolicy, Threshold, scorer_for
from workbench.scoring.registry import Scorer
from workbench.scoring.validity import FLOORS, metric_statistic

CELL = ["user_strategy", "model", "pipeline"]
ALL_CELLS = "all evidence"
BOUND_TEXT = {"min": "≥", "max": "≤", "ci_low_min": "95% CI low ≥", "ci_high_max": "95% CI high ≤"}


@dataclass(frozen=True)
class GateResult:
    """One gate in one evidence cell: the number found, the threshold, and why it passed or not."""

    gate: str
    cell: str
    value: float | str
    threshold: str
    passed: bool
    reason: str = ""

    def as_dict(self) -> dict:
        out = asdict(self)
        if isinstance(self.value, float):
            out["value"] = None if math.isnan(self.value) else round(self.value, 4)
        return out


@dataclass
class Evidence:
    """What the gates look at: the candidate's runs, and the runs of the version it would replace
    (for the no-regression gates), with the dataset hash the current scenario files give."""

    candidate: str
    runs: RunSet
    production: str | None = None
    production_runs: RunSet | None = None
    current_dataset_hash: str | None = None

    @property
    def run_ids(self) -> list[str]:
        return list(self.runs.runs["run_id"])


def evaluate_gates(policy: GatePolicy, evidence: Evidence) -> list[GateResult]:
    """Every gate of `policy` on `evidence`, in the order a reader checks them."""
    results = [*coverage(policy, evidence.runs), *freshness(policy, evidence)]
    if policy.require_validity:
        results += validity(policy, evidence.runs)
    results += thresholds(policy, evidence.runs)
    results += regressions(policy, evidence)
    return results


def cell_label(row: dict | pd.Series) -> str:
    return " × ".join(str(row[c]) for c in CELL)


def _cells(runs: RunSet, each_cell: bool) -> list[tuple[str, np.ndarray]]:
    """(label, row positions in the responses) per evidence cell, or one for all evidence."""
    if not each_cell:
        return [(ALL_CELLS, np.arange(len(runs.responses)))]
    groups = runs.responses.groupby(CELL, sort=False).indices
    return [(cell_label(dict(zip(CELL, key, strict=True))), np.asarray(rows)) for key, rows in groups.items()]  # type: ignore[call-overload]


def coverage(policy: GatePolicy, runs: RunSet) -> list[GateResult]:
    present = {s.split("@")[0] for s in runs.runs["user_strategy"]}
    results = []
    for strategy in policy.strategy_names():
        found = strategy in present
        results.append(
            GateResult(
                "coverage: user strategy",
                strategy,
                "in evidence" if found else "missing",
                "present",
                found,
                "" if found else f"no evidence run used the user strategy '{strategy}': run the version with it",
            )
        )
    return results


def freshness(policy: GatePolicy, evidence: Evidence) -> list[GateResult]:
    if not policy.require_fresh:
        return []
    runs = evidence.runs.runs
    hashes = list(dict.fromkeys(runs["dataset_hash"]))
    results = []
    if len(hashes) > 1:
        results.append(
            GateResult(
                "freshness: dataset hash",
                ALL_CELLS,
                ", ".join(h[:12] for h in hashes),
                "one scenario set",
                False,
                "the evidence runs used different scenario sets: run the version on one scenario set",
            )
        )
    elif evidence.current_dataset_hash is None:
        results.append(
            GateResult(
                "freshness: dataset hash",
                ALL_CELLS,
                hashes[0][:12],
                "= current scenario files",
                False,
                "the scenario files the evidence used were not found: run from the project that ran it",
            )
        )
    else:
        fresh = hashes[0] == evidence.current_dataset_hash
        results.append(
            GateResult(
                "freshness: dataset hash",
                ALL_CELLS,
                hashes[0][:12],
                f"= current scenario files ({evidence.current_dataset_hash[:12]})",
                fresh,
                "" if fresh else "the scenario files changed since the evidence was run: run the spec again",
            )
        )
    versions = list(dict.fromkeys(runs["scorer_version"]))
    same = versions == [policy.scorer_version]
    results.append(
        GateResult(
            "freshness: scorer version",
            ALL_CELLS,
            ", ".join(v or "none" for v in versions),
            f"= {policy.scorer_version}",
            same,
            "" if same else f"the evidence was scored by another scorer version: run it with {policy.scorer_version}",
        )
    )
    return results


def validity(policy: GatePolicy, runs: RunSet) -> list[GateResult]:
    results = []
    for scorer in policy.gated_scorers():
        floor = FLOORS.get(metric_statistic(scorer), math.nan)
        statuses = [
            (r["validity"].get(scorer.name, "unvalidated"), r["validity_values"]) for _, r in runs.runs.iterrows()
        ]
        worst = next((s for s in ("unvalidated", "low") if any(status == s for status, _ in statuses)), "ok")
        values = [v.get(f"{scorer.metric}_validity", math.nan) for _, v in statuses]
        known = [v for v in values if not math.isnan(v)]
        value = min(known) if known else math.nan
        reason = {
            "ok": "",
            "low": f"{scorer.metric}'s scorer agrees with human labels below its floor: gating on it would be "
            "gating on noise (calibrate it with `workbench scorers calibrate`, or drop the gate)",
            "unvalidated": f"{scorer.metric}'s back-end was never validated against human labels "
            "(`workbench validate-scorers`)",
        }[worst]
        results.append(
            GateResult(f"validity: {scorer.metric}", ALL_CELLS, value, f"≥ floor {floor:.2f}", worst == "ok", reason)
        )
    return results


def thresholds(policy: GatePolicy, runs: RunSet) -> list[GateResult]:
    scorers = {name: scorer_for(name) for name in policy.thresholds}
    known = [s for s in scorers.values() if s is not None and s.name in runs.responses.columns]
    values = score_values(runs.responses, known)
    scenarios = runs.responses["scenario_id"].to_numpy()
    results = []
    for name, threshold in policy.thresholds.items():
        scorer = scorers[name]
        assert scorer is not None  # the policy was checked when it was loaded
        for cell, rows in _cells(runs, policy.each_cell):
            if scorer.name not in values:
                results.append(_unmeasured(scorer, threshold, cell, "the evidence runs did not use this scorer"))
                continue
            interval = cluster_interval(values[scorer.name][rows], scenarios[rows])
            if interval.n == 0:
                results.append(
                    _unmeasured(
                        scorer, threshold, cell, f"no reply in this cell is one it applies to ({scorer.applies_to})"
                    )
                )
                continue
            found = {
                "min": interval.value,
                "max": interval.value,
                "ci_low_min": interval.low,
                "ci_high_max": interval.high,
            }
            for bound, limit in threshold.bounds():
                value = found[bound]
                passed = not math.isnan(value) and (
                    value >= limit if bound in ("min", "ci_low_min") else value <= limit
                )
                reason = ""
                if math.isnan(value):
                    reason = "an interval needs replies to at least two scenarios"
                elif not passed:
                    reason = f"n={interval.n} replies over {interval.clusters} scenarios"
                results.append(
                    GateResult(
                        f"{scorer.metric} {bound}", cell, value, f"{BOUND_TEXT[bound]} {limit:g}", passed, reason
                    )
                )
    return results


def _unmeasured(scorer: Scorer, threshold: Threshold, cell: str, why: str) -> GateResult:
    bounds = ", ".join(f"{BOUND_TEXT[b]} {v:g}" for b, v in threshold.bounds())
    return GateResult(f"{scorer.metric}", cell, math.nan, bounds, False, f"not measured: {why}")


def regressions(policy: GatePolicy, evidence: Evidence) -> list[GateResult]:
    """One-sided paired tests of each no-regression metric against the production version, per cell."""
    results: list[GateResult] = []
    for name, rule in policy.no_regression.items():
        scorer = scorer_for(name)
        assert scorer is not None
        gate = f"no regression: {scorer.metric} vs {rule.versus}"
        if evidence.production is None:
            results.append(
                GateResult(gate, ALL_CELLS, "no version", f"p ≥ {rule.alpha:g}", True, "nothing to regress from")
            )
            continue
        if evidence.production == evidence.candidate:
            results.append(
                GateResult(gate, ALL_CELLS, "same version", f"p ≥ {rule.alpha:g}", True, "already production")
            )
            continue
        results += _regression_cells(gate, scorer, rule.alpha, policy.each_cell, evidence)
    return results


def _regression_cells(gate: str, scorer: Scorer, alpha: float, each_cell: bool, evidence: Evidence) -> list[GateResult]:
    base = evidence.production_runs
    runs = evidence.runs
    pending: list[tuple[str, PairedResult | str]] = []
    for cell, rows in _cells(runs, each_cell):
        if base is None or not len(base.responses):
            pending.append((cell, f"no runs of {evidence.production} to compare with"))
            continue
        if each_cell:
            key = dict(zip(CELL, cell.split(" × "), strict=True))
            mask = np.ones(len(base.responses), dtype=bool)
            for column, value in key.items():
                mask &= base.responses[column].astype(str).to_numpy() == value
            base_rows = np.flatnonzero(mask)
        else:
            base_rows = np.arange(len(base.responses))
        if not len(base_rows) or scorer.name not in base.responses or scorer.name not in runs.responses:
            pending.append((cell, f"no run of {evidence.production} in this cell on the same scenarios"))
            continue
        a = score_values(base.responses.iloc[base_rows], [scorer])[scorer.name]
        b = score_values(runs.responses.iloc[rows], [scorer])[scorer.name]
        result = paired_comparison(
            a,
            base.responses["scenario_id"].to_numpy()[base_rows],
            b,
            runs.responses["scenario_id"].to_numpy()[rows],
            kind="mean" if scorer.aggregate == "mean" else "rate",
            alternative="less" if scorer.higher_is_better else "greater",
        )
        if not result.scenarios:
            pending.append((cell, f"{evidence.production} and the candidate share no scored scenario in this cell"))
            continue
        pending.append((cell, result))
    adjusted = iter(adjust([r.p_value for _, r in pending if isinstance(r, PairedResult)], "holm"))
    results = []
    for cell, outcome in pending:
        if not isinstance(outcome, PairedResult):
            results.append(
                GateResult(
                    gate, cell, math.nan, f"Holm p ≥ {alpha:g}", False, f"{outcome}: run both versions in one spec"
                )
            )
            continue
        p = float(next(adjusted))
        passed = not p < alpha
        r = outcome
        text = (
            f"{r.b:.2f} vs {r.a:.2f} ({r.difference:+.2f} [{r.low:+.2f}, {r.high:+.2f}], {r.test}, "
            f"{r.scenarios} scenarios, Holm p={p:.3g})"
        )
        results.append(
            GateResult(gate, cell, p, f"Holm p ≥ {alpha:g}", passed, text if passed else "significantly lower: " + text)
        )
    return results
