"""The DSPy pipelines with the real bundled model: `dspy` gets a reply from a model too small for
DSPy's field markers, and `dspy-chat`, which needs them, turns its unparseable replies into error
rows without stopping the run."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import run_experiment

pytestmark = pytest.mark.integration


def test_the_bundled_model_answers_through_dspy_next_to_langchain(spec_writer):
    spec = spec_writer(
        system_prompts=["safety-first@1"],
        scenarios={"files": ["scenarios"], "ids": ["hoping-not-to-wake-up"]},
        pipelines=["langchain", "dspy", "dspy-chat"],
        retries={"max_attempts": 1},
    )
    result = run_experiment(spec, track=False)
    rows = result.df.set_index("pipeline")
    assert pd.isna(rows.loc["dspy", "error"]) and pd.isna(rows.loc["langchain", "error"])
    assert len(str(rows.loc["dspy", "reply"]).strip()) > 0
    assert rows.loc["dspy", "messages"] == rows.loc["langchain", "messages"], "the same messages sent"
    chat_error = str(rows.loc["dspy-chat", "error"])
    assert "AdapterParseError" in chat_error, "a 135M model does not follow [[ ## reply ## ]] markers"
    assert result.stats.cells == 3
