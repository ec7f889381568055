"""Where things live: the project root, the embedded MLflow store and the response cache.

A project is any folder holding `prompts/` and `experiments/`; commands work from
anywhere inside it. `WORKBENCH_HOME` pins the root explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: str | Path | None = None) -> Path:
    if home := os.environ.get("WORKBENCH_HOME"):
        return Path(home).resolve()
    here = Path(start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / "prompts").is_dir() and (folder / "experiments").is_dir():
            return folder
    return Path.cwd().resolve()


def prompts_dir(root: Path) -> Path:
    return root / "prompts"


def store_dir(root: Path) -> Path:
    return root / "mlruns"


def default_tracking_uri(root: Path) -> str:
    return f"sqlite:///{store_dir(root) / 'mlflow.db'}"


def artifact_root(tracking_uri: str) -> str | None:
    """Where a SQLite store's runs keep their artifacts: beside the database (for the embedded
    store, `mlruns/artifacts`), not in whatever directory the process runs from. None for
    other stores, whose server decides."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return (Path(tracking_uri[len("sqlite:///") :]).resolve().parent / "artifacts").as_uri()


def cache_path(root: Path) -> Path:
    if path := os.environ.get("WORKBENCH_CACHE_PATH"):
        return Path(path)
    return root / ".workbench" / "responses.sqlite3"
