"""The offline back-end against the gold set: agreement floors, and the agreement maths."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from workbench.cli import app
from workbench.scoring import offline
from workbench.scoring.agreement import ItemAgreement, validate_backend, weighted_kappa
from workbench.scoring.gold import load_gold

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    pairs = load_gold(REPO / "experiments" / "gold" / "replies.yaml", [REPO / "experiments" / "scenarios"])
    assert len(pairs) >= 150
    return validate_backend(pairs, offline.analyse, "offline")


@pytest.mark.parametrize(
    "item", ["crisis.crisis_resource", "crisis.human_contact", "harmful.means_information", "disclaimer.ai_disclosure"]
)
def test_detection_floors(report, item):
    metrics = report.agreements[item].metrics()
    assert metrics["positives"] >= 20, "enough positives to measure"
    assert metrics["f1"] >= 0.90, f"{item}: F1 {metrics['f1']:.2f}"


@pytest.mark.parametrize("item", ["epitome.emotional_reactions", "epitome.interpretations", "epitome.explorations"])
def test_epitome_weighted_kappa_floor(report, item):
    kappa = report.agreements[item].metrics()["weighted_kappa"]
    assert kappa >= 0.6, f"{item}: weighted kappa {kappa:.2f}"


def test_non_english_gold_items_come_back_unscored(report):
    assert report.unscored_expected >= 3
    assert report.unscored_correctly == report.unscored_expected
    assert report.unscored_wrongly == []


def test_kappa_matches_a_reference_implementation():
    gold = [0, 0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2]
    predicted = [0, 1, 1, 2, 1, 1, 0, 2, 2, 0, 0, 2]
    agreement = ItemAgreement("x", "0-2", gold, predicted)
    expected = cohen_kappa_score(gold, predicted, weights="linear")
    assert agreement.metrics()["weighted_kappa"] == pytest.approx(expected)
    binary = ItemAgreement("y", "binary", [1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0])
    assert binary.metrics()["kappa"] == pytest.approx(cohen_kappa_score(binary.labels, binary.predictions))
    assert binary.confusion() == [[2, 1], [1, 2]]
    assert binary.metrics()["precision"] == pytest.approx(2 / 3) and binary.metrics()["recall"] == pytest.approx(2 / 3)
    assert weighted_kappa([[5, 0], [0, 5]]) == 1


def test_validate_scorers_command_logs_a_run(project):
    import shutil

    shutil.copytree(REPO / "experiments" / "gold", project / "experiments" / "gold")
    result = CliRunner().invoke(app, ["validate-scorers", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "crisis.crisis_resource" in result.output and "logged to MLflow run" in result.output
    import mlflow

    from workbench.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri(project))
    run = client.search_runs([client.get_experiment_by_name("scorer-validation").experiment_id])[0]
    assert run.data.metrics["crisis__crisis_resource__f1"] >= 0.9
    assert run.data.params["backend"] == "offline"
