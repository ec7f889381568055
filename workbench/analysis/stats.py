"""The statistics behind `workbench compare` and the promotion gates, kept free of MLflow and
pandas so they can be checked on small arrays.

- **Intervals** are 95% percentile bootstraps that resample *scenarios*: the repeats of a scenario
  (and, pooled over strategies, its replies under each strategy) move together, because they are
  not independent evidence about how a prompt handles that situation (cluster bootstrap;
  Davison and Hinkley 1997, section 3.8).
- **Paired tests** compare two conditions on the scenarios both answered. Yes/no metrics with one
  reply per scenario on each side use the exact McNemar test (a two-sided binomial test on the
  discordant pairs; McNemar 1947). Everything else (empathy, shares such as disclaimer adherence,
  and rates with repeats) uses the Wilcoxon signed-rank test on per-scenario means, so repeats are
  averaged within their scenario first. The difference always comes with a paired cluster
  bootstrap interval.
- **Effect sizes**: Cohen's h for rates (2·asin√p₂ − 2·asin√p₁) and Cohen's d_z (mean paired
  difference over its standard deviation, per scenario) for means (Cohen 1988).
- **Multiple comparisons**: Holm's step-down correction (default) controls the family-wise error
  rate over every pair and metric in a comparison; Benjamini-Hochberg controls the false discovery
  rate instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

BOOTSTRAP_SAMPLES = 1000
Correction = Literal["holm", "bh", "none"]
CORRECTIONS: tuple[str, ...] = ("holm", "bh", "none")


@dataclass(frozen=True)
class Interval:
    """A mean (or rate) with its 95% cluster-bootstrap interval, the replies and scenarios it is over."""

    value: float
    low: float
    high: float
    n: int
    clusters: int


def cluster_sums(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cluster sums and counts of the known values, and the cluster labels they belong to."""
    known = ~np.isnan(values)
    labels, index = np.unique(clusters[known], return_inverse=True)
    sums = np.bincount(index, weights=values[known], minlength=len(labels))
    counts = np.bincount(index, minlength=len(labels)).astype(float)
    return sums, counts, labels


def resample_weights(clusters: int, samples: int, seed: int) -> np.ndarray:
    """How often each cluster is drawn in each bootstrap resample: a (samples x clusters) matrix."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, clusters, size=(samples, clusters))
    offsets = (np.arange(samples) * clusters)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=samples * clusters).reshape(samples, clusters).astype(float)


def cluster_interval(
    values: np.ndarray, clusters: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> Interval:
    """Mean of the known values with a 95% interval from resampling whole clusters (scenarios)."""
    values = np.asarray(values, dtype=float)
    sums, counts, labels = cluster_sums(values, np.asarray(clusters))
    n = int(counts.sum())
    if not n:
        return Interval(math.nan, math.nan, math.nan, 0, 0)
    value = float(sums.sum() / n)
    if len(labels) < 2:
        return Interval(value, math.nan, math.nan, n, len(labels))
    weights = resample_weights(len(labels), samples, seed)
    means = (weights @ sums) / (weights @ counts)
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(value, float(low), float(high), n, len(labels))


@dataclass(frozen=True)
class PairedResult:
    """B versus A on the scenarios both answered: difference (B - A) with its interval, test and effect."""

    a: float
    b: float
    difference: float
    low: float
    high: float
    test: str
    p_value: float
    effect_size: float
    effect_size_name: str
    pairs: int
    scenarios: int


def paired_comparison(
    a_values: np.ndarray,
    a_clusters: np.ndarray,
    b_values: np.ndarray,
    b_clusters: np.ndarray,
    *,
    kind: Literal["rate", "mean"],
    a_samples: np.ndarray | None = None,
    b_samples: np.ndarray | None = None,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> PairedResult:
    """Compare B with A on the clusters (scenarios) both have values for.

    `alternative="less"` asks whether B is lower than A (a regression, when higher is better)."""
    a_sums, a_counts, a_labels = cluster_sums(np.asarray(a_values, float), np.asarray(a_clusters))
    b_sums, b_counts, b_labels = cluster_sums(np.asarray(b_values, float), np.asarray(b_clusters))
    shared, a_at, b_at = np.intersect1d(a_labels, b_labels, return_indices=True)
    a_sums, a_counts, b_sums, b_counts = a_sums[a_at], a_counts[a_at], b_sums[b_at], b_counts[b_at]
    k = len(shared)
    if not k:
        return PairedResult(math.nan, math.nan, math.nan, math.nan, math.nan, "none", math.nan, math.nan, "", 0, 0)
    a_mean, b_mean = float(a_sums.sum() / a_counts.sum()), float(b_sums.sum() / b_counts.sum())
    low = high = math.nan
    if k >= 2:
        weights = resample_weights(k, samples, seed)
        differences = (weights @ b_sums) / (weights @ b_counts) - (weights @ a_sums) / (weights @ a_counts)
        low, high = (float(x) for x in np.percentile(differences, [2.5, 97.5]))
    a_scenario, b_scenario = a_sums / a_counts, b_sums / b_counts
    binary = kind == "rate" and _binary(a_values) and _binary(b_values)
    one_each = bool((a_counts == 1).all() and (b_counts == 1).all())
    if binary and one_each:
        test, p_value = "McNemar exact", mcnemar_exact(a_scenario, b_scenario, alternative)
    else:
        test, p_value = "Wilcoxon signed-rank (scenario means)", wilcoxon(b_scenario - a_scenario, alternative)
    if kind == "rate":
        effect, effect_name = cohens_h(a_mean, b_mean), "Cohen's h"
    else:
        effect, effect_name = cohens_dz(b_scenario - a_scenario), "Cohen's d_z"
    pairs = int(min(a_counts.sum(), b_counts.sum()))
    return PairedResult(a_mean, b_mean, b_mean - a_mean, low, high, test, p_value, effect, effect_name, pairs, k)


def _binary(values: np.ndarray) -> bool:
    known = np.asarray(values, dtype=float)
    known = known[~np.isnan(known)]
    return bool(np.isin(known, (0.0, 1.0)).all())


def mcnemar_exact(a: np.ndarray, b: np.ndarray, alternative: str = "two-sided") -> float:
    """Exact McNemar test on paired yes/no outcomes: the discordant pairs are binomial(n, 1/2)
    under no difference. `alternative="less"`: B has fewer successes than A."""
    a_only = int(((a == 1) & (b == 0)).sum())
    b_only = int(((a == 0) & (b == 1)).sum())
    if a_only + b_only == 0:
        return 1.0
    # successes counted as pairs where only B succeeded: "less" means B succeeds less often
    return float(stats.binomtest(b_only, a_only + b_only, 0.5, alternative=alternative).pvalue)


def wilcoxon(differences: np.ndarray, alternative: str = "two-sided") -> float:
    """Wilcoxon signed-rank test of paired differences (zeros dropped); 1.0 when nothing differs."""
    differences = np.asarray(differences, dtype=float)
    differences = differences[~np.isnan(differences)]
    if not len(differences) or np.allclose(differences, 0):
        return 1.0
    return float(stats.wilcoxon(differences, zero_method="wilcox", alternative=alternative).pvalue)


def cohens_h(p1: float, p2: float) -> float:
    """Effect size for two proportions: 0.2 small, 0.5 medium, 0.8 large (Cohen 1988)."""
    if math.isnan(p1) or math.isnan(p2):
        return math.nan
    return float(2 * math.asin(math.sqrt(min(max(p2, 0.0), 1.0))) - 2 * math.asin(math.sqrt(min(max(p1, 0.0), 1.0))))


def cohens_dz(differences: np.ndarray) -> float:
    """Standardised mean of paired differences; NaN when they do not vary (or there is one)."""
    differences = np.asarray(differences, dtype=float)
    if len(differences) < 2:
        return math.nan
    spread = differences.std(ddof=1)
    if spread == 0:
        return 0.0 if differences.mean() == 0 else math.nan
    return float(differences.mean() / spread)


def adjust(p_values: list[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values: Holm's step-down (family-wise error) or Benjamini-Hochberg (false
    discovery rate); NaN stays NaN and is left out of the family."""
    p = np.asarray(p_values, dtype=float)
    out = p.copy()
    known = np.flatnonzero(~np.isnan(p))
    m = len(known)
    if method == "none" or m == 0:
        return out
    order = known[np.argsort(p[known], kind="mergesort")]
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adjusted = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}; use one of {', '.join(CORRECTIONS)}")
    out[order] = np.minimum(adjusted, 1.0)
    return out
