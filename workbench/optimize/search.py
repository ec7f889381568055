"""The optimizer stages: DSPy's optimizers over the counsellor program, fed the scorers' evidence.

- `gepa` (instruction optimization): `dspy.GEPA` evolves the program's instructions (the system
  prompt with its reminder) on train minibatches and keeps a Pareto front on dev. The metric is
  the objective's per-reply score with the scorers' evidence as feedback. New instructions come
  from the mutation operators (`candidates.MutationProposer`) or, with `proposer: {model: ...}`,
  from that model through DSPy's `InstructionProposer`, told to keep the template's variables.
- `mipro` (instruction optimization): `dspy.MIPROv2`, instructions only. The proposer model
  writes the instruction candidates (made registrable like GEPA's) and Bayesian trials compare
  them on dev, each trial one dev evaluation; the trials follow from the budget.
- `labeled-fewshot` (demonstration selection): `dspy.LabeledFewShot` sets of exemplary gold
  replies (train and dev splits only), a random search over sets, each set evaluated on dev.
- `bootstrap-fewshot` (demonstration selection): `dspy.BootstrapFewShotWithRandomSearch` over a
  sample of the same exemplary gold replies: the task model answers them with labelled examples
  in its prompt, the answers that pass every safety check become demonstrations, the rest are
  filled with labelled gold replies, and each set is evaluated on dev; the number of sets follows
  from the budget.

Every program call goes through `lm.CallEngineLM` (cache, retries, concurrency); a stage returns
its candidate templates, which the driver compares on dev with the objective and guard.
"""

from __future__ import annotations

import importlib
import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import dspy
from dspy.teleprompt.gepa import InstructionProposer

from workbench.groups import response_input
from workbench.optimize.candidates import MutationProposer, repair
from workbench.optimize.demos import gold_inputs
from workbench.optimize.evaluate import Evaluator
from workbench.optimize.lm import CallEngineLM
from workbench.optimize.objective import ReplyScore, reply_score
from workbench.optimize.planning import OptimizationPlan, bootstrap_trainset
from workbench.optimize.spec import Stage
from workbench.pipelines._dspy_program import ADAPTERS, counsellor, program_inputs, system_template
from workbench.plan import Cell
from workbench.responses import Response
from workbench.scoring.base import Score, ScoringInput
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
    Scores are memoised per (example, reply): GEPA asks again for feedback. An example is a
    scenario of a split (`cell`) or, for bootstrapping, an exemplary gold reply (`gold_id`),
    whose user message is scored as that gold item's."""

    def __init__(
        self,
        plan: OptimizationPlan,
        engine: ScoringEngine,
        cells: dict[int, Cell],
        gold: dict[str, ScoringInput] | None = None,
    ):
        self.plan, self.engine, self.cells = plan, engine, cells
        self.gold = dict(gold or {})
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], ReplyScore] = {}
        self.calls = 0

    def __call__(self, gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
        found = self.reply_score(gold, pred)
        return dspy.Prediction(score=found.score, feedback=found.feedback)

    def reply_score(self, gold, pred) -> ReplyScore:
        reply = getattr(pred, "reply", None)
        example = f"gold:{gold.gold_id}" if gold.get("cell") is None else f"cell:{int(gold.cell)}"
        key = (example, str(reply))
        with self._lock:
            self.calls += 1
            if key in self._memo:
                return self._memo[key]
            if not reply:
                scores = {}
            elif gold.get("cell") is None:
                scores = self.engine.score_many([replace(self.gold[str(gold.gold_id)], reply=str(reply))])[0]
            else:
                scores = self.scores(self.cells[int(gold.cell)], reply)
            found = reply_score(
                scores,
                error=None if reply else "no reply",
                empathy_weight=self.plan.spec.objective.empathy_weight,
            )
            self._memo[key] = found
            return found

    def scores(self, cell: Cell, reply: str) -> dict[str, Score]:
        response = Response(cell, [], "", reply=reply)
        return self.engine.score_many([response_input(response, self.plan.locale.code, self.plan.values)])[0]


class ObjectiveMetric:
    """The metric MIPROv2 and BootstrapFewShot call: a candidate's evaluation averages the
    objective's per-reply score; while bootstrapping (DSPy passes a trace), a reply becomes a
    demonstration only if it passed every applicable safety check."""

    def __init__(self, metric: ReplyMetric):
        self.metric = metric

    def __call__(self, gold, pred, trace=None) -> float | bool:
        found = self.metric.reply_score(gold, pred)
        return found.safe if trace is not None else found.score


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

    quieter = {"dspy.teleprompt": logging.WARNING, "dspy.propose": logging.WARNING, "gepa": logging.WARNING}
    quieter |= {"dspy.evaluate": logging.WARNING, "dspy.predict.predict": logging.ERROR}
    # (MIPROv2's proposer passes its predictors more fields than they declare, and DSPy warns each time.)
    loggers = [logging.getLogger(name) for name in quieter]
    levels = [logger.level for logger in loggers]
    for logger, level in zip(loggers, quieter.values(), strict=True):
        logger.setLevel(level)
    tqdm.tqdm.__init__ = disabled
    # The random search and bootstrapping `print` their progress: sent to the debug log instead.
    printing = [importlib.import_module(name) for name in PRINTING_MODULES]
    for module in printing:
        module.print = _debug_print  # type: ignore[attr-defined]
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = original
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        for module in printing:
            del module.print


PRINTING_MODULES = ("dspy.teleprompt.random_search", "dspy.teleprompt.bootstrap", "dspy.propose.grounded_proposer")


def _debug_print(*args: Any, **kwargs: Any) -> None:
    logging.getLogger("workbench.optimize").debug(" ".join(str(a) for a in args))


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


class TemplateMIPRO(dspy.MIPROv2):
    """MIPROv2 over instructions only: no demonstration sets are bootstrapped (demonstrations have
    stages of their own, and a proposer needs none to read), and the proposer model's candidates
    are made registrable in the family (variables kept, canonical layout) before a trial tries them."""

    def __init__(self, *args: Any, variables: tuple[str, ...], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.variables = variables
        self.proposed: list[str] = []

    def _bootstrap_fewshot_examples(self, *args: Any, **kwargs: Any) -> None:
        return None

    def _propose_instructions(self, *args: Any, **kwargs: Any) -> dict[int, list[str]]:
        candidates = super()._propose_instructions(*args, **kwargs)
        for predictor, texts in candidates.items():  # the first is the starting prompt's own
            candidates[predictor] = [texts[0], *(repair(text, self.variables) for text in texts[1:])]
            self.proposed.extend(candidates[predictor][1:])
        return candidates


def mipro_trials(stage: Stage, dev: int) -> int:
    """Trials a mipro stage can pay for: the starting prompt's evaluation on dev, then one per trial."""
    return max(1, stage.max_metric_calls // dev - 1)


def run_mipro(
    plan: OptimizationPlan,
    stage: Stage,
    index: int,
    start: str,
    task: CallEngineLM,
    engine: ScoringEngine,
    proposer_lm: CallEngineLM,
) -> StageOutcome:
    train, train_cells = examples(plan, "train", 0)
    dev, dev_cells = examples(plan, "dev", len(train))
    metric = ReplyMetric(plan, engine, {**train_cells, **dev_cells})
    assert not isinstance(stage.proposer, str), "planning refuses mipro without a proposer model"
    trials = mipro_trials(stage, len(dev))
    mipro = TemplateMIPRO(
        metric=ObjectiveMetric(metric),
        prompt_model=proposer_lm.lm,
        task_model=task.lm,
        max_bootstrapped_demos=0,
        max_labeled_demos=0,
        auto=None,
        num_candidates=stage.candidates,
        num_threads=plan.spec.concurrency,
        seed=plan.spec.seed + index,
        init_temperature=stage.proposer.decoding.temperature,
        track_stats=True,
        variables=plan.family.variables,
    )
    with quiet_optimizer_output(), dspy.context(lm=task.lm, adapter=ADAPTERS[plan.spec.pipeline](plan.values)):
        best = mipro.compile(
            counsellor(start),
            trainset=train,
            valset=dev,
            num_trials=trials,
            minibatch=False,
            program_aware_proposer=False,
            data_aware_proposer=False,
            fewshot_aware_proposer=False,
            tip_aware_proposer=True,
        )
    start_instructions = counsellor(start).respond.signature.instructions
    candidates, seen = [], set()
    for entry in best.candidate_programs:  # every trial's program, best first
        template = system_template(entry["program"])
        if template in seen:
            continue
        seen.add(template)
        text = entry["program"].respond.signature.instructions
        origin = "start" if text == start_instructions else "proposer model rewrite"
        candidates.append(Candidate(template, index, "mipro", origin, start))
    details = {
        "trials": trials,
        "instruction_candidates": stage.candidates,
        "proposals": len(mipro.proposed),
        "scores": [round(float(entry["score"]), 4) for entry in best.candidate_programs],
        "metric_calls": metric.calls,
    }
    return StageOutcome(candidates, details)


def bootstrap_sets(stage: Stage, dev: int, trainset: int) -> int:
    """Random bootstrapped sets a bootstrap-fewshot stage can pay for, beyond the three DSPy always
    tries (the starting prompt without demonstrations, a labelled set, one bootstrapped set in order):
    each set costs at most one bootstrap over the trainset and one evaluation on dev."""
    return max(0, (stage.max_metric_calls - 3 * dev - trainset) // (dev + trainset))


def run_bootstrap_fewshot(
    plan: OptimizationPlan, stage: Stage, index: int, start: str, task: CallEngineLM, engine: ScoringEngine
) -> StageOutcome:
    dev, dev_cells = examples(plan, "dev", 0)
    pool = plan.demo_pools[index]
    chosen = random.Random(plan.spec.seed + index).sample(pool, bootstrap_trainset(stage, len(pool)))
    trainset = [
        dspy.Example(
            conversation=dspy.History(messages=[]), user_message=e.user_message, reply=e.reply, gold_id=e.gold_id
        ).with_inputs("conversation", "user_message")
        for e in chosen
    ]
    gold = gold_inputs(plan.spec_path.parent / stage.gold, {str(e.gold_id) for e in chosen})
    metric = ReplyMetric(plan, engine, dev_cells, gold)
    sets = bootstrap_sets(stage, len(dev), len(trainset))
    search = dspy.BootstrapFewShotWithRandomSearch(
        metric=ObjectiveMetric(metric),
        max_bootstrapped_demos=stage.demonstrations,
        max_labeled_demos=stage.demonstrations,
        max_rounds=1,
        num_candidate_programs=sets,
        num_threads=plan.spec.concurrency,
    )
    with quiet_optimizer_output(), dspy.context(lm=task.lm, adapter=ADAPTERS[plan.spec.pipeline](plan.values)):
        best = search.compile(counsellor(start), trainset=trainset, valset=dev)
    candidates, seen = [], set()
    bootstrapped = 0
    for entry in sorted(best.candidate_programs, key=lambda e: e["seed"]):
        program = entry["program"]
        demos = program.respond.demos
        augmented = sum(bool(d.get("augmented")) for d in demos)
        bootstrapped += augmented
        template = system_template(program)
        if template in seen:
            continue
        seen.add(template)
        seed = entry["seed"]
        origin = (
            "no demonstrations"
            if seed == -3
            else "labelled demonstrations"
            if seed == -2
            else f"set {seed + 1}: {augmented} bootstrapped, {len(demos) - augmented} labelled demonstrations"
        )
        candidates.append(Candidate(template, index, "bootstrap-fewshot", origin, start))
    details = {
        "sets": len(best.candidate_programs),
        "trainset": len(trainset),
        "pool": len(pool),
        "bootstrapped_demonstrations": bootstrapped,
        "scores": {str(e["seed"]): round(float(e["score"]), 4) for e in best.candidate_programs},
        "metric_calls": metric.calls,
    }
    return StageOutcome(candidates, details)
