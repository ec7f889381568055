"""`workbench`: run experiments, inspect prompts, scenarios and models, score replies, open the
MLflow UI. One module per command group; `app` is the entry point."""

from workbench.cli import models, prompts, run, scenarios, scorers, scoring, ui  # noqa: F401  (registers the commands)
from workbench.cli.app import app, main

__all__ = ["app", "main"]
