"""The `workbench` command-line application and its command groups.

Every command reports bad input as a list of problems with their fixes and exits with code 2
before calling any model (`friendly`); a run some of whose cells ended in error exits with 3;
an interrupted run exits with 130 after saving its work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from workbench.console import show_input_error
from workbench.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT_ERROR = 2
EXIT_CELL_ERRORS = 3
EXIT_INTERRUPTED = 130

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
app.add_typer(models_app, name="models")


def friendly(fn: F) -> F:
    """Turn input errors into a readable list and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            show_input_error(exc)
            raise typer.Exit(EXIT_INPUT_ERROR) from None

    return wrapper  # type: ignore[return-value]
