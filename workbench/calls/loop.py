"""One event loop for the process, on its own thread, for every model call.

Reusing it keeps provider clients (which bind their connection pools to a loop) valid from one
run to the next, and lets runs start from notebooks, whose own loop is already running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_state: dict[str, asyncio.AbstractEventLoop] = {}
_lock = threading.Lock()


def engine_loop() -> asyncio.AbstractEventLoop:
    with _lock:
        loop = _state.get("loop")
        if loop is None or loop.is_closed():
            loop = _state["loop"] = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="workbench-engine", daemon=True).start()
        return loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the engine loop and wait; Ctrl-C cancels it and waits for it to stop."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    async def supervised() -> None:
        try:
            outcome["value"] = await coro
        except BaseException as exc:  # handed back to the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    future = asyncio.run_coroutine_threadsafe(supervised(), engine_loop())
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        future.cancel()
        done.wait()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
