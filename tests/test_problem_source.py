"""A problem's `source` on the real benchmark files: the file's name without the machine's folders,
the split, the preset and the benchmark; problem ids unchanged by where the file lies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_search import SCRIPT
from test_search_support import ScriptedTeacher

from rft.generate.config import GenerateConfig
from rft.generate.runner import GenerateRun
from rft.problems import load_problems
from rft.problems.origin import split_in_name
from rft.schemas import problem_id_for
from rft.store import Store
from rft.store.card import DATA_FILE

# (file under ../shared/benchmarks, preset, split recorded, benchmark recorded)
FILES = [
    ("gsm8k/train.jsonl", "gsm8k", "train", None),  # not a known test file: the split is its name's
    ("gsm8k/test.jsonl", "gsm8k", "test", "GSM8K"),
    ("math500/test.jsonl", "math", "test", "MATH-500"),
    ("math/test.jsonl", "math", "test", "MATH"),
    ("humaneval/HumanEval.jsonl.gz", "humaneval", "test", "HumanEval"),
    ("mbpp/mbpp.jsonl", "mbpp", None, "MBPP"),  # the full MBPP holds every split
    ("mbpp/test_11_510.jsonl", "mbpp", "test", "MBPP"),
    ("arc_challenge/arc_challenge.jsonl", "arc", "test", "ARC"),
]


@pytest.mark.parametrize(("rel", "preset", "split", "benchmark"), FILES, ids=[f[0] for f in FILES])
def test_file_source_keeps_name_split_preset_and_benchmark(bench_dir, rel, preset, split, benchmark):
    path = (bench_dir / rel).resolve()
    problems = load_problems(str(path), preset=preset)
    assert problems
    root = str(bench_dir.resolve())
    for p in problems:
        assert root not in p.source.model_dump_json() and root not in p.model_dump_json()
    expected = {
        "kind": "file",
        "name": path.name,
        "split": split,
        "config": None,
        "preset": preset,
        "benchmark": benchmark,
    }
    assert all(p.source.model_dump(exclude={"row"}) == expected for p in problems), problems[0].source
    assert [p.source.row for p in problems] == list(range(len(problems)))


def test_ids_do_not_depend_on_where_the_file_is(bench_dir, tmp_path, monkeypatch):
    """The same file by absolute path, by relative path and copied elsewhere: same ids, same source."""
    original = bench_dir / "gsm8k/test.jsonl"
    copy = tmp_path / "elsewhere" / "test.jsonl"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    monkeypatch.chdir(tmp_path)
    loads = [
        load_problems(str(original.resolve()), preset="gsm8k", limit=50),
        load_problems(str(copy), preset="gsm8k", limit=50),
        load_problems("elsewhere/test.jsonl", preset="gsm8k", limit=50),
    ]
    assert [p.id for p in loads[0]] == [problem_id_for(p.question) for p in loads[0]]
    for other in loads[1:]:
        assert [p.model_dump() for p in other] == [p.model_dump() for p in loads[0]]


def test_builtin_demo_source():
    p = load_problems("demo:3:1")[0]
    assert p.source.model_dump() == {
        "kind": "builtin",
        "name": "demo:3:1",
        "split": None,
        "config": None,
        "preset": None,
        "benchmark": None,
        "row": 0,
    }


def test_hub_source_keeps_id_config_split_preset_and_benchmark(bench_dir, tmp_path, monkeypatch):
    """`hf:openai/gsm8k --preset gsm8k` (here a local copy of the dataset folder, loaded offline by
    `datasets` with its `main` config): Hub id, config, split, preset and benchmark are recorded."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    folder = tmp_path / "openai" / "gsm8k"
    (folder / "main").mkdir(parents=True)
    lines = (bench_dir / "gsm8k/train.jsonl").read_text().splitlines()[:3]
    (folder / "main" / "train.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: main\n  data_files:\n  - split: train\n    path: main/train.jsonl\n---\n"
    )
    monkeypatch.chdir(tmp_path)
    problems = load_problems("hf:openai/gsm8k", preset="gsm8k")
    assert [p.source.model_dump() for p in problems] == [
        {
            "kind": "hub",
            "name": "openai/gsm8k",
            "split": "train",
            "config": "main",
            "preset": "gsm8k",
            "benchmark": "GSM8K",
            "row": i,
        }
        for i in range(3)
    ]
    assert all(str(tmp_path) not in p.model_dump_json() for p in problems)


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("train.jsonl", "train"),
        ("gsm8k_test.jsonl", "test"),
        ("test_11_510.jsonl", "test"),
        ("dev-v2.csv", "validation"),
        ("MyData.Validation.parquet", "validation"),
        ("problems.jsonl", None),
        ("contest.jsonl", None),  # a keyword inside a word is not a split
        ("train_and_test.jsonl", None),  # two splits: none recorded
    ],
)
def test_split_from_the_file_name(name, split):
    assert split_in_name(Path("/somewhere/test") / name) == split


def test_generated_records_hold_no_absolute_path(bench_dir, tmp_path):
    """End to end: `rft generate --problems /abs/.../gsm8k/train.jsonl --preset gsm8k` seals records
    whose text never contains the benchmark folder, and whose source says file, split and preset."""
    path = (bench_dir / "gsm8k/train.jsonl").resolve()
    cfg = GenerateConfig(
        problems=str(path),
        preset="gsm8k",
        limit=2,
        name="abs",
        out=str(tmp_path / "out"),
        concurrency=1,
        validator="answer",
    )
    GenerateRun(cfg, ["rft", "generate"], teacher=ScriptedTeacher(SCRIPT), progress=False).execute()
    version = Store(tmp_path / "out").load_version("abs")
    records_text = (version.path / DATA_FILE).read_text(encoding="utf-8")
    assert records_text and str(path.parent) not in records_text and str(bench_dir) not in records_text
    assert len(version.records) == 2
    for r in version.records:
        assert (r.problem.source.name, r.problem.source.split, r.problem.source.preset) == (
            "train.jsonl",
            "train",
            "gsm8k",
        )
        assert json.loads(r.model_dump_json())["problem"]["source"]["kind"] == "file"
