"""Persistent response cache: a re-run makes no model calls, and a run killed half-way
resumes where it stopped.

Keyed by everything that determines a reply: the pipeline, the model identity, decoding
parameters, the full message list and the sample index (for a judge's call, also which rubric
version asked). Judge answers are cached in the same store as the replies they grade. Each reply is committed the moment it arrives (SQLite in
WAL mode), so even `kill -9` loses at most the calls in flight. Errors are never cached.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, reply TEXT NOT NULL, "
            "input_tokens INTEGER, output_tokens INTEGER, latency_s REAL NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> CachedReply | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply, input_tokens, output_tokens, latency_s FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return CachedReply(*row) if row else None

    def get_many(self, keys: list[str]) -> dict[str, CachedReply]:
        found: dict[str, CachedReply] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, *row in self._db.execute(
                    f"SELECT key, reply, input_tokens, output_tokens, latency_s FROM responses WHERE key IN ({marks})",
                    chunk,
                ):
                    found[key] = CachedReply(*row)
        return found

    def put(self, key: str, reply: CachedReply) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                (key, reply.reply, reply.input_tokens, reply.output_tokens, reply.latency_s, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
