"""Persistent response cache: a re-run makes no model calls, and a run killed half-way
resumes where it stopped.

Keyed by everything that determines a reply: the pipeline, the model identity, decoding
parameters, the full message list and the sample index (for a judge's call, also which rubric
version asked). Judge answers are cached in the same store as the replies they grade. Each reply
is committed the moment it arrives (SQLite in WAL mode), so even `kill -9` loses at most the calls
in flight. Errors are never cached.

Runs that share the cache at the same time (two `workbench run` of one spec, say) never call the
same cell twice: a call first takes a *lease* on its key, in a SQLite transaction, and whoever
finds the key leased by a live process waits for that process's reply instead of calling (see
`Lease`). A lease ends with the reply, or with the error that ended the call, which a process
that was waiting for it adopts rather than calling again.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from workbench.errors import InputError

LEASE_S = 60.0
"""How long a lease holds without being renewed; the holder renews its leases every third of it."""


def cache_key(
    pipeline: str,
    model_identity: dict[str, Any],
    decoding: dict[str, Any],
    messages: list[dict[str, str]],
    sample: int,
    *,
    purpose: str = "reply",
) -> str:
    payload = json.dumps(
        {
            "pipeline": pipeline,
            "model": model_identity,
            "decoding": decoding,
            "messages": messages,
            "sample": sample,
            "purpose": purpose,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedReply:
    reply: str
    input_tokens: int | None
    output_tokens: int | None
    latency_s: float
    created: float | None = field(default=None, compare=False)
    """When the reply arrived (seconds since the epoch), for tracing a cached reply later."""


class Lease(Enum):
    """What `claim` found for a key."""

    CLAIMED = "claimed"  # this process holds the lease: call
    HELD = "held"  # another live process is calling it: wait for its reply
    CACHED = "cached"  # the reply is already in the cache
    FAILED = "failed"  # another process's call ended in error while this run was going: adopt it


@dataclass(frozen=True)
class Claim:
    state: Lease
    reply: CachedReply | None = None
    error: str | None = None


def cache_problem(path: Path, reason: str) -> InputError:
    return InputError.single(
        f"the response cache cannot be used: {reason}",
        file=path,
        field="WORKBENCH_CACHE_PATH",
        fix="move this file aside (it is damaged, or not a response cache: nothing is deleted for you), point "
        "WORKBENCH_CACHE_PATH at another file, or run with --no-cache",
    )


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise cache_problem(self.path, "the path is a folder")
        self._lock = threading.Lock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renewing: threading.Thread | None = None
        self._closed = threading.Event()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, reply TEXT NOT NULL, "
                "input_tokens INTEGER, output_tokens INTEGER, latency_s REAL NOT NULL, created REAL NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, "
                "pid INTEGER NOT NULL, expires REAL NOT NULL, error TEXT, failed REAL)"
            )
        except (sqlite3.DatabaseError, OSError) as exc:
            raise cache_problem(self.path, str(exc)) from None

    def get(self, key: str) -> CachedReply | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply, input_tokens, output_tokens, latency_s, created FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return CachedReply(*row) if row else None

    def get_many(self, keys: list[str]) -> dict[str, CachedReply]:
        found: dict[str, CachedReply] = {}
        try:
            with self._lock:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    for key, *row in self._db.execute(
                        "SELECT key, reply, input_tokens, output_tokens, latency_s, created FROM responses "
                        f"WHERE key IN ({marks})",
                        chunk,
                    ):
                        found[key] = CachedReply(*row)
        except sqlite3.DatabaseError as exc:
            raise cache_problem(self.path, str(exc)) from None
        return found

    def put(self, key: str, reply: CachedReply) -> None:
        """Store a reply and end its lease, in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                    (key, reply.reply, reply.input_tokens, reply.output_tokens, reply.latency_s, time.time()),
                )
                self._db.execute("DELETE FROM leases WHERE key = ?", (key,))
            finally:
                self._db.execute("COMMIT")

    # -- leases -----------------------------------------------------------------------------------
    def claim(self, key: str, since: float) -> Claim:
        """Take the lease on `key` unless the reply is cached or a live process holds it. `since`
        is when the caller's run started: a failure recorded after it belongs to this run."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT reply, input_tokens, output_tokens, latency_s, created FROM responses WHERE key = ?", (key,)
                ).fetchone()
                if row:
                    return Claim(Lease.CACHED, CachedReply(*row))
                lease = self._db.execute(
                    "SELECT owner, host, pid, expires, error, failed FROM leases WHERE key = ?", (key,)
                ).fetchone()
                if lease is not None:
                    owner, host, pid, expires, error, failed = lease
                    if error is not None and failed is not None and failed >= since and owner != self.owner:
                        return Claim(Lease.FAILED, error=error)
                    if error is None and owner != self.owner and _alive(host, pid, expires, now):
                        return Claim(Lease.HELD)
                self._db.execute(
                    "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                    (key, self.owner, socket.gethostname(), os.getpid(), now + LEASE_S),
                )
            finally:
                self._db.execute("COMMIT")
        self._keep_renewing()
        return Claim(Lease.CLAIMED)

    def release(self, key: str, error: str) -> None:
        """End this process's lease on `key` with the error that ended its call."""
        now = time.time()
        with self._lock:
            self._db.execute(
                "UPDATE leases SET error = ?, failed = ?, expires = ? WHERE key = ? AND owner = ?",
                (error, now, now, key, self.owner),
            )

    def abandon(self, key: str) -> None:
        """Give up this process's lease on `key` without an outcome (the call was interrupted)."""
        with self._lock:
            self._db.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, self.owner))

    def lease_ended(self, key: str) -> bool:
        """Whether the lease another process held on `key` is over (reply, error, or holder gone)."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone():
                return True
            lease = self._db.execute("SELECT host, pid, expires, error FROM leases WHERE key = ?", (key,)).fetchone()
        return lease is None or lease[3] is not None or not _alive(lease[0], lease[1], lease[2], time.time())

    def _keep_renewing(self) -> None:
        if self._renewing is None:
            self._renewing = threading.Thread(target=self._renew, name="workbench-cache-leases", daemon=True)
            self._renewing.start()

    def _renew(self) -> None:
        while not self._closed.wait(LEASE_S / 3):
            with self._lock:
                if self._closed.is_set():
                    return
                self._db.execute(
                    "UPDATE leases SET expires = ? WHERE owner = ? AND error IS NULL",
                    (time.time() + LEASE_S, self.owner),
                )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            self._db.execute("DELETE FROM leases WHERE owner = ? AND error IS NULL", (self.owner,))
            self._db.close()


def _alive(host: str, pid: int, expires: float, now: float) -> bool:
    """A lease holds while its process lives (on this machine, asked directly; elsewhere, while it
    keeps renewing)."""
    if host != socket.gethostname():
        return expires > now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid() or expires > now
