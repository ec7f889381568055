"""The compare, co-creation and promotion notebooks run top to bottom, offline, on the bundled model
and a local store. They share one store and one response cache, as a user's would: the co-creation
spec's replies are generated once."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


def execute(name: str, store: Path, monkeypatch) -> tuple[str, str, int]:
    """(printed text, HTML tables, images) of a notebook run to the end without an error."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    monkeypatch.setenv("WORKBENCH_CACHE_PATH", str(store / "responses.sqlite3"))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    return text, html, images


def test_compare_runs_notebook(store, monkeypatch):
    text, html, images = execute("02_compare_runs.ipynb", store, monkeypatch)
    assert "24 replies" in text and "0 errors" in text
    assert "ci_low" in html and "scenarios" in html, "estimates with their intervals"
    assert "McNemar exact" in html or "Wilcoxon" in html, "paired tests"
    assert "p_adjusted" in html and "effect_size" in html
    assert "report: report.html" in text and "compare_pairs.csv" in text and "comparison run" in text
    assert images == 2
    assert "<th>evidence</th>" in html, "failures are shown with their evidence"


def test_co_creation_notebook(store, monkeypatch):
    text, html, images = execute("03_co_creation.ipynb", store, monkeypatch)
    assert "24 replies, 0 model calls, 0 errors" in text, "the replies of 02 are reused from the cache"
    assert "engagement_mean" in html and "risk" in html and "empathy_accountability_gap" in html
    for marker in ("human_experience", "exclusivity", "discourages_others", "permanence"):
        assert marker in html
    assert "carry at least one marker" in text
    assert images == 2, "the co-creation map and the gap heatmap"


def test_promote_notebook(store, monkeypatch):
    text, html, _ = execute("05_promote.ipynb", store, monkeypatch)
    lines = text.splitlines()
    assert "gates failed: the alias would not move" in lines
    assert "override: production -> v1" in lines
    assert "sealed versions: [2]" in lines
    assert "every gate passed" in lines
    assert "promote: production -> v2 (previous -> v1)" in lines
    assert "rollback: production -> v1 (previous -> v2)" in lines
    assert "aliases now: {'production': 1, 'previous': 2}" in lines
    assert "coverage: user strategy" in html and "crisis_escalation_rate min" in html
    assert "workbench.audit.evidence_runs" in html and "demo: undo the release" in html
