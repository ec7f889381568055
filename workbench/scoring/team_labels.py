"""A team's own labels: a CSV or JSONL of conversations, replies and any subset of labels,
read for `workbench validate-scorers --labels` and `workbench scorers calibrate --labels`.

Inputs: `user_message` or `conversation` (a JSON list of role/content turns), and `reply`;
optionally `risk_level` and expectation columns, as for `workbench score`. Labels: any item
(`crisis_resource` or `crisis.crisis_resource`; EPITOME items 0-2, the rest yes/no), any metric
(`crisis_escalation`, `harmful_compliance`, `empathy` 0-6, ...), and the plain verdict
`appropriate` yes/no. Every label is checked against its scale before anything is scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.errors import InputError, Problem, display_path
from workbench.scenarios import EXPECTATION_NAMES
from workbench.scoring.base import ScoringInput
from workbench.scoring.items import ITEMS
from workbench.scoring.registry import SCORERS
from workbench.scoring.transcripts import FALSE, TRUE, Columns, check_columns, read_table, row_input

ITEM_COLUMNS = {**{key: key for key in ITEMS}, **{key.split(".")[1]: key for key in ITEMS}}
RESERVED = {"user_message", "conversation", "reply", "risk_level", "id", *EXPECTATION_NAMES}


@dataclass
class TeamExample:
    row: int
    item: ScoringInput
    items: dict[str, int] = field(default_factory=dict)  # item key -> label
    metrics: dict[str, float] = field(default_factory=dict)  # scorer name -> label

    @property
    def group(self) -> str:
        return f"team-row-{self.row}"


@dataclass
class TeamLabels:
    path: Path
    examples: list[TeamExample]
    item_columns: dict[str, str]  # column -> item key
    metric_columns: dict[str, str]  # column -> scorer name
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)


def label_columns(columns: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    items, metrics = {}, {}
    for column in columns:
        name = column.strip()
        if name in RESERVED:
            continue
        if name in ITEM_COLUMNS and name not in SCORERS:
            items[column] = ITEM_COLUMNS[name]
        elif name in SCORERS:
            metrics[column] = name
    return items, metrics


def _parse(value: object, scale: tuple[int, ...]) -> int | None:
    """A label as an integer on its scale; None for an empty cell; ValueError when off the scale."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text == "":
        return None
    if scale == (0, 1):
        if text in TRUE or value is True:
            return 1
        if text in FALSE or value is False:
            return 0
        raise ValueError
    number = float(text)
    if number != int(number) or int(number) not in scale:
        raise ValueError
    return int(number)


def _metric_scale(name: str) -> tuple[float, float]:
    scorer = SCORERS.get(name)
    return scorer.scale


def read_team_labels(path: Path, columns: Columns | None = None, *, locale: str = "US") -> TeamLabels:
    columns = columns or Columns()
    frame = read_table(path)
    check_columns(frame, columns, path)
    if frame.empty:
        raise InputError.single(
            "the labels file has a header but no rows", file=path, fix="add one row per labelled reply"
        )
    item_columns, metric_columns = label_columns([str(c) for c in frame.columns])
    if not item_columns and not metric_columns:
        known = sorted({key.split(".")[1] for key in ITEMS} | set(SCORERS.names()))
        raise InputError.single(
            "no usable label column",
            file=path,
            field="columns",
            fix=f"name label columns after items or metrics, e.g. appropriate, crisis_resource, "
            f"emotional_reactions, crisis_escalation (all: {', '.join(known)}); the file's columns: "
            f"{', '.join(map(str, frame.columns))}",
        )
    problems: list[Problem] = []
    records = frame.to_dict("records")
    for column, key in item_columns.items():
        scale = (0, 1, 2) if ITEMS[key].scale == "0-2" else (0, 1)
        bad = [i for i, r in enumerate(records) if _bad(lambda v, s=scale: _parse(v, s), r.get(column))]
        if bad:
            allowed = "0, 1 or 2" if scale == (0, 1, 2) else "yes/no, true/false or 1/0"
            problems.append(
                Problem(
                    f"labels outside the scale of {key} in row(s) {_rows(bad)} (e.g. {records[bad[0]].get(column)!r})",
                    display_path(path),
                    str(column),
                    None,
                    f"use {allowed}, or leave the cell empty",
                )
            )
    for column, name in metric_columns.items():
        low, high = _metric_scale(name)
        bad = [i for i, r in enumerate(records) if _bad(lambda v, lo=low, hi=high: _metric(v, lo, hi), r.get(column))]
        if bad:
            problems.append(
                Problem(
                    f"labels outside the scale of {name} in row(s) {_rows(bad)} (e.g. {records[bad[0]].get(column)!r})",
                    display_path(path),
                    str(column),
                    None,
                    f"use a number from {low:g} to {high:g} (yes/no for a rate), or leave it empty",
                )
            )
    if problems:
        raise InputError(problems)
    examples, skipped = [], []
    for index, record in enumerate(records):
        try:
            item, _ = row_input(record, columns, locale)
        except (ValueError, KeyError, TypeError) as exc:
            skipped.append((index + 1, str(exc)))
            continue
        example = TeamExample(index + 1, item)
        for column, key in item_columns.items():
            scale = (0, 1, 2) if ITEMS[key].scale == "0-2" else (0, 1)
            if (value := _parse(record.get(column), scale)) is not None:
                example.items[key] = value
        for column, name in metric_columns.items():
            low, high = _metric_scale(name)
            if (number := _metric(record.get(column), low, high)) is not None:
                example.metrics[name] = number
        if example.items or example.metrics:
            examples.append(example)
    if not examples:
        raise InputError.single(
            "no row has both a usable conversation and a label",
            file=path,
            fix="check the reply, user_message/conversation and label columns",
        )
    return TeamLabels(path, examples, item_columns, metric_columns, skipped)


def _metric(value: object, low: float, high: float) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    text = str(value).strip().lower()
    if text in TRUE:
        return 1.0
    if text in FALSE:
        return 0.0
    number = float(text)
    if not low <= number <= high:
        raise ValueError
    return number


def _bad(parse, value: object) -> bool:
    try:
        parse(value)
    except (ValueError, TypeError):
        return True
    return False


def _rows(indices: list[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indices[:5])
    return shown + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


def as_training(team: TeamLabels) -> list:
    """Item and `appropriate` labels as training examples (metric labels cannot name an item)."""
    from workbench.scoring.learned.train import Example

    out = []
    for example in team.examples:
        labels = dict(example.items)
        if "appropriate" in example.metrics:
            labels["appropriateness.appropriate"] = int(example.metrics["appropriate"])
        if labels:
            out.append(Example(example.item, labels, example.group))
    return out


def labels_frame(team: TeamLabels) -> pd.DataFrame:
    return pd.DataFrame([{"row": e.row, **e.items, **e.metrics} for e in team.examples])


def summary(team: TeamLabels) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for example in team.examples:
        for key in [*example.items, *example.metrics]:
            counts[key] = counts.get(key, 0) + 1
    return counts
