"""Which MLflow store a project uses and how it is set up: the embedded SQLite store under
`mlruns/` (or `MLFLOW_TRACKING_URI`), experiments with their artifacts beside the database, and
SQLite's write-ahead log so the UI can read while a run writes."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.paths import artifact_root, default_tracking_uri, store_dir


def tracking_uri(root: Path) -> str:
    """`MLFLOW_TRACKING_URI` if set, else the embedded store under `mlruns/`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(root)


def configure(root: Path) -> str:
    """Point this process's MLflow client at the project's store."""
    import mlflow

    uri = tracking_uri(root)
    if uri == default_tracking_uri(root):
        store_dir(root).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def use_experiment(name: str) -> str:
    """Make `name` the active experiment, creating it with its artifacts beside a SQLite store."""
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    experiment_id = (
        found.experiment_id
        if found
        else mlflow.create_experiment(name, artifact_location=artifact_root(mlflow.get_tracking_uri()))
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def use_wal_journal() -> None:
    """SQLite stores in WAL mode with normal syncing: a commit no longer waits on a rollback
    journal (most of the cost of MLflow's many small transactions), and the UI can read
    while a run writes. The mode is kept in the database file."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _journal(connection, _record) -> None:
        if type(connection).__module__.startswith("sqlite3"):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
