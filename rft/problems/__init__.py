"""Problem sources: local files, Hugging Face Hub datasets, presets of known benchmarks, the built-in demo."""

from rft.problems.benchmark import load_benchmark
from rft.problems.loader import load_problem_set, load_problems, source_fingerprint
from rft.problems.parse import parse_source
from rft.problems.presets import PRESETS, Preset, get_preset
from rft.problems.problemset import ProblemSet
from rft.problems.select import parse_shard, select
from rft.problems.spec import SourceSpec

__all__ = [
    "PRESETS",
    "Preset",
    "ProblemSet",
    "SourceSpec",
    "get_preset",
    "load_benchmark",
    "load_problem_set",
    "load_problems",
    "parse_shard",
    "parse_source",
    "select",
    "source_fingerprint",
]
