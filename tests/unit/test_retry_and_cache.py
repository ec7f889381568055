"""Transient-error classification, backoff, and the persistent response cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import openai
import pytest

from workbench.calls.cache import CachedReply, ResponseCache, cache_key
from workbench.calls.retry import Backoff, classify


def api_error(status: int, headers: dict | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError, 400: openai.BadRequestError}.get(
        status, openai.APIStatusError
    )
    return cls("boom", response=response, body=None)


@pytest.mark.parametrize(
    "status, transient",
    [(429, True), (500, True), (502, True), (503, True), (529, True), (400, False), (401, False), (404, False)],
)
def test_status_codes(status, transient):
    assert classify(api_error(status)).transient is transient


def test_retry_after_seconds_and_ms_are_honoured():
    assert classify(api_error(429, {"retry-after": "7"})).retry_after_s == 7
    assert classify(api_error(429, {"retry-after-ms": "250"})).retry_after_s == 0.25
    failure = classify(api_error(429, {"retry-after": "3"}))
    assert Backoff(1, 60).delay(1, failure) == 3


def test_retry_after_as_http_date():
    failure = classify(api_error(503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert failure.transient and failure.retry_after_s == 0


@pytest.mark.parametrize(
    "exc",
    [
        openai.APITimeoutError(request=httpx.Request("POST", "http://x")),
        openai.APIConnectionError(request=httpx.Request("POST", "http://x")),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        ConnectionResetError("reset"),
        TimeoutError(),
    ],
)
def test_timeouts_and_resets_are_transient(exc):
    assert classify(exc).transient


def test_programming_errors_are_not_retried():
    assert not classify(ValueError("bad")).transient


def test_backoff_grows_and_is_capped():
    backoff = Backoff(1, 8)
    failure = classify(api_error(500))
    delays = [backoff.delay(n, failure) for n in range(1, 7)]
    assert 0.5 <= delays[0] <= 1 and all(d <= 8 for d in delays) and delays[-1] >= 4


def test_cache_key_covers_pipeline_model_decoding_messages_sample_and_purpose():
    base = dict(
        pipeline="langchain",
        model_identity={"provider": "local", "model": "m", "base_url": None},
        decoding={"temperature": 0, "max_tokens": 10},
        messages=[{"role": "user", "content": "hi"}],
        sample=0,
    )
    key = cache_key(**base)
    assert key == cache_key(**base)
    assert key != cache_key(**{**base, "sample": 1})
    assert key != cache_key(**{**base, "decoding": {"temperature": 0, "max_tokens": 11}})
    assert key != cache_key(**{**base, "messages": [{"role": "user", "content": "hi!"}]})
    assert key != cache_key(**{**base, "model_identity": {"provider": "local", "model": "m2", "base_url": None}})
    assert key != cache_key(**{**base, "pipeline": "dspy"}), "two pipelines never share a reply"
    assert key != cache_key(**base, purpose="judge:judge-crisis@1"), "a judge's answer is not a reply"
    assert cache_key(**base, purpose="judge:judge-crisis@1") != cache_key(**base, purpose="judge:judge-crisis@2")


def test_cache_persists_across_connections(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite3")
    cache.put("k", CachedReply("hello", 3, 4, 0.5))
    cache.close()
    reopened = ResponseCache(tmp_path / "c.sqlite3")
    assert reopened.get("k") == CachedReply("hello", 3, 4, 0.5)
    assert reopened.get_many(["k", "missing"]) == {"k": CachedReply("hello", 3, 4, 0.5)}
    assert len(reopened) == 1


def test_cache_survives_kill_9(tmp_path):
    """Each reply is committed as it arrives: a SIGKILL right after loses none of them."""
    path = tmp_path / "c.sqlite3"
    script = textwrap.dedent(f"""
        import os, signal
        from workbench.calls.cache import ResponseCache, CachedReply
        cache = ResponseCache({str(path)!r})
        for i in range(50):
            cache.put(f"k{{i}}", CachedReply(f"reply {{i}}", 1, 1, 0.1))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ})
    assert proc.returncode == -9
    assert len(ResponseCache(path)) == 50
