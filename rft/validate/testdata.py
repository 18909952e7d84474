"""Is a problem source a benchmark's test data, judged by its content? For sources not known by Hub
id or bytes (`rft.problems.testsplits`): a sample of their questions against the shipped
fingerprints of the benchmark test sets, with the lexical index decontamination uses."""

from __future__ import annotations

from rft.benchmarks import REGISTRY
from rft.problems.testsplits import BenchmarkTestSplit
from rft.validate import fingerprints
from rft.validate.benchmarks import names
from rft.validate.decontam import METHODS, LexicalIndex

CONTENT_SAMPLE = 20  # problems checked against the shipped fingerprints


def _names() -> dict[str, str]:
    """Decontamination list -> the name messages use (the registry's `known_as`: MATH, ARC)."""
    return {s.group: REGISTRY[s.group].known_as for s in REGISTRY.values()}


def test_items_in(subject: str, questions: list[str]) -> BenchmarkTestSplit | None:
    """Best effort, for sources not known by id or bytes (a subset, a re-serialised copy, a Hub
    re-upload): up to CONTENT_SAMPLE questions, spread over the selection, are matched against the
    shipped fingerprints of the benchmark test sets (the lexical index `rft validate` uses; about
    2 s). When at least half of them (and two or more) are test items, the source is that benchmark's test data.
    Fingerprints that cannot be used skip the check (the exact checks above still apply)."""
    if not questions:
        return None
    step = max(1, len(questions) // CONTENT_SAMPLE)
    sample = questions[::step][:CONTENT_SAMPLE]
    try:
        if not fingerprints.available():
            return None
        shipped = fingerprints.load(names())
        items = [it for it in shipped.items if it.entry.field == "question"]
        index = LexicalIndex(METHODS["containment"], items, bits=fingerprints.GRAM_BITS)
        hits = index.score([[q] for q in sample])
        found = [index.entries[row[0].entry] for row in hits if row]
    except Exception:  # noqa: BLE001 - a safety net that cannot run must not stop generation
        return None
    if len(found) < 2 or 2 * len(found) < len(sample):  # one look-alike problem is not a test set
        return None
    by_benchmark: dict[str, int] = {}
    for entry in found:
        by_benchmark[entry.benchmark] = by_benchmark.get(entry.benchmark, 0) + 1
    top = max(by_benchmark, key=lambda b: by_benchmark[b])
    example = next(e.item_id for e in found if e.benchmark == top)
    name = _names().get(top, top)
    what = (
        f"{name} test data ({len(found)} of the {len(sample)} problems checked are {name} test "
        f"items, e.g. {example})"
    )
    return BenchmarkTestSplit(subject, name, what)
