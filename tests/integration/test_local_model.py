"""End to end on the real bundled model and the real MLflow store: replies, scores with
evidence, runs, params, metrics, tables, traces, the registry, and the cache."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from workbench import run_experiment
from workbench.prompts import template_sha256
from workbench.tracking import tracking_uri

pytestmark = pytest.mark.integration


@pytest.fixture
def small_run(project, spec_writer):
    spec = spec_writer(
        name="small.yaml",
        scenarios={"files": ["scenarios"], "ids": ["exam-week-overwhelm", "breakup-weight-nobody-carries"]},
    )
    return project, spec, run_experiment(spec)


def test_replies_and_scores(small_run):
    _, _, result = small_run
    frame = result.df
    assert len(frame) == 4 and frame["error"].isna().all()
    assert (frame["reply"].str.len() > 0).all()
    assert (frame["output_tokens"] > 0).all() and (frame["latency_s"] > 0).all()
    multi = frame[frame["scenario_id"] == "breakup-weight-nobody-carries"].iloc[0]
    assert [m["role"] for m in multi["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    for name in ("empathy", "disclaimer_adherence", "crisis_escalation", "over_escalation", "harmful_compliance"):
        assert frame[f"{name}_evidence"].map(bool).all(), f"{name} always carries evidence"
    assert frame.loc[frame["risk_level"] == "none", "crisis_escalation"].isna().all()
    assert frame.loc[frame["risk_level"] == "high", "over_escalation"].isna().all()
    assert set(result.summary()["system_prompt"]) == {"baseline-assistant", "safety-first"}


def test_mlflow_runs_params_metrics_tables(small_run):
    project, _, result = small_run
    client = MlflowClient(tracking_uri(project))
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["dataset_hash"] and parent.data.params["git_commit"]
    assert len(result.child_run_ids) == 2
    for run_id in result.child_run_ids.values():
        run = client.get_run(run_id)
        assert run.data.tags["mlflow.parentRunId"] == result.parent_run_id
        params = run.data.params
        source = project / "prompts" / "system" / f"{params['system_prompt']}.yaml"
        assert params["system_prompt_sha256"] in source.read_text()
        assert params["user_strategy_sha256"] == template_sha256("{{ message }}")
        assert params["model_spec"] == "local:smollm2-135m" and params["decoding_max_tokens"] == "24"
        assert params["local_decoding"] == "batched", "the run says how the bundled model decoded"
        assert params["system_prompt_registry_version"].isdigit()
        metrics = run.data.metrics
        for name in (
            "empathy_mean",
            "error_rate",
            "latency_p50_s",
            "latency_p95_s",
            "output_tokens_total",
            "empathy_n",
            "over_escalation_rate",
        ):
            assert name in metrics, name
        assert metrics["error_rate"] == 0 and metrics["n_responses"] == 2
        table = json.loads(Path(client.download_artifacts(run_id, "responses.json")).read_text())
        assert len(table["data"]) == 2 and "empathy_evidence" in table["columns"]
        linked = json.loads(run.data.tags["mlflow.linkedPrompts"])
        assert {p["name"] for p in linked} == {params["system_prompt"], "plain"}
        assert run.info.status == "FINISHED"
    table = json.loads(Path(client.download_artifacts(result.parent_run_id, "responses.json")).read_text())
    column = table["columns"].index("trace_id")
    assert sorted(row[column] for row in table["data"]) == sorted(result.df["trace_id"])


def test_every_call_is_a_trace_with_messages_and_reply(small_run):
    project, _, result = small_run
    mlflow.set_tracking_uri(tracking_uri(project))
    experiment = MlflowClient().get_experiment_by_name("test-spec")
    traces = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list")
    assert len(traces) == 4
    replies = set(result.df["reply"])
    child_runs = set(result.child_run_ids.values())
    for trace in traces:
        assert trace.info.request_metadata["mlflow.sourceRun"] in child_runs
        root = trace.data.spans[0]
        messages = root.inputs["messages"]
        assert messages[0]["role"] == "system" and messages[-1]["role"] == "user"
        assert root.outputs["choices"][0]["message"]["content"] in replies
    assert set(result.df["trace_id"]) == {t.info.trace_id for t in traces}


def test_rerun_is_served_from_cache_and_registry_is_not_duplicated(small_run):
    project, spec, first = small_run
    client = MlflowClient(tracking_uri(project))
    versions_before = len(client.search_prompt_versions("safety-first"))
    again = run_experiment(spec)
    assert again.stats.calls == 0 and again.stats.cached == 4
    assert list(again.df["reply"]) == list(first.df["reply"])
    assert len(client.search_prompt_versions("safety-first")) == versions_before == 1


def test_scores_are_assessments_on_the_traces(small_run):
    project, _, result = small_run
    mlflow.set_tracking_uri(tracking_uri(project))
    row = result.df[result.df["scenario_id"] == "exam-week-overwhelm"].iloc[0]
    trace = mlflow.get_trace(row["trace_id"])
    assessments = {a.name: a for a in trace.info.assessments}
    assert {"empathy", "over_escalation", "engagement", "false_claims"} <= set(assessments)
    assert "crisis_escalation" not in assessments, "a score that does not apply is not logged"
    empathy = assessments["empathy"]
    assert empathy.value == row["empathy"] and empathy.rationale == row["empathy_evidence"]
    assert empathy.source.source_id == "workbench.learned", "the source names the default back-end"
