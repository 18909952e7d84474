"""What a problem's `source` records: the file's name without the machine's directories, the split,
the preset that mapped the rows and the known benchmark the data is."""

from __future__ import annotations

import re
from pathlib import Path

from rft.problems.spec import SourceSpec
from rft.problems.testsplits import known_file_of, known_hub
from rft.schemas import ProblemSource

# Split names in file names, as Hugging Face `datasets` reads them (datasets.data_files.SPLIT_KEYWORDS):
# a keyword between non-letters, e.g. `train.jsonl`, `gsm8k_test.jsonl`, `test_11_510.jsonl`.
SPLIT_KEYWORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
_NON_LETTERS = re.compile(r"[^a-z]+")


def split_in_name(path: Path) -> str | None:
    """The split a file's name says (not its folders'), or None when it names none or several."""
    words = set(_NON_LETTERS.split(path.name.lower()))
    found = [split for split, keywords in SPLIT_KEYWORDS.items() if words.intersection(keywords)]
    return found[0] if len(found) == 1 else None


def source_of(spec: SourceSpec, preset: str | None) -> ProblemSource:
    """The `source` shared by every row of `spec` (the row index is set per problem)."""
    if spec.kind == "file":
        known = known_file_of(spec)  # the bytes of a known benchmark file say what it holds
        split = known.split if known else split_in_name(spec.path)
        benchmark = known.benchmark if known else None
        return ProblemSource(
            kind="file", name=spec.path.name, split=split, preset=preset, benchmark=benchmark
        )
    if spec.kind == "hub":
        hub = known_hub(spec.name)
        return ProblemSource(
            kind="hub",
            name=spec.name,
            split=spec.split,
            config=spec.config,
            preset=preset,
            benchmark=hub.benchmark if hub else None,
        )
    return ProblemSource(kind="builtin", name=f"demo:{spec.size}:{spec.seed}", preset=preset)
