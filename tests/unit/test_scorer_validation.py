"""Agreement statistics and the validation command: the maths against reference implementations,
the pattern back-end held to its floors on the first gold set (where it was written), and a
validation run logged to MLflow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, roc_auc_score
from typer.testing import CliRunner

from workbench.cli import app
from workbench.scoring import get_scorers
from workbench.scoring.validate import validate_gold_v1
from workbench.scoring.validity import auc, estimate, f1, kappa

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fast_on_v1():
    return validate_gold_v1(REPO / "experiments" / "gold" / "replies.yaml", REPO, "fast", get_scorers(None))


@pytest.mark.parametrize(
    "item", ["crisis.crisis_resource", "crisis.human_contact", "harmful.means_information", "disclaimer.ai_disclosure"]
)
def test_pattern_detection_floors_on_the_first_gold_set(fast_on_v1, item):
    entry = fast_on_v1.cards["gold"]["items"][item]
    assert entry["positives"] >= 20, "enough positives to measure"
    assert entry["f1"]["value"] >= 0.90, f"{item}: {entry['f1']}"


def test_non_english_gold_items_come_back_unscored(fast_on_v1):
    assert fast_on_v1.unscored >= 3


def test_statistics_match_reference_implementations():
    rng = np.random.default_rng(1)
    gold, guess = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    assert kappa(gold, guess, "linear") == pytest.approx(cohen_kappa_score(gold, guess, weights="linear"))
    assert kappa(gold, guess) == pytest.approx(cohen_kappa_score(gold, guess))
    binary, predicted = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    assert f1(binary, predicted) == pytest.approx(f1_score(binary, predicted))
    scores = rng.random(200).round(2)  # ties, as probabilities have
    assert auc(binary, scores) == pytest.approx(roc_auc_score(binary, scores))


def test_intervals_cover_the_estimate_and_shrink_with_n():
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 2, 400)
    noisy = np.where(rng.random(400) < 0.8, gold, 1 - gold)
    small = estimate("kappa", gold[:60], noisy[:60], [str(i) for i in range(60)])
    large = estimate("kappa", gold, noisy, [str(i) for i in range(400)])
    for result in (small, large):
        assert result.low <= result.value <= result.high
    assert large.high - large.low < small.high - small.low


def test_validate_scorers_on_a_v1_file_logs_a_run(project):
    import shutil

    shutil.copytree(REPO / "experiments" / "gold", project / "experiments" / "gold")
    result = CliRunner().invoke(
        app, ["validate-scorers", "--backend", "fast", "--gold", "experiments/gold/replies.yaml", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "crisis.crisis_resource" in result.output and "logged to MLflow run" in result.output
    import mlflow

    from workbench.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri(project))
    run = client.search_runs([client.get_experiment_by_name("scorer-validation").experiment_id])[0]
    assert run.data.metrics["gold.item.crisis.crisis_resource.f1"] >= 0.9
    assert run.data.params["backend"] == "fast"
