"""`workbench`: run experiments, inspect prompts, scenarios and models, score replies, open the
MLflow UI. One module per command group; `app` is the entry point."""

from workbench.cli import (  # noqa: F401  (registers the commands)
    compare,
    models,
    optimize,
    promote,
    prompts,
    run,
    scenarios,
    scorers,
    scoring,
    ui,
)
from workbench.cli.app import app, main

__all__ = ["app", "main"]
