"""Runs that fail fail loudly and early: an unreachable endpoint before any call, a model that only
fails stopped by the circuit breaker, exit code 3 when cells ended in error, errors summarised by
class with an example that says where, and keys redacted from whatever an endpoint echoes."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from workbench.calls.failures import error_classes
from workbench.cli import app
from workbench.models.spec import ModelSpec
from workbench.preflight import unreachable
from workbench.redaction import Redactor, key_variables
from workbench.testing.loopback import LoopbackServer, Reply

runner = CliRunner()


def test_unreachable_says_why():
    with LoopbackServer() as server:
        assert unreachable(server.base_url) is None
    assert "refused" in unreachable("http://127.0.0.1:9/v1")
    assert "could not be found" in unreachable("http://no-such-host.invalid/v1")
    assert "not an http" in unreachable("localhost:8000")


def test_a_dead_endpoint_fails_before_any_call_and_fast(spec_writer):
    spec = spec_writer(
        models=[{"spec": "openai:dead", "base_url": "http://127.0.0.1:9/v1"}], scenarios={"files": ["scenarios"]}
    )
    started = time.perf_counter()
    result = runner.invoke(app, ["run", str(spec), "--no-track", "--quiet"])
    seconds = time.perf_counter() - started
    assert result.exit_code == 2, result.output
    assert "models[0]" in result.output and "http://127.0.0.1:9/v1" in result.output and "refused" in result.output
    print(f"refused in {seconds:.2f} s")  # the figure is measured by benchmarks/dead_endpoint.py


def test_cells_in_error_exit_3_with_a_summary_unless_allowed(spec_writer):
    """Every call rejected (a wrong key): the breaker stops the model after 5 calls, the rest are
    not called, the summary names each class with a count and an example carrying the URL, and
    the exit code is 3; --allow-errors keeps 0."""
    with LoopbackServer(lambda request, index: Reply("invalid key", status=401)) as server:
        spec = spec_writer(
            models=[{"spec": "openai:locked", "base_url": server.base_url}],
            scenarios={"files": ["scenarios"], "limit": 10},
            concurrency=1,
        )
        result = runner.invoke(app, ["run", str(spec), "--no-track", "--quiet"])
        assert len(server.requests) == 5, "the breaker opened after five calls"
        assert result.exit_code == 3, result.output
        assert "stopped calling openai:locked" in result.output
        assert "5 x HTTP 401 OpenAIAuthenticationError" in result.output
        assert f"{server.base_url}/chat/completions" in result.output, "the example says where"
        assert "15 x not called" in result.output
        assert "20 of 20 cells ended in error" in result.output
        allowed = runner.invoke(app, ["run", str(spec), "--no-track", "--quiet", "--allow-errors"])
        assert allowed.exit_code == 0, allowed.output


def test_error_classes_count_and_keep_the_first_example():
    classes = error_classes(
        [
            "APIConnectionError: Connection error. [POST http://x/v1/chat/completions]",
            None,
            "HTTP 429 RateLimitError: slow down",
            "APIConnectionError: Connection error. [POST http://y/v1/chat/completions]",
        ]
    )
    assert [(c.name, c.count) for c in classes] == [("APIConnectionError", 2), ("HTTP 429 RateLimitError", 1)]
    assert classes[0].example.endswith("[POST http://x/v1/chat/completions]")


def test_the_redactor_masks_every_key_in_use_and_nothing_else(monkeypatch):
    monkeypatch.setenv("MY_PROXY_KEY", "sk-abc/123+secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")  # too short to be a key: never masked
    models = [
        ModelSpec(spec="openai:proxied", base_url="http://127.0.0.1:1/v1", api_key_env="MY_PROXY_KEY"),
        ModelSpec(spec="anthropic:claude"),
    ]
    assert key_variables(models) == ["MY_PROXY_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
    redact = Redactor.for_models(models)
    text = "key sk-abc/123+secret, encoded sk-abc%2F123%2Bsecret, other sk-openai-0123456789; max 5 x"
    assert redact(text) == (
        "key [redacted MY_PROXY_KEY], encoded [redacted MY_PROXY_KEY], other [redacted OPENAI_API_KEY]; max 5 x"
    )
    assert not Redactor({}) and Redactor({})("unchanged") == "unchanged"


@pytest.mark.parametrize("status", [401, 200])
def test_an_echoed_key_never_reaches_the_cache(spec_writer, project, monkeypatch, status):
    secret = "sk-unit-DO-NOT-LOG-1234"
    monkeypatch.setenv("UNIT_PROXY_KEY", secret)
    with LoopbackServer(lambda request, index: Reply("your key", status=status, echo_key=True)) as server:
        spec = spec_writer(
            models=[{"spec": "openai:proxied", "base_url": server.base_url, "api_key_env": "UNIT_PROXY_KEY"}],
            retries={"max_attempts": 2, "initial_delay_s": 0.01, "max_delay_s": 0.02},
        )
        result = runner.invoke(app, ["run", str(spec), "--no-track", "--allow-errors"])
    assert result.exit_code == 0 and secret not in result.output, result.output
    assert "[redacted UNIT_PROXY_KEY]" in result.output or status == 200
    leaked = [p for p in project.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaked == []
