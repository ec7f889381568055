"""What has been logged to MLflow, and where, kept beside the replies in the response cache.

Two records, each written only once MLflow holds what they describe:

- `traces`: the trace of each call (by cache key) in each MLflow experiment. A re-run traces only
  the cached replies that were never traced (a run killed before its worker wrote them), and
  reuses the others' trace ids, so nothing is traced twice.
- `logged_runs`: runs logged completely, by the identity of everything they logged (the cells,
  their replies and scores, the run settings). A cached re-run whose results are identical to a
  logged run logs nothing new and points at that run instead.

A location names an experiment together with its creation time, so a store that was deleted
and created again is not mistaken for the old one. This module does not import MLflow: a cached
re-run asks it whether anything is left to log before paying for MLflow at all.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pandas as pd

if TYPE_CHECKING:
    from workbench.prompts.library import PromptFamily

VOLATILE_COLUMNS = ("cached", "attempts", "trace_id", "cell_index", "latency_s")
"""Row columns that differ between a run and its cached re-run without the results differing."""


@dataclass(frozen=True)
class LoggedRun:
    parent_run_id: str
    child_run_ids: dict[str, str]
    trace_ids: dict[int, str]


def run_identity(settings: dict, frame: pd.DataFrame) -> str:
    """A hash of everything a run logs: its settings and every row's reply, error and scores."""
    rows = frame.drop(columns=[c for c in VOLATILE_COLUMNS if c in frame.columns]).sort_index(axis=1)
    payload = json.dumps(settings, sort_keys=True, default=str) + rows.to_json(orient="values", default_handler=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Ledger:
    def __init__(self, path: str | Path):
        self._lock = threading.Lock()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(Path(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS traces (location TEXT NOT NULL, key TEXT NOT NULL, trace_id TEXT NOT NULL, "
            "PRIMARY KEY (location, key))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS logged_runs (identity TEXT NOT NULL, tracking_uri TEXT NOT NULL, "
            "run TEXT NOT NULL, logged REAL NOT NULL, PRIMARY KEY (identity, tracking_uri))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS synced_prompts (tracking_uri TEXT NOT NULL, name TEXT NOT NULL, "
            "version INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (tracking_uri, name, version))"
        )

    def traced(self, location: str, keys: list[str]) -> dict[str, str]:
        """Trace ids of the calls (by cache key) already traced at `location`."""
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    self._db.execute(
                        f"SELECT key, trace_id FROM traces WHERE location = ? AND key IN ({marks})", [location, *chunk]
                    ).fetchall()
                )
        return found

    def record_traces(self, location: str, trace_ids: dict[str, str]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO traces VALUES (?, ?, ?)", [(location, k, t) for k, t in trace_ids.items()]
            )

    def logged_run(self, identity: str, tracking_uri: str) -> LoggedRun | None:
        with self._lock:
            row = self._db.execute(
                "SELECT run FROM logged_runs WHERE identity = ? AND tracking_uri = ?", (identity, tracking_uri)
            ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return LoggedRun(data["parent"], data["children"], {int(k): v for k, v in data["traces"].items()})

    def record_run(self, identity: str, tracking_uri: str, run: LoggedRun) -> None:
        payload = json.dumps({"parent": run.parent_run_id, "children": run.child_run_ids, "traces": run.trace_ids})
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO logged_runs VALUES (?, ?, ?, ?)", (identity, tracking_uri, payload, time.time())
            )

    def record_synced(self, tracking_uri: str, versions: list[tuple[str, int, str]]) -> None:
        """Prompt versions (name, version, sha256) the registry at `tracking_uri` holds with this text."""
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO synced_prompts VALUES (?, ?, ?, ?)",
                [(tracking_uri, name, version, sha256) for name, version, sha256 in versions],
            )

    def all_synced(self, tracking_uri: str, versions: list[tuple[str, int, str]]) -> bool:
        """Whether every one of `versions` was found in the registry, with the same text, before."""
        with self._lock:
            known = set(
                self._db.execute(
                    "SELECT name, version, sha256 FROM synced_prompts WHERE tracking_uri = ?", (tracking_uri,)
                ).fetchall()
            )
        return all(tuple(v) in known for v in versions)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def prompt_versions(families: list[PromptFamily]) -> list[tuple[str, int, str]]:
    return [(f.name, v.version, v.sha256) for f in families for v in f.versions.values()]


def still_logged(tracking_uri: str, run_id: str) -> bool:
    """Whether the store still holds `run_id`, finished and not deleted. For the embedded SQLite
    store this is one read-only query (the one place the workbench reads MLflow's tables itself,
    so that a cached re-run need not import MLflow to learn there is nothing to do); for other
    stores, MLflow's client answers. Any doubt means no, and the run is logged again."""
    try:
        if tracking_uri.startswith("sqlite:///"):
            path = Path(tracking_uri[len("sqlite:///") :])
            if not path.is_file():
                return False
            with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute("SELECT status, lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)).fetchone()
            return row is not None and tuple(row) == ("FINISHED", "active")
        from mlflow import MlflowClient

        run = MlflowClient(tracking_uri).get_run(run_id)
        return run.info.status == "FINISHED" and run.info.lifecycle_stage == "active"
    except Exception:  # a store that cannot answer is treated as not holding the run
        return False
