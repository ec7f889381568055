"""Which MLflow store a project uses and how it is set up: the embedded SQLite store under
`mlruns/` (or `MLFLOW_TRACKING_URI`), experiments with their artifacts beside the database,
SQLite's write-ahead log so the UI can read while a run writes, and a lock so that two runs
starting on a new store at once do not both create its tables (one of them would fail, and
its logging would be lost)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
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
    """Make `name` the active experiment, creating it with its artifacts beside a SQLite store
    (or finding it, when another process created it a moment ago)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    found = mlflow.get_experiment_by_name(name)
    if found:
        experiment_id = found.experiment_id
    else:
        try:
            experiment_id = mlflow.create_experiment(name, artifact_location=artifact_root(mlflow.get_tracking_uri()))
        except MlflowException:
            again = mlflow.get_experiment_by_name(name)
            if again is None:
                raise
            experiment_id = again.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def lock_path(uri: str, root: Path) -> Path:
    """The file locked while a store is set up: beside a SQLite database, else in the project."""
    if uri.startswith("sqlite:///"):
        database = Path(uri[len("sqlite:///") :])
        return database.with_name(database.name + ".setup-lock")
    return root / ".workbench" / "mlflow-setup.lock"


@contextlib.contextmanager
def setup_lock(path: str | Path | None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (waiting for it) while the store is set up."""
    if path is None:
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
