"""Known benchmark test splits. Traces generated from one are removed again by `rft validate`
(decontamination), and a model trained on them makes results on that benchmark meaningless; so
`rft generate` refuses them without `--allow-test-split` (looking at one with `rft problems preview`
is fine).

A source is recognised by its Hub id and split, or, for a local file, by its bytes (the sha256 of
the public test files, gzipped or not, as listed in ../shared/benchmarks/SOURCES.md).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from rft.problems.spec import SourceSpec


@dataclass(frozen=True)
class KnownHub:
    """A benchmark's Hub dataset: its splits and which of them are test data."""

    benchmark: str
    splits: tuple[str, ...]
    test_splits: tuple[str, ...] = ("test",)
    test_is: str | None = None  # how to name the test split, when "the <benchmark> test split" is not it

    def describe_test(self) -> str:
        return self.test_is or f"the {self.benchmark} test split"


_GSM8K = KnownHub("GSM8K", ("train", "test"))
_MATH = KnownHub("MATH", ("train", "test"))
_HUMANEVAL = KnownHub("HumanEval", ("test",))
_MBPP = KnownHub("MBPP", ("train", "validation", "test", "prompt"))
_ARC = KnownHub("ARC", ("train", "validation", "test"))

WHY = (
    "`rft validate` removes traces of it again (decontamination), and training on them makes "
    "results on that benchmark meaningless"
)

# Hub ids (lower case) of the benchmarks' datasets, aliases included.
KNOWN_HUB: dict[str, KnownHub] = {
    "openai/gsm8k": _GSM8K,
    "gsm8k": _GSM8K,
    "huggingfaceh4/math-500": KnownHub(
        "MATH-500", ("test",), test_is="MATH-500, a subset of the MATH test split"
    ),
    "hendrycks/competition_math": _MATH,
    "eleutherai/hendrycks_math": _MATH,
    "digitallearninggmbh/math-lighteval": _MATH,
    "openai/openai_humaneval": _HUMANEVAL,
    "openai_humaneval": _HUMANEVAL,
    "google-research-datasets/mbpp": _MBPP,
    "mbpp": _MBPP,
    "allenai/ai2_arc": _ARC,
    "ai2_arc": _ARC,
}

# sha256 of the public test files (and of their decompressed bytes where they ship gzipped).


class KnownFile(NamedTuple):
    """A known benchmark file: whose it is, what it is (for messages) and the split it holds."""

    benchmark: str
    what: str
    split: str | None = "test"  # None: the file holds several splits


_HUMANEVAL_FILE = KnownFile("HumanEval", _HUMANEVAL.describe_test())
KNOWN_FILES: dict[str, KnownFile] = {
    "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14": KnownFile(
        "GSM8K", "the GSM8K test split"
    ),
    "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132": KnownFile(
        "MATH-500", "MATH-500, a subset of the MATH test split"
    ),
    "3371949f33dd702d04b43fddd7d53a028de0aaca0e76abb1b875a050297b3aa4": KnownFile(
        "MATH", "the MATH test split"
    ),
    "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef": _HUMANEVAL_FILE,
    "1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2": _HUMANEVAL_FILE,
    "9bcaa67d5c2943e95eb9d9127e844f0551a77ac910c664aa45a4ebd75d239bd9": KnownFile(
        "MBPP", "the MBPP test split"
    ),
    "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f": KnownFile(
        "MBPP", "the full MBPP, which contains the MBPP test split (task_id 11-510)", split=None
    ),
    "1ae3aeedf1951d881cbd5c2e3a31e78a1993d251479afbe4cb413b6707244636": KnownFile(
        "ARC", "the ARC-Challenge test split"
    ),
}

# What to generate from instead.
INSTEAD = {
    "GSM8K": "use its train split (--problems gsm8k)",
    "MATH": "use its train split (--problems math)",
    "MATH-500": "use the MATH train split (--problems math)",
    "HumanEval": "HumanEval has only a test split: for code, use MBPP's train split (--problems mbpp)",
    "MBPP": "use its train split (--problems mbpp)",
    "ARC": "use its train split (--problems arc)",
}


@dataclass(frozen=True)
class BenchmarkTestSplit:
    """A source found to be a known benchmark's test data."""

    subject: str  # the source as the user gave it (Hub label or file path)
    benchmark: str
    what: str

    def refusal(self) -> str:
        return (
            f"--problems: {self.subject} is {self.what}; {WHY}; {INSTEAD[self.benchmark]}, "
            "or pass --allow-test-split to generate from it anyway"
        )

    def warning(self) -> str:
        return f"warning: generating from {self.what} ({self.subject}) as --allow-test-split asks: {WHY}"

    def preview_note(self) -> str:
        return (
            f"note: {self.subject} is {self.what}; fine to look at, but `rft generate` needs "
            "--allow-test-split to use it (decontamination would remove its items)"
        )


def default_split(hub_id: str) -> str:
    """The split of `hf:<hub_id>` without `@split`: train where the dataset has one (a known
    benchmark's only split otherwise, e.g. HumanEval's test)."""
    known = KNOWN_HUB.get(hub_id.lower())
    if known is None or "train" in known.splits:
        return "train"
    return known.splits[0]


def _split_names(split: str) -> list[str]:
    """`test`, `test[:100]`, `train+test` -> the split names they read."""
    return [part.split("[", 1)[0].strip() for part in re.split(r"\+", split)]


MAX_KNOWN_BYTES = 64 << 20  # every known test file is far smaller: larger files are not hashed


def _file_digests(spec: SourceSpec) -> frozenset[str]:
    try:
        st = spec.path.stat()
    except OSError:
        return frozenset()  # the loader reports an unreadable file
    if st.st_size > MAX_KNOWN_BYTES:
        return frozenset()
    return _digests_of(str(spec.path.absolute()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _digests_of(path: str, size: int, mtime_ns: int) -> frozenset[str]:
    """sha256 of a file's bytes (and of them decompressed, for .gz), once per file version: the
    test-split gate and the problem source both ask."""
    del size, mtime_ns  # part of the cache key: a changed file is hashed again
    try:
        data = Path(path).read_bytes()
    except OSError:
        return frozenset()
    digests = {hashlib.sha256(data).hexdigest()}
    if path.lower().endswith(".gz"):
        try:
            digests.add(hashlib.sha256(gzip.decompress(data)).hexdigest())
        except (OSError, EOFError):
            pass
    return frozenset(digests)


def known_file_of(spec: SourceSpec) -> KnownFile | None:
    """The known benchmark file `spec` is (by its bytes, gzipped or not), else None."""
    return next((KNOWN_FILES[d] for d in _file_digests(spec) if d in KNOWN_FILES), None)


def known_test_split(spec: SourceSpec) -> BenchmarkTestSplit | None:
    """What `spec` is when it is a known benchmark's test data, else None."""
    if spec.kind == "hub":
        known = KNOWN_HUB.get(spec.name.lower())
        if known and spec.split and any(s in known.test_splits for s in _split_names(spec.split)):
            from rft.problems.hub import hub_label

            return BenchmarkTestSplit(hub_label(spec), known.benchmark, known.describe_test())
        return None
    if spec.kind == "file":
        known_file = known_file_of(spec)
        if known_file is not None:
            return BenchmarkTestSplit(str(spec.path), known_file.benchmark, known_file.what)
    return None


CONTENT_SAMPLE = 20  # problems checked against the shipped fingerprints


def _names() -> dict[str, str]:
    """Decontamination list -> the name messages use (from the registry: MATH, ARC for ARC-Challenge)."""
    from rft.benchmarks import REGISTRY

    return {s.group: REGISTRY[s.group].title.split("-")[0] for s in REGISTRY.values()}


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
        from rft.validate import fingerprints
        from rft.validate.benchmarks import BENCHMARKS
        from rft.validate.decontam import METHODS, LexicalIndex

        if not fingerprints.available():
            return None
        shipped = fingerprints.load(list(BENCHMARKS))
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
