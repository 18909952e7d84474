"""Reading raw rows from local files. Every row carries a location ("file:line" or "file row N")."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import InputError
from rft.problems.spec import SUPPORTED_SUFFIXES, file_suffix


@dataclass(frozen=True)
class RawRow:
    """One row of a source, before mapping. `index` is 0-based among data rows."""

    index: int
    location: str
    data: dict[str, Any]


def _open_text(path: Path) -> io.TextIOBase:
    """UTF-8 text; a byte-order mark at the start (Excel writes one into CSV) is dropped."""
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig", newline="")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a problem file")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _as_object(value: Any, location: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{location}: expected a JSON object, got {type(value).__name__}")
    return value


def _read_jsonl(path: Path) -> Iterator[RawRow]:
    index = 0
    with _open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            location = f"{path}:{line_no}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{location}: malformed JSON ({exc.msg} at column {exc.colno})") from None
            yield RawRow(index, location, _as_object(value, location))
            index += 1


def _read_json(path: Path) -> Iterator[RawRow]:
    with _open_text(path) as fh:
        text = fh.read()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(value, dict):
        rows = next((value[k] for k in ("data", "rows", "problems") if isinstance(value.get(k), list)), None)
        if rows is None:
            raise InputError(f"{path}: expected a JSON list of objects or an object with a 'data' list")
        value = rows
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a JSON list of objects, got {type(value).__name__}")
    for index, item in enumerate(value):
        location = f"{path} item {index}"
        yield RawRow(index, location, _as_object(item, location))


def _read_csv(path: Path) -> Iterator[RawRow]:
    with _open_text(path) as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            return
        index = 0
        try:
            for row in reader:
                if all((v is None or v == "") for v in row.values()):
                    continue
                if None in row:  # more cells than header columns
                    raise InputError(f"{path}:{reader.line_num}: more values than header columns")
                yield RawRow(index, f"{path}:{reader.line_num}", dict(row))
                index += 1
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None


def _read_parquet(path: Path) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    for index, row in enumerate(table.to_pylist()):
        yield RawRow(index, f"{path} row {index}", row)


_READERS = {
    ".jsonl": _read_jsonl,
    ".jsonl.gz": _read_jsonl,
    ".json": _read_json,
    ".json.gz": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
}


def iter_rows(path: Path) -> Iterator[RawRow]:
    """The rows of a local problem file, read one at a time (JSONL and CSV as a stream); raises
    InputError naming the file (and line) on bad input."""
    _check_readable(path)
    suffix = file_suffix(path)
    reader = _READERS.get(suffix)
    if reader is None:
        known = ", ".join(SUPPORTED_SUFFIXES)
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'!r}; expected one of {known}")
    try:
        yield from reader(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
