"""From an optimization spec to everything the search needs, every input checked before any call.

Bad input is reported with file, field and fix, all problems at once: an unknown seed prompt,
strategy or optimizer, an empty split, a budget smaller than one candidate evaluation, a proposer
model that is missing or does not answer, a judge or task model that cannot be called. The only
call made here is the proposer's reachability check (one token), and only when every other check
has passed.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import dspy

from workbench.calls.cache import ResponseCache
from workbench.calls.loop import run_sync
from workbench.errors import InputError, Problem, Problems, display_path
from workbench.experiment_spec import ExperimentSpec
from workbench.locales import Locale, get_locale
from workbench.models.dspy_lm import dspy_lm
from workbench.models.registry import check_model
from workbench.models.spec import Decoding, ModelSpec
from workbench.optimize.demos import demonstration_pool
from workbench.optimize.objective import OBJECTIVE_SCORERS
from workbench.optimize.spec import OptimizeSpec, Stage, load_optimize_spec
from workbench.optimize.splits import ScenarioSplits, split_scenarios
from workbench.paths import project_root, prompts_dir
from workbench.plan import Cell, ExperimentPlan, RunGroup, select_scenarios
from workbench.prompts import AliasResolver, PromptFamily, PromptLibrary, PromptVersion
from workbench.responses import build_pipelines, prepare
from workbench.scenarios import load_scenarios
from workbench.scoring.engine import judged_constructs
from workbench.scoring.learned.versions import version_folder
from workbench.scoring.registry import Scorer, get_scorers
from workbench.yaml_files import with_lines

OPTIMIZERS = {
    "gepa": "instructions: GEPA, fed the scorers' evidence; mutation operators or a proposer model write candidates",
    "mipro": "instructions: MIPROv2, a proposer model writes candidates, trials compare them on dev",
    "labeled-fewshot": "demonstrations: LabeledFewShot over exemplary gold replies, random search over sets",
    "bootstrap-fewshot": "demonstrations: BootstrapFewShotWithRandomSearch over exemplary gold replies",
}
DEMONSTRATION_OPTIMIZERS = ("labeled-fewshot", "bootstrap-fewshot")
PING_TIMEOUT_S = 30.0


@dataclass
class Estimate:
    """Calls the optimization may make, shown before it starts."""

    search_metric_calls: int
    proposer_calls: int
    final_replies: int
    judge_calls: int
    cached_seed_replies: int
    lines: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.search_metric_calls + self.proposer_calls + self.final_replies + self.judge_calls


@dataclass
class OptimizationPlan:
    spec: OptimizeSpec
    spec_path: Path
    root: Path
    library: PromptLibrary
    locale: Locale
    values: dict[str, str]
    seed: PromptVersion
    strategy: PromptVersion
    family: PromptFamily
    splits: ScenarioSplits
    scorers: list[Scorer]
    demo_pools: dict[int, list[dspy.Example]]
    base: ExperimentPlan

    @property
    def model(self) -> ModelSpec:
        return self.spec.model

    @property
    def decoding(self) -> Decoding:
        return self.base.decoding(self.spec.model)

    @property
    def budget(self) -> int:
        return sum(stage.max_metric_calls for stage in self.spec.stages)

    def candidate(self, template: str, index: int = 0) -> PromptVersion:
        """An unregistered version of the family (version 0) holding a candidate's text."""
        from workbench.prompts import template_sha256

        return replace(
            self.seed,
            name=self.family.name,
            version=0,
            template=template,
            sha256=template_sha256(template),
            rationale=f"candidate {index}",
            alias=None,
        )

    def plan_for(self, template: str, split: str) -> ExperimentPlan:
        group = RunGroup(self.candidate(template), self.strategy, self.spec.model, self.spec.pipeline)
        return replace(self.base, scenarios=self.splits[split], groups=[group])

    def cells(self, split: str) -> list[Cell]:
        return self.plan_for(self.seed.template, split).cells

    def estimate(self, cache: ResponseCache | None = None) -> Estimate:
        spec = self.spec
        search = self.budget
        proposer = sum(
            math.ceil(max(0, s.max_metric_calls - len(self.splits.dev)) / (2 * s.minibatch))
            for s in spec.stages
            if s.optimizer == "gepa" and s.proposer != "operators"
        ) + sum(s.candidates for s in spec.stages if s.optimizer == "mipro")
        final = 2 * len(self.splits.test)
        judged = len(judged_constructs(self.scorers, dict.fromkeys(OBJECTIVE_SCORERS, "judge"))) if spec.judge else 0
        judge = final * judged
        cached = 0
        if cache is not None:
            keys = [r.cache_key for split in ("dev", "test") for r in self._seed_responses(split)]
            cached = len(cache.get_many(keys))
        lines = [
            f"search: at most {search} replies scored ({', '.join(f'{s.optimizer} {s.max_metric_calls}' for s in spec.stages)}); "
            "replies already cached cost no call",
        ]
        if proposer:
            lines.append(f"proposer: at most {proposer} calls")
        lines.append(f"final: seed and winner on the {len(self.splits.test)} test scenarios, at most {final} replies")
        if judge:
            lines.append(f"judge: at most {judge} calls to re-score the final replies")
        lines.append(f"at most {search + proposer + final + judge} model calls; {cached} seed replies already cached")
        return Estimate(search, proposer, final, judge, cached, lines)

    def _seed_responses(self, split: str):
        plan = self.plan_for(self.seed.template, split)
        return prepare(plan, build_pipelines(plan))


def plan_optimization(
    spec_path: str | Path, *, aliases: AliasResolver | None = None, check_proposers: bool = True
) -> OptimizationPlan:
    spec_path = Path(spec_path).resolve()
    spec = load_optimize_spec(spec_path)
    root = project_root(spec_path)
    file = display_path(spec_path)
    problems = Problems(file)
    attempt = problems.attempt

    library = attempt(PromptLibrary.load, prompts_dir(root))
    locale = attempt(get_locale, spec.locale, field="locale", file=file)
    seed = (
        attempt(library.resolve, spec.seed_prompt, kind="system", where="seed_prompt", aliases=aliases)
        if library
        else None
    )
    strategy = (
        attempt(library.resolve, spec.user_strategy, kind="user", where="user_strategy", aliases=aliases)
        if library
        else None
    )
    family_name = spec.registration.family or (seed.name if seed else None)
    family = (
        attempt(library.family, family_name, kind="system", where="registration.family")
        if library and family_name
        else None
    )
    values = {**(locale.template_values() if locale else {}), **spec.variables}
    if family is not None and (missing := sorted(set(family.variables) - set(values))):
        problems.append(
            Problem(
                f"template variable(s) {', '.join(missing)} of {family.name} have no value",
                file,
                "variables",
                None,
                "add them under 'variables:' or pick a locale that defines them",
            )
        )
    problems.extend(check_model(spec.model, file=file, field="model"))
    if spec.judge is not None:
        problems.extend(check_model(spec.judge.model, file=file, field="judge.model"))
    if spec.scorer_version is not None:
        attempt(version_folder, spec.scorer_version, root, file=file)
    scenarios = attempt(load_scenarios, [spec_path.parent / f for f in spec.scenarios.files])
    splits = None
    if scenarios is not None:
        # select_scenarios reads only `scenarios` and `seed`, which both specs share
        chosen = attempt(select_scenarios, scenarios, cast(ExperimentSpec, spec))
        if chosen is not None:
            splits = split_scenarios(chosen, spec.splits.model_dump(), spec.seed)
            problems.extend(_split_problems(splits, spec, file))
    demo_pools: dict[int, list[dspy.Example]] = {}
    for index, stage in enumerate(spec.stages):
        if stage.optimizer in DEMONSTRATION_OPTIMIZERS and locale is not None:
            pool = attempt(
                demonstration_pool, spec_path.parent / stage.gold, locale.code, where=f"stages[{index}].gold"
            )
            if pool is not None:
                demo_pools[index] = pool
                if len(pool) < stage.demonstrations:
                    problems.append(
                        Problem(
                            f"only {len(pool)} exemplary gold replies, fewer than demonstrations: {stage.demonstrations}",
                            file,
                            f"stages[{index}].demonstrations",
                            None,
                            f"use at most {len(pool)} demonstrations",
                        )
                    )
        if not isinstance(stage.proposer, str):
            problems.extend(check_model(stage.proposer.model, file=file, field=f"stages[{index}].proposer.model"))
    problems.extend(_stage_problems(spec, splits, file, {i: len(pool) for i, pool in demo_pools.items()}))
    scorers = attempt(get_scorers, list(OBJECTIVE_SCORERS), file=file)
    if problems:
        raise InputError(with_lines(problems, spec_path))
    if check_proposers:
        unreachable = [p for i, stage in enumerate(spec.stages) if (p := _unreachable(stage, i, file, spec.timeout_s))]
        if unreachable:
            raise InputError(with_lines(unreachable, spec_path))
    assert library and locale and seed and strategy and family and splits and scorers is not None
    experiment = ExperimentSpec.model_validate(
        {
            "name": spec.name,
            "system_prompts": [seed.ref],
            "user_strategies": [strategy.ref],
            "scenarios": spec.scenarios.model_dump(),
            "models": [spec.model.model_dump()],
            "pipelines": [spec.pipeline],
            "decoding": spec.effective_decoding.model_dump(),
            "scorers": list(OBJECTIVE_SCORERS),
            "scorer_version": spec.scorer_version,
            "concurrency": spec.concurrency,
            "timeout_s": spec.timeout_s,
            "retries": spec.retries.model_dump(),
            "seed": spec.seed,
            "locale": spec.locale,
            "variables": spec.variables,
        }
    )
    base = ExperimentPlan(experiment, spec_path, root, library, locale, values, [], [], scorers)
    return OptimizationPlan(
        spec, spec_path, root, library, locale, values, seed, strategy, family, splits, scorers, demo_pools, base
    )


def _split_problems(splits: ScenarioSplits, spec: OptimizeSpec, file: str) -> list[Problem]:
    problems = []
    for name in ("train", "dev", "test"):
        if not splits[name]:
            problems.append(
                Problem(
                    f"the {name} split is empty ({len(splits.train)} train, {len(splits.dev)} dev, "
                    f"{len(splits.test)} test of the selected scenarios)",
                    file,
                    f"splits.{name}",
                    None,
                    f"raise splits.{name}, or select more scenarios under 'scenarios:'",
                )
            )
    return problems


def _stage_problems(
    spec: OptimizeSpec, splits: ScenarioSplits | None, file: str, pools: dict[int, int]
) -> list[Problem]:
    problems = []
    for index, stage in enumerate(spec.stages):
        where = f"stages[{index}]"
        if stage.optimizer not in OPTIMIZERS:
            close = difflib.get_close_matches(stage.optimizer, list(OPTIMIZERS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                Problem(
                    f"unknown optimizer '{stage.optimizer}'",
                    file,
                    f"{where}.optimizer",
                    None,
                    f"{hint}optimizers: " + "; ".join(f"{name} ({what})" for name, what in OPTIMIZERS.items()),
                )
            )
            continue
        if stage.optimizer == "mipro" and isinstance(stage.proposer, str):
            problems.append(
                Problem(
                    "mipro needs a proposer model: MIPROv2's instruction candidates are written by a model",
                    file,
                    f"{where}.proposer",
                    None,
                    "give one as proposer: {model: SPEC}, or use optimizer: gepa with proposer: operators "
                    "(mutation operators, no model needed)",
                )
            )
        if splits is None or not splits.dev or not splits.train:
            continue
        if stage.optimizer == "bootstrap-fewshot" and index not in pools:
            continue  # its gold set is reported missing already
        needed, why = minimum_budget(stage, len(splits.dev), bootstrap_trainset(stage, pools.get(index, 0)))
        if stage.max_metric_calls < needed:
            problems.append(
                Problem(
                    f"max_metric_calls {stage.max_metric_calls} is smaller than one candidate evaluation: {why}",
                    file,
                    f"{where}.max_metric_calls",
                    None,
                    f"raise it to at least {needed}, or shrink the dev split (splits.dev) or the minibatch",
                )
            )
        if stage.optimizer == "gepa" and stage.minibatch > len(splits.train):
            problems.append(
                Problem(
                    f"minibatch {stage.minibatch} is larger than the train split ({len(splits.train)} scenarios)",
                    file,
                    f"{where}.minibatch",
                    None,
                    f"use at most {len(splits.train)}, or raise splits.train",
                )
            )
    return problems


def bootstrap_trainset(stage: Stage, pool: int) -> int:
    """How many exemplary gold replies a bootstrap-fewshot stage bootstraps from."""
    return min(stage.trainset, pool)


def minimum_budget(stage: Stage, dev: int, trainset: int = 0) -> tuple[int, str]:
    """Metric calls needed to evaluate the starting prompt and one new candidate."""
    if stage.optimizer == "gepa":
        needed = 2 * dev + 2 * stage.minibatch
        return needed, (
            f"the starting prompt on the {dev} dev scenarios, then one candidate on a minibatch "
            f"({stage.minibatch} train scenarios, before and after) and on dev = {needed} metric calls"
        )
    if stage.optimizer == "mipro":
        return 2 * dev, f"the starting prompt and one trial on the {dev} dev scenarios = {2 * dev} metric calls"
    if stage.optimizer == "bootstrap-fewshot":
        needed = 3 * dev + trainset
        return needed, (
            f"the starting prompt, the labeled set and one bootstrapped set on the {dev} dev scenarios, after "
            f"bootstrapping over {trainset} gold replies = {needed} metric calls"
        )
    return (
        2 * dev,
        f"the starting prompt and one set of demonstrations on the {dev} dev scenarios = {2 * dev} metric calls",
    )


def _unreachable(stage: Stage, index: int, file: str, timeout: float) -> Problem | None:
    """One single-token call to the proposer model: a wrong URL, a refused connection or a bad key
    is found now, not after the task model's calls."""
    if isinstance(stage.proposer, str):
        return None
    model = stage.proposer.model
    try:
        lm = dspy_lm(model, Decoding(temperature=0, max_tokens=1), min(timeout, PING_TIMEOUT_S))
        run_sync(lm.acall("Reply with OK."))
    except Exception as exc:  # any failure means the optimizer could not use it
        where = f" at {model.base_url}" if model.base_url else ""
        return Problem(
            f"the proposer model {model.spec}{where} did not answer: {type(exc).__name__}: {str(exc)[:300]}",
            file,
            f"stages[{index}].proposer.model",
            None,
            "check the model spec, base_url and API key (workbench models check SPEC --ping), "
            "or use proposer: operators (no model needed)",
        )
    return None
