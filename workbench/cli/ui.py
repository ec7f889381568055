"""`workbench ui`: the MLflow UI on the project's store."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import typer

from workbench.cli.app import app
from workbench.console import console
from workbench.paths import artifact_root, project_root, store_dir
from workbench.tracking.store import tracking_uri


@app.command()
def ui(
    port: int = typer.Option(5000, help="Port on 127.0.0.1"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command and URL only."),
):
    """Start the MLflow UI on the local store and print its URL."""
    root = project_root()
    store_dir(root).mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(root)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if artifacts := artifact_root(uri):
        command += ["--default-artifact-root", artifacts]
    console.print(f"MLflow UI for {uri}\nOpen [bold]http://127.0.0.1:{port}[/bold]  (Ctrl-C to stop)")
    if dry_run:
        console.print(" ".join(command))
        return
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(command, check=False, env={**os.environ, "MLFLOW_TRACKING_URI": uri})
