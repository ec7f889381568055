"""A scorer version: the learned back-end's weights, thresholds, provenance and validity card,
stored as a small folder (`version.json` and `weights.npz`) that a spec can pin by name.

Every head is a logistic regression on standardised features, so a version is a few hundred
kilobytes of plain arrays, read with numpy alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import InputError

FORMAT = 1


@dataclass
class Scaler:
    mean: np.ndarray
    scale: np.ndarray

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self.mean) / self.scale

    @classmethod
    def fit(cls, rows: np.ndarray) -> Scaler:
        scale = rows.std(axis=0)
        return cls(rows.mean(axis=0).astype(np.float32), np.where(scale < 1e-6, 1.0, scale).astype(np.float32))


@dataclass
class LinearHead:
    """Logistic regression: `classes` (0, 1) with one weight row, or (0, 1, 2, ...) with one row per
    class (multinomial)."""

    classes: tuple[int, ...]
    weights: np.ndarray
    bias: np.ndarray

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """(rows, classes) probabilities."""
        logits = rows @ self.weights.T + self.bias
        if len(self.classes) == 2 and self.weights.shape[0] == 1:
            positive = 1 / (1 + np.exp(-np.clip(logits[:, 0], -40, 40)))
            return np.stack([1 - positive, positive], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def direction(self, label: int) -> np.ndarray:
        """The weight vector that pushes toward `label` (against class 0), for choosing evidence."""
        if self.weights.shape[0] == 1:
            return self.weights[0]
        return self.weights[self.classes.index(label)] - self.weights[0]


@dataclass
class ScorerVersion:
    name: str
    description: str
    reply_scaler: Scaler
    user_scaler: Scaler
    items: dict[str, LinearHead]
    thresholds: dict[str, float]
    user: dict[str, LinearHead]
    appropriate: LinearHead
    appropriate_scaler: Scaler
    card: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    # -- storage ----------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "reply_scaler.mean": self.reply_scaler.mean,
            "reply_scaler.scale": self.reply_scaler.scale,
            "user_scaler.mean": self.user_scaler.mean,
            "user_scaler.scale": self.user_scaler.scale,
            "appropriate_scaler.mean": self.appropriate_scaler.mean,
            "appropriate_scaler.scale": self.appropriate_scaler.scale,
        }
        heads: dict[str, list[int]] = {}
        for group, named in (("items", self.items), ("user", self.user), ("appropriate", {"head": self.appropriate})):
            for key, head in named.items():
                arrays[f"{group}/{key}.weights"] = head.weights.astype(np.float32)
                arrays[f"{group}/{key}.bias"] = head.bias.astype(np.float32)
                heads[f"{group}/{key}"] = list(head.classes)
        np.savez_compressed(folder / "weights.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "format": FORMAT,
            "name": self.name,
            "description": self.description,
            "heads": heads,
            "thresholds": self.thresholds,
            "card": self.card,
            "provenance": self.provenance,
        }
        (folder / "version.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path) -> ScorerVersion:
        meta_path, weights_path = folder / "version.json", folder / "weights.npz"
        for path in (meta_path, weights_path):
            if not path.is_file():
                raise InputError.single(
                    "classifier weights are missing",
                    file=path,
                    field="scorer_version",
                    fix="restore the folder from git, or rebuild it with `workbench scorers train` "
                    "(or `workbench scorers calibrate` for a team version)",
                )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            arrays = np.load(weights_path)
            heads = {
                name: LinearHead(tuple(classes), arrays[f"{name}.weights"], arrays[f"{name}.bias"])
                for name, classes in meta["heads"].items()
            }

            def scaler(prefix: str) -> Scaler:
                return Scaler(arrays[f"{prefix}.mean"], arrays[f"{prefix}.scale"])

            return cls(
                meta["name"],
                meta["description"],
                scaler("reply_scaler"),
                scaler("user_scaler"),
                {k.split("/", 1)[1]: h for k, h in heads.items() if k.startswith("items/")},
                meta["thresholds"],
                {k.split("/", 1)[1]: h for k, h in heads.items() if k.startswith("user/")},
                heads["appropriate/head"],
                scaler("appropriate_scaler"),
                meta.get("card", {}),
                meta.get("provenance", {}),
            )
        except (KeyError, ValueError, OSError, json.JSONDecodeError) as exc:
            raise InputError.single(
                f"the scorer version cannot be read ({type(exc).__name__}: {exc})",
                file=folder,
                field="scorer_version",
                fix="restore the folder from git, or rebuild it with `workbench scorers train`",
            ) from None
