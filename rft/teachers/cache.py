"""Persistent response cache: sqlite in WAL mode, safe with several processes writing at once.

One row per completion, keyed by a sha256 over everything that determines the answer:
provider, base URL, model, messages, sampling parameters and the sample index.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from rft.errors import ConfigError
from rft.teachers.base import Completion

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    completion TEXT NOT NULL,
    created_at REAL NOT NULL DEFAULT (strftime('%s', 'now'))
)
"""


def cache_key(
    *,
    provider: str,
    base_url: str | None,
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    sample_index: int,
) -> str:
    payload = {
        "provider": provider,
        "base_url": (base_url or "").rstrip("/"),
        "model": model,
        "messages": messages,
        "params": params,
        "sample": sample_index,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Completions by key. Reads and writes are short sqlite statements (microseconds on local disk)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute(SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"response cache {self.path}: cannot open ({exc})") from None
        self._lock = threading.Lock()

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._db.execute("SELECT completion FROM completions WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return Completion.model_validate_json(row[0])

    def put(self, key: str, completion: Completion) -> None:
        blob = completion.model_copy(update={"cached": False}).model_dump_json()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO completions (key, completion) VALUES (?, ?)", (key, blob)
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
