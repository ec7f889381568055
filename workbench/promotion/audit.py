"""The audit trail of the `production` alias: tags on the prompt version an alias move points to
(who, when, from which version, on which evidence, each gate's value and threshold, any override
reason), and one run per move in the MLflow experiment `promotions`, which `workbench prompts
history` reads back. Tags put the record where the version is; the runs keep every move in order,
including the full per-cell gate table as an artifact."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import ViewType

from workbench.promotion.gates import GateResult

EXPERIMENT = "promotions"
LEVEL = "promotion"
PREFIX = "workbench.audit."
TAG_LIMIT = 4900  # MLflow keeps tag values up to 5000 characters


@dataclass
class AuditRecord:
    """One move of an alias."""

    action: str  # promote | override | rollback
    prompt: str
    alias: str
    to_version: int
    from_version: int | None
    user: str
    time: str
    policy: str = ""
    evidence_runs: list[str] = field(default_factory=list)
    gates: list[dict] = field(default_factory=list)
    reason: str = ""
    record_run: str = ""

    def tags(self) -> dict[str, str]:
        """The record as prompt-version tags: one per field, one per gate (`value (threshold) pass|FAIL`)."""
        tags = {
            f"{PREFIX}action": self.action,
            f"{PREFIX}alias": self.alias,
            f"{PREFIX}time": self.time,
            f"{PREFIX}user": self.user,
            f"{PREFIX}from_version": "" if self.from_version is None else str(self.from_version),
            f"{PREFIX}policy": self.policy,
            f"{PREFIX}evidence_runs": _clip(",".join(self.evidence_runs)),
            f"{PREFIX}override_reason": self.reason if self.action == "override" else "",
            f"{PREFIX}reason": self.reason,
            f"{PREFIX}record_run": self.record_run,
            f"{PREFIX}gates": _clip(json.dumps(self.gates, ensure_ascii=False)),
        }
        for gate in self.gates:
            verdict = "pass" if gate["passed"] else "FAIL"
            tags[f"{PREFIX}gate.{tag_key(gate['gate'])}"] = _clip(f"{gate['value']} ({gate['threshold']}) {verdict}")
        return tags


def tag_key(text: str) -> str:
    """A gate name as a tag key (letters, digits, _ - . /)."""
    return re.sub(r"[^A-Za-z0-9_.\-/]+", "_", text).strip("_")


def _clip(text: str) -> str:
    return text if len(text) <= TAG_LIMIT else text[: TAG_LIMIT - 1] + "…"


def current_user() -> str:
    """Who moved the alias: WORKBENCH_USER if set (CI), else the login name."""
    if user := os.environ.get("WORKBENCH_USER"):
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def summarise(results: list[GateResult]) -> list[dict]:
    """One entry per gate: passed in every cell or not, and the number that decided it (the first
    failing cell, else the tightest one)."""
    by_gate: dict[str, list[GateResult]] = {}
    for result in results:
        by_gate.setdefault(result.gate, []).append(result)
    out = []
    for gate, rows in by_gate.items():
        failed = [r for r in rows if not r.passed]
        if failed:
            decisive = failed[0]
        else:
            numeric = [r for r in rows if isinstance(r.value, float) and not math.isnan(r.value)]
            lower_bound = rows[0].threshold.lstrip().startswith(("≥", "95% CI low ≥", "Holm p ≥", "= "))
            decisive = (min if lower_bound else max)(numeric, key=lambda r: float(r.value)) if numeric else rows[0]
        value = decisive.value
        out.append(
            {
                "gate": gate,
                "passed": not failed,
                "value": round(value, 4) if isinstance(value, float) and not math.isnan(value) else str(value),
                "threshold": decisive.threshold,
                "cell": decisive.cell,
                "cells": len(rows),
                "failed_cells": len(failed),
            }
        )
    return out


def write(record: AuditRecord, results: list[GateResult], client: MlflowClient, registry_version: int) -> AuditRecord:
    """Log the move as a run in `promotions` (full gate table attached), then tag the prompt version."""
    record.record_run = _log_run(record, results, client)
    for key, value in record.tags().items():
        client.set_prompt_version_tag(record.prompt, str(registry_version), key, value)
    return record


def _experiment_id(client: MlflowClient) -> str:
    import mlflow

    from workbench.paths import artifact_root

    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(EXPERIMENT, artifact_location=artifact_root(mlflow.get_tracking_uri()))


def _log_run(record: AuditRecord, results: list[GateResult], client: MlflowClient) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(
        _experiment_id(client),
        run_name=f"{record.action} {record.prompt}@{record.to_version} -> {record.alias}",
        tags={
            "workbench.level": LEVEL,
            "workbench.promotion.prompt": record.prompt,
            "workbench.promotion.action": record.action,
            "workbench.promotion.alias": record.alias,
            "workbench.promotion.to_version": str(record.to_version),
            "workbench.promotion.from_version": "" if record.from_version is None else str(record.from_version),
            "workbench.promotion.user": record.user,
            "workbench.promotion.reason": _clip(record.reason),
            "workbench.promotion.evidence_runs": _clip(",".join(record.evidence_runs)),
            "mlflow.note.content": _clip(
                f"{record.action}: {record.prompt} {record.alias} "
                f"v{record.from_version if record.from_version is not None else '-'} -> v{record.to_version} "
                f"by {record.user} at {record.time}" + (f". Reason: {record.reason}" if record.reason else "")
            ),
        },
    )
    run_id = run.info.run_id
    stamp = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("gates_failed", float(sum(not g["passed"] for g in record.gates)), stamp, 0)],
        params=[Param("policy", record.policy[:6000]), Param("time", record.time)],
    )
    with tempfile.TemporaryDirectory(prefix="workbench-promotion-") as folder:
        path = Path(folder) / "gates.json"
        path.write_text(
            json.dumps(
                {"summary": record.gates, "cells": [r.as_dict() for r in results], "record": record.__dict__},
                indent=1,
                ensure_ascii=False,
                default=str,
            ),
            encoding="utf-8",
        )
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED")
    return run_id


def history(prompt: str, client: MlflowClient) -> pd.DataFrame:
    """Every alias move of `prompt`, oldest first."""
    columns = ["time", "action", "alias", "from_version", "to_version", "user", "reason", "gates_failed", "record_run"]
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is None:
        return pd.DataFrame(columns=columns)
    runs = client.search_runs(
        [found.experiment_id],
        f"tags.`workbench.promotion.prompt` = '{prompt}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        order_by=["attributes.start_time ASC"],
        max_results=5000,
    )
    rows = []
    for run in runs:
        tags = run.data.tags
        rows.append(
            {
                "time": run.data.params.get("time", ""),
                "action": tags.get("workbench.promotion.action", ""),
                "alias": tags.get("workbench.promotion.alias", ""),
                "from_version": tags.get("workbench.promotion.from_version", ""),
                "to_version": tags.get("workbench.promotion.to_version", ""),
                "user": tags.get("workbench.promotion.user", ""),
                "reason": tags.get("workbench.promotion.reason", ""),
                "gates_failed": int(run.data.metrics.get("gates_failed", 0)),
                "record_run": run.info.run_id,
            }
        )
    return pd.DataFrame(rows, columns=columns)
