"""Validation report: one row per (flagged record, check), a summary, and the printed table."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

REPORT_FILE = "validation_report.json"
UNTRAINABLE = {
    "unsolved": "unsolved",
    "incorrect": "incorrect against gold",
    "gold_unchecked": "gold could not be checked",
}

# What each check means (also the order of the summary table).
# The first three are the untrainable records, dropped unless `--keep-unsolved` keeps them.
CHECKS = {
    "schema": "record fails the schema or the tree integrity rules",
    "unsolved": "the search found no solution (or the problem failed): not a demonstration",
    "incorrect": "the final answer is wrong against the gold answer",
    "gold_unchecked": "a gold answer exists but the final answer could not be checked against it",
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
            "untrainable": self.untrainable(),
            "contamination_by_benchmark": dict(contam),
            "benchmark_sources": {b: s.get("kind") for b, s in self.sources.items()},
            "method": self.config.get("method"),
            "semantic": self.config.get("semantic", False),
            **({"judge": self.judge} if self.judge else {}),
        }

    def untrainable(self) -> dict[str, dict[str, int]]:
        """Untrainable records by reason, with how many were dropped and kept."""
        out: dict[str, dict[str, int]] = {r: {"dropped": 0, "kept": 0} for r in UNTRAINABLE}
        for f in self.flags:
            if f.check in out:
                out[f.check][f.action] += 1
        return out

    def untrainable_line(self) -> str:
        """`untrainable: 1 unsolved, ... dropped` for the printed summary."""
        counts = self.untrainable()
        parts = []
        for action in ("dropped", "kept"):
            n = sum(c[action] for c in counts.values())
            if n:
                what = ", ".join(f"{c[action]} {UNTRAINABLE[r]}" for r, c in counts.items() if c[action])
                parts.append(f"{n} {action} ({what})")
        return "untrainable records: " + ("; ".join(parts) if parts else "none")

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
        actions: dict[str, set[str]] = {}
        for f in self.flags:
            actions.setdefault(f.check, set()).add(f.action)
        for check, meaning in CHECKS.items():
            n = counts.get(check, 0)
            action = "/".join(sorted(actions.get(check, ())))  # dropped, kept or dropped/kept
            t.add_row(check, str(n), action, meaning)
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
