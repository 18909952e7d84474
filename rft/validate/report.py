"""Validation report: one row per (flagged record, check), a summary, and the printed table."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

REPORT_FILE = "validation_report.json"

# What each check means (also the order of the summary table).
CHECKS = {
    "schema": "record fails the schema or the tree integrity rules",
    "no_messages": "no assistant message to train on (e.g. a problem the teacher failed on)",
    "answer_mismatch": "stored verdict disagrees with the final answer re-verified against gold",
    "truncated": "a step on the trained path hit max_tokens",
    "empty_step": "an empty step or assistant message",
    "degenerate": "a repetition loop in a step or message",
    "duplicate": "exact duplicate question (normalised)",
    "near_duplicate": "near-duplicate question (MinHash LSH)",
    "contamination": "matches a benchmark test item",
    "suspect": "close to a benchmark item: in the ambiguous semantic band, or a weak lexical match the judge called different (kept)",
}


@dataclass
class Flag:
    """One reason to drop (or, for suspects, to look at) one record."""

    record_id: str
    check: str
    action: str = "dropped"  # dropped | kept
    benchmark: str | None = None
    item_id: str | None = None
    method: str | None = None
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # line in data.jsonl

    def to_row(self) -> dict[str, Any]:
        row = {k: v for k, v in asdict(self).items() if v is not None}
        if self.score is not None:
            row["score"] = round(self.score, 4)
        return row


@dataclass
class Report:
    dataset: str
    parent: int
    total: int
    flags: list[Flag]
    config: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    judge: dict[str, Any] | None = None  # what the LLM judge of the ambiguous band was asked and said

    @property
    def dropped_ids(self) -> set[str]:
        return {f.record_id for f in self.flags if f.action == "dropped"}

    def summary(self) -> dict[str, Any]:
        by_check = Counter(f.check for f in self.flags)
        contam = Counter(f.benchmark for f in self.flags if f.check == "contamination")
        dropped = len(self.dropped_ids)
        return {
            "records_in": self.total,
            "records_out": self.total - dropped,
            "dropped": dropped,
            "flags": dict(by_check),
            "contamination_by_benchmark": dict(contam),
            "benchmark_sources": {b: s.get("kind") for b, s in self.sources.items()},
            "method": self.config.get("method"),
            "semantic": self.config.get("semantic", False),
            **({"judge": self.judge} if self.judge else {}),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "parent_version": self.parent,
            "summary": self.summary(),
            "config": self.config,
            "benchmark_sources": self.sources,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "rows": [f.to_row() for f in self.flags],
        }

    def table(self) -> Table:
        t = Table(title=f"rft validate {self.dataset}@v{self.parent}: {self.total} records")
        t.add_column("check")
        t.add_column("flagged", justify="right")
        t.add_column("action")
        t.add_column("meaning")
        counts = Counter(f.check for f in self.flags)
        for check, meaning in CHECKS.items():
            n = counts.get(check, 0)
            action = "kept" if check == "suspect" else "dropped"
            t.add_row(check, str(n), action if n else "", meaning)
        t.add_row(
            "total", f"{len(self.dropped_ids)} dropped", f"{self.total - len(self.dropped_ids)} kept", ""
        )
        return t

    def sources_table(self) -> Table:
        t = Table(title="benchmarks")
        t.add_column("benchmark")
        t.add_column("source")
        t.add_column("items", justify="right")
        t.add_column("flagged", justify="right")
        contam = Counter(f.benchmark for f in self.flags if f.check in ("contamination", "suspect"))
        for b, s in self.sources.items():
            where = s["kind"] + (f": {s['location']}" if s.get("location") else "")
            t.add_row(b, where, str(s.get("items", "")), str(contam.get(b, 0)))
        return t
