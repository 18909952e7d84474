"""Lexical decontamination: every record's texts scored against the benchmark n-gram index, one
`contamination` flag per record that matches (its best match), batches scored in worker processes
when there are many records."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.pool import Pool
from typing import ClassVar

from rft.schemas import Record
from rft.validate.decontam import Hit, LexicalIndex
from rft.validate.index import BenchmarkIndex
from rft.validate.records import scan_texts, segments_of
from rft.validate.report import Flag

Progress = Callable[[int, int], None]
PARALLEL_MIN_RECORDS = 20_000  # below this, starting worker processes costs more than it saves


def _auto_workers(n_records: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if n_records < PARALLEL_MIN_RECORDS:
        return 1
    return max(
        1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    )


class ScoringPool:
    """Scores batches of texts against one LexicalIndex: in `workers` spawned processes (each holding
    its own copy of the index, handed over once by the initializer), or in this one with one worker.
    A context manager: the processes end when it closes."""

    _worker_index: ClassVar[LexicalIndex | None] = None  # set in worker processes only

    def __init__(self, index: LexicalIndex, workers: int = 1) -> None:
        self.index = index
        self.workers = workers
        self._pool: Pool | None = None

    def __enter__(self) -> ScoringPool:
        if self.workers > 1:
            ctx = multiprocessing.get_context("spawn")  # fork is unsafe once torch/tokenizer threads exist
            self._pool = ctx.Pool(self.workers, initializer=ScoringPool._init_worker, initargs=(self.index,))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def score(self, batches: Iterable[list[list[str]]]) -> Iterator[list[list[Hit]]]:
        """The hits of each batch (per record, per its texts), in order; batches are read ahead."""
        if self._pool is None:
            return (self.index.score(b) for b in batches)
        return self._pool.imap(ScoringPool._score_in_worker, batches, chunksize=1)

    @staticmethod
    def _init_worker(index: LexicalIndex) -> None:
        ScoringPool._worker_index = index

    @staticmethod
    def _score_in_worker(docs: list[list[str]]) -> list[list[Hit]]:
        assert ScoringPool._worker_index is not None
        return ScoringPool._worker_index.score(docs)


def lexical_flags(
    records: Sequence[tuple[int, Record]],
    index: BenchmarkIndex,
    batch_size: int = 512,
    progress: Progress | None = None,
    workers: int | None = None,
) -> list[Flag]:
    """One `contamination` flag per record that matches a benchmark entry (the best match).

    With several workers (default: 2 from 20,000 records on), batches are scored in worker processes
    while this one prepares the next batches and writes the evidence."""
    lex = index.lexical
    flags: list[Flag] = []
    batches = [records[i : i + batch_size] for i in range(0, len(records), batch_size)]
    texts = ([scan_texts(segments_of(r)) for _, r in b] for b in batches)
    n_workers = _auto_workers(len(records), workers) if len(batches) > 1 else 1
    with ScoringPool(lex, n_workers) as pool:
        done = 0
        for batch, hits in zip(batches, pool.score(texts), strict=True):
            for (line, rec), rec_hits in zip(batch, hits, strict=True):
                if rec_hits:
                    flags.append(_contamination_flag(lex, rec.id, line, segments_of(rec), rec_hits))
            done += len(batch)
            if progress:
                progress(done, len(records))
    return flags


def _contamination_flag(
    lex: LexicalIndex, rid: str, line: int, segs: list[tuple[str, str]], hits: list[Hit]
) -> Flag:
    """The flag of a record's best hit; a strong hit is preferred over a weak one (see
    `LexicalIndex.is_weak`), and a weak one says so in `evidence["weak"]`."""
    texts = [t for _, t in segs]
    strong = next((h for h in hits[:8] if not lex.is_weak(h, texts)), None)
    best = strong or hits[0]
    hits = [best] + [h for h in hits if h is not best]
    e = lex.entries[best.entry]
    ev = lex.evidence(segs, best)
    ev["shared_ngrams"] = best.shared
    ev["item_ngrams"] = int(lex.long_size[best.entry] if best.exact else lex.size[best.entry])
    ev["field"] = e.field
    if best.exact:
        ev["rule"] = "exact normalised match (short item)"
    if strong is None:
        ev["weak"] = (
            f"{best.shared} informative n-grams (< {lex.weak_min}) and no segment is the whole item: "
            "with --judge the judge decides, without one it is dropped"
        )
    others = sorted({lex.entries[h.entry].item_id for h in hits[1:]} - {e.item_id})
    if others:
        ev["also"] = others[:5]
    return Flag(
        rid,
        "contamination",
        benchmark=e.benchmark,
        item_id=e.item_id,
        method=lex.method.name,
        score=best.score,
        evidence=ev,
        line=line,
    )
