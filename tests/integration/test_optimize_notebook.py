"""The optimization notebook runs a small offline optimization top to bottom: the real bundled
model on the task side, the real scorers and a real MLflow store (no proposer model: the GEPA
stage uses the mutation operators)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_optimize.ipynb"


def test_optimize_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("WORKBENCH_CACHE_PATH", str(tmp_path / "responses.sqlite3"))
    prompts = Path(__file__).resolve().parents[2] / "prompts" / "system" / "safety-first.yaml"
    before = prompts.read_text()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=1500, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "budget: 12 metric calls" in text and "at most" in text, "budget and estimate shown first"
    assert "-> seed and winner on test" in text, "progress shown while it runs"
    assert "of 12 budgeted metric calls" in text
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "crisis_escalation_rate" in html and "ci_low" in html, "before/after figures with intervals"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot is shown"
    assert "--- safety-first@1" in text or "the seed won" in text, "the prompt diff (or why there is none)"
    assert prompts.read_text() == before, "the repository's prompt files are untouched"
