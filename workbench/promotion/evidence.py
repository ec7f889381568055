"""Finding the evidence a promotion is judged on: the runs of the candidate version (its latest run
of each condition, or the runs named with --evidence), the runs of the version it would replace on
the same scenarios, and the dataset hash the current scenario files give those scenarios."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from workbench.analysis.select import RunSelection, RunSet, load_runs
from workbench.errors import InputError
from workbench.promotion.gates import Evidence
from workbench.scenarios import dataset_hash, load_scenarios


def candidate_runs(label: str, evidence_run_ids: tuple[str, ...], client: MlflowClient) -> RunSet:
    """The runs of system prompt `label` (NAME@VERSION): those named, or the latest of each condition.

    Without named runs, only the most recent scenario set counts (older runs on other scenarios
    would be stale evidence beside it)."""
    if evidence_run_ids:
        runs = load_runs(RunSelection(run_ids=evidence_run_ids), client=client)
        used = sorted(set(runs.runs["system_prompt"]))
        chosen = runs.subset(list(runs.runs.loc[runs.runs["system_prompt"] == label, "run_id"]))
        if not len(chosen.runs):
            raise InputError.single(
                f"the evidence runs do not include {label} (they used {', '.join(used)})",
                field="--evidence",
                fix=f"name runs of {label} (the parent run of a `workbench run` with it, or its child runs), "
                "or leave --evidence out to use the latest runs of the version",
            )
        return chosen
    found: RunSet | None
    try:
        found = load_runs(RunSelection(prompts=(label,)), client=client)
    except InputError:
        found = None
    chosen_ids = [] if found is None else list(found.runs.loc[found.runs["system_prompt"] == label, "run_id"])
    if found is None or not chosen_ids:
        raise InputError.single(
            f"no finished runs of {label} to judge it on",
            field="evidence",
            fix=f"run a spec with system_prompts: [{label}] and every user strategy of the policy "
            f"(`workbench gate SPEC --policy gates.yaml` runs and checks it), then promote",
        )
    chosen = found.subset(chosen_ids)
    latest = chosen.runs.sort_values("start_time").iloc[-1]["dataset_hash"]
    stale = chosen.runs.loc[chosen.runs["dataset_hash"] != latest, "run_id"]
    if len(stale):
        chosen = chosen.subset(list(chosen.runs.loc[chosen.runs["dataset_hash"] == latest, "run_id"]))
        chosen.warnings.append(f"{len(stale)} older run(s) of {label} on another scenario set were left out")
    return chosen


def baseline_runs(label: str, like: RunSet, client: MlflowClient) -> RunSet | None:
    """The latest runs of `label` on the same scenario set as `like`, or None when there are none."""
    hashes = list(dict.fromkeys(like.runs["dataset_hash"]))
    try:
        runs = load_runs(
            RunSelection(prompts=(label,), tags=(f"workbench.dataset_hash={hashes[0]}",)),
            client=client,
        )
    except InputError:
        return None
    ids = list(runs.runs.loc[runs.runs["system_prompt"] == label, "run_id"])
    return runs.subset(ids) if ids else None


def current_dataset_hash(runs: RunSet, root: Path) -> str | None:
    """The hash today's scenario files give the scenarios the evidence used, or None when the files
    cannot be found from `root` (the gate then fails: freshness cannot be shown)."""
    first = runs.runs.iloc[0]
    spec_dir = (root / str(first["spec_file"])).parent if first["spec_file"] else root / "experiments"
    files = [spec_dir / name for name in str(first["scenario_files"] or "scenarios").split(",") if name]
    if not all(f.exists() for f in files):
        return None
    used = set(runs.responses["scenario_id"])
    try:
        scenarios = [s for s in load_scenarios(files) if s.id in used]
    except InputError:
        return None
    return dataset_hash(scenarios)


def gather(
    name: str,
    version: int,
    production: int | None,
    evidence_run_ids: tuple[str, ...],
    root: Path,
    client: MlflowClient,
) -> Evidence:
    label = f"{name}@{version}"
    runs = candidate_runs(label, evidence_run_ids, client)
    base_label = f"{name}@{production}" if production is not None else None
    base = baseline_runs(base_label, runs, client) if base_label and production != version else None
    return Evidence(label, runs, base_label, base, current_dataset_hash(runs, root))
