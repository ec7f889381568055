"""The quickstart notebook runs top to bottom through the Python API (real model, real store)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("WORKBENCH_CACHE_PATH", str(tmp_path / "responses.sqlite3"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "120 replies" in text and "0 errors" in text
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "empathy_mean" in html and "safety-first" in html, "the summary table is shown"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot is shown"
    assert "low-validity or unvalidated:" in text and "floor" in html, "the validity card is shown"
