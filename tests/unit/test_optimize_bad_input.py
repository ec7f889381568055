"""Bad optimization specs are refused before any call: exit 2, the file, the field and a fix,
and no request reaches the task model (nor, where one is named, the proposer)."""

from __future__ import annotations

import pytest
from test_optimize import IDS, run_cli, small_model, write_spec

from workbench.testing.loopback import LoopbackServer, free_port


def refused(project, *expected: str, **changes) -> str:
    with LoopbackServer(small_model) as server:
        spec = write_spec(project, server.base_url, **changes)
        code, output = run_cli("optimize", str(spec), "--no-track", "--quiet")
        assert server.requests == [], "nothing was called"
    assert code == 2, output
    assert "Traceback" not in output and "nothing was run" in output and "fix:" in output
    assert "experiments/optimize.yaml" in output
    for fragment in expected:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    return output


def test_an_empty_train_split(project):
    refused(project, "splits.train", "the train split is empty", splits={"train": 0.0, "dev": 0.5, "test": 0.5})


def test_a_budget_smaller_than_one_candidate_evaluation(project):
    output = refused(
        project,
        "stages[0].max_metric_calls",
        "smaller than one candidate evaluation",
        stages=[{"optimizer": "gepa", "max_metric_calls": 5, "minibatch": 2}],
    )
    assert "raise it to at least 12" in output, "4 dev scenarios twice, a minibatch of 2 twice"


def test_an_unknown_optimizer_suggests_the_close_one(project):
    output = refused(
        project,
        "stages[0].optimizer",
        "unknown optimizer 'gepaa'",
        stages=[{"optimizer": "gepaa", "max_metric_calls": 30}],
    )
    assert "did you mean 'gepa'" in output and "labeled-fewshot" in output


def test_a_proposer_model_without_its_key(project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    stage = {"optimizer": "gepa", "max_metric_calls": 30, "proposer": {"model": "openai:gpt-4o"}}
    refused(project, "stages[0].proposer.model", "OPENAI_API_KEY", stages=[stage])


def test_an_unknown_proposer_provider(project):
    stage = {"optimizer": "gepa", "max_metric_calls": 30, "proposer": {"model": "nosuch:model"}}
    refused(project, "stages[0].proposer.model", "nosuch", stages=[stage])


def test_an_unreachable_proposer_model(project):
    port = free_port()  # nothing listens on it
    stage = {
        "optimizer": "gepa",
        "max_metric_calls": 30,
        "proposer": {"model": {"spec": "openai:reflect", "base_url": f"http://127.0.0.1:{port}/v1"}},
    }
    output = refused(project, "stages[0].proposer.model", "did not answer", stages=[stage])
    assert "proposer: operators" in output


def test_the_proposer_check_sees_a_reachable_model(project):
    """Guards the guard: a proposer that answers passes the check (one single-token call)."""
    with LoopbackServer() as reflection:
        stage = {
            "optimizer": "gepa",
            "max_metric_calls": 30,
            "proposer": {"model": {"spec": "openai:reflect", "base_url": reflection.base_url}},
        }
        from workbench.optimize import plan_optimization

        with LoopbackServer(small_model) as server:
            plan = plan_optimization(write_spec(project, server.base_url, stages=[stage]))
        assert len(reflection.requests) == 1 and reflection.requests[0].get("max_tokens", 1) <= 1
    assert [s.id for s in plan.splits.train] and len(IDS) == 12


@pytest.mark.parametrize("field", ["seed_prompt", "user_strategy"])
def test_unknown_prompts(project, field):
    refused(project, field, **{field: "nope@1"})
