"""Which runs to read, and their per-response tables, from MLflow.

Runs are chosen by experiment, by run ID (an invocation's parent run stands for its child runs),
by tag, or by prompt label (`safety-first@2`, or an alias such as `safety-first@production`,
matched against the system prompt or the user strategy a run used). Only child runs (one system
prompt x user strategy x model x pipeline each) carry replies; each one's `responses.json` table is
read into one DataFrame, one row per reply, with every score and its evidence. When a search finds
the same condition run more than once, the most recent finished run stands for it, so scenarios
are never counted twice.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException

from workbench.errors import InputError, Problem
from workbench.paths import project_root
from workbench.prompts import REF
from workbench.tracking.store import configure

LEVEL_TAG = "workbench.level"
CHILD_LEVEL = "cell-group"
PARENT_LEVEL = "invocation"
CONDITION = ["system_prompt", "user_strategy", "model", "pipeline"]
"""The columns naming a condition: prompt labels (`safety-first@1`), model and pipeline."""
DROPPED_COLUMNS = ["messages", "scenario_message", "run"]  # large, and not needed to compare
PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
TAG = re.compile(r"^(?P<key>[^=\s]+)=(?P<value>.*)$")


@dataclass(frozen=True)
class RunSelection:
    """What to compare. Empty fields do not filter; at least one field must be given."""

    experiments: tuple[str, ...] = ()
    run_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    """`KEY=VALUE`, e.g. `workbench.model=local:smollm2-135m`."""
    prompts: tuple[str, ...] = ()
    """`NAME@VERSION` or `NAME@ALIAS` of a system prompt or user strategy."""

    def is_empty(self) -> bool:
        return not (self.experiments or self.run_ids or self.tags or self.prompts)


@dataclass
class RunSet:
    """Child runs and their replies: `runs` has one row per run (condition, dataset hash, scorer
    version and back-ends, validity per scorer, experiment, parent); `responses` one row per reply."""

    runs: pd.DataFrame
    responses: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def dataset_hashes(self) -> dict[str, list[str]]:
        """Dataset hash -> the run ids that used it."""
        return {str(h): list(group["run_id"]) for h, group in self.runs.groupby("dataset_hash", sort=False)}

    def validity(self) -> dict[str, str]:
        """Scorer -> the weakest validity status any selected run logged for it (ok < low < unvalidated)."""
        order = {"ok": 0, "low": 1, "unvalidated": 2}
        weakest: dict[str, str] = {}
        for statuses in self.runs["validity"]:
            for scorer, status in statuses.items():
                if order.get(status, 2) > order.get(weakest.get(scorer, "ok"), 0):
                    weakest[scorer] = status
                else:
                    weakest.setdefault(scorer, status)
        return weakest

    def subset(self, run_ids: list[str]) -> RunSet:
        keep = set(run_ids)
        return RunSet(
            self.runs[self.runs["run_id"].isin(keep)].reset_index(drop=True),
            self.responses[self.responses["run_id"].isin(keep)].reset_index(drop=True),
            list(self.warnings),
        )


def mixed_datasets_problem(runs: RunSet) -> Problem | None:
    """A problem naming each dataset hash and its runs, when the runs used different scenario sets."""
    hashes = runs.dataset_hashes
    if len(hashes) < 2:
        return None
    listed = "; ".join(
        f"{h[:12]}… ({len(ids)} run(s): {', '.join(i[:8] for i in ids[:4])})" for h, ids in hashes.items()
    )
    return Problem(
        f"the runs used different scenario sets (dataset hashes {listed}); paired tests use only the scenarios "
        "both sides share",
        field="dataset_hash",
        fix="compare runs of one scenario set (e.g. --tag workbench.dataset_hash=HASH), or re-run the older "
        "spec on the current scenarios",
    )


def load_runs(
    selection: RunSelection,
    *,
    client: MlflowClient | None = None,
    aliases: dict[tuple[str, str], int] | None = None,
    finished_only: bool = True,
) -> RunSet:
    """The child runs `selection` names and their per-response tables.

    `aliases` maps (prompt name, alias) to a version, for labels such as `safety-first@production`;
    without it they are resolved in the MLflow Prompt Registry."""
    if selection.is_empty():
        raise InputError.single(
            "no runs selected",
            field="selection",
            fix="name an experiment (--experiment quickstart), run ids, tags (--tag KEY=VALUE) or prompt labels "
            "(--prompt safety-first@1)",
        )
    if client is None:
        configure(project_root())  # the project's store, as `run_experiment` uses it
        client = MlflowClient()
    labels = [_label(ref, client, aliases) for ref in selection.prompts]
    tags = [_tag(tag) for tag in selection.tags]
    experiment_ids = _experiment_ids(client, selection.experiments)
    warnings: list[str] = []
    if selection.run_ids:
        runs = [
            run
            for run in _explicit_runs(client, selection.run_ids)
            if (not selection.experiments or run.info.experiment_id in experiment_ids)
            and all(run.data.tags.get(key) == value for key, value in tags)
            and (not labels or _matches_labels(run, labels))
        ]
    else:
        runs = _search(client, experiment_ids, tags, labels)
    if finished_only:
        runs = [r for r in runs if r.info.status == "FINISHED"]
    if selection.run_ids:
        _refuse_duplicates(runs)
    else:
        runs, superseded = latest_per_condition(runs)
        if superseded:
            warnings.append(
                f"{len(superseded)} older run(s) of the same conditions were left out (the latest of each is used)"
            )
    if not runs:
        raise InputError.single(
            "no finished runs match the selection",
            field="selection",
            fix="check the experiment names, run ids, tags and prompt labels (`workbench ui` lists runs), "
            "or run the experiment first",
        )
    table = run_table(runs, client)
    responses = read_responses(client, runs)
    missing = sorted(set(table["run_id"]) - set(responses["run_id"]) if len(responses) else set(table["run_id"]))
    if missing:
        warnings.append(f"{len(missing)} run(s) have no responses.json table and were left out: {', '.join(missing)}")
        table = table[~table["run_id"].isin(missing)].reset_index(drop=True)
    if not len(table):
        raise InputError.single(
            "none of the selected runs has a per-response table (responses.json)",
            field="selection",
            fix="select finished child runs of `workbench run` (each logs responses.json)",
        )
    return RunSet(table, responses, warnings)


def _label(ref: str, client: MlflowClient, aliases: dict[tuple[str, str], int] | None) -> str:
    """`NAME@VERSION` as given; `NAME@ALIAS` resolved to its version through the registry."""
    match = REF.match(ref.strip())
    if not match or not match["selector"]:
        raise InputError.single(
            f"'{ref}' is not a prompt label",
            field="prompts",
            fix="write NAME@VERSION (e.g. safety-first@1) or NAME@ALIAS (e.g. safety-first@production)",
        )
    name, selector = match["name"], match["selector"]
    if selector.isdigit():
        return f"{name}@{selector}"
    if aliases is not None and (name, selector) in aliases:
        return f"{name}@{aliases[(name, selector)]}"
    from workbench.prompts.mlflow_registry import resolve_alias

    return f"{name}@{resolve_alias(name, selector)}"


def _experiment_ids(client: MlflowClient, names: tuple[str, ...]) -> list[str]:
    if not names:
        return [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    ids, problems = [], []
    for name in names:
        found = client.get_experiment_by_name(name)
        if found is None:
            known = sorted(e.name for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY))
            problems.append(
                Problem(
                    f"no experiment named '{name}'",
                    field="experiments",
                    fix=f"known experiments: {', '.join(known) or 'none yet (run a spec first)'}",
                )
            )
        else:
            ids.append(found.experiment_id)
    if problems:
        raise InputError(problems)
    return ids


def _explicit_runs(client: MlflowClient, run_ids: tuple[str, ...]) -> list[Run]:
    """The named runs; an invocation's parent run stands for its child runs."""
    runs, problems = [], []
    for run_id in run_ids:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            problems.append(
                Problem(
                    f"no run with id '{run_id}'",
                    field="run_ids",
                    fix="copy run ids from the MLflow UI or from `workbench run`'s output",
                )
            )
            continue
        level = run.data.tags.get(LEVEL_TAG)
        if level == PARENT_LEVEL:
            runs.extend(
                _paged(
                    client,
                    [run.info.experiment_id],
                    f"tags.`mlflow.parentRunId` = '{run_id}' and tags.`{LEVEL_TAG}` = '{CHILD_LEVEL}'",
                )
            )
        elif level == CHILD_LEVEL:
            runs.append(run)
        else:
            problems.append(
                Problem(
                    f"run '{run_id}' is not a workbench experiment run (tag {LEVEL_TAG} is {level!r})",
                    field="run_ids",
                    fix="give the parent run of a `workbench run` invocation, or one of its child runs",
                )
            )
    if problems:
        raise InputError(problems)
    return list({r.info.run_id: r for r in runs}.values())


def _tag(text: str) -> tuple[str, str]:
    match = TAG.match(text)
    if not match:
        raise InputError.single(
            f"'{text}' is not a tag filter",
            field="tags",
            fix="write KEY=VALUE, e.g. workbench.model=local:smollm2-135m",
        )
    return match["key"], match["value"]


def _search(
    client: MlflowClient, experiment_ids: list[str], tags: list[tuple[str, str]], labels: list[str]
) -> list[Run]:
    clauses = [f"tags.`{LEVEL_TAG}` = '{CHILD_LEVEL}'"]
    clauses += [f"tags.`{key}` = {_quoted(value)}" for key, value in tags]
    if not experiment_ids:
        return []
    if not labels:
        return _paged(client, experiment_ids, " and ".join(clauses))
    found: dict[str, Run] = {}
    for label in labels:
        for tag in ("workbench.system_prompt", "workbench.user_strategy"):
            for run in _paged(client, experiment_ids, " and ".join([*clauses, f"tags.`{tag}` = {_quoted(label)}"])):
                found[run.info.run_id] = run
    return list(found.values())


def _quoted(value: str) -> str:
    escaped = value.replace("'", "\\'")
    return f"'{escaped}'"


def _matches_labels(run: Run, labels: list[str]) -> bool:
    tags = run.data.tags
    return bool({tags.get("workbench.system_prompt"), tags.get("workbench.user_strategy")} & set(labels))


def _paged(client: MlflowClient, experiment_ids: list[str], filter_string: str) -> list[Run]:
    runs: list[Run] = []
    token = None
    while True:
        page = client.search_runs(
            experiment_ids, filter_string, run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def condition_of(run: Run) -> tuple[str, str, str, str]:
    tags = run.data.tags
    return (
        tags.get("workbench.system_prompt", ""),
        tags.get("workbench.user_strategy", ""),
        tags.get("workbench.model", ""),
        tags.get("workbench.pipeline", run.data.params.get("pipeline", "")),
    )


def latest_per_condition(runs: list[Run]) -> tuple[list[Run], list[Run]]:
    """The most recent run of each condition on each scenario set, and the older ones it supersedes
    (runs on different scenario sets are all kept, so that mixing them is seen and warned about)."""
    latest: dict[tuple, Run] = {}
    older: list[Run] = []
    for run in sorted(runs, key=lambda r: r.info.start_time or 0, reverse=True):
        key = (*condition_of(run), run.data.params.get("dataset_hash", ""))
        if key in latest:
            older.append(run)
        else:
            latest[key] = run
    return sorted(latest.values(), key=lambda r: r.info.start_time or 0), older


def _refuse_duplicates(runs: list[Run]) -> None:
    seen: dict[tuple, str] = {}
    for run in runs:
        key = condition_of(run)
        if key in seen:
            raise InputError.single(
                f"runs {seen[key]} and {run.info.run_id} are the same condition ({' x '.join(key)}); their "
                "scenarios would be counted twice",
                field="run_ids",
                fix="select one run per condition (or select by experiment, which keeps the latest of each)",
            )
        seen[key] = run.info.run_id


def run_table(runs: list[Run], client: MlflowClient) -> pd.DataFrame:
    names: dict[str, str] = {}
    rows = []
    for run in runs:
        tags, params = run.data.tags, run.data.params
        experiment = run.info.experiment_id
        if experiment not in names:
            names[experiment] = client.get_experiment(experiment).name
        system, strategy, model, pipeline = condition_of(run)
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "parent_run_id": tags.get("mlflow.parentRunId"),
                "experiment_id": experiment,
                "experiment": names[experiment],
                "start_time": run.info.start_time,
                "status": run.info.status,
                "system_prompt": system,
                "user_strategy": strategy,
                "model": model,
                "pipeline": pipeline,
                "dataset_hash": params.get("dataset_hash", ""),
                "scorer_version": params.get("scorer_version", ""),
                "scorer_backends": _backends(params.get("scorer_backends", "")),
                "spec_file": params.get("spec_file", ""),
                "scenario_files": params.get("scenario_files", ""),
                "validity": {
                    key.removeprefix("workbench.validity."): value
                    for key, value in tags.items()
                    if key.startswith("workbench.validity.")
                },
                "validity_values": {k: v for k, v in run.data.metrics.items() if k.endswith("_validity")},
            }
        )
    return pd.DataFrame(rows)


def _backends(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


@contextmanager
def quiet_downloads() -> Iterator[None]:
    """No per-file progress bars from MLflow while the tables download (one per run would flood
    a terminal or a notebook)."""
    previous = os.environ.get(PROGRESS_BAR)
    os.environ[PROGRESS_BAR] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PROGRESS_BAR, None)
        else:
            os.environ[PROGRESS_BAR] = previous


def read_responses(client: MlflowClient, runs: list[Run]) -> pd.DataFrame:
    """Every selected run's `responses.json`, read in parallel, as one frame with `run_id` and the
    condition labels (`safety-first@1`, `plain@1`, model, pipeline)."""
    with tempfile.TemporaryDirectory(prefix="workbench-compare-") as folder, quiet_downloads():

        def read(run: Run) -> pd.DataFrame | None:
            try:
                path = client.download_artifacts(run.info.run_id, "responses.json", str(Path(folder) / run.info.run_id))
            except (MlflowException, OSError):
                return None
            with open(path, encoding="utf-8") as handle:
                table = json.load(handle)
            frame = pd.DataFrame(table["data"], columns=table["columns"])
            frame = frame.drop(columns=[c for c in DROPPED_COLUMNS if c in frame.columns])
            system, strategy, model, pipeline = condition_of(run)
            frame.insert(0, "run_id", run.info.run_id)
            frame["system_prompt"], frame["user_strategy"] = system, strategy
            frame["model"], frame["pipeline"] = model, pipeline
            return frame

        with ThreadPoolExecutor(max_workers=8) as pool:
            frames = [f for f in pool.map(read, runs) if f is not None]
    if not frames:
        return pd.DataFrame(columns=["run_id", *CONDITION])
    return pd.concat(frames, ignore_index=True)
