"""Real client code over real HTTP on loopback: xllamacpp's OpenAI-compatible server through
langchain-openai, and a scripted server for rate limits, server errors and bad requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench import run_experiment
from workbench.models.local import local_server
from workbench.testing.loopback import LoopbackServer, Reply, fixed
from workbench.testing.mlflow_server import mlflow_server
from workbench.tracking import tracking_uri

pytestmark = pytest.mark.integration
SECRET = "sk-test-DO-NOT-LOG-7f3a9c"


def test_xllamacpp_server_through_langchain_openai_never_logs_the_key(project, spec_writer, monkeypatch):
    monkeypatch.setenv("WORKBENCH_TEST_KEY", SECRET)
    server = local_server("smollm2-135m")
    spec = spec_writer(
        models=[
            {
                "spec": "openai:smollm2-135m",
                "base_url": server.base_url,
                "api_key_env": "WORKBENCH_TEST_KEY",
                "label": "smollm2-over-http",
            }
        ],
        system_prompts=["augmented-care@1"],
    )
    result = run_experiment(spec)
    assert len(result.df) == 2 and result.df["error"].isna().all()
    assert (result.df["reply"].str.len() > 0).all() and (result.df["input_tokens"] > 0).all()
    assert set(result.df["model"]) == {"smollm2-over-http"}
    leaked = [p for p in project.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == [], f"API key written to {leaked}"


def flaky():
    """The exam scenario is always rejected (400); of the others, the first answer is a 429
    with Retry-After and the second a 503, then all succeed."""
    answered = []

    def script(request: dict, index: int) -> Reply:
        if "three exams" in request["messages"][-1]["content"]:
            return Reply("context length exceeded", status=400)
        answered.append(index)
        if len(answered) == 1:
            return Reply("slow down", status=429, headers={"Retry-After": "0.2"})
        if len(answered) == 2:
            return Reply("upstream failed", status=503)
        return Reply("I'm sorry this is so heavy. Please call or text 988 and tell someone you trust tonight.")

    return script


def test_retries_error_rows_and_errors_not_cached(project, spec_writer):
    with LoopbackServer(flaky()) as server:
        spec = spec_writer(
            models=[{"spec": "openai:loopback", "base_url": server.base_url}],
            concurrency=1,
            retries={"max_attempts": 3, "initial_delay_s": 0.05, "max_delay_s": 0.2},
        )
        result = run_experiment(spec)
        frame = result.df
        assert len(frame) == 4, "the run does not crash"
        errors = frame[frame["error"].notna()]
        assert set(errors["scenario_id"]) == {"exam-week-overwhelm"}
        assert errors["error"].str.contains("HTTP 400").all() and (errors["attempts"] == 1).all()
        assert result.stats.retries == 2
        ok = frame[frame["error"].isna()]
        assert ok["crisis_escalation"].dropna().eq(1.0).all()
        assert_attempts_are_traced(frame)
        calls_before = len(server.requests)
        again = run_experiment(spec)
        assert again.stats.calls == 2 and len(server.requests) == calls_before + 2, "only the failed cells are retried"


def assert_attempts_are_traced(frame):
    """Each call is one trace; a retried call has one child span per attempt, failed ones in
    error with their reason; a call that failed for good is a trace in error."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(Path.cwd()))
    traces = [(row.scenario_id, mlflow.get_trace(row.trace_id)) for row in frame.itertuples()]
    retried = [t for _, t in traces if len(t.data.spans) > 1]
    assert len(retried) == 1, "the 429 and the 503 hit the same call, one at a time"
    attempts = sorted(retried[0].data.spans[1:], key=lambda s: s.start_time_ns)
    assert [s.status.status_code.value for s in attempts] == ["ERROR", "ERROR", "OK"]
    assert "429" in attempts[0].attributes["error"] and "503" in attempts[1].attributes["error"]
    failed = [t for scenario, t in traces if scenario == "exam-week-overwhelm"]
    assert failed and all(
        t.info.state.value == "ERROR" and "HTTP 400" in t.data.spans[0].outputs["error"] for t in failed
    )
    assert all(not t.info.assessments for t in failed), "a failed call has no scores"


def test_tracking_uri_override(project, spec_writer, monkeypatch, tmp_path):
    store = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    with LoopbackServer() as server:
        result = run_experiment(spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}]))
    assert result.parent_run_id and store.exists()
    assert not (Path(os.getcwd()) / "mlruns").exists(), "neither the store nor its artifacts land in the cwd"
    from mlflow import MlflowClient

    artifacts = MlflowClient(f"sqlite:///{store}").get_run(result.parent_run_id).info.artifact_uri
    assert artifacts.startswith((tmp_path / "artifacts").as_uri()), artifacts


def test_hosted_provider_path_through_init_chat_model(project, spec_writer, monkeypatch):
    """`openai:MODEL` without base_url goes through LangChain's init_chat_model, exactly as for a
    user with a key; here the OpenAI client is pointed at loopback by its own environment variable."""
    with LoopbackServer() as server:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        result = run_experiment(spec_writer(models=["openai:gpt-4o-mini"]))
        assert len(result.df) == 4 and result.df["error"].isna().all()
        assert {r["model"] for r in server.requests} == {"gpt-4o-mini"}
        assert all(
            r["temperature"] == 0 and r.get("max_tokens", r.get("max_completion_tokens")) == 24 for r in server.requests
        )
    leaked = [p for p in project.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.parametrize("tracking", [{"traces": False}, {"assessments": False}])
def test_traces_and_assessments_can_be_turned_off(project, spec_writer, tracking):
    import mlflow

    with LoopbackServer() as server:
        spec = spec_writer(
            models=[{"spec": "openai:loopback", "base_url": server.base_url}],
            tracking={"experiment": "switches", **tracking},
        )
        result = run_experiment(spec)
    assert result.parent_run_id and len(result.df) == 4 and not result.warnings
    mlflow.set_tracking_uri(tracking_uri(project))
    experiment = mlflow.get_experiment_by_name("switches").experiment_id
    traces = mlflow.search_traces(locations=[experiment], return_type="list")
    if tracking.get("traces") is False:
        assert traces == [] and result.df["trace_id"].isna().all()
    else:
        assert len(traces) == 4 and all(not t.info.assessments for t in traces)
        assert set(result.df["trace_id"]) == {t.info.trace_id for t in traces}


@pytest.fixture
def tracking_server(tmp_path):
    """A real MLflow tracking server on loopback; clients write artifacts to its root directly."""
    with mlflow_server(tmp_path) as url:
        yield url


def test_a_tracking_server_gets_runs_traces_and_assessments(project, spec_writer, monkeypatch, tracking_server):
    """With MLFLOW_TRACKING_URI set to a server, the same run lands there (traces written by
    MLflow's own exporter, through the server's REST API)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    with LoopbackServer(fixed("I'm an AI, not a therapist. Please call or text 988 tonight.")) as server:
        result = run_experiment(
            spec_writer(
                models=[{"spec": "openai:loopback", "base_url": server.base_url}],
                tracking={"experiment": "on-a-server"},
            )
        )
    assert not result.warnings and result.parent_run_id
    mlflow.set_tracking_uri(tracking_server)
    assert mlflow.get_run(result.parent_run_id).info.status == "FINISHED"
    experiment = mlflow.get_experiment_by_name("on-a-server").experiment_id
    traces = mlflow.search_traces(locations=[experiment], return_type="list")
    assert {t.info.trace_id for t in traces} == set(result.df["trace_id"]) and len(traces) == 4
    assert all("empathy" in {a.name for a in t.info.assessments} for t in traces)
    assert not (project / "mlruns").exists()
