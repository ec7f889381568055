"""Real client code over real HTTP on loopback: xllamacpp's OpenAI-compatible server through
langchain-openai, and a scripted server for rate limits, server errors and bad requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench import run_experiment
from workbench.loopback import LoopbackServer, Reply
from workbench.models.local import local_server

pytestmark = pytest.mark.integration
SECRET = "sk-test-DO-NOT-LOG-7f3a9c"


def test_xllamacpp_server_through_langchain_openai_never_logs_the_key(project, spec_writer, monkeypatch):
    monkeypatch.setenv("WORKBENCH_TEST_KEY", SECRET)
    server = local_server("smollm2-135m")
    spec = spec_writer(models=[{"spec": "openai:smollm2-135m", "base_url": server.base_url,
                                "api_key_env": "WORKBENCH_TEST_KEY", "label": "smollm2-over-http"}],
                       system_prompts=["augmented-care@1"])
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
        spec = spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}], concurrency=1,
                           retries={"max_attempts": 3, "initial_delay_s": 0.05, "max_delay_s": 0.2})
        result = run_experiment(spec)
        frame = result.df
        assert len(frame) == 4, "the run does not crash"
        errors = frame[frame["error"].notna()]
        assert set(errors["scenario_id"]) == {"exam-week-overwhelm"}
        assert errors["error"].str.contains("HTTP 400").all() and (errors["attempts"] == 1).all()
        assert result.stats.retries == 2
        ok = frame[frame["error"].isna()]
        assert ok["crisis_escalation"].dropna().eq(1.0).all()
        calls_before = len(server.requests)
        again = run_experiment(spec)
        assert again.stats.calls == 2 and len(server.requests) == calls_before + 2, "only the failed cells are retried"


def test_tracking_uri_override(project, spec_writer, monkeypatch, tmp_path):
    store = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    with LoopbackServer() as server:
        result = run_experiment(spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}]))
    assert result.parent_run_id and store.exists()
    assert not (Path(os.getcwd()) / "mlruns" / "mlflow.db").exists()


def test_hosted_provider_path_through_init_chat_model(project, spec_writer, monkeypatch):
    """`openai:MODEL` without base_url goes through LangChain's init_chat_model, exactly as for a
    user with a key; here the OpenAI client is pointed at loopback by its own environment variable."""
    with LoopbackServer() as server:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        result = run_experiment(spec_writer(models=["openai:gpt-4o-mini"]))
        assert len(result.df) == 4 and result.df["error"].isna().all()
        assert {r["model"] for r in server.requests} == {"gpt-4o-mini"}
        assert all(r["temperature"] == 0 and r.get("max_tokens", r.get("max_completion_tokens")) == 24
                   for r in server.requests)
    leaked = [p for p in project.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []
