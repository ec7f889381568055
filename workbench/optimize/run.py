"""`optimize`: the one way in for `workbench optimize`, notebooks and tests.

spec -> plan (every input checked, budget and estimated calls known, no calls but the proposer's
reachability check) -> optimizer stages on train and dev (DSPy's optimizers, every call through
the call engine and the response cache) -> candidates compared on dev (objective and guard) ->
seed and winner re-scored on test (and by the judge, where one is configured) -> MLflow ->
the winner registered as a new version (never aliased). Interrupted or crashed, it registers
nothing; run it again and the cache replays every reply it already had.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from workbench.calls.cache import ResponseCache
from workbench.calls.engine import CallEngine, RetryPolicy
from workbench.optimize import objective as objective_module
from workbench.optimize.evaluate import Evaluator
from workbench.optimize.lm import CallEngineLM
from workbench.optimize.objective import (
    GUARDED,
    OBJECTIVE_SCORERS,
    candidate_metrics,
    guard,
    objective_value,
    paired_deltas,
)
from workbench.optimize.planning import Estimate, OptimizationPlan, plan_optimization
from workbench.optimize.progress import OptimizeProgress
from workbench.optimize.register import RegisteredVersion, register_candidate
from workbench.optimize.result import CandidateRecord, Cost, OptimizationResult, metrics_name
from workbench.optimize.search import Candidate, run_bootstrap_fewshot, run_gepa, run_labeled_fewshot, run_mipro
from workbench.optimize.tracking import OptimizationTracker
from workbench.paths import cache_path, project_root
from workbench.pipelines._dspy_program import counsellor
from workbench.runner import registry_aliases
from workbench.scoring.engine import ScoringEngine, build_engine
from workbench.scoring.validity import run_validity
from workbench.tracking.store import configure


class OptimizationInterrupted(KeyboardInterrupt):
    """Raised after an interrupted optimization closed its MLflow run; nothing was registered."""


def optimize(
    spec: str | Path,
    *,
    register: bool | None = None,
    track: bool = True,
    use_cache: bool = True,
    progress: OptimizeProgress | None = None,
    on_plan: Callable[[OptimizationPlan, Estimate], None] | None = None,
) -> OptimizationResult:
    """Optimize the spec's seed prompt; `register` overrides the spec's `registration.enabled`.

    >>> result = optimize("experiments/optimize.yaml")
    >>> result.summary()          # seed and winner on dev and test, with intervals
    >>> result.deltas_frame()     # winner minus seed on test, paired intervals
    """
    started = time.perf_counter()
    root = project_root(Path(spec).resolve())
    plan = plan_optimization(spec, aliases=registry_aliases(root))
    progress = progress or OptimizeProgress()
    cache = ResponseCache(cache_path(plan.root)) if use_cache else None
    estimate = plan.estimate(cache)
    if on_plan is not None:
        on_plan(plan, estimate)
    calls = CallEngine(
        cache=cache,
        retries=RetryPolicy(
            plan.spec.retries.max_attempts, plan.spec.retries.initial_delay_s, plan.spec.retries.max_delay_s
        ),
        timeout_s=plan.spec.timeout_s,
        limits={plan.model.name: plan.model.concurrency or plan.spec.concurrency},
    )
    engine = build_engine(plan.scorers, {}, scorer_version=plan.spec.scorer_version, root=plan.root)
    tracker = OptimizationTracker(plan, track)
    try:
        with tracker.run():
            result = _optimize(plan, calls, cache, engine, tracker, progress, estimate)
            result.cost.seconds = time.perf_counter() - started
            tracker.log(_cost_metrics(result.cost))
            enabled = plan.spec.registration.enabled if register is None else register
            if enabled and result.improved:
                result.registered = _register(plan, result, tracker.run_id)
                tracker.tag({"workbench.optimize.registered": result.registered.ref})
            result.run_id, result.tracking_uri = tracker.run_id, tracker.uri
    except KeyboardInterrupt:
        raise OptimizationInterrupted() from None
    finally:
        if cache is not None:
            cache.close()
    return result


def _optimize(
    plan: OptimizationPlan,
    calls: CallEngine,
    cache: ResponseCache | None,
    engine: ScoringEngine,
    tracker: OptimizationTracker,
    progress: OptimizeProgress,
    estimate: Estimate,
) -> OptimizationResult:
    spec = plan.spec
    progress.start(plan.budget + 2 * len(plan.splits.test), estimate)
    evaluator = Evaluator(plan, calls, cache, engine)
    task = CallEngineLM(
        plan.model, plan.decoding, calls, timeout=spec.timeout_s, pipeline=spec.pipeline, on_reply=progress.reply
    )
    candidates: dict[str, Candidate] = {plan.seed.template: Candidate(plan.seed.template, -1, "seed", "seed")}
    details: list[dict] = []
    metric_calls = 0
    current = plan.seed.template
    for index, stage in enumerate(spec.stages):
        progress.phase(f"stage {index}: {stage.optimizer}")
        with tracker.stage(index):
            if stage.optimizer in ("gepa", "mipro"):
                proposer_lm = None
                if not isinstance(stage.proposer, str):
                    proposer_lm = CallEngineLM(
                        stage.proposer.model,
                        stage.proposer.decoding,
                        calls,
                        timeout=spec.timeout_s,
                        pipeline=f"{stage.optimizer}-proposer",
                        purpose="proposer",
                    )
                if stage.optimizer == "gepa":
                    outcome = run_gepa(plan, stage, index, current, task, engine, proposer_lm)
                    metric_calls += int(outcome.details.get("total_metric_calls") or 0)
                else:
                    assert proposer_lm is not None, "planning refuses mipro without a proposer model"
                    outcome = run_mipro(plan, stage, index, current, task, engine, proposer_lm)
                    metric_calls += int(outcome.details["metric_calls"])
            elif stage.optimizer == "bootstrap-fewshot":
                outcome = run_bootstrap_fewshot(plan, stage, index, current, task, engine)
                metric_calls += int(outcome.details["metric_calls"])
            else:
                evaluator.on_reply = progress.reply
                outcome = run_labeled_fewshot(plan, stage, index, current, evaluator)
                evaluator.on_reply = None
                metric_calls += (1 + len(outcome.candidates)) * len(plan.splits.dev)
            details.append({"stage": index, "optimizer": stage.optimizer, **outcome.details})
            for candidate in outcome.candidates:
                candidates.setdefault(candidate.template, candidate)
        progress.phase("comparing candidates on dev")
        records = _compare(plan, evaluator, candidates)
        current = _best(records).template
    records = _compare(plan, evaluator, candidates)
    seed, winner = records[0], _best(records)
    progress.phase("seed and winner on test")
    evaluator.on_reply = progress.reply
    test = {"seed": evaluator.evaluate(seed.template, "test")}
    test["winner"] = evaluator.evaluate(winner.template, "test") if winner is not seed else test["seed"]
    evaluator.on_reply = None
    deltas = paired_deltas(test["seed"].rows, test["winner"].rows, plan.scorers)
    result = OptimizationResult(plan, seed, winner, records, test, deltas, details=details)
    if spec.judge is not None:
        progress.phase("judge re-scoring the test replies")
        _judge(plan, calls, evaluator, result)
    result.cost = Cost(
        plan.budget,
        metric_calls=metric_calls,
        model_calls=calls.stats.calls["reply"],
        retries=sum(calls.stats.retries.values()),
        cached_replies=task.cached + sum(r.cached for e in test.values() for r in e.responses),
        proposer_calls=calls.stats.calls["proposer"],
        judge_calls=calls.stats.calls["judge"],
    )
    _log(plan, tracker, result, engine)
    return result


def _compare(plan: OptimizationPlan, evaluator: Evaluator, candidates: dict[str, Candidate]) -> list[CandidateRecord]:
    """Every candidate on dev (from the cache when the optimizer already evaluated it), guarded
    against the seed; the seed comes first."""
    seed = evaluator.evaluate(plan.seed.template, "dev")
    records = []
    for template, candidate in candidates.items():
        evaluation = evaluator.evaluate(template, "dev")
        records.append(CandidateRecord(candidate, evaluation, guard(evaluation.metrics, seed.metrics)))
    return records


def _best(records: list[CandidateRecord]) -> CandidateRecord:
    """The highest objective among candidates the guard lets win; the seed when none beats it."""
    eligible = [r for r in records if r.eligible]
    best = max(eligible, key=lambda r: r.dev.objective)
    return best if best.dev.objective > records[0].dev.objective + 1e-9 else records[0]


def _judge(plan: OptimizationPlan, calls: CallEngine, evaluator: Evaluator, result: OptimizationResult) -> None:
    judge = plan.spec.judge
    assert judge is not None
    engine = build_engine(
        plan.scorers,
        dict.fromkeys(OBJECTIVE_SCORERS, "judge"),
        judge_model=judge.model,
        judge_decoding=judge.decoding,
        library=plan.library,
        calls=calls,
        judge_concurrency=judge.concurrency,
        timeout=plan.spec.timeout_s,
        root=plan.root,
    )
    rows = {who: evaluator.rows(evaluation.responses, engine) for who, evaluation in result.test.items()}
    result.judge_test = {who: candidate_metrics(frame, plan.scorers) for who, frame in rows.items()}
    result.judge_deltas = paired_deltas(rows["seed"], rows["winner"], plan.scorers)


def _cost_metrics(cost: Cost) -> dict[str, float]:
    return {
        "budget_max_metric_calls": cost.budget,
        "metric_calls": cost.metric_calls,
        "model_calls": cost.model_calls,
        "retries": cost.retries,
        "cached_replies": cost.cached_replies,
        "proposer_calls": cost.proposer_calls,
        "judge_calls": cost.judge_calls,
        "wall_seconds": cost.seconds,
    }


def _log(
    plan: OptimizationPlan, tracker: OptimizationTracker, result: OptimizationResult, engine: ScoringEngine
) -> None:
    metrics: dict[str, float] = {"candidates": len(result.candidates)}
    for split, who, evaluation in (
        ("dev", "seed", result.seed.dev),
        ("dev", "winner", result.winner.dev),
        ("test", "seed", result.test["seed"]),
        ("test", "winner", result.test["winner"]),
    ):
        metrics[f"{split}_{who}_objective"] = objective_value(evaluation.metrics, plan.spec.objective.empathy_weight)
        for name in OBJECTIVE_SCORERS:
            low, high = evaluation.metrics.interval(name)
            key = f"{split}_{who}_{metrics_name(name)}"
            metrics.update({key: evaluation.metrics.get(name), f"{key}_ci_low": low, f"{key}_ci_high": high})
    for backend, deltas in (("", result.deltas), ("judge_", result.judge_deltas)):
        for delta in deltas:
            key = f"test_{backend}delta_{delta.metric}"
            metrics.update({key: delta.delta, f"{key}_ci_low": delta.ci_low, f"{key}_ci_high": delta.ci_high})
    for who, found in result.judge_test.items():
        for name in OBJECTIVE_SCORERS:
            metrics[f"test_judge_{who}_{metrics_name(name)}"] = found.get(name)
    tracker.log(metrics)
    tracker.log_validity(
        run_validity(
            engine.scorers, engine.backends, engine.learned.version.card if engine.learned else None, engine.version
        )
    )
    frame = result.candidates_frame()
    tracker.log_table(frame, "candidates.json")
    tracker.log_dict(result.details, "stages.json")
    tracker.log_table(result.summary(), "summary.json")
    tracker.log_table(result.deltas_frame(), "test_deltas.json")
    for who, evaluation in result.test.items():
        tracker.log_table(evaluation.rows, f"test_responses_{who}.json")
    tracker.log_dict(
        json.loads(json.dumps(counsellor(result.winner.template).dump_state(), default=str)), "program_state.json"
    )
    tracker.log_text(result.winner.template, "winner_template.txt")
    tracker.log_text(result.prompt_diff() or "(the seed prompt won: no change)\n", "prompt_diff.txt")
    tracker.log_text(OBJECTIVE_DOC, "objective.md")
    tracker.tag(
        {
            "workbench.optimize.winner": "seed"
            if not result.improved
            else f"candidate {result.candidates.index(result.winner)}",
            "workbench.optimize.winner_origin": result.winner.candidate.origin,
        }
    )


def _register(plan: OptimizationPlan, result: OptimizationResult, run_id: str | None) -> RegisteredVersion:
    spec = plan.spec
    budget = "; ".join(f"{s.optimizer} {s.max_metric_calls} metric calls" for s in spec.stages)
    optimizers = ", ".join(
        f"{s.optimizer} ({'mutation operators' if isinstance(s.proposer, str) else 'proposer ' + s.proposer.model.spec})"
        if s.optimizer in ("gepa", "mipro")
        else s.optimizer
        for s in spec.stages
    )
    headline = [
        d for d in result.deltas if d.metric in {metrics_name(n) for n in (*GUARDED, "empathy", "over_escalation")}
    ]
    rationale = (
        f"Optimized from {plan.seed.ref} for {plan.strategy.ref} on {spec.model.name} by {optimizers}; "
        f"MLflow run {run_id or 'untracked'}; budget {budget}; winner: {result.winner.candidate.origin}. "
        f"Test split ({len(plan.splits.test)} scenarios), winner minus seed with paired 95% intervals: "
        + "; ".join(d.text() for d in headline)
        + ". Not promoted: aliases such as production are set by the promotion step."
    )
    tags = {
        "workbench.optimize.run_id": run_id or "",
        "workbench.optimize.seed_prompt": plan.seed.ref,
        "workbench.optimize.optimizers": optimizers,
        "workbench.optimize.budget": budget,
        "workbench.optimize.model": spec.model.spec,
        "workbench.optimize.test_n": str(len(plan.splits.test)),
        **{
            f"workbench.optimize.test_delta.{d.metric}": f"{d.delta:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}] n={d.n}"
            for d in result.deltas
        },
        **{
            f"workbench.optimize.test_judge_delta.{d.metric}": f"{d.delta:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}] n={d.n}"
            for d in result.judge_deltas
        },
    }
    configure(plan.root)  # the project's registry, also when the run itself is not tracked
    return register_candidate(plan.family.source, result.winner.template, rationale, tags)


OBJECTIVE_DOC = (objective_module.__doc__ or "").strip()
