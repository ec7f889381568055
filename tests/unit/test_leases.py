"""Leases in the response cache: two runs sharing a cache never call the same cell twice, a lease
dies with its process, an error is adopted by whoever waited for it, and an interrupted call
leaves the cell free."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time

from workbench.calls.cache import CachedReply, Lease, ResponseCache
from workbench.calls.engine import CallEngine, Generation


def test_one_claim_wins_and_the_other_waits_for_its_reply(tmp_path):
    first, second = ResponseCache(tmp_path / "c.sqlite3"), ResponseCache(tmp_path / "c.sqlite3")
    second.owner = "another-process"  # two runs: two owners (here, one process standing in for both)
    since = time.time() - 1
    assert first.claim("k", since).state is Lease.CLAIMED
    assert first.claim("k", since).state is Lease.CLAIMED, "the holder may claim again"
    assert second.claim("k", since).state is Lease.HELD
    assert not second.lease_ended("k")
    first.put("k", CachedReply("hello", 1, 1, 0.1))
    assert second.lease_ended("k")
    claim = second.claim("k", since)
    assert claim.state is Lease.CACHED and claim.reply is not None and claim.reply.reply == "hello"


def test_an_error_is_adopted_by_a_run_that_was_going_and_retried_by_a_later_one(tmp_path):
    first, second = ResponseCache(tmp_path / "c.sqlite3"), ResponseCache(tmp_path / "c.sqlite3")
    second.owner = "another-process"
    before = time.time() - 1
    assert first.claim("k", before).state is Lease.CLAIMED
    first.release("k", "HTTP 400 BadRequestError: too long")
    adopted = second.claim("k", before)
    assert adopted.state is Lease.FAILED and adopted.error == "HTTP 400 BadRequestError: too long"
    assert second.claim("k", time.time() + 1).state is Lease.CLAIMED, "a run started afterwards calls again"


def test_an_interrupted_call_leaves_the_cell_free(tmp_path):
    first, second = ResponseCache(tmp_path / "c.sqlite3"), ResponseCache(tmp_path / "c.sqlite3")
    second.owner = "another-process"
    assert first.claim("k", time.time()).state is Lease.CLAIMED
    first.abandon("k")
    assert second.claim("k", time.time()).state is Lease.CLAIMED


def test_a_lease_dies_with_its_process(tmp_path):
    path = tmp_path / "c.sqlite3"
    script = textwrap.dedent(f"""
        import os, signal, time
        from workbench.calls.cache import ResponseCache
        ResponseCache({str(path)!r}).claim("k", time.time())
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", script], env={**os.environ}).returncode == -9
    assert ResponseCache(path).claim("k", time.time()).state is Lease.CLAIMED, "the killed holder's lease is void"


def test_two_engines_on_one_cache_call_each_key_once(tmp_path):
    """Two call engines (two runs) asked for the same 12 keys at once: 12 calls in all, and each
    engine gets every reply, its own or the other's."""
    calls: list[str] = []

    async def run(engine: CallEngine) -> list[str]:
        async def one(key: str) -> str:
            async def invoke() -> Generation:
                calls.append(key)
                await asyncio.sleep(0.05)
                return Generation(f"reply {key}")

            outcome = await engine.call("m", key, invoke)
            assert outcome.generation is not None
            return outcome.generation.reply

        return await asyncio.gather(*(one(f"k{i}") for i in range(12)))

    caches = [ResponseCache(tmp_path / "c.sqlite3") for _ in range(2)]
    caches[1].owner = "another-process"
    engines = [CallEngine(cache=cache, limits={"m": 3}) for cache in caches]

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(run(engines[0]), run(engines[1])))

    first, second = asyncio.run(both())
    assert first == second == [f"reply k{i}" for i in range(12)]
    assert sorted(calls) == sorted(f"k{i}" for i in range(12)), "no key was called twice"
    assert sum(e.stats.waited["reply"] for e in engines) + len(calls) == 24
