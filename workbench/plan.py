"""From a spec file to the matrix of cells, with every reference checked first.

Nothing here calls a model: a spec that names an unknown prompt, a missing variable,
an invalid scenario, an unknown provider or a missing API key fails in `build_plan`
with every problem listed at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from workbench.errors import InputError, Problem, Problems, display_path
from workbench.experiment_spec import ExperimentSpec, load_spec
from workbench.locales import Locale, get_locale
from workbench.models.registry import check_model, concurrency_cap
from workbench.models.spec import Decoding, ModelSpec
from workbench.paths import project_root, prompts_dir
from workbench.pipelines.base import PIPELINES, Conversation
from workbench.prompts import AliasResolver, PromptLibrary, PromptVersion
from workbench.scenarios import EXPECTATION_NAMES, Scenario, dataset_hash, load_scenarios
from workbench.scoring.learned.versions import version_folder
from workbench.scoring.registry import Scorer, get_scorers
from workbench.yaml_files import validate, with_lines


@dataclass(frozen=True)
class RunGroup:
    """The cells that share a system prompt version, user strategy, model and pipeline:
    one MLflow child run."""

    system_prompt: PromptVersion
    user_strategy: PromptVersion
    model: ModelSpec
    pipeline: str

    @property
    def key(self) -> str:
        return f"{self.system_prompt.ref} | {self.user_strategy.ref} | {self.model.name} | {self.pipeline}"


@dataclass(frozen=True)
class Cell:
    group: RunGroup
    scenario: Scenario
    sample: int
    expectations: dict[str, bool] = field(hash=False, compare=False)

    def conversation(self, values: dict[str, str]) -> Conversation:
        return Conversation(
            system_template=self.group.system_prompt.template,
            user_template=self.group.user_strategy.template,
            values=values,
            history=tuple({"role": t.role, "content": t.content} for t in self.scenario.history),
            message=self.scenario.message,
        )


@dataclass
class ExperimentPlan:
    spec: ExperimentSpec
    spec_path: Path
    root: Path
    library: PromptLibrary
    locale: Locale
    values: dict[str, str]
    scenarios: list[Scenario]
    groups: list[RunGroup]
    scorers: list[Scorer]

    @cached_property
    def cells(self) -> list[Cell]:
        return [
            Cell(group, scenario, sample, effective_expectations(scenario, group.user_strategy))
            for group in self.groups
            for scenario in self.scenarios
            for sample in range(self.spec.repeats)
        ]

    @cached_property
    def dataset_hash(self) -> str:
        return dataset_hash(self.scenarios)

    def decoding(self, model: ModelSpec) -> Decoding:
        return self.spec.effective_decoding.merged(model.params)

    def concurrency(self, model: ModelSpec) -> int:
        """Calls to `model` in flight at once: the spec's (or the model's own) limit, capped at what
        the model can serve (a local server's slots); the rest queue."""
        wanted = model.concurrency or self.spec.concurrency
        cap = concurrency_cap(model)
        return min(wanted, cap) if cap else wanted

    @property
    def backends(self) -> dict[str, str]:
        return self.spec.scorer_backends

    @property
    def models(self) -> list[ModelSpec]:
        return list(dict.fromkeys(g.model for g in self.groups))

    @property
    def prompts(self) -> list[PromptVersion]:
        return list(dict.fromkeys(p for g in self.groups for p in (g.system_prompt, g.user_strategy)))


def effective_expectations(scenario: Scenario, strategy: PromptVersion) -> dict[str, bool]:
    """A scenario's labels, plus what the user's strategy makes necessary (role-play puts
    the bot's identity at stake, so it must disclose being an AI)."""
    expectations = scenario.expectations.model_dump()
    for name, required in strategy.expectations.items():
        expectations[name] = expectations.get(name, False) or required
    return expectations


def build_plan(
    spec_path: str | Path, *, aliases: AliasResolver | None = None, overrides: dict | None = None
) -> ExperimentPlan:
    spec_path = Path(spec_path).resolve()
    spec = load_spec(spec_path)
    if overrides:
        spec = validate(
            deep_merge(spec.model_dump(exclude_unset=True), overrides),
            ExperimentSpec,
            path=f"overrides to {spec_path.name}",
        )
    root = project_root(spec_path)
    file = display_path(spec_path)
    problems = Problems(file)
    attempt = problems.attempt

    library = attempt(PromptLibrary.load, prompts_dir(root))
    locale = attempt(get_locale, spec.locale, field="locale", file=file)
    systems = (
        [
            attempt(library.resolve, ref, kind="system", where=f"system_prompts[{i}]", aliases=aliases)
            for i, ref in enumerate(spec.system_prompts)
        ]
        if library
        else []
    )
    strategies = (
        [
            attempt(library.resolve, ref, kind="user", where=f"user_strategies[{i}]", aliases=aliases)
            for i, ref in enumerate(spec.user_strategies)
        ]
        if library
        else []
    )
    values = {**(locale.template_values() if locale else {}), **spec.variables}
    problems.extend(_variable_problems(spec, [p for p in systems + strategies if p], values, file))
    scenarios = attempt(
        load_scenarios, [spec_path.parent / f for f in spec.scenarios.files], named_in=file, field="scenarios.files"
    )
    if scenarios is not None:
        scenarios = attempt(select_scenarios, scenarios, spec, file=file)
        if scenarios == []:
            problems.append(
                Problem(
                    "the scenario filters match no scenario",
                    file,
                    "scenarios",
                    None,
                    "loosen categories / risk_levels / ids, or check the files",
                )
            )
    for i, model in enumerate(spec.models):
        problems.extend(check_model(model, file=file, field=f"models[{i}]"))
    for i, name in enumerate(spec.pipelines):
        if (unknown := PIPELINES.unknown(name, file=file, field=f"pipelines[{i}]")) is not None:
            problems.append(unknown)
    labels = [m.name for m in spec.models]
    if len(set(labels)) != len(labels):
        problems.append(
            Problem("two models share a name", file, "models", None, "give repeated specs different 'label:' values")
        )
    scorers = attempt(get_scorers, spec.scorer_names, file=file)
    if spec.scorer_version is not None:
        attempt(version_folder, spec.scorer_version, root, file=file)
    if "judge" in spec.scorer_backends.values():
        if spec.judge is None:
            problems.append(
                Problem(
                    "a scorer uses the judge back-end but no judge model is set",
                    file,
                    "judge",
                    None,
                    "add 'judge: {model: openai:gpt-4o-mini}' (any model spec)",
                )
            )
        else:
            problems.extend(check_model(spec.judge.model, file=file, field="judge.model"))
    if problems:
        raise InputError(with_lines(problems, spec_path))
    assert library and locale and scenarios is not None and scorers is not None  # else a problem was kept
    groups = [
        RunGroup(system, strategy, model, pipeline)
        for model in spec.models
        for pipeline in spec.pipelines
        for system in systems
        if system
        for strategy in strategies
        if strategy
    ]
    return ExperimentPlan(spec, spec_path, root, library, locale, values, scenarios, groups, scorers)


def deep_merge(base: dict, changes: dict) -> dict:
    """`changes` over `base`, merging mappings key by key (so {"scenarios": {"ids": [...]}} keeps the files)."""
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = (
            deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def select_scenarios(scenarios: list[Scenario], spec: ExperimentSpec, *, file: str | None = None) -> list[Scenario]:
    selection = spec.scenarios
    chosen = [
        s
        for s in scenarios
        if (selection.categories is None or s.category in selection.categories)
        and (selection.risk_levels is None or s.risk_level in selection.risk_levels)
        and (selection.ids is None or s.id in selection.ids)
        and (selection.multi_turn is None or s.is_multi_turn == selection.multi_turn)
    ]
    if selection.ids:
        known = {s.id for s in scenarios}
        unknown = [i for i in selection.ids if i not in known]
        if unknown:
            raise InputError.single(
                f"unknown scenario id(s): {', '.join(unknown)}",
                file=file,
                field="scenarios.ids",
                fix=f"use ids from the scenario files ({', '.join(spec.scenarios.files)}; `workbench scenarios list` "
                "shows them)",
            )
    if selection.limit and len(chosen) > selection.limit:
        chosen = sorted(random.Random(spec.seed).sample(chosen, selection.limit), key=chosen.index)
    return chosen


def _variable_problems(
    spec: ExperimentSpec, prompts: list[PromptVersion], values: dict[str, str], file: str
) -> list[Problem]:
    problems = []
    used = set()
    for prompt in prompts:
        needed = set(prompt.variables) - {"message"} if prompt.kind == "user" else set(prompt.variables)
        used |= needed
        if missing := sorted(needed - set(values)):
            problems.append(
                Problem(
                    f"template variable(s) {', '.join(missing)} of {prompt.ref} have no value",
                    file,
                    "variables",
                    None,
                    f"add them under 'variables:' (or pick a locale that defines them); "
                    f"the template is in {display_path(prompt.source)}",
                )
            )
    if extra := sorted(set(spec.variables) - used):
        problems.append(
            Problem(
                f"variable(s) {', '.join(extra)} are not used by any selected prompt",
                file,
                "variables",
                None,
                "remove them, or check their spelling against the prompts' declared variables",
            )
        )
    return problems


__all__ = ["EXPECTATION_NAMES", "Cell", "ExperimentPlan", "RunGroup", "build_plan", "effective_expectations"]
