"""Known benchmark test splits. Traces generated from one are removed again by `rft validate`
(decontamination), and a model trained on them makes results on that benchmark meaningless; so
`rft generate` refuses them without `--allow-test-split` (looking at one with `rft problems preview`
is fine).

A source is recognised by its Hub id and split, or, for a local file, by its bytes (the sha256 of
the public test files, gzipped or not, as listed in ../shared/benchmarks/SOURCES.md). Both come from
the benchmark registry (`rft.benchmarks`), read on every question.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from rft import benchmarks
from rft.benchmarks import BenchmarkSpec
from rft.problems.spec import SourceSpec

WHY = (
    "`rft validate` removes traces of it again (decontamination), and training on them makes "
    "results on that benchmark meaningless"
)


@dataclass(frozen=True)
class KnownHub:
    """A benchmark's Hub dataset, as the registry describes it: which of its splits are test data."""

    benchmark: str
    test_splits: tuple[str, ...] = ("test",)
    test_is: str | None = None  # how to name the test split, when "the <benchmark> test split" is not it

    @classmethod
    def of(cls, spec: BenchmarkSpec) -> KnownHub:
        return cls(spec.known_as, (spec.test_split,), spec.test_is)

    def describe_test(self) -> str:
        return self.test_is or f"the {self.benchmark} test split"


def known_hub(hub_id: str) -> KnownHub | None:
    """The known benchmark dataset `hub_id` is (a registry Hub id or alias, any case), else None."""
    spec = benchmarks.of_hub_id(hub_id)
    return KnownHub.of(spec) if spec else None


class KnownFile(NamedTuple):
    """A known benchmark file: whose it is, what it is (for messages) and the split it holds."""

    benchmark: str
    what: str
    split: str | None = "test"  # None: the file holds several splits


def known_files() -> dict[str, KnownFile]:
    """sha256 -> the registry's benchmark file with those bytes (gzipped or not)."""
    return {
        digest: KnownFile(spec.known_as, f.what or spec.test_description, f.split)
        for spec in benchmarks.REGISTRY.values()
        for f in spec.files
        for digest in f.sha256
    }


def instead(benchmark: str) -> str:
    """What to generate from instead of `benchmark`'s test split (a `known_as` name)."""
    spec = benchmarks.of_family(benchmark)
    return spec.generate_instead if spec else "generate from a train split instead"


@dataclass(frozen=True)
class BenchmarkTestSplit:
    """A source found to be a known benchmark's test data."""

    subject: str  # the source as the user gave it (Hub label or file path)
    benchmark: str
    what: str

    def refusal(self) -> str:
        return (
            f"--problems: {self.subject} is {self.what}; {WHY}; {instead(self.benchmark)}, "
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
    spec = benchmarks.of_hub_id(hub_id)
    if spec is None:
        return "train"
    return spec.train_split or spec.test_split


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
    known = known_files()
    return next((known[d] for d in _file_digests(spec) if d in known), None)


def known_test_split(spec: SourceSpec) -> BenchmarkTestSplit | None:
    """What `spec` is when it is a known benchmark's test data, else None."""
    if spec.kind == "hub":
        known = known_hub(spec.name)
        if known and spec.split and any(s in known.test_splits for s in _split_names(spec.split)):
            from rft.problems.hub import hub_label

            return BenchmarkTestSplit(hub_label(spec), known.benchmark, known.describe_test())
        return None
    if spec.kind == "file":
        known_file = known_file_of(spec)
        if known_file is not None:
            return BenchmarkTestSplit(str(spec.path), known_file.benchmark, known_file.what)
    return None
