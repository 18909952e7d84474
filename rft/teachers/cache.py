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

from pydantic import ValidationError

from rft.errors import ConfigError, InputError, RftError, storage_error
from rft.teachers.base import ChatRequest, Completion

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
    request: ChatRequest,
    sample_index: int,
    extra: dict[str, Any] | None = None,
) -> str:
    """The key of sample `sample_index` of `request`; `extra` = what else tells answers apart (a local
    model's device, dtype and folder). The bytes hashed are those of earlier releases: caches keep hitting."""
    payload = {
        "provider": provider,
        "base_url": (base_url or "").rstrip("/"),
        "model": model,
        "messages": request.message_list,
        "params": {**request.params(), **(extra or {})},
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
            raise self._error(exc, "cannot open") from None
        self._lock = threading.Lock()

    def _error(self, exc: Exception, doing: str) -> RftError:
        """One line for a cache that fails: a full disk or a read-only folder, a corrupt file (say
        how to discard it: only cached responses are lost), or anything else sqlite reports."""
        failed = storage_error(exc, f"the response cache {self.path}")
        if failed is not None:
            return failed
        if isinstance(exc, ValidationError) or type(exc) is sqlite3.DatabaseError:
            # "file is not a database", "database disk image is malformed", a row that is no completion
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return InputError(
                f"response cache {self.path} is corrupt ({detail}): delete that file (and any "
                f"{self.path.name}-wal / -shm beside it) and re-run; only cached teacher responses are "
                "lost, they are asked again"
            )
        return ConfigError(f"response cache {self.path}: {doing} ({exc})")

    def get(self, key: str) -> Completion | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT completion FROM completions WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            return Completion.model_validate_json(row[0])
        except (sqlite3.Error, ValidationError) as exc:
            raise self._error(exc, "cannot read") from None

    def put(self, key: str, completion: Completion) -> None:
        blob = completion.model_copy(update={"cached": False}).model_dump_json()
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO completions (key, completion) VALUES (?, ?)", (key, blob)
                )
        except sqlite3.Error as exc:
            raise self._error(exc, "cannot write") from None

    def __len__(self) -> int:
        try:
            with self._lock:
                return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._error(exc, "cannot read") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()
