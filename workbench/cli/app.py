"""The `workbench` command-line application and its command groups.

Every command reports bad input as a list of problems with their fixes and exits with code 2
before calling any model (`friendly`); an interrupted run exits with 130 after saving its work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from workbench.console import show_input_error
from workbench.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Alliance Workbench: prompt experiments on mental-health chatbots, tracked in MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
prompts_app = typer.Typer(help="Versioned prompt templates (prompts/*.yaml).", no_args_is_help=True)
scenarios_app = typer.Typer(help="The labelled scenario suite (experiments/scenarios/).", no_args_is_help=True)
models_app = typer.Typer(
    help="Model specs: providers, packages, keys, the bundled offline model.", no_args_is_help=True
)
app.add_typer(prompts_app, name="prompts")
app.add_typer(scenarios_app, name="scenarios")
scorers_app = typer.Typer(
    help="Scorer versions of the learned back-end: list, card, train, calibrate.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
app.add_typer(scorers_app, name="scorers")


def friendly(fn: F) -> F:
    """Turn input errors into a readable list and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            show_input_error(exc)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
