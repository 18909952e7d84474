"""The benchmark registry is the one list: every consumer derives from it."""

from pathlib import Path

from rft import benchmarks
from rft.problems import load_benchmark
from rft.validate import benchmarks as vb
from rft.validate.testdata import _names

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


def test_consumers_list_the_registry():
    groups = set(benchmarks.groups())
    assert set(vb.names()) == groups == set(vb.parse_benchmarks(None)) == set(_names())
    assert {s.name for g in groups for s in vb.specs_of(g)} == set(benchmarks.REGISTRY)
    assert _names() == {
        "gsm8k": "GSM8K",
        "math": "MATH",
        "humaneval": "HumanEval",
        "mbpp": "MBPP",
        "arc": "ARC",
    }


def test_load_benchmark_from_a_local_dir_given_only_its_spec():
    root = SHARED if SHARED.is_dir() else Path("/work/shared/benchmarks")
    for name in ("gsm8k", "arc"):
        problems = load_benchmark(name, benchmark_dir=root)
        assert problems and all(p.question for p in problems)
