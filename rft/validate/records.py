"""The records of a version as validate reads them: parsed lines (bad ones become `schema` flags) and
the texts of each record that are compared with benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from rft.schemas import Record
from rft.store.records import iter_records
from rft.validate.report import Flag


def parse_records(path: Path) -> tuple[list[tuple[int, Record]], list[Flag]]:
    """Every valid record of a data.jsonl with its line; invalid lines become `schema` flags."""
    flags: list[Flag] = []

    def flag(lineno: int, line: bytes, exc: ValidationError) -> None:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "record"
        rid = _raw_id(line) or f"line {lineno}"
        flags.append(Flag(rid, "schema", evidence={"field": loc, "error": first["msg"][:300]}, line=lineno))

    records = [(lineno, rec) for lineno, _, rec in iter_records(path, on_error=flag)]
    return records, flags


def _raw_id(line: bytes) -> str | None:
    try:
        obj = json.loads(line)
        return str(obj["problem"]["id"])
    except (ValueError, KeyError, TypeError):
        return None


def segments_of(record: Record) -> list[tuple[str, str]]:
    """The texts of a record compared with benchmarks: question, reference solution, a code problem's
    tests (a test problem reworded keeps its benchmark's asserts), steps, messages."""
    out: list[tuple[str, str]] = [("question", record.problem.question)]
    if record.problem.solution:
        out.append(("reference solution", record.problem.solution))
    if record.problem.tests:
        out.append(("tests", "\n".join(record.problem.tests)))
    for node in record.trace.nodes:
        if node.text:
            out.append((f"step {node.id}", node.text))
    for i, msg in enumerate(record.messages):
        if msg.content:
            out.append((f"message {i} ({msg.role})", msg.content))
    seen: set[str] = set()
    unique = []
    for where, text in out:
        if text not in seen:
            seen.add(text)
            unique.append((where, text))
    return unique


def scan_texts(segments: list[tuple[str, str]]) -> list[str]:
    """The texts to scan: a segment contained in one of the longest segments (a step inside the
    rendered assistant message, the question inside the user message) adds no n-gram of its own."""
    texts = [t for _, t in segments]
    longest = sorted(texts, key=len, reverse=True)[:3]
    return [t for t in texts if not any(len(o) > len(t) and t in o for o in longest)]
