"""The three extension points: a pipeline, a scorer and a provider are each one decorated
definition, found by name from a spec, validated at plan time and used by the one runner."""

from __future__ import annotations

import importlib
import math

import pytest
from langchain_core.language_models import FakeListChatModel

from workbench import run_experiment
from workbench.errors import InputError
from workbench.models import PROVIDERS, provider
from workbench.pipelines import PIPELINES
from workbench.plan import build_plan
from workbench.scoring import SCORERS, Score, scorer
from workbench.testing.loopback import LoopbackServer

ENDPOINT = LoopbackServer().__enter__()  # reachable, so the run's reachability check passes; never called
ECHO_MODEL = {"spec": "openai:echo-bot", "base_url": ENDPOINT.base_url}


@pytest.fixture
def echo_registered():
    """Importing the module registers `echo`, as a module in workbench/pipelines/ would be."""
    module = importlib.reload(importlib.import_module("echo_pipeline"))
    yield module
    PIPELINES.remove("echo")


def test_the_runner_picks_a_pipeline_by_name_from_the_spec(spec_writer, echo_registered):
    spec = spec_writer(models=[ECHO_MODEL], pipelines=["echo"], user_strategies=["plain@1", "therapist-roleplay@1"])
    result = run_experiment(spec, track=False)
    assert set(result.df["pipeline"]) == {"echo"} and len(result.df) == 2 * 2 * 2
    assert result.df["reply"].str.startswith("echo from openai:echo-bot: ").all()
    roleplay = result.df[result.df["user_strategy"] == "therapist-roleplay"]
    assert roleplay["reply"].str.contains("Act as my licensed therapist").all(), "the strategy wraps the message"
    assert result.df["empathy"].notna().all(), "its replies are scored like any other"
    assert ENDPOINT.requests == [], "the echo pipeline never calls its model"


def test_two_pipelines_never_share_cached_replies(spec_writer, echo_registered, monkeypatch):
    """langchain and echo send the same messages to the same model: the cache key tells them apart."""
    from workbench.calls.engine import Generation
    from workbench.pipelines.langchain import LangChainPipeline

    async def canned(self, conversation):
        return Generation("a LangChain reply")

    monkeypatch.setattr(LangChainPipeline, "respond", canned)
    spec = spec_writer(models=[ECHO_MODEL], pipelines=["langchain", "echo"], system_prompts=["safety-first@1"])
    first = run_experiment(spec, track=False)
    assert first.stats.calls == 4 and first.stats.cached == 0
    by_pipeline = first.df.groupby("pipeline")["reply"].apply(set)
    assert by_pipeline["langchain"] == {"a LangChain reply"}
    assert all(reply.startswith("echo from") for reply in by_pipeline["echo"])
    again = run_experiment(spec, track=False)
    assert again.stats.calls == 0 and (again.df["reply"] == first.df["reply"]).all()


def test_an_unknown_pipeline_is_refused_at_plan_time(spec_writer):
    with pytest.raises(InputError) as caught:
        build_plan(spec_writer(pipelines=["langchian"]))
    problem = caught.value.problems[0]
    assert problem.field == "pipelines[0]" and "unknown pipeline 'langchian'" in problem.message
    assert "did you mean 'langchain'?" in problem.fix


def test_a_registered_scorer_becomes_a_metric_with_its_declared_aggregation(spec_writer, echo_registered):
    @scorer(
        "reply_words",
        description="Words in the reply.",
        aggregate="mean",
        applies_to="every reply",
        constructs=("engagement",),
        scale=(0, 500),
        label="words",
    )
    def reply_words(analysis, item) -> Score:
        return Score("reply_words", float(len(item.reply.split())), f"{len(item.reply.split())} words")

    try:
        spec = spec_writer(models=[ECHO_MODEL], pipelines=["echo"], scorers=["empathy", "reply_words"])
        result = run_experiment(spec, track=False)
        summary = result.summary()
        expected = result.df["reply"].str.split().str.len().mean()
        assert math.isclose(summary["reply_words_mean"].mean(), expected)
        assert "reply_words_mean_ci_low" in summary and "reply_words_n" in summary
        gap = summary["empathy_accountability_gap"]
        assert gap.isna().all(), "no accountability scorer ran, so there is no gap to report"
    finally:
        SCORERS.remove("reply_words")


def test_a_registered_provider_is_checked_and_built_by_name(spec_writer):
    replies = iter(["From a provider registered in a test."] * 10)

    @provider("scripted", module="langchain_core", package="langchain-core")
    def scripted(model, decoding, timeout):
        return FakeListChatModel(responses=[next(replies)] * 2)

    try:
        result = run_experiment(spec_writer(models=["scripted:any"]), track=False)
        assert (result.df["reply"] == "From a provider registered in a test.").all()
        assert set(result.df["model"]) == {"scripted:any"}
    finally:
        PROVIDERS.remove("scripted")


def test_registering_a_name_twice_from_different_code_is_an_error():
    with pytest.raises(ValueError, match="already registered"):

        @scorer("empathy", description="", aggregate="mean", applies_to="", constructs=())
        def not_empathy(analysis, item) -> Score:
            raise AssertionError
