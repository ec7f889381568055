"""The `workbench` command-line application and its command groups.

Every command reports bad input as a list of problems with their fixes and exits with code 2
before calling any model (`friendly`); a run some of whose cells ended in error exits with 3;
an interrupted run exits with 130 after saving its work.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
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
            raise typer.Exit(EXIT_INPUT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def stop_quietly(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM outside a run's calls (while planning, printing, or exiting): stop at
    once with exit code 130 and a word, never a traceback. A run installs its own handling while
    it calls models (what finished is saved first) and puts this back after."""
    sys.stderr.write("\nStopped.\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def main() -> None:
    """The `workbench` command. Once the command is done and its output flushed, the process ends
    at once: the interpreter's teardown (with MLflow, pandas and llama.cpp loaded) would take a
    moment for nothing, during which an interrupt could only produce a traceback."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_quietly)
    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
