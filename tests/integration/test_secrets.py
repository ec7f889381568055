"""A proxy that echoes the API key back, in its error bodies and in its replies: the key reaches
neither the cache, nor MLflow (tables, traces, spans, metadata), nor the console."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.testing.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.integration
SECRET = "sk-proxy-DO-NOT-LOG-4c1f0a9e77"
MASK = "[redacted WORKBENCH_PROXY_KEY]"


def leaky_proxy():
    """Per scenario: first a 503 whose body quotes the key (retried), then a reply that quotes it;
    the exam scenario always gets a 401 quoting it (an error row)."""
    seen: set[str] = set()

    def script(request: dict, index: int) -> Reply:
        message = request["messages"][-1]["content"]
        if "three exams" in message:
            return Reply("invalid key", status=401, echo_key=True)
        if message not in seen:
            seen.add(message)
            return Reply("upstream rejected the key", status=503, echo_key=True)
        return Reply("Please call or text 988 now.", echo_key=True)

    return script


@pytest.mark.parametrize("pipeline", ["langchain", "dspy"])  # dspy: also DSPy's own spans in the traces
def test_an_echoed_key_is_redacted_everywhere(project, spec_writer, monkeypatch, pipeline):
    monkeypatch.setenv("WORKBENCH_PROXY_KEY", SECRET)
    with LoopbackServer(leaky_proxy()) as server:
        spec = spec_writer(
            models=[{"spec": "openai:proxied", "base_url": server.base_url, "api_key_env": "WORKBENCH_PROXY_KEY"}],
            pipelines=[pipeline],
            **({"system_prompts": ["safety-first@1"]} if pipeline == "dspy" else {}),  # fewer calls
            retries={"max_attempts": 3, "initial_delay_s": 0.05, "max_delay_s": 0.1},
            concurrency=1,
        )
        result = CliRunner().invoke(app, ["run", str(spec), "--allow-errors"])
        assert all(r.get("model") == "proxied" for r in server.requests)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output, "not on the console"
    assert MASK in result.output, "the error summary shows the redacted message"
    leaked = [str(p) for p in project.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == [], f"the key was written to {leaked}"
    stored = b"".join(p.read_bytes() for p in (project / "mlruns").rglob("*") if p.is_file())
    assert MASK.encode() in stored, "the redacted replies and errors did reach MLflow"
    if pipeline == "dspy":
        import mlflow

        from workbench.tracking.store import tracking_uri

        mlflow.set_tracking_uri(tracking_uri(project))
        experiment = mlflow.get_experiment_by_name("test-spec")
        traces = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list")
        lm_spans = [s for t in traces for s in t.data.spans if s.name == "LM.__call__"]
        assert lm_spans, "DSPy's spans are in the traces"
        assert any(MASK in str(s.outputs) for s in lm_spans), "their replies redacted too"
