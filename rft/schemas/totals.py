"""Sums over calls and records, kept in one place: cost (an unknown price keeps the total unknown,
never a fake 0) and the counts a manifest, a card or the live progress show of a set of records.
Both add one item at a time, so a stream of records is counted without holding it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rft.schemas.record import Record


def add_cost(total: float | None, cost: float | None) -> float | None:
    """`total + cost`, or None (unknown) once either is unknown."""
    return None if total is None or cost is None else total + cost


def sum_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of `costs` (0.0 for none); None when any of them is unknown."""
    total: float | None = 0.0
    for c in costs:
        total = add_cost(total, c)
        if total is None:
            return None
    return total


EXAMPLES = 5  # records a card shows


@dataclass
class RecordCounts:
    """What a set of records holds, counted record by record (`add`) or at once (`of`): a stream of
    records is summed as it goes by, and the first few are kept as examples (for a card)."""

    records: int = 0
    solved: int = 0
    correct: int = 0  # correct against a gold answer (records without gold do not count)
    trainable: int = 0
    with_backtrack: int = 0
    backtracks: int = 0
    nodes: int = 0
    teacher_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    samples: int = 0  # the sample strategy's samples (record metadata), and the correct ones
    samples_correct: int = 0
    domains: dict[str, int] = field(default_factory=dict)
    examples: list[Record] = field(default_factory=list)  # the first EXAMPLES records

    @classmethod
    def of(cls, records: Iterable[Record]) -> RecordCounts:
        counts = cls()
        for r in records:
            counts.add(r)
        return counts

    def add(self, r: Record) -> None:
        o = r.outcome
        self.records += 1
        self.solved += o.solved
        self.correct += o.correct is True
        self.trainable += o.trainable
        self.with_backtrack += o.backtracks > 0
        self.backtracks += o.backtracks
        self.nodes += len(r.trace.nodes)
        self.teacher_calls += o.teacher_calls
        self.tokens_in += o.tokens_in
        self.tokens_out += o.tokens_out
        self.cost_usd = add_cost(self.cost_usd, o.cost_usd)
        samples, correct = r.metadata.get("samples", 0), r.metadata.get("samples_correct", 0)
        self.samples += samples if isinstance(samples, int) else 0
        self.samples_correct += correct if isinstance(correct, int) else 0
        domain = r.problem.domain.value
        self.domains[domain] = self.domains.get(domain, 0) + 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(r)

    def manifest_counts(self) -> dict[str, float]:
        """The counts every sealed version's manifest holds."""
        return {
            "records": self.records,
            "solved": self.solved,
            "correct": self.correct,
            "with_backtrack": self.with_backtrack,
            "backtracks": self.backtracks,
            "nodes": self.nodes,
        }
