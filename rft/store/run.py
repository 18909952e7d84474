"""A run in progress: `<root>/<name>/runs/<run-id>/` with an append-only `events.jsonl`.

Every line is one JSON object with a `type`. Finished problems are `{"type": "record", "record": {...}}`;
anything else (progress, errors, `sealed`) is `{"type": kind, ..., "at": iso time}`. Each append is
flushed and fsynced, so a killed process loses at most the line it was writing; that torn last line
is ignored on read and cut off before the next append.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rft.errors import ConfigError, InputError, SealedVersionError, storage_error
from rft.redaction import redact, redact_record
from rft.schemas import Record
from rft.store.fsutil import guard_writable, replace_atomic

EVENTS = "events.jsonl"
RUN_JSON = "run.json"
CACHE = "cache.sqlite"
WRITE_LOCK = ".writer.lock"

# One writer process per run: the first append takes an exclusive flock, held until the process exits.
_writer_fds: dict[Path, int] = {}
_writer_guard = threading.Lock()


def _claim_writer(run_dir: Path, run_id: str) -> None:
    key = run_dir.resolve()
    with _writer_guard:
        if key in _writer_fds:
            return
        fd = os.open(run_dir / WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"run {run_id} is being written by another process (pid {holder}); "
                "wait for it to finish or stop it before resuming"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _writer_fds[key] = fd


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Run:
    """Handle on one run folder. Create it with `Store.open_run`; several handles may read it."""

    def __init__(self, path: Path, name: str, run_id: str) -> None:
        self.path = path
        self.name = name
        self.id = run_id
        self._lock = threading.Lock()
        self._tail_checked = False

    def __repr__(self) -> str:
        return f"Run(name={self.name!r}, id={self.id!r}, path={str(self.path)!r})"

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS

    @property
    def cache_path(self) -> Path:
        return self.path / CACHE

    # --- run.json ---
    def _info(self) -> dict[str, Any]:
        p = self.path / RUN_JSON
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: unreadable run file ({exc})") from exc

    def _write_info(self, info: dict[str, Any]) -> None:
        p = guard_writable(self.path / RUN_JSON)
        info = redact(info)
        replace_atomic(p, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode("utf-8"))

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._info().get("meta") or {})

    @property
    def created_at(self) -> str | None:
        return self._info().get("created_at")

    @property
    def sealed_as(self) -> str | None:
        """`name@vN` once this run has been sealed, else None."""
        return self._info().get("sealed_as")

    def _mark_sealed(self, ref: str) -> None:
        info = self._info()
        info["sealed_as"] = ref
        info["sealed_at"] = utc_now()
        self._write_info(info)

    # --- appends ---
    def _repair_tail(self) -> None:
        """Cut a torn (unterminated) last line left by a killed writer."""
        p = self.events_path
        if not p.exists():
            return
        with open(p, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            # find the last newline
            pos, block = size, 1 << 16
            keep = 0
            while pos > 0:
                start = max(0, pos - block)
                fh.seek(start)
                chunk = fh.read(pos - start)
                idx = chunk.rfind(b"\n")
                if idx >= 0:
                    keep = start + idx + 1
                    break
                pos = start
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())

    def _append_line(self, obj: dict[str, Any]) -> None:
        if self.sealed_as:
            raise SealedVersionError(
                f"run {self.id} was already sealed into {self.sealed_as}; start a new run to add records"
            )
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            guard_writable(self.events_path)
            if not self._tail_checked:
                _claim_writer(self.path, self.id)
                self._repair_tail()
                self._tail_checked = True
            start = self.events_path.stat().st_size if self.events_path.exists() else 0
            fh = open(self.events_path, "a", encoding="utf-8")  # noqa: SIM115
            try:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                self._write_failed(fh, start, exc)
                raise
            finally:
                fh.close()

    def _write_failed(self, fh: Any, start: int, exc: OSError) -> None:
        """A line that could not be appended (a full disk): cut what was written of it, so the lines
        before it stay intact, and raise the one-line StorageError when the disk is the reason."""
        with contextlib.suppress(OSError):
            fh.close()  # retries the flush of the buffered part: it may fail again
        with contextlib.suppress(OSError):
            os.truncate(self.events_path, start)
        failed = storage_error(
            exc,
            f"run file {self.events_path}",
            "the problems finished so far are kept: make room and re-run the same command to continue",
        )
        if failed is not None:
            raise failed from exc

    def append_record(self, record: Record) -> None:
        self._append_line({"type": "record", "record": redact_record(record.model_dump(mode="json"))})

    def append_event(self, kind: str, data: dict[str, Any] | None = None) -> None:
        if kind == "record":
            raise ValueError("use append_record() for records")
        self._append_line({"type": kind, **redact(data or {}), "at": utc_now()})

    # --- reads ---
    def lines(self) -> list[dict[str, Any]]:
        """Every complete line, in order. A torn last line is skipped; a broken line elsewhere is an error."""
        return list(self.iter_lines())

    def iter_lines(self) -> Iterator[dict[str, Any]]:
        """`lines()` one at a time, read as a stream: memory stays flat however long the run is."""
        p = self.events_path
        try:
            fh = open(p, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return
        with fh:
            for lineno, part in enumerate(fh, start=1):
                if not part.endswith(b"\n"):
                    return  # an unterminated last line was cut short by a killed writer: ignore it
                if not part.strip():
                    continue
                try:
                    obj = json.loads(part)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{p}:{lineno}: malformed JSON ({exc.msg})") from exc
                if not isinstance(obj, dict) or "type" not in obj:
                    raise InputError(f"{p}:{lineno}: expected an object with a 'type' field")
                obj["_line"] = lineno
                yield obj

    def records(self) -> list[Record]:
        """Finished records in append order; the first record of a problem id wins, except that a
        failure recorded by an older rft (`outcome.error`) gives way to a later retry that finished."""
        seen: dict[str, int] = {}
        out: list[Record] = []
        for obj in self.iter_lines():
            if obj["type"] != "record":
                continue
            try:
                rec = Record.model_validate(obj.get("record"))
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(x) for x in first["loc"]) or "record"
                raise InputError(
                    f"{self.events_path}:{obj['_line']}: invalid record at {loc}: {first['msg']}"
                ) from exc
            if rec.id in seen:
                i = seen[rec.id]
                if out[i].outcome.error is not None and rec.outcome.error is None:
                    out[i] = rec
                continue
            seen[rec.id] = len(out)
            out.append(rec)
        return out

    def done_ids(self) -> set[str]:
        """Problem ids already finished (for resume); reads ids without validating whole records.
        A failure recorded as a record by an older rft (`outcome.error` set) is not finished."""
        ids: set[str] = set()
        for obj in self.iter_lines():
            if obj["type"] == "record":
                try:
                    pid = obj["record"]["problem"]["id"]
                except (KeyError, TypeError) as exc:
                    raise InputError(f"{self.events_path}:{obj['_line']}: record without problem.id") from exc
                outcome = obj["record"].get("outcome")
                if not (isinstance(outcome, dict) and outcome.get("error")):
                    ids.add(pid)
        return ids
