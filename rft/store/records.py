"""The one reader of records in JSONL, as a stream: a version's `data.jsonl` (one record a line) and a
run's `events.jsonl` (records inside `{"type": "record", "record": {...}}` lines, among other events).

Memory stays flat however long the file is: lines are read one at a time, and each record comes with
its line number and byte offset (so a caller can come back to it with `record_at`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from pydantic import BaseModel, ValidationError

from rft.errors import InputError
from rft.schemas import Record

OnError = Callable[[int, bytes, ValidationError], None]
"""(line number, the line, the error) of a line that is no valid record; the default raises InputError."""


class RecordLine(NamedTuple):
    line: int  # 1-based line number
    offset: int  # byte offset of the line in the file
    record: Record


class _EventLine(BaseModel):
    """A run line parsed in one go (pydantic's JSON parser); anything odd is re-read the slow way."""

    type: str
    record: Record | None = None


def raw_lines(path: Path, fh: BinaryIO, *, events: bool) -> Iterator[tuple[int, int, bytes]]:
    """(line number, offset, bytes) of each non-blank line of an open file. In a run file (`events`),
    an unterminated last line was cut short by a killed writer: it is ignored."""
    offset = 0
    for lineno, part in enumerate(fh, start=1):
        start, offset = offset, offset + len(part)
        if events and not part.endswith(b"\n"):
            return
        if part.strip():
            yield lineno, start, part


def event_object(path: Path, lineno: int, part: bytes) -> dict[str, Any]:
    """One run line as a dict with a `type`; anything else is an InputError naming file:line."""
    try:
        obj = json.loads(part)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from exc
    if not isinstance(obj, dict) or "type" not in obj:
        raise InputError(f"{path}:{lineno}: expected an object with a 'type' field")
    return obj


def _invalid(path: Path, lineno: int, exc: ValidationError) -> InputError:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return InputError(f"{path}:{lineno}: malformed JSON ({first['msg']})")
    loc = ".".join(str(x) for x in first["loc"]) or "record"
    return InputError(f"{path}:{lineno}: invalid record at {loc}: {first['msg']}")


def _event_record(path: Path, lineno: int, part: bytes) -> Record | None:
    """The record of a run line, None for another event; errors worded as the line's own."""
    try:
        return _EventLine.model_validate_json(part).record
    except ValidationError:
        pass  # re-read the slow way, for the exact error (or a line that is fine after all)
    obj = event_object(path, lineno, part)
    if obj["type"] != "record":
        return None
    try:
        return Record.model_validate(obj.get("record"))
    except ValidationError as exc:
        raise _invalid(path, lineno, exc) from exc


def _parse(path: Path, lineno: int, part: bytes, events: bool, on_error: OnError | None) -> Record | None:
    if events:
        return _event_record(path, lineno, part)
    try:
        return Record.model_validate_json(part)
    except ValidationError as exc:
        if on_error is None:
            raise _invalid(path, lineno, exc) from exc
        on_error(lineno, part, exc)
        return None


def iter_records(
    path: Path, *, events: bool = False, on_error: OnError | None = None
) -> Iterator[RecordLine]:
    """Every record of `path` in file order, one at a time.

    `events=False`: a data.jsonl; a file that cannot be opened is an InputError, and a line that is no
    valid record is an InputError naming file:line, or is passed to `on_error` (which may collect it)
    and skipped. `events=True`: a run's events.jsonl (a missing file holds no records; other events
    are skipped; a torn last line is ignored; a bad line is an InputError naming file:line)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        if events:
            return
        raise InputError(f"{path}: cannot read (No such file or directory)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    with fh:
        for lineno, offset, part in raw_lines(path, fh, events=events):
            rec = _parse(path, lineno, part, events, on_error)
            if rec is not None:
                yield RecordLine(lineno, offset, rec)


def record_at(path: Path, fh: BinaryIO, offset: int, lineno: int, *, events: bool) -> Record:
    """The record of line `lineno`, at `offset` of the open file `fh` (as `iter_records` gave them)."""
    fh.seek(offset)
    part = fh.readline()
    rec = _parse(path, lineno, part, events, None)
    if rec is None:
        raise InputError(f"{path}: the line at byte {offset} is no longer a record (the file changed)")
    return rec
