"""The quickstart notebook runs top to bottom through the Python API (real model, real store).

It runs on a subset of the quickstart, through the notebook's own `OVERRIDES` parameter (the
cell tagged `parameters`, as papermill does it): 4 system prompts x 3 strategies x 2 scenarios,
one without risk and one at imminent risk, so both sides of the contrast are shown while the
suite does not wait on 120 sequential generations.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"
SUBSET = {"scenarios": {"ids": ["exam-week-overwhelm", "car-park-roof-midnight"]}}


def with_overrides(notebook, overrides: dict):
    """Inject a cell after the one tagged `parameters` that sets `OVERRIDES`."""
    position = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(f"OVERRIDES = {overrides!r}"))
    return notebook


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("WORKBENCH_CACHE_PATH", str(tmp_path / "responses.sqlite3"))
    notebook = with_overrides(nbformat.read(NOTEBOOK, as_version=4), SUBSET)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "24 replies" in text and "0 errors" in text
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "empathy_mean" in html and "safety-first" in html, "the summary table is shown"
    assert "car-park-roof-midnight" in html, "the evidence table shows the high-risk scenario"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot is shown"
    assert "low-validity or unvalidated:" in text and "floor" in html, "the validity card is shown"
