"""A real `mlflow server` on loopback, with its own database and artifact store, for tests.

`proxied_artifacts` chooses how clients reach artifacts: through the server (`--artifacts-destination`,
as a shared team server runs) or straight from the artifact root the server names
(`--default-artifact-root`, as a single-machine setup runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workbench.testing.loopback import free_port


@contextmanager
def mlflow_server(root: Path, proxied_artifacts: bool = False, start_timeout_s: float = 240) -> Iterator[str]:
    """Start the server, wait until `/health` answers, yield its URL, stop it (and its workers)."""
    port = free_port()
    artifacts = "--artifacts-destination" if proxied_artifacts else "--default-artifact-root"
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'server.db'}"]
    command += [artifacts, str(root / "server-artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, "mlflow server exited while starting"
            assert time.monotonic() < deadline, "mlflow server did not answer /health in time"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, 9)  # the server's gunicorn/uvicorn workers are in its session
        server.wait(timeout=30)
