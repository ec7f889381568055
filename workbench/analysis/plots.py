"""The comparison's four pictures, drawn with matplotlib's object API (no global pyplot state, so
they render the same in a notebook, a report or a worker thread):

- `co_creation_map`: engagement (x) against risk (y) for each user strategy x system prompt, one
  panel per model, with an arrow from the plain user to each other strategy: how user-side prompt
  engineering moves both. Risk is 1 minus the gap's accountability term (the mean of crisis
  escalation, disclaimer adherence and 1 - harmful compliance, as measured).
- `escalation_heatmap`: crisis-escalation rate by strategy x system prompt, one panel per model.
- `gap_heatmap`: the empathy-accountability gap per cell (red: empathy bought without accountability).
- `failure_breakdown`: failed replies per scenario and condition; the evidence text is in the
  report's failure table and `failures.csv`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from workbench.analysis.compare import Comparison

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">"]
TOP_SCENARIOS = 30


def all_figures(comparison: Comparison) -> dict[str, Figure]:
    return {
        "co_creation_map.png": co_creation_map(comparison.cells),
        "escalation_heatmap.png": escalation_heatmap(comparison.cells),
        "gap_heatmap.png": gap_heatmap(comparison.cells),
        "failures_by_scenario.png": failure_breakdown(comparison.failures, comparison.varying),
    }


def _models(cells: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(cells["model"])) or [""]


def _reference_strategy(strategies: list[str]) -> str:
    """The plain user if present (the reference condition), else the first strategy."""
    return next((s for s in strategies if s.split("@")[0] == "plain"), strategies[0])


def co_creation_map(cells: pd.DataFrame) -> Figure:
    models = _models(cells)
    x_column, x_label = (
        ("engagement_mean", "engagement (0-1)")
        if "engagement_mean" in cells and cells["engagement_mean"].notna().any()
        else ("empathy_unit", "empathy (EPITOME / 6)")
    )
    if x_column == "empathy_unit":
        cells = cells.assign(empathy_unit=cells.get("empathy_mean", pd.Series(np.nan, index=cells.index)) / 6)
    systems = list(dict.fromkeys(cells["system_prompt"]))
    strategies = list(dict.fromkeys(cells["user_strategy"]))
    reference = _reference_strategy(strategies) if strategies else ""
    colours = {s: f"C{i % 10}" for i, s in enumerate(systems)}
    markers = {s: MARKERS[i % len(MARKERS)] for i, s in enumerate(strategies)}
    figure = Figure(figsize=(5.2 * len(models) + 2.6, 4.8), layout="constrained")
    axes = figure.subplots(1, len(models), squeeze=False, sharey=True)[0]
    for ax, model in zip(axes, models, strict=True):
        panel = cells[cells["model"] == model]
        for system in systems:
            rows = panel[panel["system_prompt"] == system]
            start = rows[rows["user_strategy"] == reference]
            for row in rows.itertuples():
                x, y = getattr(row, x_column), row.risk
                if _missing(x) or _missing(y):
                    continue
                ax.scatter(
                    x, y, color=colours[system], marker=markers[row.user_strategy], s=70, edgecolor="black", lw=0.5
                )
                if len(start) and row.user_strategy != reference:
                    x0, y0 = start[x_column].iloc[0], start["risk"].iloc[0]
                    if not (_missing(x0) or _missing(y0)):
                        ax.annotate(
                            "",
                            xy=(x, y),
                            xytext=(x0, y0),
                            arrowprops={"arrowstyle": "->", "color": colours[system], "alpha": 0.5, "lw": 1},
                        )
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel(x_label)
        ax.set_title(model or "model")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("risk (1 - accountability)")
    handles = [
        *[_handle(figure, colours[s], "o", s) for s in systems],
        *[_handle(figure, "grey", markers[s], s) for s in strategies],
    ]
    figure.legend(handles=handles, loc="outside right center", fontsize=8, title="system prompt / user strategy")
    figure.suptitle(f"Co-creation map: arrows go from the {reference or 'plain'} user to each other strategy")
    return figure


def _handle(figure: Figure, colour: str, marker: str, label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=colour, marker=marker, linestyle="", markeredgecolor="black", label=label)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _heatmaps(
    cells: pd.DataFrame, column: str, title: str, cmap: str, vmin: float, vmax: float, colour_label: str
) -> Figure:
    models = _models(cells)
    systems = list(dict.fromkeys(cells["system_prompt"]))
    strategies = list(dict.fromkeys(cells["user_strategy"]))
    width = max(5.5, 1.25 * len(systems) + 2.5)
    figure = Figure(figsize=(width * len(models), 0.5 * len(strategies) + 2.6), layout="constrained")
    axes = figure.subplots(1, len(models), squeeze=False)[0]
    image = None
    for ax, model in zip(axes, models, strict=True):
        panel = cells[cells["model"] == model]
        grid = np.full((len(strategies), len(systems)), np.nan)
        if column in panel:
            for row in panel.itertuples():
                grid[strategies.index(row.user_strategy), systems.index(row.system_prompt)] = getattr(row, column)
        image = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, "n/a" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(systems)), systems, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(strategies)), strategies, fontsize=8)
        ax.set_xlabel("system prompt")
        ax.set_title(model or "model")
    axes[0].set_ylabel("user strategy")
    if image is not None:
        figure.colorbar(image, ax=list(axes), label=colour_label, shrink=0.8)
    figure.suptitle(title if column in cells else f"{title} (not measured in these runs)", fontsize=11)
    return figure


def escalation_heatmap(cells: pd.DataFrame) -> Figure:
    return _heatmaps(
        cells,
        "crisis_escalation_rate",
        "Crisis escalation on must-escalate scenarios",
        "RdYlGn",
        0.0,
        1.0,
        "crisis escalation rate",
    )


def gap_heatmap(cells: pd.DataFrame) -> Figure:
    return _heatmaps(
        cells,
        "empathy_accountability_gap",
        "Empathy-accountability gap per cell",
        "RdBu_r",
        -1.0,
        1.0,
        "gap",
    )


def failure_breakdown(failures: pd.DataFrame, columns: list[str]) -> Figure:
    """Failed replies per scenario (rows, most failures first) and condition (columns)."""
    if not len(failures):
        figure = Figure(figsize=(6, 2), layout="constrained")
        ax = figure.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "No failures on the headline metrics", ha="center", va="center")
        return figure
    labelled = failures.assign(condition=[" × ".join(str(r[c]) for c in columns) for _, r in failures.iterrows()])
    counts = labelled.pivot_table(
        index="scenario_id", columns="condition", values="metric", aggfunc="count", fill_value=0
    )
    counts = counts[list(dict.fromkeys(labelled["condition"]))]
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False).index[:TOP_SCENARIOS]]
    metrics = labelled.groupby("scenario_id")["metric"].agg(
        lambda m: ", ".join(sorted({x.rsplit("_", 1)[0] for x in m}))
    )
    figure = Figure(figsize=(max(6.0, 0.9 * counts.shape[1] + 5), 0.32 * len(counts) + 2.4), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(counts.to_numpy(), cmap="Reds", aspect="auto", vmin=0)
    for (i, j), value in np.ndenumerate(counts.to_numpy()):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(counts.shape[1]), list(counts.columns), rotation=35, ha="right", fontsize=7)
    ax.set_yticks(range(len(counts)), [f"{s}  ({metrics[s]})" for s in counts.index], fontsize=7)
    ax.set_xlabel("condition")
    figure.colorbar(image, ax=ax, label="failures (replies x metrics)", shrink=0.8)
    figure.suptitle("Failures per scenario (evidence for each is in the failure table)")
    return figure
