"""What an optimization leaves in MLflow: one run with its stages as child runs.

The parent run holds what was asked (seed prompt, model, splits, stages and budgets, objective),
what it cost (metric and model calls against the budget, wall time) and what came of it: every
candidate with its dev metrics and why it could or could not win, seed and winner on dev and
test with intervals, the paired deltas, the winner's DSPy program state and the prompt diff.
`mlflow.dspy.autolog` traces the program's calls and logs each optimizer's compile (its
parameters, datasets and best program state) in the stage's child run. API keys never reach
MLflow: specs hold only the names of key variables, and DSPy's logged LM state excludes keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mlflow
import pandas as pd

from workbench.models.local import decoding_mode
from workbench.optimize.planning import OptimizationPlan
from workbench.scenarios import dataset_hash
from workbench.scoring.metrics import describe_metrics
from workbench.tracking.client import git_commit
from workbench.tracking.store import configure, use_experiment

MAX_PARAM = 6000


class OptimizationTracker:
    def __init__(self, plan: OptimizationPlan, enabled: bool = True):
        self.plan = plan
        self.enabled = enabled
        self.run_id: str | None = None
        self.uri: str | None = None

    @contextmanager
    def run(self) -> Iterator[str | None]:
        """The parent run, open while the optimization runs; marked KILLED or FAILED if it stops."""
        if not self.enabled:
            yield None
            return
        plan, spec = self.plan, self.plan.spec
        self.uri = configure(plan.root)
        use_experiment(spec.tracking.experiment or f"optimize-{spec.name}")
        mlflow.dspy.autolog(
            log_traces=spec.tracking.traces,
            log_traces_from_compile=spec.tracking.traces,
            log_traces_from_eval=spec.tracking.traces,
            log_compiles=True,
            log_evals=False,
            silent=True,
        )
        status = "FINISHED"
        try:
            with mlflow.start_run(run_name=f"optimize {spec.name}") as run:
                self.run_id = run.info.run_id
                self._log_start()
                try:
                    yield self.run_id
                except KeyboardInterrupt:
                    status = "KILLED"
                    raise
                except BaseException:
                    status = "FAILED"
                    raise
                finally:
                    mlflow.set_tag("workbench.optimize.status", status)
                    if status != "FINISHED":
                        mlflow.end_run(status)
        finally:
            mlflow.dspy.autolog(disable=True, silent=True)

    @contextmanager
    def stage(self, index: int) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        stage = self.plan.spec.stages[index]
        with mlflow.start_run(run_name=f"stage {index}: {stage.optimizer}", nested=True):
            mlflow.set_tags({"workbench.level": "optimizer-stage", "workbench.optimize.optimizer": stage.optimizer})
            mlflow.log_params({"stage_optimizer": stage.optimizer, "stage_max_metric_calls": stage.max_metric_calls})
            yield

    def _log_start(self) -> None:
        plan, spec = self.plan, self.plan.spec
        params: dict[str, Any] = {
            "spec_name": spec.name,
            "spec_file": plan.spec_path.name,
            "seed_prompt": plan.seed.ref,
            "seed_prompt_sha256": plan.seed.sha256,
            "family": plan.family.name,
            "user_strategy": plan.strategy.ref,
            "model": spec.model.name,
            "model_spec": spec.model.spec,
            "pipeline": spec.pipeline,
            "optimizers": ",".join(s.optimizer for s in spec.stages),
            "budget_max_metric_calls": plan.budget,
            "proposers": ",".join(
                "operators" if isinstance(s.proposer, str) else s.proposer.model.spec for s in spec.stages
            ),
            "empathy_weight": spec.objective.empathy_weight,
            "locale": plan.locale.code,
            "seed": spec.seed,
            "scorer_version": spec.scorer_version or "learned-1",
            "scorer_backends": ",".join(f"{s.name}=learned" for s in plan.scorers),
            "judge_model": spec.judge.model.spec if spec.judge else "",
            "git_commit": git_commit(plan.root),
            **{f"decoding_{k}": v for k, v in plan.decoding.model_dump().items()},
        }
        if spec.model.provider == "local":
            params["local_decoding"] = decoding_mode(spec.model.model)
        for name in ("train", "dev", "test"):
            params[f"{name}_n"] = len(plan.splits[name])
            params[f"{name}_dataset_hash"] = plan.splits.record()[name]["dataset_hash"]
        params["dataset_hash"] = dataset_hash([*plan.splits.train, *plan.splits.dev, *plan.splits.test])
        mlflow.log_params({k: str(v)[:MAX_PARAM] for k, v in params.items()})
        mlflow.set_tags(
            {
                "workbench.level": "optimization",
                "workbench.spec": spec.name,
                "workbench.optimize.seed_prompt": plan.seed.ref,
                **spec.tracking.tags,
            }
        )
        mlflow.log_dict(plan.splits.record(), "splits.json")
        mlflow.log_dict(describe_metrics(plan.scorers), "metric_descriptions.json")
        mlflow.log_text(spec_text(plan), f"spec/{plan.spec_path.name}")

    def log(self, metrics: dict[str, float]) -> None:
        if self.enabled:
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and not math.isnan(v)})

    def log_dict(self, data: Any, name: str) -> None:
        if self.enabled:
            mlflow.log_dict(data, name)

    def log_text(self, text: str, name: str) -> None:
        if self.enabled:
            mlflow.log_text(text, name)

    def log_table(self, frame: pd.DataFrame, name: str) -> None:
        if self.enabled and len(frame):
            mlflow.log_table(_loggable(frame), name)

    def log_validity(self, validity: dict[str, dict]) -> None:
        if not self.enabled:
            return
        mlflow.log_dict(validity, "validity_card.json")
        by_name = {s.name: s for s in self.plan.scorers}
        mlflow.set_tags({f"workbench.validity.{n}": e.get("status", "unvalidated") for n, e in validity.items()})
        self.log(
            {
                f"{by_name[n].metric}_validity": e["value"]
                for n, e in validity.items()
                if n in by_name and e.get("value") is not None
            }
        )

    def tag(self, tags: dict[str, str]) -> None:
        if self.enabled:
            mlflow.set_tags(tags)


def spec_text(plan: OptimizationPlan) -> str:
    return plan.spec_path.read_text(encoding="utf-8")


def _loggable(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].map(lambda v: isinstance(v, (list, dict))).any():
            out[column] = out[column].map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
            )
    return out
