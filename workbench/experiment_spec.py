"""Experiment specs (`experiments/*.yaml`): one readable file names the whole matrix.

system prompts x user strategies x scenarios x models x pipelines x repeats, plus how to
decode, what to score and how hard to push each provider. Validation here is purely
structural; `plan.build_plan` checks that every name refers to something real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workbench import limits
from workbench.models.spec import Decoding, ModelSpec
from workbench.scenarios import Category, RiskLevel
from workbench.yaml_files import load_model


class ScenarioSelection(BaseModel):
    """Which scenarios to run: files (or folders), then optional filters."""

    model_config = ConfigDict(extra="forbid")

    files: list[str] = Field(min_length=1, description="Scenario files or folders, relative to the spec file.")
    categories: list[Category] | None = None
    risk_levels: list[RiskLevel] | None = None
    ids: list[str] | None = None
    multi_turn: bool | None = Field(None, description="true: only multi-turn; false: only single-turn.")
    limit: int | None = Field(None, gt=0, description="At most this many scenarios (a seeded sample).")


class Retries(BaseModel):
    """Retry policy for transient errors (429, 5xx, timeouts, connection resets)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(5, ge=1, le=20)
    initial_delay_s: float = Field(1.0, ge=0, le=limits.MAX_DELAY_S, allow_inf_nan=False)
    max_delay_s: float = Field(60.0, gt=0, le=limits.MAX_DELAY_S, allow_inf_nan=False)
    circuit_breaker: int = Field(
        5,
        ge=1,
        le=1000,
        description="Stop calling a model once this many calls in a row failed with the same cause and none "
        "succeeded in between.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Retries:
        if self.initial_delay_s > self.max_delay_s:
            raise ValueError(
                f"initial_delay_s ({self.initial_delay_s:g}) is longer than max_delay_s ({self.max_delay_s:g}) "
                "| fix: make initial_delay_s at most max_delay_s"
            )
        return self


class Tracking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: str | None = Field(None, description="MLflow experiment name; defaults to the spec name.")
    traces: bool = Field(True, description="Trace every model call to MLflow.")
    assessments: bool = Field(True, description="Attach every score to its call's trace as an assessment.")
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags on every run.")


class JudgeSettings(BaseModel):
    """The LLM judge for metrics routed to the `judge` back-end."""

    model_config = ConfigDict(extra="forbid")

    model: ModelSpec = Field(description="Any model spec; the judge should be stronger than the models it grades.")
    decoding: Decoding = Field(default_factory=lambda: Decoding(temperature=0, max_tokens=600))
    concurrency: int = Field(4, gt=0, le=limits.MAX_CONCURRENCY)


class ExperimentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=limits.NAME_CHARS)
    description: str = Field("", max_length=limits.DESCRIPTION_CHARS)
    system_prompts: list[str] = Field(min_length=1, description="NAME, NAME@VERSION or NAME@ALIAS")
    user_strategies: list[str] = Field(["plain"], min_length=1, description="NAME, NAME@VERSION or NAME@ALIAS")
    scenarios: ScenarioSelection
    models: list[ModelSpec] = Field(min_length=1)
    pipelines: list[str] = Field(
        ["langchain"], min_length=1, description="Registered pipeline names (`@pipeline`), e.g. langchain."
    )
    repeats: int = Field(1, gt=0, le=100, description="Samples per cell.")
    decoding: Decoding = Field(default_factory=Decoding)
    scorers: list[str] | dict[str, Literal["learned", "fast", "judge", "offline"]] | None = Field(
        None,
        description="Scorer names (learned back-end), or {name: learned|fast|judge}; default: all, learned. "
        "`offline` is the old name of `learned`.",
    )
    scorer_version: str | None = Field(
        None, description="Pin the learned back-end to a scorer version (`workbench scorers list`); default learned-1."
    )
    judge: JudgeSettings | None = Field(None, description="Required when any scorer uses the judge back-end.")
    concurrency: int = Field(
        4, gt=0, le=limits.MAX_CONCURRENCY, description="Parallel calls per model, unless the model sets its own."
    )
    timeout_s: float = Field(120.0, gt=0, le=limits.MAX_TIMEOUT_S, allow_inf_nan=False, description="Per-call timeout.")
    retries: Retries = Field(default_factory=Retries)
    seed: int = Field(0, description="Seeds scenario sampling, and decoding when decoding.seed is unset.")
    locale: str = Field("US", description="Crisis resources to fill into prompts and to score against.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variable overrides.")
    tracking: Tracking = Field(default_factory=Tracking)

    @field_validator("system_prompts", "user_strategies", "pipelines")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)} | fix: list each one once")
        return value

    @property
    def scorer_names(self) -> list[str] | None:
        return list(self.scorers) if self.scorers is not None else None

    @property
    def scorer_backends(self) -> dict[str, str]:
        return dict(self.scorers) if isinstance(self.scorers, dict) else {}

    @property
    def effective_decoding(self) -> Decoding:
        return self.decoding if self.decoding.seed is not None else self.decoding.merged({"seed": self.seed})


def load_spec(path: str | Path) -> ExperimentSpec:
    return load_model(path, ExperimentSpec, limit=limits.SPEC_FILE_BYTES, what="experiment spec")
