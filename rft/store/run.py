"""A run in progress: `<root>/<name>/runs/<run-id>/` with an append-only `events.jsonl`.

Every line is one JSON object with a `type`. Finished problems are `{"type": "record", "record": {...}}`;
anything else (progress, errors, `sealed`) is `{"type": kind, ..., "at": iso time}`. Each append is
written through to the file, so a killed process loses at most the line it was writing; that torn last
line is ignored on read and cut off before the next append. Records are fsynced at least once a
second and when the writer closes the run (a power cut loses at most the last second of them; one
fsync per record would cost more than the searches of a fast server); every other event is fsynced
at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import weakref
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rft.errors import ConfigError, InputError, SealedVersionError, storage_error
from rft.redaction import known_secrets, redact, redact_record, scrub_known
from rft.schemas import Record
from rft.store.fsutil import guard_writable, replace_atomic
from rft.store.records import event_object, iter_records, raw_lines, record_at

EVENTS = "events.jsonl"
RUN_JSON = "run.json"
CACHE = "cache.sqlite"
WRITE_LOCK = ".writer.lock"
FSYNC_EVERY_S = 1.0  # records appended are fsynced at least this often

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
        self._info_cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None
        self._fh: Any = None  # the events file, open for appends once this handle has written
        self._synced_at = 0.0
        self._unsynced = False

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
        """run.json, read again only when the file changed (every append checks `sealed_as`)."""
        p = self.path / RUN_JSON
        try:
            st = os.stat(p)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._info_cache is not None and self._info_cache[0] == key:
                return dict(self._info_cache[1])
            info = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: unreadable run file ({exc})") from exc
        self._info_cache = (key, info)
        return dict(info)

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

    def _append_line(self, line: str, *, sync: bool) -> None:
        data = line.encode("utf-8") + b"\n"
        with self._lock:
            if self.sealed_as:
                self._refuse_sealed()
            if not self._tail_checked:
                guard_writable(self.events_path)  # the run's folder never moves into a version
                _claim_writer(self.path, self.id)
                self._repair_tail()
                self._tail_checked = True
            if self._fh is None:
                self._fh = open(self.events_path, "ab")  # noqa: SIM115
                weakref.finalize(self, self._fh.close)
                self._synced_at = time.monotonic()
            fh = self._fh
            start = os.fstat(fh.fileno()).st_size
            try:
                fh.write(data)
                fh.flush()  # in the file: a killed process loses nothing written so far
                self._unsynced = True
                if sync or time.monotonic() - self._synced_at >= FSYNC_EVERY_S:
                    self._fsync()
            except OSError as exc:
                self._fh = None
                self._write_failed(fh, start, exc)
                raise

    def _fsync(self) -> None:
        os.fsync(self._fh.fileno())
        self._synced_at = time.monotonic()
        self._unsynced = False

    def _refuse_sealed(self) -> None:
        raise SealedVersionError(
            f"run {self.id} was already sealed into {self.sealed_as}; start a new run to add records"
        )

    def sync(self) -> None:
        """fsync what this handle appended and has not fsynced yet."""
        with self._lock:
            if self._fh is not None and self._unsynced:
                try:
                    self._fsync()
                except OSError as exc:
                    fh, self._fh = self._fh, None
                    self._write_failed(fh, os.fstat(fh.fileno()).st_size, exc)
                    raise

    def close(self) -> None:
        """fsync and close the events file (a later append opens it again)."""
        self.sync()
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

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
        if record.outcome.error is not None:  # an error text is redacted like any log line
            body = json.dumps(
                redact_record(record.model_dump(mode="json")), ensure_ascii=False, separators=(",", ":")
            )
        else:
            body = record.model_dump_json()
            values = known_secrets()
            if values and any(v in body for v in values):
                body = scrub_known(body, values)  # a known value reads the same inside the JSON text
        self._append_line('{"type":"record","record":' + body + "}", sync=False)

    def append_event(self, kind: str, data: dict[str, Any] | None = None) -> None:
        if kind == "record":
            raise ValueError("use append_record() for records")
        obj = {"type": kind, **redact(data or {}), "at": utc_now()}
        self._append_line(json.dumps(obj, ensure_ascii=False, separators=(",", ":")), sync=True)

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
            for lineno, _, part in raw_lines(p, fh, events=True):
                obj = event_object(p, lineno, part)
                obj["_line"] = lineno
                yield obj

    def records(self) -> list[Record]:
        """Finished records in append order; the first record of a problem id wins, except that a
        failure recorded by an older rft (`outcome.error`) gives way to a later retry that finished."""
        seen: dict[str, int] = {}
        out: list[Record] = []
        for _, _, rec in iter_records(self.events_path, events=True):
            if rec.id in seen:
                i = seen[rec.id]
                if out[i].outcome.error is not None and rec.outcome.error is None:
                    out[i] = rec
                continue
            seen[rec.id] = len(out)
            out.append(rec)
        return out

    def iter_records(self) -> RunRecords:
        """`records()` as a stream (the same records, in the same order), read again each time it is
        iterated: memory holds a few ints per problem id, never the records."""
        return RunRecords(self)

    def finished_records(self, order: dict[str, int]) -> RunRecords:
        """The finished record (no `outcome.error`) of each problem id in `order`, in that order
        (`order[id]` is its position), as a stream read again each time it is iterated: what a run
        seals. Ids without one are left out."""
        return RunRecords(self, order)

    def _winners(self, order: dict[str, int] | None) -> tuple[array, array]:
        """(offsets, line numbers) of the winning line of each id, in the order records are given."""
        first: dict[str, int] = {}  # id -> its slot (first appearance, or its place in `order`)
        offsets, linenos, failed = array("q"), array("q"), bytearray()
        if order is not None:
            offsets.extend([-1] * len(order))
            linenos.extend([-1] * len(order))
        p = self.events_path
        try:
            fh = open(p, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return offsets, linenos
        with fh:
            for lineno, offset, part in raw_lines(p, fh, events=True):
                obj = event_object(p, lineno, part)
                if obj["type"] != "record":
                    continue
                rec = obj.get("record")
                try:
                    pid = rec["problem"]["id"]
                    outcome = rec.get("outcome")
                except (KeyError, TypeError, AttributeError):
                    record_at(p, fh, offset, lineno, events=True)  # the schema's own error
                    raise InputError(f"{p}:{lineno}: record without problem.id") from None
                error = bool(isinstance(outcome, dict) and outcome.get("error"))
                if order is not None:
                    slot = order.get(pid)
                    if slot is None or error or offsets[slot] >= 0:
                        continue
                    offsets[slot], linenos[slot] = offset, lineno
                    continue
                slot = first.get(pid)
                if slot is None:
                    first[pid] = len(offsets)
                    offsets.append(offset)
                    linenos.append(lineno)
                    failed.append(error)
                elif failed[slot] and not error:
                    offsets[slot], linenos[slot], failed[slot] = offset, lineno, False
        return offsets, linenos

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


class RunRecords:
    """Records of a run read as a stream, again each time it is iterated (`Run.iter_records`,
    `Run.finished_records`): a first pass keeps the offset of each id's winning line (ints), a second
    reads those lines in order."""

    def __init__(self, run: Run, order: dict[str, int] | None = None) -> None:
        self.run = run
        self.order = order

    def __iter__(self) -> Iterator[Record]:
        offsets, linenos = self.run._winners(self.order)
        p = self.run.events_path
        if not any(o >= 0 for o in offsets):
            return
        with open(p, "rb") as fh:
            for offset, lineno in zip(offsets, linenos, strict=True):
                if offset >= 0:
                    yield record_at(p, fh, offset, lineno, events=True)
