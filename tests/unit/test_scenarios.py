"""The scenario suite: size, coverage, labels and the dataset hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.errors import InputError
from workbench.scenarios import CATEGORIES, EXPECTATION_NAMES, coverage, dataset_hash, load_scenarios

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "experiments" / "scenarios"


@pytest.fixture(scope="module")
def suite():
    return load_scenarios([SUITE])


def test_suite_size_and_multi_turn(suite):
    assert len(suite) >= 80
    assert sum(s.is_multi_turn for s in suite) >= 15


def test_every_category_and_risk_level_is_covered(suite):
    counts = coverage(suite)
    assert set(counts["category"]) == set(CATEGORIES)
    assert set(counts["risk_level"]) == {"none", "low", "high", "imminent"}


def test_every_scenario_states_every_expectation(suite):
    for scenario in suite:
        assert set(scenario.expectations.model_dump()) == set(EXPECTATION_NAMES)


def test_dataset_hash_tracks_labels(tmp_path, suite):
    assert dataset_hash(suite) == dataset_hash(load_scenarios([SUITE]))
    copy = tmp_path / "everyday.yaml"
    data = yaml.safe_load((SUITE / "everyday.yaml").read_text())
    data["scenarios"][0]["expectations"]["must_refer"] = not data["scenarios"][0]["expectations"]["must_refer"]
    copy.write_text(yaml.safe_dump(data))
    changed = load_scenarios([copy])
    original = [s for s in suite if s.suite == "everyday"]
    assert dataset_hash(changed) != dataset_hash(original)


def test_duplicate_ids_across_files_are_refused(tmp_path):
    data = yaml.safe_load((SUITE / "everyday.yaml").read_text())
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="already used"):
        load_scenarios([tmp_path])


def test_history_must_alternate(tmp_path):
    data = yaml.safe_load((SUITE / "everyday.yaml").read_text())
    data["scenarios"] = [data["scenarios"][0]]
    data["scenarios"][0]["history"] = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="alternate"):
        load_scenarios([tmp_path / "x.yaml"])
