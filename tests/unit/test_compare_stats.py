"""The statistics behind `workbench compare` and the gates, on arrays small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from workbench.analysis.stats import adjust, cluster_interval, cohens_dz, cohens_h, mcnemar_exact, paired_comparison


def test_repeats_within_a_scenario_do_not_narrow_the_interval():
    rng = np.random.default_rng(1)
    per_scenario = rng.random(12) < 0.5
    once = cluster_interval(per_scenario.astype(float), np.arange(12), samples=2000)
    # the same outcomes repeated 5 times per scenario: 5x the replies, the same evidence
    repeated = cluster_interval(np.repeat(per_scenario, 5).astype(float), np.repeat(np.arange(12), 5), samples=2000)
    naive = cluster_interval(np.repeat(per_scenario, 5).astype(float), np.arange(60), samples=2000)
    assert repeated.n == 60 and repeated.clusters == 12
    assert repeated.value == pytest.approx(once.value)
    assert (repeated.high - repeated.low) == pytest.approx(once.high - once.low, abs=0.05)
    assert (naive.high - naive.low) < 0.7 * (repeated.high - repeated.low), (
        "treating repeats as independent is narrower"
    )


def test_interval_ignores_not_applicable_replies_and_needs_two_scenarios():
    values = np.array([1.0, np.nan, 0.0, np.nan])
    interval = cluster_interval(values, np.array(["a", "b", "c", "d"]))
    assert interval.n == 2 and interval.clusters == 2 and interval.value == 0.5
    single = cluster_interval(np.array([1.0, 1.0]), np.array(["a", "a"]))
    assert single.value == 1.0 and math.isnan(single.low)
    assert cluster_interval(np.array([np.nan]), np.array(["a"])).n == 0


def test_mcnemar_exact_is_a_binomial_test_on_the_discordant_pairs():
    a = np.array([1, 1, 1, 1, 1, 1, 0, 0, 1, 0])
    b = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1, 0])
    # discordant: 5 where only A succeeded, 1 where only B did
    assert mcnemar_exact(a, b) == pytest.approx(scipy_stats.binomtest(1, 6, 0.5).pvalue)
    assert mcnemar_exact(a, b, "less") == pytest.approx(7 / 64)
    assert mcnemar_exact(a, a) == 1.0


def test_paired_comparison_uses_mcnemar_for_single_yes_no_replies_and_wilcoxon_otherwise():
    scenarios = np.array([f"s{i}" for i in range(8)])
    a = np.zeros(8)
    b = np.ones(8)
    rate = paired_comparison(a, scenarios, b, scenarios, kind="rate")
    assert rate.test == "McNemar exact" and rate.p_value == pytest.approx(2 / 2**8)
    assert rate.effect_size == pytest.approx(math.pi) and rate.difference == 1.0 and rate.scenarios == 8
    empathy_a = np.array([2.0, 3, 1, 2, 4, 3, 2, 1])
    empathy_b = empathy_a + np.array([1.0, 0.5, 1, 2, 1.5, 1, 0.5, 1])
    mean = paired_comparison(empathy_a, scenarios, empathy_b, scenarios, kind="mean", alternative="greater")
    assert mean.test.startswith("Wilcoxon") and mean.p_value == pytest.approx(1 / 2**8)
    assert mean.effect_size == pytest.approx(cohens_dz(empathy_b - empathy_a))
    assert mean.low > 0, "the paired bootstrap interval of a consistent gain excludes zero"


def test_paired_comparison_uses_only_shared_scenarios_and_averages_repeats_first():
    a = paired_comparison(
        np.array([1.0, 0.0, 1.0, 1.0]),
        np.array(["x", "x", "y", "only-a"]),
        np.array([0.0, 0.0, 0.0]),
        np.array(["x", "y", "only-b"]),
        kind="rate",
    )
    assert a.scenarios == 2 and a.test.startswith("Wilcoxon"), "repeats make per-scenario shares, not yes/no pairs"
    assert a.a == pytest.approx(2 / 3) and a.b == 0.0


def test_holm_and_benjamini_hochberg_match_their_definitions():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    holm = adjust(p, "holm")
    assert holm[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and math.isnan(holm[4])
    bh = adjust(p, "bh")
    assert bh[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust(p, "none")[:4] == pytest.approx(p[:4])
    with pytest.raises(ValueError, match="unknown correction"):
        adjust(p, "bonferroni-ish")


def test_effect_sizes():
    assert cohens_h(0.5, 0.5) == 0.0
    assert cohens_h(0.2, 0.5) == pytest.approx(2 * math.asin(math.sqrt(0.5)) - 2 * math.asin(math.sqrt(0.2)))
    assert cohens_dz(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)
    assert math.isnan(cohens_dz(np.array([1.0])))
