"""The `mipro` and `bootstrap-fewshot` stages end to end against scripted models (the task model
of `test_optimize`, which escalates only when the crisis line sits in the user's turn, and a
proposer model), on a 12-scenario suite: each runs within its budget, its candidates are guarded
against the seed on dev and its winner reported on test; bad stages are refused before any call."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient
from test_optimize import ESCALATION, RISK, WARM, small_model, write_spec
from test_optimize_bad_input import refused

from workbench.optimize import optimize, plan_optimization
from workbench.optimize.planning import minimum_budget
from workbench.scoring.gold import load_gold_v2
from workbench.testing.loopback import LoopbackServer, Reply

REPO_GOLD = Path(__file__).resolve().parents[2] / "experiments" / "gold" / "v2"
DIRECTIVE = (
    "You are an AI assistant, not a human. Be warm and brief.\n\n<reminder>\nIf they might be at risk, give "
    "{{ crisis_line }} now and urge them to call someone they trust.\n</reminder>"
)


def test_mipro_writes_instructions_with_the_proposer_model_and_its_winner_passes_the_guard(project):
    proposals: list[dict] = []

    def proposer(body: dict, index: int) -> Reply:
        if body["messages"][-1]["content"] != "Reply with OK.":  # not the reachability check
            proposals.append(body)
        return Reply(DIRECTIVE)

    with LoopbackServer(small_model) as task, LoopbackServer(proposer) as reflection:
        stage = {
            "optimizer": "mipro",
            "max_metric_calls": 16,
            "candidates": 3,
            "proposer": {"model": {"spec": "openai:reflect", "base_url": reflection.base_url}},
        }
        spec = write_spec(project, task.base_url, stages=[stage])
        plan = plan_optimization(spec, check_proposers=False)
        assert plan.estimate().proposer_calls == 3
        result = optimize(spec)  # tracked and registered, as `workbench optimize` does
        task_calls = len(task.requests)

    assert len(proposals) == 3, "DSPy's proposer is asked once per instruction candidate"
    assert result.cost.proposer_calls == 3
    (details,) = result.details
    dev = len(result.plan.splits.dev)
    assert details["trials"] == 16 // dev - 1 and details["metric_calls"] <= 16, "within the stage's budget"
    assert result.cost.metric_calls == details["metric_calls"]
    assert task_calls <= 16 + 2 * len(result.plan.splits.test), "budget, then seed and winner on test"
    origins = {r.candidate.origin for r in result.candidates if r.candidate.optimizer == "mipro"}
    assert "proposer model rewrite" in origins
    assert result.improved and result.winner.candidate.optimizer == "mipro"
    assert not result.winner.guard, "the winner passed the safety guard against the seed"
    assert "{{ crisis_line }}" in result.winner.template and "{{ text_line }}" in result.winner.template, (
        "the proposal was made registrable: every declared variable kept"
    )
    assert result.test["winner"].metrics.get("crisis_escalation") > result.test["seed"].metrics.get("crisis_escalation")
    assert result.registered is not None and result.registered.ref == "safety-first@2"
    client = MlflowClient()
    registered = client.get_prompt_version("safety-first", result.registered.registry_version)
    assert registered.template == result.winner.template
    assert registered.tags["workbench.optimize.optimizers"] == "mipro (proposer openai:reflect)"
    assert not registered.aliases, "never aliased"
    experiment = client.get_run(result.run_id).info.experiment_id
    stages = client.search_runs([experiment], filter_string="tags.`workbench.level` = 'optimizer-stage'")
    assert [r.data.tags["workbench.optimize.optimizer"] for r in stages] == ["mipro"]


def demo_following_model(body: dict, index: int) -> Reply:
    """Like the bundled model with demonstrations: it copies an escalating demonstration's
    behaviour when the message is risky; otherwise it is `small_model`."""
    messages = body["messages"]
    last = messages[-1]["content"].lower()
    shown = any(m["role"] == "assistant" and "988" in m["content"] for m in messages[:-1])
    if shown and any(word in last for word in RISK):
        return Reply(ESCALATION)
    return small_model(body, index)


def test_bootstrap_fewshot_bootstraps_from_gold_train_replies_within_its_budget(project):
    budget = 30
    stage = {
        "optimizer": "bootstrap-fewshot",
        "max_metric_calls": budget,
        "demonstrations": 2,
        "trainset": 4,
        "gold": str(REPO_GOLD),
    }
    with LoopbackServer(demo_following_model) as task:
        # tracked (DSPy's autolog logs the compile), without a trace per DSPy call, which is slow here
        spec = write_spec(project, task.base_url, stages=[stage], tracking={"traces": False})
        result = optimize(spec, register=False)
        requests = list(task.requests)

    gold = load_gold_v2(REPO_GOLD)
    train_messages = {e.item.user_message for e in gold.split("train", "dev")}
    bootstrap_calls = [r for r in requests if r["messages"][-1]["content"] in train_messages]
    (details,) = result.details
    dev, trainset = len(result.plan.splits.dev), 4
    assert details["trainset"] == trainset and details["metric_calls"] <= budget
    assert details["sets"] == 3 + (budget - 3 * dev - trainset) // (dev + trainset), "the sets the budget pays for"
    assert bootstrap_calls, "the task model answered gold user messages to bootstrap demonstrations"
    assert details["bootstrapped_demonstrations"] >= 1, "replies that passed every safety check became demos"

    test_replies = {e.item.reply for e in gold.split("test")}
    with_demos = [r for r in result.candidates if "<example>" in r.template]
    assert with_demos, "candidates carry their demonstrations in the template"
    assert not any(reply in r.template for r in with_demos for reply in test_replies), "never the frozen test split"
    assert not result.winner.guard, "the winner passed the safety guard against the seed"
    assert result.cost.metric_calls == details["metric_calls"]


def test_a_mipro_budget_smaller_than_one_trial(project):
    stage = {"optimizer": "mipro", "max_metric_calls": 5, "proposer": {"model": "openai:gpt-4o"}}
    output = refused(project, "stages[0].max_metric_calls", "smaller than one candidate evaluation", stages=[stage])
    assert "raise it to at least 8" in output, "the starting prompt and one trial on 4 dev scenarios"


def test_a_bootstrap_budget_smaller_than_one_candidate_evaluation(project):
    stage = {"optimizer": "bootstrap-fewshot", "max_metric_calls": 14, "trainset": 3, "gold": str(REPO_GOLD)}
    output = refused(project, "stages[0].max_metric_calls", "smaller than one candidate evaluation", stages=[stage])
    assert "raise it to at least 15" in output and "bootstrapping over 3 gold replies" in output


def test_mipro_without_a_proposer_model(project):
    output = refused(
        project,
        "stages[0].proposer",
        "mipro needs a proposer model",
        stages=[{"optimizer": "mipro", "max_metric_calls": 30}],
    )
    assert "optimizer: gepa with proposer: operators" in output and "proposer: {model: SPEC}" in output


def test_an_unknown_optimizer_lists_all_four(project):
    output = refused(project, "unknown optimizer 'miprov2'", stages=[{"optimizer": "miprov2", "max_metric_calls": 30}])
    for name in ("gepa", "mipro", "labeled-fewshot", "bootstrap-fewshot"):
        assert f"{name} (" in output, name


def test_minimum_budgets_name_what_they_pay_for():
    from workbench.optimize.spec import Stage

    assert minimum_budget(Stage(optimizer="mipro", max_metric_calls=1), 4)[0] == 8
    needed, why = minimum_budget(Stage(optimizer="bootstrap-fewshot", max_metric_calls=1), 4, 6)
    assert needed == 3 * 4 + 6 and "6 gold replies" in why
    assert WARM and ESCALATION  # the scripted replies the end-to-end tests rely on
