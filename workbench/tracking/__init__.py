"""Everything a run leaves in MLflow.

- `store`: which store (embedded SQLite under `mlruns/`, or `MLFLOW_TRACKING_URI`) and its set-up
- `client`: the run's side, `Tracker`, which hands work to a worker process
- `worker`: the worker's command loop and the MLflow writer
- `protocol`: the typed messages between them and their framing
- `traces`: model calls as traces, written in batches (the only module using MLflow internals)

This package's top level stays light: the worker process imports it before anything else.
"""

from workbench.tracking.store import configure, tracking_uri, use_experiment

__all__ = ["configure", "tracking_uri", "use_experiment"]
