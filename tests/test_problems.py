"""Problem sources on the real benchmark files: presets, mapping, selection, ids, demo, bad input."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import pytest

from rft.errors import ConfigError, InputError, RftError
from rft.problems import (
    PRESETS,
    load_problems,
    parse_shard,
    parse_source,
    source_fingerprint,
)
from rft.schemas import Domain, problem_id_for
from rft.verify.answers import gsm8k_answer, last_boxed

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(scope="module")
def gsm8k(bench_dir: Path):
    return load_problems(str(bench_dir / "gsm8k/test.jsonl"), preset="gsm8k")


# --- presets on the real files ----------------------------------------------------------------


def test_gsm8k_test_gives_1319_numeric_answers(gsm8k, bench_dir):
    assert len(gsm8k) == 1319
    assert all(NUMBER.match(p.answer) for p in gsm8k), [p.answer for p in gsm8k if not NUMBER.match(p.answer)]
    first = gsm8k[0]
    assert first.question.startswith("Janet")
    assert first.answer == "18"
    assert "####" not in first.solution and "16 - 3 - 4" in first.solution
    assert first.source.kind == "file" and first.source.row == 0
    assert first.source.name == "test.jsonl"  # the file's name, not the machine's directories
    assert first.id == problem_id_for(first.question)  # GSM8K has no ids: stable question hash
    assert len({p.id for p in gsm8k}) == 1319


def test_gsm8k_strips_thousands_separators(bench_dir):
    train = load_problems(str(bench_dir / "gsm8k/train.jsonl"), preset="gsm8k")
    assert len(train) == 7473
    raw = [
        json.loads(line)["answer"].rpartition("####")[2].strip()
        for line in open(bench_dir / "gsm8k/train.jsonl")
    ]
    with_commas = [i for i, a in enumerate(raw) if "," in a]
    assert with_commas, "the real file has answers like 1,000"
    for i in with_commas:
        assert train[i].answer == raw[i].replace(",", "")
        assert NUMBER.match(train[i].answer)


def test_math500_answers_agree_with_boxed_extraction(bench_dir):
    problems = load_problems(str(bench_dir / "math500/test.jsonl"), preset="math")
    assert len(problems) == 500
    assert all(p.answer and p.answer.strip() for p in problems)
    agree = sum(last_boxed(p.solution) == p.answer for p in problems)
    assert agree >= 495, agree
    p = problems[0]
    assert p.id == "math-test/precalculus/807.json"
    assert p.metadata == {"subject": "Precalculus", "level": 2, "unique_id": "test/precalculus/807.json"}
    assert p.domain is Domain.math


def test_math_full_test_extracts_nested_boxed_answers(bench_dir):
    problems = load_problems(str(bench_dir / "math/test.jsonl"), preset="math")
    assert len(problems) == 5000
    assert all(p.answer for p in problems)
    nested = [p.answer for p in problems if "{" in p.answer]
    assert len(nested) > 500
    for answer in nested:  # balanced braces: nothing cut in the middle of a \frac{..}{..}
        assert answer.count("{") == answer.count("}"), answer
    assert problems[0].id == "math-0" and problems[0].answer == "2"
    assert problems[0].metadata["subject"] == "Algebra"


def test_humaneval_164_with_tests_and_entry_points(bench_dir):
    problems = load_problems(str(bench_dir / "humaneval/HumanEval.jsonl.gz"), preset="humaneval")
    assert len(problems) == 164
    for p in problems:
        assert p.domain is Domain.code
        assert len(p.tests) == 1 and "def check(candidate)" in p.tests[0]
        assert p.entry_point and f"def {p.entry_point}" in p.question
        assert p.solution
    assert problems[0].id == "humaneval-HumanEval/0"


def test_mbpp_500_with_test_lists(bench_dir):
    problems = load_problems(str(bench_dir / "mbpp/test_11_510.jsonl"), preset="mbpp")
    assert len(problems) == 500
    assert [p.id for p in problems[:2]] == ["mbpp-11", "mbpp-12"]
    for p in problems:
        assert p.domain is Domain.code
        assert p.tests and all(t.strip().startswith("assert") for t in p.tests)
        assert p.solution
        assert p.entry_point and f"def {p.entry_point}" in p.solution, (p.id, p.entry_point)
    with_setup = [p for p in problems if "test_setup_code" in p.metadata]
    assert all(p.metadata["test_setup_code"].strip() for p in with_setup)


def test_arc_1172_lettered_choices(bench_dir):
    problems = load_problems(str(bench_dir / "arc_challenge/arc_challenge.jsonl"), preset="arc")
    assert len(problems) == 1172
    p = problems[0]
    assert p.domain is Domain.text
    assert p.answer == "C"
    assert not p.question.startswith("Question:")
    assert "\nC. Planetary days will become shorter." in p.question
    assert all(p.answer in p.metadata["labels"] for p in problems)


def test_arc_hub_format(tmp_path):
    row = {
        "id": "Mercury_7175875",
        "question": "Which is a gas?",
        "choices": {"text": ["ice", "steam", "rock"], "label": ["A", "B", "C"]},
        "answerKey": "B",
    }
    path = tmp_path / "arc.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (p,) = load_problems(str(path), preset="arc")
    assert p.id == "arc-Mercury_7175875"
    assert p.answer == "B"
    assert p.question == "Which is a gas?\n\nA. ice\nB. steam\nC. rock"


# --- answer extraction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"first \boxed{1} then \boxed{\sqrt{\frac{a}{b}}}", r"\sqrt{\frac{a}{b}}"),
        (r"\fbox{42}", "42"),
        (r"$\boxed 5$", "5"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{ }  and \boxed{7}", "7"),
        ("no box here", None),
        (r"\boxed{unclosed", None),
        (None, None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_gsm8k_answer_split():
    assert gsm8k_answer("3 + 4 = 7\n#### 1,007") == ("3 + 4 = 7", "1007")
    assert gsm8k_answer("no marker") is None
    assert gsm8k_answer("x\n####   ") is None


# --- local formats and field mapping ------------------------------------------------------------

ROWS = [
    {"problem": "What is 2 + 3?", "solution": "5", "topic": "add"},
    {"problem": "What is 4 * 6?", "solution": "24", "topic": "mul"},
    {"problem": "What is 9 - 1?", "solution": "8", "topic": "sub"},
]
MAPPING = {"question": "problem", "answer": "solution"}


def _write(tmp_path: Path, fmt: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"rows.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif fmt == "jsonl.gz":
        path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in ROWS).encode()))
    elif fmt == "json":
        path.write_text(json.dumps(ROWS))
    elif fmt == "data.json":
        path = tmp_path / "rows.json"
        path.write_text(json.dumps({"data": ROWS}))
    elif fmt == "csv":
        path.write_text(
            "problem,solution,topic\n"
            + "".join(f'"{r["problem"]}",{r["solution"]},{r["topic"]}\n' for r in ROWS)
        )
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "json", "data.json", "csv", "parquet"])
def test_local_formats_round_trip_with_field_mapping(tmp_path, fmt):
    path = _write(tmp_path, fmt)
    problems = load_problems(str(path), fields=MAPPING)
    assert [(p.question, p.answer) for p in problems] == [(r["problem"], r["solution"]) for r in ROWS]
    assert [p.id for p in problems] == [problem_id_for(r["problem"]) for r in ROWS]
    assert [p.source.row for p in problems] == [0, 1, 2]
    assert all(p.source.kind == "file" and p.source.name == path.name for p in problems)


def test_generic_columns_and_own_ids(tmp_path):
    path = tmp_path / "p.jsonl"
    rows = [
        {"id": "a1", "question": "Q1?", "answer": 7, "domain": "math"},
        {
            "id": "c1",
            "question": "Write f.",
            "tests": ["assert f() == 1"],
            "entry_point": "f",
            "domain": "code",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, c = load_problems(str(path))
    assert (a.id, a.answer, a.domain) == ("a1", "7", Domain.math)
    assert (c.id, c.tests, c.entry_point, c.domain) == ("c1", ["assert f() == 1"], "f", Domain.code)


def test_field_mapping_on_top_of_a_preset(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text(
        json.dumps({"q": "Tom has 2 apples and buys 1,000 more. How many?", "a": "2 + 1000\n#### 1,002"})
        + "\n"
    )
    (p,) = load_problems(str(path), preset="gsm8k", fields={"question": "q", "answer": "a"})
    assert p.answer == "1002" and p.solution == "2 + 1000"


def test_duplicate_ids_get_deterministic_suffixes(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"id": "x", "question": "A?"}, {"id": "x", "question": "B?"}, {"id": "x-2", "question": "C?"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ids = [p.id for p in load_problems(str(path))]
    assert len(set(ids)) == 3 and ids[0] == "x" and ids[2] == "x-2"
    assert ids == [p.id for p in load_problems(str(path))]
    shuffled = {p.question: p.id for p in load_problems(str(path), shuffle=True, seed=3)}
    assert shuffled == {p.question: p.id for p in load_problems(str(path))}


# --- selection: shuffle -> shard -> limit ----------------------------------------------------------


def test_shards_are_disjoint_and_cover_everything(gsm8k, bench_dir):
    src = str(bench_dir / "gsm8k/test.jsonl")
    for shuffle in (False, True):
        parts = [load_problems(src, preset="gsm8k", shard=(i, 4), shuffle=shuffle, seed=7) for i in range(4)]
        ids = [p.id for part in parts for p in part]
        assert len(ids) == len(set(ids)) == 1319
        assert set(ids) == {p.id for p in gsm8k}
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_ids_stable_across_loads_and_shuffle(gsm8k, bench_dir):
    src = str(bench_dir / "gsm8k/test.jsonl")
    again = load_problems(src, preset="gsm8k")
    assert [p.id for p in again] == [p.id for p in gsm8k]
    shuffled = load_problems(src, preset="gsm8k", shuffle=True, seed=1)
    assert [p.id for p in shuffled] != [p.id for p in gsm8k]
    by_question = {p.question: p.id for p in gsm8k}
    assert all(by_question[p.question] == p.id for p in shuffled)
    assert [p.id for p in load_problems(src, preset="gsm8k", shuffle=True, seed=1)] == [
        p.id for p in shuffled
    ]


def test_order_is_shuffle_then_shard_then_limit(gsm8k, bench_dir):
    src = str(bench_dir / "gsm8k/test.jsonl")
    full = load_problems(src, preset="gsm8k", shuffle=True, seed=5)
    cut = load_problems(src, preset="gsm8k", shuffle=True, seed=5, shard=(1, 3), limit=10)
    assert [p.id for p in cut] == [p.id for p in full[1::3][:10]]
    assert [p.id for p in load_problems(src, preset="gsm8k", limit=3)] == [p.id for p in gsm8k[:3]]
    assert load_problems(src, preset="gsm8k", limit=0) == []


def test_parse_shard():
    assert parse_shard("0/4") == (0, 4)
    assert parse_shard(" 3/4 ") == (3, 4)
    for bad in ("4/4", "-1/4", "1/0", "a/b", "1", "1/2/3", ""):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)
    with pytest.raises(ConfigError, match="--shard"):
        load_problems("demo:4", shard=(2, 2))
    with pytest.raises(ConfigError, match="--limit"):
        load_problems("demo:4", limit=-1)


# --- demo -------------------------------------------------------------------------------------


def test_demo_is_deterministic_and_has_gold_answers():
    a = load_problems("demo")
    assert len(a) == 100
    assert [p.model_dump() for p in a] == [p.model_dump() for p in load_problems("demo")]
    assert all(p.answer and NUMBER.match(p.answer) and p.domain is Domain.math for p in a)
    assert len({p.id for p in a}) == 100 and all(p.id.startswith("demo-") for p in a)
    assert {p.metadata["generator"] for p in a} == {"basic_arithmetic", "leg_counting"}
    assert a[0].source.kind == "builtin" and a[0].source.name == "demo:100:0"
    # a smaller demo is a prefix of a larger one; another seed gives other problems
    assert [p.id for p in load_problems("demo:10")] == [p.id for p in a[:10]]
    assert {p.id for p in load_problems("demo:10:1")}.isdisjoint(p.id for p in a[:10])
    assert len(load_problems("demo", limit=20)) == 20


def test_demo_arithmetic_answers_are_correct():
    for p in load_problems("demo:40"):
        if p.metadata["generator"] == "basic_arithmetic":
            expr = re.sub(r"^(What is|Evaluate:|Compute|Calculate|Solve)\s*", "", p.question).rstrip("?.")
            assert re.fullmatch(r"[\d\s+*-]+", expr), p.question
            assert eval(expr) == int(p.answer), p.question  # noqa: S307 - digits and + - * only


# --- sources and fingerprints -------------------------------------------------------------------


def test_parse_source_kinds():
    s = parse_source("hf:openai/gsm8k:main@test")
    assert (s.kind, s.name, s.config, s.split, s.preset) == ("hub", "openai/gsm8k", "main", "test", "gsm8k")
    s = parse_source("hf:someone/data")
    assert (s.kind, s.split, s.preset) == ("hub", "train", None)
    s = parse_source("hf:HuggingFaceH4/MATH-500#abc123")
    assert (s.preset, s.split, s.revision) == ("math", "test", "abc123")
    for name, preset in PRESETS.items():  # a preset's name stands for its train split (if it has one)
        s = parse_source(name)
        train = parse_source(preset.train_source) if preset.train_source else None
        assert (s.kind, s.name, s.config, s.split, s.preset) == (
            "hub",
            train.name if train else preset.hub_id,
            train.config if train else preset.hub_config,
            "train" if train else preset.hub_split,
            name,
        )
    assert parse_source("math").name == "DigitalLearningGmbH/MATH-lighteval"
    assert parse_source("humaneval").split == "test"  # HumanEval has no other split
    assert parse_source("arc").config == "ARC-Challenge"
    assert (parse_source("demo:20:3").size, parse_source("demo:20:3").seed) == (20, 3)
    assert parse_source("some/file.jsonl").kind == "file"
    for bad in ("demo:x", "demo:0", "hf:", "hf:a b", ""):
        with pytest.raises(ConfigError):
            parse_source(bad)


def test_source_fingerprint(tmp_path, bench_dir):
    src = str(bench_dir / "gsm8k/test.jsonl")
    fp = source_fingerprint(src, preset="gsm8k")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", fp)
    assert fp == source_fingerprint(src, preset="gsm8k")
    assert fp != source_fingerprint(src)
    assert fp != source_fingerprint(src, preset="gsm8k", limit=5)
    assert fp != source_fingerprint(src, preset="gsm8k", shard=(0, 2))
    assert source_fingerprint(src, seed=1) == source_fingerprint(
        src, seed=2
    )  # seed only matters when shuffling
    assert source_fingerprint(src, shuffle=True, seed=1) != source_fingerprint(src, shuffle=True, seed=2)
    copy = tmp_path / "test.jsonl"
    copy.write_bytes(Path(src).read_bytes())
    assert source_fingerprint(str(copy), preset="gsm8k") == fp  # bytes, not the path
    copy.write_bytes(Path(src).read_bytes() + b"\n")
    assert source_fingerprint(str(copy), preset="gsm8k") != fp
    assert source_fingerprint("demo") == source_fingerprint("demo:100:0") != source_fingerprint("demo:100:1")
    assert source_fingerprint("gsm8k") == source_fingerprint("hf:openai/gsm8k:main@train")


def test_hub_source_loads_through_datasets(tmp_path, monkeypatch, bench_dir):
    """`hf:` goes through datasets.load_dataset (here a local dataset folder, found offline)."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    folder = tmp_path / "org" / "ds"
    folder.mkdir(parents=True)
    lines = (bench_dir / "gsm8k/test.jsonl").read_text().splitlines()[:4]
    (folder / "test.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    problems = load_problems("hf:org/ds@test", preset="gsm8k")
    assert [p.answer for p in problems] == ["18", "3", "70000", "540"]
    assert problems[0].source.model_dump() == {
        "kind": "hub",
        "name": "org/ds",
        "split": "test",
        "config": None,
        "preset": "gsm8k",
        "benchmark": None,
        "row": 0,
    }


@pytest.mark.parametrize("source", ["hf:openai/gsm8k:main@test", "gsm8k", "hf:nobody/no-such-dataset"])
def test_hub_fails_fast_offline(source):
    start = time.monotonic()
    with pytest.raises(InputError) as exc:
        load_problems(source)
    assert time.monotonic() - start < 15
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("hf:") and "cannot load from the Hugging Face Hub" in message


# --- bad input: one RftError naming the file, line and field -----------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file"):
        load_problems(str(tmp_path / "nope.jsonl"))


def test_unreadable_file(tmp_path):
    import os

    path = tmp_path / "locked.jsonl"
    if os.geteuid() == 0:  # root reads any file despite permissions: use one that fails on read (EIO)
        path.symlink_to("/proc/self/mem")
    else:
        path.write_text('{"question": "x"}\n')
        path.chmod(0)
    try:
        with pytest.raises(InputError, match=r"locked\.jsonl: cannot read \("):
            load_problems(str(path))
    finally:
        if not path.is_symlink():
            path.chmod(0o644)


def test_directory_and_binary_files(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        load_problems(str(tmp_path))
    bad = tmp_path / "bin.jsonl"
    bad.write_bytes(b'{"question": "\xff\xfe"}\n')
    with pytest.raises(InputError, match="bin.jsonl: not UTF-8"):
        load_problems(str(bad))
    gz = tmp_path / "fake.jsonl.gz"
    gz.write_text("not gzip")
    with pytest.raises(InputError, match="fake.jsonl.gz: cannot read"):
        load_problems(str(gz))
    pq = tmp_path / "fake.parquet"
    pq.write_text("not parquet")
    with pytest.raises(InputError, match="fake.parquet: not a readable Parquet file"):
        load_problems(str(pq))


def test_malformed_json_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok"}\n\n{"question": "fine"}\n{"question": broken}\n')
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:4: malformed JSON"):
        load_problems(str(path))
    whole = tmp_path / "bad.json"
    whole.write_text('[\n  {"question": "a"},\n  {"question": }\n]')
    with pytest.raises(InputError, match=rf"^{re.escape(str(whole))}:3: malformed JSON"):
        load_problems(str(whole))
    not_object = tmp_path / "list.jsonl"
    not_object.write_text('{"question": "a"}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"list\.jsonl:2: expected a JSON object"):
        load_problems(str(not_object))


def test_missing_mapped_field_names_file_line_and_field(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"problem": "a", "solution": "1"}\n{"problem": "b"}\n')
    with pytest.raises(InputError, match=r"rows\.jsonl:2: missing field 'solution' \(for answer\)"):
        load_problems(str(path), fields=MAPPING)
    with pytest.raises(InputError, match=r"rows\.jsonl:1: missing field 'question'.*--field question=COLUMN"):
        load_problems(str(path))
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("problem,other\nwhat?,x\n")
    with pytest.raises(InputError, match=r"rows\.csv:2: missing field 'solution'"):
        load_problems(str(csv_path), fields=MAPPING)


def test_preset_format_errors_name_the_line(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text('{"question": "a", "answer": "1\\n#### 1"}\n{"question": "b", "answer": "no marker"}\n')
    with pytest.raises(InputError, match=r"g\.jsonl:2: field 'answer' has no '#### <answer>' line"):
        load_problems(str(path), preset="gsm8k")
    m = tmp_path / "m.jsonl"
    m.write_text('{"problem": "p", "solution": "no box"}\n')
    with pytest.raises(InputError, match=r"m\.jsonl:1: no answer"):
        load_problems(str(m), preset="math")


def test_unknown_preset_lists_known_ones(tmp_path):
    with pytest.raises(
        ConfigError, match=r"--preset: unknown preset 'gsm9k' \(known: gsm8k, math, humaneval, mbpp, arc\)"
    ):
        load_problems("demo", preset="gsm9k")


def test_unknown_field_key_and_domain(tmp_path):
    with pytest.raises(ConfigError, match=r"--field: unknown problem field 'qustion'"):
        load_problems("demo", fields={"qustion": "x"})
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "a", "domain": "chemistry"}\n')
    with pytest.raises(InputError, match=r"d\.jsonl:1: field 'domain': unknown domain 'chemistry'"):
        load_problems(str(path))


def test_unsupported_extension(tmp_path):
    path = tmp_path / "problems.txt"
    path.write_text("what is 1 + 1?\n")
    with pytest.raises(InputError, match=r"problems\.txt: unsupported file type '\.txt'.*\.jsonl"):
        load_problems(str(path))


def test_empty_question(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"question": "fine"}\n{"question": "   "}\n')
    with pytest.raises(InputError, match=r"e\.jsonl:2: empty question \(field 'question'\)"):
        load_problems(str(path))
    assert issubclass(InputError, RftError)


def test_demo_expression_evaluator():
    from rft.problems.demo import evaluate

    assert evaluate("6 + 10 * 0") == 6
    assert evaluate("( -9 - 8 ) + 6") == -11
    for bad in ("2 ** 8", "__import__('os')", "1 / 2", "x + 1"):
        with pytest.raises(ValueError):
            evaluate(bad)


def test_unreachable_hub_fails_fast_without_offline_env(monkeypatch):
    """No HF_HUB_OFFLINE and no network: the probe fails, the load runs offline and fails at once."""
    import socket

    import huggingface_hub.constants as hub_constants

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub_constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    with pytest.raises(
        InputError, match=rf"^hf:openai/gsm8k:main@train: .*127\.0\.0\.1:{port} is unreachable"
    ):
        load_problems("gsm8k")
    assert time.monotonic() - start < 15
    assert hub_constants.HF_HUB_OFFLINE is False  # offline mode was only for that load


def test_hub_probe_sees_a_listening_server():
    import socket

    from rft.problems.hub import hub_reachable

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert hub_reachable(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=2)


def test_csv_empty_cells_mean_not_given(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,question,answer,domain,tests\n,What is 1 + 1?,,,\nx7,Write f.,,code,\n")
    a, b = load_problems(str(path))
    assert (a.id, a.answer, a.domain, a.tests) == (problem_id_for("What is 1 + 1?"), None, Domain.math, [])
    assert (b.id, b.domain) == ("x7", Domain.code)
