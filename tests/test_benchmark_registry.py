"""The benchmark registry is the one list: every consumer derives from it."""

import hashlib
import json
from pathlib import Path

import pytest
from cli_helpers import run_cli, wide_console  # noqa: F401 - wide_console is an autouse fixture

from rft import benchmarks
from rft.problems import PRESETS, load_benchmark, load_problems, parse_source
from rft.problems.testsplits import known_test_split
from rft.validate import benchmarks as vb
from rft.validate.config import ValidateConfig
from rft.validate.index import build_index
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


# --- adding a benchmark is adding one entry --------------------------------------------------------

TOY_ROWS = [
    {
        "question": f"A lighthouse keeper climbs {n} flights of {n + 7} steps each night to wind the lamp "
        f"of the old harbour tower; how many steps does he climb in {n + 2} nights?",
        "answer": f"He climbs {n * (n + 7)} steps a night.\n#### {n * (n + 7) * (n + 2)}",
    }
    for n in range(3, 9)
]


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """One new registry entry (a benchmark read by the gsm8k preset) and its test file in a folder
    laid out like ../shared/benchmarks; nothing else is told about it."""
    root = tmp_path / "bench"
    (root / "toy").mkdir(parents=True)
    file = root / "toy" / "test.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in TOY_ROWS))
    spec = benchmarks.BenchmarkSpec(
        name="toy",
        title="Toy",
        hub_id="example-org/toy-math",
        hub_config=None,
        test_split="test",
        train_split="train",
        files=(benchmarks.LocalFile("toy/test.jsonl", (hashlib.sha256(file.read_bytes()).hexdigest(),)),),
        domain="math",
        fields=("question", "solution"),
        preset="gsm8k",
        grader="numeric",
        hub_aliases=("toy-math",),
    )
    monkeypatch.setitem(benchmarks.REGISTRY, "toy", spec)
    return root


def test_a_new_entry_is_seen_by_the_gate_presets_decontamination_and_the_loader(toy, tmp_path, capsys):
    # the test-split gate: by its bytes wherever the file lies, and by its Hub ids
    copy = tmp_path / "elsewhere.jsonl"
    copy.write_bytes((toy / "toy" / "test.jsonl").read_bytes())
    found = known_test_split(parse_source(str(copy)))
    assert found is not None and (found.benchmark, found.what) == ("Toy", "the Toy test split")
    assert "use its train split (--problems hf:example-org/toy-math@train)" in found.refusal()
    for source in ("hf:example-org/toy-math@test", "hf:Toy-Math@test"):
        assert known_test_split(parse_source(source)).benchmark == "Toy"
    assert known_test_split(parse_source("hf:example-org/toy-math")) is None  # default: its train split
    code, _, err = run_cli(
        capsys, "generate", "--dry-run", "--out", str(tmp_path / "o"), "--problems", str(copy)
    )
    assert code == 2 and "the Toy test split" in err and "--allow-test-split" in err, err
    # the problem source records the benchmark; the preset reads its Hub ids
    assert load_problems(str(copy), preset="gsm8k")[0].source.benchmark == "Toy"
    assert {"example-org/toy-math", "toy-math"} <= set(PRESETS["gsm8k"].hub_aliases)
    assert parse_source("hf:example-org/toy-math").preset == "gsm8k"
    # decontamination: listed, loaded from the shared layout, and indexed
    assert "toy" in vb.parse_benchmarks(None) and vb.parse_benchmarks("toy") == ["toy"]
    cfg = ValidateConfig(benchmarks="toy", benchmark_dir=toy, hub=False)
    index = build_index(cfg)
    assert index.sources["toy"].kind == "dir" and len(index.sources["toy"].items) == len(TOY_ROWS)
    [hits] = index.lexical.score([[f"Here is one: {TOY_ROWS[2]['question']}"]])
    assert hits and index.lexical.entries[hits[0].entry].benchmark == "toy"
    # the loader: from the folder and from the file
    problems = load_benchmark("toy", benchmark_dir=toy)
    assert [p.answer for p in problems] == [r["answer"].rsplit("#### ", 1)[1] for r in TOY_ROWS]
    assert len(load_benchmark("toy", path=copy)) == len(TOY_ROWS)
