"""The comparison as a self-contained HTML page (plots embedded as PNG, styles inline, no scripts,
nothing fetched), and as artifacts of a comparison run in MLflow, so the plots show in its UI."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.analysis.select import LEVEL_TAG

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from workbench.analysis.compare import Comparison

COMPARISON_LEVEL = "comparison"
FAILURE_ROWS = 300
LOW = "†"
CAPTIONS = {
    "co_creation_map.png": "Co-creation map: engagement against risk for each user strategy × system prompt, one panel "
    "per model. Arrows start at the plain user: how far each user-side strategy moves the same system prompt.",
    "escalation_heatmap.png": "Crisis escalation (a specific resource and an urge to reach a person now) on "
    "must-escalate scenarios, by user strategy × system prompt × model.",
    "gap_heatmap.png": "Empathy-accountability gap per cell: normalised empathy minus accountability. Red cells buy "
    "empathy without matching accountability.",
    "failures_by_scenario.png": "Failed replies per scenario and condition, on the headline rate metrics; the "
    "evidence for each failure is in the table below.",
}
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1d2330; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d8dce5; padding-bottom: .3rem; }
table { border-collapse: collapse; font-size: .82rem; margin: .6rem 0; }
th, td { border: 1px solid #d8dce5; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #f2f4f8; } td.num { text-align: right; white-space: nowrap; }
tr.significant td { background: #fff4d6; }
.warning { background: #fff1f0; border-left: 4px solid #d9363e; padding: .4rem .8rem; margin: .4rem 0; }
.note { color: #5a6272; font-size: .85rem; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; border: 1px solid #e4e7ee; }
figcaption { color: #5a6272; font-size: .85rem; margin-top: .3rem; }
td.evidence, td.reply { max-width: 420px; font-size: .78rem; }
"""


def figure_png(figure: Figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _number(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if classes and classes[index] else ""
        body.append(f"<tr{css}>" + "".join(row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(text: str, css: str = "") -> str:
    return f'<td class="{css}">{html.escape(text)}</td>' if css else f"<td>{html.escape(text)}</td>"


def estimates_section(comparison: Comparison) -> str:
    estimates = comparison.estimates
    if not len(estimates):
        return "<p>No metrics to show.</p>"
    weak = set(comparison.low_validity())
    metrics = list(dict.fromkeys(estimates["metric"]))
    columns = comparison.varying
    headers = [*(c.replace("_", " ") for c in columns), *(m + (LOW if m in weak else "") for m in metrics)]
    rows = []
    for _, group in estimates.groupby(columns, sort=False):
        first = group.iloc[0]
        by_metric = {r["metric"]: r for r in group.to_dict("records")}
        row = [_cell(str(first[c])) for c in columns]
        for metric in metrics:
            entry = by_metric.get(metric)
            if entry is None or math.isnan(entry["value"]):
                row.append(_cell("–", "num"))
            else:
                text = f"{_number(entry['value'])} [{_number(entry['ci_low'])}, {_number(entry['ci_high'])}] n={entry['n']}"
                row.append(_cell(text, "num"))
        rows.append(row)
    note = (
        f'<p class="note">{LOW} below its validity floor or never validated in at least one run: do not decide on '
        "it alone.</p>"
        if weak
        else ""
    )
    return _table(headers, rows) + note


def pairs_section(comparison: Comparison) -> str:
    pairs = comparison.pairs
    if not len(pairs):
        return "<p>No pairs to compare: each stratum has one level of the compared factor.</p>"
    others = [c for c in ("system_prompt", "user_strategy", "model", "pipeline") if c != comparison.by]
    shown = [c for c in others if pairs[c].nunique() > 1]
    headers = [
        *(c.replace("_", " ") for c in shown),
        "A",
        "B",
        "metric",
        "A value",
        "B value",
        "B − A [95% CI]",
        "effect size",
        "test",
        "scenarios",
        "p",
        f"p ({comparison.correction})",
        "verdict",
    ]
    rows, classes = [], []
    for entry in pairs.to_dict("records"):
        rows.append(
            [
                *(_cell(str(entry[c])) for c in shown),
                _cell(entry["a"]),
                _cell(entry["b"]),
                _cell(entry["metric"]),
                _cell(_number(entry["a_value"]), "num"),
                _cell(_number(entry["b_value"]), "num"),
                _cell(
                    f"{_number(entry['difference'])} [{_number(entry['diff_ci_low'])}, {_number(entry['diff_ci_high'])}]",
                    "num",
                ),
                _cell(f"{_number(entry['effect_size'])} ({entry['effect_size_name']})", "num"),
                _cell(entry["test"]),
                _cell(str(entry["scenarios"]), "num"),
                _cell(_p(entry["p_value"]), "num"),
                _cell(_p(entry["p_adjusted"]), "num"),
                _cell(entry["verdict"]),
            ]
        )
        classes.append("significant" if entry["significant"] else "")
    return _table(headers, rows, classes)


def failures_section(comparison: Comparison) -> str:
    failures = comparison.failures
    if not len(failures):
        return "<p>No failures on the headline metrics.</p>"
    shown = failures.head(FAILURE_ROWS)
    headers = ["scenario", "risk", "condition", "sample", "metric", "value", "evidence", "reply (start)"]
    rows = [
        [
            _cell(str(entry["scenario_id"])),
            _cell(str(entry["risk_level"])),
            _cell(comparison.condition_label(entry)),
            _cell(str(entry["sample"]), "num"),
            _cell(entry["metric"]),
            _cell(_number(entry["value"]), "num"),
            _cell(str(entry["evidence"] or ""), "evidence"),
            _cell(str(entry["reply"] or ""), "reply"),
        ]
        for entry in shown.to_dict("records")
    ]
    more = (
        f'<p class="note">{len(failures) - FAILURE_ROWS} more in failures.csv.</p>'
        if len(failures) > FAILURE_ROWS
        else ""
    )
    return _table(headers, rows) + more


def figures_section(figures: dict[str, Figure]) -> str:
    parts = []
    for name, figure in figures.items():
        data = base64.b64encode(figure_png(figure)).decode("ascii")
        caption = CAPTIONS.get(name, name)
        parts.append(
            f'<figure id="{html.escape(name.removesuffix(".png"))}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    return "".join(parts)


def html_report(comparison: Comparison, figures: dict[str, Figure] | None = None) -> str:
    runs = comparison.runs.runs
    figures = figures if figures is not None else comparison.figures()
    factor = comparison.by.replace("_", " ")
    experiments = ", ".join(dict.fromkeys(runs["experiment"]))
    hashes = ", ".join(h[:12] for h in dict.fromkeys(runs["dataset_hash"]))
    versions = ", ".join(v or "–" for v in dict.fromkeys(runs["scorer_version"]))
    warnings = "".join(f'<div class="warning">{html.escape(w)}</div>' for w in comparison.warnings)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Comparison by {html.escape(factor)}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body>
<h1>Comparison by {html.escape(factor)}</h1>
<p class="note">{len(runs)} runs from {html.escape(experiments)}; {len(comparison.runs.responses)} replies; dataset
{html.escape(hashes)}; scorer version {html.escape(versions)}. Intervals: 95% bootstrap over scenarios (repeats
clustered). Paired tests on shared scenarios, {html.escape(comparison.correction)} correction, α = {comparison.alpha}.
Generated {generated}.</p>
{warnings}
<h2>Metrics per condition</h2>
{estimates_section(comparison)}
<h2>Paired comparisons</h2>
{pairs_section(comparison)}
<h2>Plots</h2>
{figures_section(figures)}
<h2>Failures with their evidence</h2>
{failures_section(comparison)}
</body></html>
"""


def log_comparison(comparison: Comparison, experiment: str | None = None) -> str:
    """A comparison run (tag `workbench.level=comparison`) in the compared runs' experiment (or
    `comparisons` when they span several), with the plots, the report and the tables as artifacts."""
    import mlflow
    from mlflow import MlflowClient

    from workbench.paths import artifact_root

    runs = comparison.runs.runs
    experiments = list(dict.fromkeys(runs["experiment"]))
    name = experiment or (experiments[0] if len(experiments) == 1 else "comparisons")
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    experiment_id = (
        found.experiment_id
        if found
        else client.create_experiment(name, artifact_location=artifact_root(mlflow.get_tracking_uri()))
    )
    compared = list(runs["run_id"])
    run = client.create_run(
        experiment_id,
        run_name=f"compare by {comparison.by}: {len(compared)} runs",
        tags={
            LEVEL_TAG: COMPARISON_LEVEL,
            "workbench.compared_runs": ",".join(compared)[:7900],
            "mlflow.note.content": f"Comparison of {len(compared)} runs by {comparison.by}; open report.html or the "
            "plots/ folder. Warnings: " + ("; ".join(comparison.warnings) or "none"),
        },
    )
    run_id = run.info.run_id
    pairs = comparison.pairs
    client.log_batch(
        run_id,
        params=[
            mlflow.entities.Param(k, str(v)[:6000])
            for k, v in {
                "by": comparison.by,
                "correction": comparison.correction,
                "alpha": comparison.alpha,
                "runs": len(compared),
                "dataset_hashes": ",".join(dict.fromkeys(runs["dataset_hash"])),
                "scorer_versions": ",".join(dict.fromkeys(runs["scorer_version"])),
            }.items()
        ],
    )
    client.log_metric(run_id, "significant_pairs", float(pairs["significant"].sum()) if len(pairs) else 0.0)
    figures = comparison.figures()
    with tempfile.TemporaryDirectory(prefix="workbench-compare-") as folder:
        root = Path(folder)
        (root / "plots").mkdir()
        for file, figure in figures.items():
            (root / "plots" / file).write_bytes(figure_png(figure))
        (root / "report.html").write_text(html_report(comparison, figures), encoding="utf-8")
        comparison.to_csv(root / "tables" / "estimates.csv")
        (root / "compared_runs.json").write_text(json.dumps(compared, indent=1), encoding="utf-8")
        client.log_artifacts(run_id, str(root))
    client.set_terminated(run_id, "FINISHED")
    return run_id
