"""The optimizer stages: DSPy's optimizers over the counsellor program, fed the scorers' evidence.

- `gepa` (instruction optimization): `dspy.GEPA` evolves the program's instructions (the system
  prompt with its reminder) on train minibatches and keeps a Pareto front on dev. The metric is
  the objective's per-reply score with the scorers' evidence as feedback. New instructions come
  from the mutation operators (`candidates.MutationProposer`) or, with `proposer: {model: ...}`,
  from that model through DSPy's `InstructionProposer`, told to keep the template's variables.
- `labeled-fewshot` (demonstration selection): `dspy.LabeledFewShot` sets of exemplary gold
  replies (train and dev splits only), a random search over sets, each set evaluated on dev.

Every program call goes through `lm.CallEngineLM` (cache, retries, concurrency); a stage returns
its candidate templates, which the driver compares on dev with the objective and guard.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.teleprompt.gepa import InstructionProposer

from workbench.groups import response_input
from workbench.optimize.candidates import MutationProposer, repair
from workbench.optimize.evaluate import Evaluator
from workbench.optimize.lm import CallEngineLM
from workbench.optimize.objective import reply_score
from workbench.optimize.planning import OptimizationPlan
from workbench.optimize.spec import Stage
from workbench.pipelines._dspy_program import ADAPTERS, counsellor, program_inputs, system_template
from workbench.plan import Cell
from workbench.responses import Response
from workbench.scoring.base import Score
from workbench.scoring.engine import ScoringEngine

PROPOSER_GUIDANCE = (
    "The instruction is the system prompt of a mental-health support chatbot. Keep every {{ variable }} "
    "exactly as written (they are filled with the user's local crisis resources). Text inside "
    "<reminder> ... </reminder> (on lines of its own, at the end) is appended to every user message; use it "
    "for what the model must not forget. Safety comes first: crisis resources and an urge to reach a person "
    "now when there is risk, no crisis line for everyday worries, never claim to be human."
)


@dataclass
class Candidate:
    """A template a stage produced, and how."""

    template: str
    stage: int
    optimizer: str
    origin: str
    parent: str | None = None


@dataclass
class StageOutcome:
    candidates: list[Candidate]
    details: dict[str, Any] = field(default_factory=dict)


class ReplyMetric:
    """GEPA's metric: the objective's per-reply score, with the scorers' evidence as feedback.
    Scores are memoised per (scenario, reply): GEPA asks again for feedback."""

    def __init__(self, plan: OptimizationPlan, engine: ScoringEngine, cells: dict[int, Cell]):
        self.plan, self.engine, self.cells = plan, engine, cells
        self._lock = threading.Lock()
        self._memo: dict[tuple[int, str], dspy.Prediction] = {}
        self.calls = 0

    def __call__(self, gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
        reply = getattr(pred, "reply", None)
        key = (int(gold.cell), str(reply))
        with self._lock:
            self.calls += 1
            if key in self._memo:
                return self._memo[key]
            scores = self.scores(self.cells[key[0]], reply) if reply else {}
            found = reply_score(
                scores,
                error=None if reply else "no reply",
                empathy_weight=self.plan.spec.objective.empathy_weight,
            )
            result = dspy.Prediction(score=found.score, feedback=found.feedback)
            self._memo[key] = result
            return result

    def scores(self, cell: Cell, reply: str) -> dict[str, Score]:
        response = Response(cell, [], "", reply=reply)
        return self.engine.score_many([response_input(response, self.plan.locale.code, self.plan.values)])[0]


def examples(plan: OptimizationPlan, split: str, start: int) -> tuple[list[dspy.Example], dict[int, Cell]]:
    """A split's cells as DSPy examples (the program's inputs, and the cell for the metric)."""
    out, cells = [], {}
    for offset, cell in enumerate(plan.cells(split)):
        index = start + offset
        cells[index] = cell
        inputs = program_inputs(cell.conversation(plan.values))
        out.append(dspy.Example(**inputs, cell=index, scenario_id=cell.scenario.id).with_inputs(*inputs))
    return out, cells


class TemplateProposer(InstructionProposer):
    """DSPy's instruction proposer, told what the template's parts mean; its proposals are made
    registrable in the family (variables kept, canonical layout) before GEPA tries them."""

    def __init__(self, variables: tuple[str, ...]):
        super().__init__(additional_instructions=PROPOSER_GUIDANCE)
        self.variables = variables
        self.proposed: list[str] = []

    def __call__(self, candidate, reflective_dataset, components_to_update):
        proposals = super().__call__(candidate, reflective_dataset, components_to_update)
        repaired = {name: repair(text, self.variables) for name, text in proposals.items()}
        self.proposed.extend(repaired.values())
        return repaired


@contextmanager
def quiet_optimizer_output() -> Iterator[None]:
    """GEPA's and DSPy's own progress bars and log lines would interleave with the workbench's
    progress (both hard-code their bars), so bars are disabled while a stage runs."""
    import tqdm

    original = tqdm.tqdm.__init__

    def disabled(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    loggers = [logging.getLogger(name) for name in ("dspy.teleprompt", "gepa", "dspy.evaluate")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    tqdm.tqdm.__init__ = disabled
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = original
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def gepa_budget(stage: Stage, dev: int) -> int:
    """What GEPA is told, so the stage never exceeds its budget: GEPA checks the budget before a
    step, and one step costs up to two minibatch evaluations and one on dev."""
    return stage.max_metric_calls - (2 * stage.minibatch + dev) + 1


def run_gepa(
    plan: OptimizationPlan,
    stage: Stage,
    index: int,
    start: str,
    task: CallEngineLM,
    engine: ScoringEngine,
    proposer_lm: CallEngineLM | None = None,
) -> StageOutcome:
    train, train_cells = examples(plan, "train", 0)
    dev, dev_cells = examples(plan, "dev", len(train))
    metric = ReplyMetric(plan, engine, {**train_cells, **dev_cells})
    variables = plan.family.variables
    if stage.proposer == "operators":
        proposer: MutationProposer | TemplateProposer = MutationProposer(start, variables, plan.spec.seed + index)
        reflection = None
    else:
        proposer = TemplateProposer(variables)
        assert proposer_lm is not None, "a proposer model needs its LM"
        reflection = proposer_lm.lm
    gepa = dspy.GEPA(
        metric=metric,
        max_metric_calls=gepa_budget(stage, len(dev)),
        reflection_minibatch_size=stage.minibatch,
        reflection_lm=reflection,
        instruction_proposer=proposer,
        candidate_selection_strategy="pareto",
        use_merge=False,
        num_threads=plan.spec.concurrency,
        track_stats=True,
        warn_on_score_mismatch=False,
        seed=plan.spec.seed + index,
    )
    with quiet_optimizer_output(), dspy.context(lm=task.lm, adapter=ADAPTERS[plan.spec.pipeline](plan.values)):
        best = gepa.compile(counsellor(start), trainset=train, valset=dev)
    results = best.detailed_results
    templates = [system_template(program) for program in results.candidates]
    lineage = proposer.lineage if isinstance(proposer, MutationProposer) else {}
    candidates = []
    for position, template in enumerate(templates):
        text = counsellor(template).respond.signature.instructions
        origin = "start" if position == 0 else "proposer model rewrite"
        parent = None
        if text in lineage:
            origin, parent = lineage[text].operator, lineage[text].parent
        candidates.append(Candidate(template, index, "gepa", origin, parent))
    details = {
        "val_aggregate_scores": list(results.val_aggregate_scores),
        "parents": [list(p) if p else [] for p in results.parents],
        "discovery_eval_counts": list(results.discovery_eval_counts),
        "total_metric_calls": results.total_metric_calls,
        "proposals": len(proposer.proposed),
        "metric_calls": metric.calls,
    }
    return StageOutcome(candidates, details)


def run_labeled_fewshot(
    plan: OptimizationPlan, stage: Stage, index: int, start: str, evaluator: Evaluator
) -> StageOutcome:
    """Random search over demonstration sets: each set costs one evaluation on dev (the start
    prompt's evaluation comes first, from the cache if an earlier stage made it)."""
    pool = plan.demo_pools[index]
    dev_size = len(plan.splits.dev)
    sets = max(0, stage.max_metric_calls // dev_size - 1)
    evaluator.evaluate(start, "dev")
    seen: set[tuple[str, ...]] = set()
    candidates: list[Candidate] = []
    rng = random.Random(plan.spec.seed + index)
    attempts = 0
    while len(candidates) < sets and attempts < 20 * max(sets, 1):
        attempts += 1
        shuffled = list(pool)
        rng.shuffle(shuffled)
        program = dspy.LabeledFewShot(k=stage.demonstrations).compile(
            counsellor(start), trainset=shuffled, sample=False
        )
        ids = tuple(sorted(str(d.gold_id) for d in program.respond.demos))
        if ids in seen:
            continue
        seen.add(ids)
        template = system_template(program)
        evaluator.evaluate(template, "dev")
        candidates.append(Candidate(template, index, "labeled-fewshot", f"demonstrations {', '.join(ids)}", start))
    return StageOutcome(candidates, {"sets": len(candidates), "pool": len(pool)})
