"""The validity card of a scorer version as markdown tables: every metric and item, agreement with
human labels on the gold set's frozen test split beside the training data, with 95% intervals
and n; the pattern (fast) back-end's test figures beside them; risk inference from the user's
side. This is what docs/metrics.md quotes.

    python benchmarks/validity_report.py [VERSION]
"""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.scoring.gold import load_gold_v2
from workbench.scoring.items import ITEMS
from workbench.scoring.learned.versions import DEFAULT_VERSION, load_version
from workbench.scoring.validity import estimate

REPO = Path(__file__).resolve().parents[1]


def cell(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "-"
    low, high = entry.get("ci") or [None, None]
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return f"{entry['value']:.2f}{interval}"


def main() -> None:
    version = load_version(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VERSION)
    card = version.card
    test, train, fast = card["test"], card["train"], card.get("fast_test", {"metrics": {}, "items": {}})
    print(f"### {version.name}: metrics (n test = {card['gold']['test_n']}, n train = {card['gold']['train_n']})\n")
    print("| metric | statistic | learned, test | learned, train | fast, test | n (test) | floor | validity |")
    print("|---|---|---|---|---|---|---|---|")
    for name, entry in test["metrics"].items():
        print(
            f"| `{name}` | {entry['statistic']} | {cell(entry)} | {cell(train['metrics'].get(name))} | "
            f"{cell(fast['metrics'].get(name))} | {entry['n']} | {entry['floor']:.2f} | "
            f"{'ok' if entry['valid'] else 'LOW'} |"
        )
    print("\n### items\n")
    print("| item | statistic | learned, test | learned, train | fast, test | positives (test) |")
    print("|---|---|---|---|---|---|")
    for key, entry in test["items"].items():
        statistic = "weighted_kappa" if "weighted_kappa" in entry else "f1"
        print(
            f"| `{key}` | {statistic.replace('_', ' ')} | {cell(entry[statistic])} | "
            f"{cell(train['items'].get(key, {}).get(statistic))} | "
            f"{cell(fast['items'].get(key, {}).get(statistic))} | {entry['positives']} |"
        )
    appropriate = card.get("test_with_inferred_risk", {}).get("appropriate", {})
    if appropriate:
        print(
            f"\n`appropriate` with risk inferred from the conversation (test): accuracy {cell(appropriate['accuracy'])},"
            f" ROC AUC {cell(appropriate['auc'])}, kappa {cell(appropriate['kappa'])}"
        )
    print("\n### two blind human labellers on the same test items\n")
    gold = load_gold_v2(REPO / "experiments" / "gold" / "v2")
    first = {e.id: e.labels for e in gold.examples}
    ids = list(gold.relabels)
    print(f"| item | statistic | agreement (n = {len(ids)}) |")
    print("|---|---|---|")
    for key, item in ITEMS.items():
        statistic = "weighted_kappa" if item.scale == "0-2" else "kappa"
        pairs = [(first[i][key], gold.relabels[i][key]) for i in ids if key in gold.relabels[i]]
        result = estimate(statistic, [a for a, _ in pairs], [b for _, b in pairs], ids[: len(pairs)])
        print(f"| `{key}` | {statistic.replace('_', ' ')} | {cell(result.as_dict())} |")
    print("\n### risk inferred from the user's side (test conversations)\n")
    print("| label | statistic | test |")
    print("|---|---|---|")
    for name, entry in card.get("user", {}).items():
        print(f"| `{name}` | {entry['statistic'].replace('_', ' ')} | {cell(entry)} |")


if __name__ == "__main__":
    main()
