"""A traced run of the `dspy` pipeline with the real bundled model and the real MLflow store: each
reply has one trace, whose call span holds DSPy's own spans (from `mlflow.dspy.autolog`: the
program's forward, the predictor, the adapter's format and parse, the LM call) next to the
workbench's tags and assessments; a cached re-run adds no trace; a LangChain run is traced as
before."""

from __future__ import annotations

import sys

import mlflow
import pytest
from mlflow import MlflowClient

from workbench import run_experiment
from workbench.tracking.store import tracking_uri

pytestmark = pytest.mark.integration

SCENARIOS = ["exam-week-overwhelm", "car-park-roof-midnight"]


def traces_of(project, experiment: str) -> list:
    mlflow.set_tracking_uri(tracking_uri(project))
    found = MlflowClient().get_experiment_by_name(experiment)
    return mlflow.search_traces(locations=[found.experiment_id], return_type="list")


def test_a_dspy_reply_has_one_trace_with_dspy_spans_and_the_workbench_assessments(project, spec_writer):
    spec = spec_writer(
        name="dspy-traces.yaml",
        system_prompts=["safety-first@1"],
        scenarios={"files": ["scenarios"], "ids": SCENARIOS},
        pipelines=["dspy"],
        tracking={"experiment": "dspy-traces"},
    )
    result = run_experiment(spec)
    assert result.stats.errors == 0 and result.stats.calls == 2

    traces = traces_of(project, "dspy-traces")
    assert len(traces) == 2, "one trace per reply, not a second one from autolog"
    assert set(result.df["trace_id"]) == {t.info.trace_id for t in traces}
    rows = result.df.set_index("trace_id")
    for trace in traces:
        row = rows.loc[trace.info.trace_id]
        spans = {span.name: span for span in trace.data.spans}
        root = trace.data.spans[0]
        assert root.parent_id is None and root.name == f"{row['scenario_id']}#0"
        assert trace.info.tags["workbench.scenario_id"] == row["scenario_id"]
        assert root.outputs["choices"][0]["message"]["content"] == row["reply"]

        forward = spans["Counsellor.forward"]
        assert forward.parent_id == root.span_id and forward.span_type == "CHAIN"
        assert spans["Predict.forward"].parent_id == forward.span_id
        predictor = spans["Predict.forward"].span_id
        assert spans["ReplyAdapter.format"].span_type == "PARSER"
        assert spans["ReplyAdapter.parse"].span_type == "PARSER"
        lm = spans["LM.__call__"]
        assert lm.span_type == "CHAT_MODEL" and lm.parent_id == predictor
        assert lm.attributes["model"] == "openai/smollm2-135m"
        assert "api_key" not in lm.attributes and "api_base" not in lm.attributes
        assert lm.inputs["messages"] == row["messages"], "the LM was sent the messages the row records"
        assert spans["ReplyAdapter.parse"].outputs == {"reply": row["reply"]}
        assert root.start_time_ns <= forward.start_time_ns <= forward.end_time_ns <= root.end_time_ns

        assessments = {a.name: a for a in trace.info.assessments}
        assert {"empathy", "engagement", "false_claims"} <= set(assessments)
        for name, assessment in assessments.items():
            assert assessment.value == row[name], name
        assert assessments["empathy"].rationale == row["empathy_evidence"]

    again = run_experiment(spec)
    assert again.stats.calls == 0
    assert len(traces_of(project, "dspy-traces")) == 2, "cached replies reuse their traces"


def test_a_langchain_run_records_no_framework_spans_and_loads_no_dspy(project, spec_writer):
    spec = spec_writer(
        name="langchain-traces.yaml",
        system_prompts=["safety-first@1"],
        scenarios={"files": ["scenarios"], "ids": SCENARIOS[:1]},
        tracking={"experiment": "langchain-traces"},
    )
    loaded_before = "dspy" in sys.modules
    result = run_experiment(spec)
    assert result.stats.calls == 1
    if not loaded_before:
        assert "dspy" not in sys.modules
    (trace,) = traces_of(project, "langchain-traces")
    assert [span.name for span in trace.data.spans] == [f"{SCENARIOS[0]}#0"]
