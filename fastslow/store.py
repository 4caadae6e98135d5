"""The SQLite generation cache.

One database (``~/.cache/fastslow/cache.sqlite`` by default, or ``--cache PATH``) in WAL mode, so
readers never block the writer and a crash loses at most the batch in flight. Each row is one
sample: its key hashes the model id, the prompt messages, the prefill, the sampling parameters,
the seed and the sample index, so the k-th sample of a request is found again whatever batch it
was first generated in. A cached call costs no model time: that is what makes every workflow
resumable and every re-run cheap.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastslow.errors import FastslowError
from fastslow.paths import cache_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    finish_reason TEXT NOT NULL,
    logprob REAL,
    created REAL NOT NULL
);
"""


@dataclass
class CachedSample:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str
    logprob: float | None


def generation_key(model: str, payload: dict[str, Any], sample_index: int) -> str:
    """A stable hash of everything that determines one sample."""
    blob = json.dumps({"model": model, "sample": sample_index, **payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Store:
    """A thin, transactional wrapper around the cache database."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise FastslowError(f"cannot open the cache database {self.path}: {exc}") from exc

    def get_many(self, keys: list[str]) -> dict[str, CachedSample]:
        found: dict[str, CachedSample] = {}
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT key, text, prompt_tokens, completion_tokens, seconds, finish_reason, logprob "
                f"FROM generations WHERE key IN ({marks})",
                chunk,
            )
            for key, *values in rows:
                found[key] = CachedSample(*values)
        return found

    def put_many(self, model: str, items: list[tuple[str, CachedSample]]) -> None:
        """Insert samples in one transaction: all of them are stored, or none."""
        now = time.time()
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        k,
                        model,
                        s.text,
                        s.prompt_tokens,
                        s.completion_tokens,
                        s.seconds,
                        s.finish_reason,
                        s.logprob,
                        now,
                    )
                    for k, s in items
                ],
            )

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self.conn.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM generations WHERE model = ?", (model,)).fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def default_cache_path() -> Path:
    return cache_dir() / "cache.sqlite"
