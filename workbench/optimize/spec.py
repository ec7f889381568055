"""Optimization specs (`experiments/optimize.yaml`): which prompt to improve, on what, how hard.

One readable file names the seed system prompt, the user strategy and task model it is tuned
for, the scenario split, the optimizer stages with their budgets, and what to do with the
winner. Validation here is structural; `optimize.plan` checks that every name refers to
something real and that every budget can pay for what it promises, before any call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.experiment_spec import JudgeSettings, Retries, ScenarioSelection
from workbench.models.spec import Decoding, ModelSpec
from workbench.yaml_files import load_model


class SplitShares(BaseModel):
    """Shares of the scenarios in each split, drawn within each risk level."""

    model_config = ConfigDict(extra="forbid")

    train: float = Field(0.4, ge=0, le=1, description="Scenarios the optimizer learns from (GEPA's minibatches).")
    dev: float = Field(0.2, ge=0, le=1, description="Scenarios candidates are compared on (the safety guard).")
    test: float = Field(0.4, ge=0, le=1, description="Scenarios scored only to report seed versus winner.")

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitShares:
        total = self.train + self.dev + self.test
        if abs(total - 1) > 1e-6:
            raise ValueError(f"train + dev + test add up to {total:g}, not 1 | fix: make the three shares add up to 1")
        return self


class Proposer(BaseModel):
    """The model that reads the scorers' evidence and writes new instructions (GEPA's reflection LM)."""

    model_config = ConfigDict(extra="forbid")

    model: ModelSpec = Field(description="Any model spec; a capable one (a small model cannot rewrite prompts).")
    decoding: Decoding = Field(default_factory=lambda: Decoding(temperature=1.0, max_tokens=2000))


class Stage(BaseModel):
    """One optimizer run; each starts from the best candidate so far."""

    model_config = ConfigDict(extra="forbid")

    optimizer: str = Field(
        description="Instructions: gepa (GEPA) or mipro (MIPROv2, needs a proposer model). "
        "Demonstrations: labeled-fewshot (LabeledFewShot sets, random search) or bootstrap-fewshot "
        "(BootstrapFewShotWithRandomSearch)."
    )
    max_metric_calls: int = Field(gt=0, description="Replies this stage may score (the budget; cached replies count).")
    minibatch: int = Field(3, gt=0, le=50, description="gepa: train scenarios per reflection step.")
    proposer: Proposer | Literal["operators"] = Field(
        "operators",
        description="gepa: 'operators' (mutations of instruction phrasing and placement, no model needed) "
        "or {model: SPEC} for a model that rewrites the instructions from the evidence. "
        "mipro: {model: SPEC}, the model that writes the instruction candidates (required).",
    )
    candidates: int = Field(
        4,
        ge=2,
        le=30,
        description="mipro: instruction candidates: the starting prompt's own and candidates - 1 written by the "
        "proposer model (DSPy asks it once per candidate); the trials, one dev evaluation each, follow from "
        "the budget.",
    )
    demonstrations: int = Field(
        2, gt=0, le=8, description="labeled-fewshot, bootstrap-fewshot: at most this many examples per candidate."
    )
    gold: str = Field(
        "gold/v2",
        description="labeled-fewshot, bootstrap-fewshot: gold set folder whose exemplary replies are the "
        "demonstrations (its train and dev splits only, never the frozen test split).",
    )
    trainset: int = Field(
        8,
        gt=0,
        le=200,
        description="bootstrap-fewshot: exemplary gold replies (drawn by seed from the pool) the task model "
        "answers to bootstrap demonstrations, at most this many metric calls per bootstrapped set.",
    )


class Objective(BaseModel):
    """How candidates are ranked once they pass the safety guard (docs/optimization.md)."""

    model_config = ConfigDict(extra="forbid")

    empathy_weight: float = Field(0.2, ge=0, le=0.5, description="Weight of empathy / 6; safety terms get the rest.")


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Register the winner as a new version (never aliased).")
    family: str | None = Field(None, description="System-prompt family to add the version to; default: the seed's.")


class OptimizeTracking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: str | None = Field(None, description="MLflow experiment; defaults to optimize-<name>.")
    traces: bool = Field(True, description="Trace the DSPy program's calls (mlflow.dspy.autolog).")
    tags: dict[str, str] = Field(default_factory=dict)


class OptimizeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seed_prompt: str = Field(description="System prompt to improve: NAME@VERSION (or NAME for the latest).")
    user_strategy: str = Field("plain", description="User strategy the prompt is tuned for.")
    model: ModelSpec = Field(description="The task model the prompt is tuned for.")
    pipeline: Literal["dspy", "dspy-chat"] = Field("dspy", description="DSPy pipeline the program runs through.")
    scenarios: ScenarioSelection
    splits: SplitShares = Field(default_factory=SplitShares)
    stages: list[Stage] = Field(min_length=1, description="Optimizer runs, in order.")
    objective: Objective = Field(default_factory=Objective)
    decoding: Decoding = Field(default_factory=lambda: Decoding(temperature=0, max_tokens=128))
    scorer_version: str | None = Field(None, description="Learned scorer version; default learned-1.")
    judge: JudgeSettings | None = Field(None, description="Re-score the final test replies with this judge too.")
    concurrency: int = Field(4, gt=0, le=256)
    timeout_s: float = Field(120.0, gt=0)
    retries: Retries = Field(default_factory=Retries)
    seed: int = Field(0, description="Seeds the split, the optimizers and decoding (when decoding.seed is unset).")
    locale: str = "US"
    variables: dict[str, str] = Field(default_factory=dict)
    registration: Registration = Field(default_factory=Registration)
    tracking: OptimizeTracking = Field(default_factory=OptimizeTracking)

    @property
    def effective_decoding(self) -> Decoding:
        return self.decoding if self.decoding.seed is not None else self.decoding.merged({"seed": self.seed})


def load_optimize_spec(path: str | Path) -> OptimizeSpec:
    return load_model(path, OptimizeSpec)
