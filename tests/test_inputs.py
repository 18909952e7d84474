"""Inputs that used to be accepted without a word (issue 8, items 11 and 12): sampling temperatures
out of the provider's range, dataset names in dry runs, byte-order marks, null fields, duplicate
problem ids, and generating from a benchmark's test split."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from cli_helpers import (
    run_cli,
    wide_console,  # noqa: F401 (autouse fixture)
)

from rft.errors import InputError
from rft.problems import load_problems, parse_source


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _dry(capsys, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "generate", "--dry-run", "--out", str(tmp_path / "o"), *args)


# --- --temperature ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("teacher", "temperature", "needle"),
    [
        ("openai:gpt-4o-mini", "5", "--temperature 5.0: openai accepts 0-2"),
        ("openai:gpt-4o-mini", "2.5", "--temperature 2.5: openai accepts 0-2"),
        ("anthropic:claude-3-5-haiku-latest", "1.5", "--temperature 1.5: anthropic accepts 0-1"),
    ],
)
def test_temperature_the_api_would_reject_is_refused_up_front(capsys, tmp_path, teacher, temperature, needle):
    code, out, err = _dry(
        capsys, tmp_path, "--problems", "demo", "--teacher", teacher, "--temperature", temperature
    )
    assert code == 2, err
    assert len(_lines(err)) == 1 and _lines(err)[0].startswith("error: " + needle), err
    assert "problems:" not in out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        (["--teacher", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--temperature", "3"], True),
        (["--teacher", "local:smollm2-135m", "--temperature", "5"], True),
        (["--teacher", "local:smollm2-135m", "--temperature", "1.5"], False),
        (["--teacher", "openai:gpt-4o-mini", "--temperature", "2"], False),
        (["--teacher", "anthropic:claude-3-5-haiku-latest", "--temperature", "1"], False),
    ],
)
def test_temperature_outside_the_usual_range_warns(capsys, tmp_path, args, warned):
    code, out, err = _dry(capsys, tmp_path, "--problems", "demo", *args)
    assert code == 0, err
    assert "problems: 100" in out
    warnings = [line for line in _lines(err) if "--temperature" in line]
    if warned:
        assert len(warnings) == 1 and warnings[0].startswith("warning: --temperature "), err
    else:
        assert warnings == [], err


# --- dataset names in dry runs -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "runs", "v3", ".hidden", "a/b"])
def test_dry_run_validates_the_name_like_a_real_run(capsys, tmp_path, name):
    code, out, err = _dry(capsys, tmp_path, "--problems", "demo", "--name", name)
    assert code == 2, err
    assert _lines(err) == [f"error: invalid dataset name {name!r}: use letters, digits, '.', '_' or '-' "
                           "(not starting with '.' or '-', not 'runs' or 'vN')"]  # fmt: skip
    assert "problems:" not in out
    assert not (tmp_path / "o").exists() and not (tmp_path / "escape").exists()


# --- byte-order marks ----------------------------------------------------------------------------

BOM = "\ufeff"


def _write(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("p.csv", BOM + "question,answer\nWhat is 2+2?,4\nWhat is 3+3?,6\n"),
        ("p.jsonl", BOM + '{"question": "What is 2+2?", "answer": "4"}\n{"question": "What is 3+3?", "answer": "6"}\n'),
        ("p.jsonl.gz", BOM + '{"question": "What is 2+2?", "answer": "4"}\n{"question": "What is 3+3?", "answer": "6"}\n'),
        ("p.json", BOM + '[{"question": "What is 2+2?", "answer": "4"}, {"question": "What is 3+3?", "answer": "6"}]'),
    ],
)  # fmt: skip
def test_utf8_bom_is_stripped(tmp_path, name, text):
    problems = load_problems(str(_write(tmp_path / name, text)))
    assert [(p.question, p.answer) for p in problems] == [("What is 2+2?", "4"), ("What is 3+3?", "6")]


def test_csv_with_bom_through_the_cli(capsys, tmp_path):
    path = _write(tmp_path / "p.csv", BOM + "question,answer\nWhat is 2+2?,4\n")
    code, out, err = run_cli(capsys, "problems", "preview", str(path))
    assert code == 0, err
    assert "What is 2+2?" in out and "1 problems; showing 1" in out


# --- null fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("p.jsonl", '{"question": "What is 2+2?", "answer": "4"}\n{"question": null, "answer": "5"}\n', "p.jsonl:2"),
        ("p.json", '[{"question": "What is 2+2?"}, {"question": null}]', "p.json item 1"),
    ],
)  # fmt: skip
def test_null_question_is_called_null(tmp_path, name, text, where):
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as exc:
        load_problems(str(path))
    assert str(exc.value) == f"{path.parent / where}: field 'question' (for question) is null"


def test_null_question_with_a_preset_and_a_mapped_field(tmp_path):
    path = _write(tmp_path / "g.jsonl", '{"question": null, "answer": "x #### 4"}\n')
    with pytest.raises(InputError, match=r"g\.jsonl:1: field 'question' \(for question\) is null$"):
        load_problems(str(path), preset="gsm8k")
    path = _write(tmp_path / "m.jsonl", '{"q": "What is 2+2?", "a": null}\n')
    with pytest.raises(InputError, match=r"m\.jsonl:1: field 'a' \(for answer\) is null$"):
        load_problems(str(path), fields={"question": "q", "answer": "a"})


def test_null_question_through_generate_is_one_line(capsys, tmp_path):
    path = _write(tmp_path / "p.jsonl", '{"question": null, "answer": "5"}\n')
    code, _, err = _dry(capsys, tmp_path, "--problems", str(path))
    assert code == 2
    assert _lines(err) == [f"error: {path}:1: field 'question' (for question) is null"]


def test_missing_question_is_still_called_missing(tmp_path):
    path = _write(tmp_path / "p.jsonl", '{"answer": "5"}\n')
    with pytest.raises(InputError, match=r"p\.jsonl:1: missing field 'question'"):
        load_problems(str(path))


# --- duplicate problem ids -------------------------------------------------------------------------


def _rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


DISTINCT = [
    {"id": "a", "question": "What is 1+1?", "answer": "2"},
    {"id": "b", "question": "What is 2+2?", "answer": "4"},
    {"id": "a", "question": "What is 3+3?", "answer": "6"},
    {"id": "a", "question": "What is 4+4?", "answer": "8"},
]


def test_distinct_rows_sharing_an_id_are_refused_by_default(capsys, tmp_path):
    path = _rows(tmp_path / "d.jsonl", DISTINCT)
    expected = (
        f"error: {path}: problem id 'a' is used by 3 different rows ({path}:1, {path}:3, {path}:4); give each "
        "row its own id, or choose --on-duplicate-id skip (keep the first) or rename (a-2, a-3, ...)"
    )
    code, out, err = _dry(capsys, tmp_path, "--problems", str(path))
    assert code == 2 and _lines(err) == [expected], err
    code, out, err = run_cli(capsys, "problems", "preview", str(path))
    assert code == 2 and _lines(err) == [expected], err


def test_on_duplicate_id_skip_and_rename_warn_with_the_count(capsys, tmp_path):
    path = _rows(tmp_path / "d.jsonl", DISTINCT)
    code, out, err = run_cli(capsys, "problems", "preview", str(path), "--on-duplicate-id", "skip")
    assert code == 0, err
    assert "2 problems; showing 2" in out and "What is 3+3?" not in out
    assert _lines(err) == ["warning: 2 rows repeat an earlier problem id (first: 'a'); skipped them"]
    code, out, err = run_cli(capsys, "problems", "preview", str(path), "--on-duplicate-id", "rename")
    assert code == 0, err
    assert "4 problems; showing 4" in out and "a-2" in out and "a-3" in out
    assert _lines(err) == ["warning: 2 rows repeat an earlier problem id (first: 'a'); renamed them a-2, ..."]
    code, out, err = _dry(capsys, tmp_path, "--problems", str(path), "--on-duplicate-id", "skip")
    assert code == 0 and "problems: 2" in out, err
    assert _lines(err) == ["warning: 2 rows repeat an earlier problem id (first: 'a'); skipped them"]
    problems = load_problems(str(path), on_duplicate_id="rename")
    assert [p.id for p in problems] == ["a", "b", "a-2", "a-3"]


def test_identical_duplicate_rows_are_skipped_with_a_warning(capsys, tmp_path):
    rows = [
        {"question": "What is 1+1?", "answer": "2"},
        {"question": "What is 2+2?", "answer": "4"},
        {"question": "What is 1+1?", "answer": "2"},
    ]
    path = _rows(tmp_path / "same.jsonl", rows)
    code, out, err = _dry(capsys, tmp_path, "--problems", str(path))
    assert code == 0, err
    assert "problems: 2" in out
    assert _lines(err) == ["warning: 1 row repeats an earlier row exactly; skipped it"]


def test_same_question_different_answers_is_refused(capsys, tmp_path):
    rows = [{"question": "What is 1+1?", "answer": "2"}, {"question": "What is 1+1?", "answer": "3"}]
    path = _rows(tmp_path / "q.jsonl", rows)
    code, _, err = _dry(capsys, tmp_path, "--problems", str(path))
    assert code == 2
    (line,) = _lines(err)
    assert line.startswith(f"error: {path}: problem id 'q-") and f"({path}:1, {path}:2)" in line
    assert "the same question with other fields" in line and "--on-duplicate-id" in line


def test_bad_on_duplicate_id_value(capsys, tmp_path):
    code, _, err = _dry(capsys, tmp_path, "--problems", "demo", "--on-duplicate-id", "merge")
    assert code == 2 and len(_lines(err)) == 1 and "--on-duplicate-id" in err, err


# --- benchmark test splits ---------------------------------------------------------------------------


def test_presets_default_to_the_train_split():
    assert (parse_source("gsm8k").name, parse_source("gsm8k").split) == ("openai/gsm8k", "train")
    assert parse_source("math").split == "train" and parse_source("math").preset == "math"
    assert parse_source("mbpp").split == "train" and parse_source("arc").split == "train"
    assert parse_source("arc").config == "ARC-Challenge"
    assert parse_source("hf:openai/gsm8k").split == "train"
    assert parse_source("hf:google-research-datasets/mbpp").split == "train"
    assert parse_source("hf:HuggingFaceH4/MATH-500").split == "test"  # it has no other split
    assert parse_source("humaneval").split == "test"  # nor has HumanEval


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("hf:openai/gsm8k@test", "hf:openai/gsm8k:main@test is the GSM8K test split"),
        ("hf:openai/gsm8k:main@test", "hf:openai/gsm8k:main@test is the GSM8K test split"),
        ("hf:HuggingFaceH4/MATH-500", "MATH-500, a subset of the MATH test split"),
        ("humaneval", "HumanEval has only a test split"),
        ("hf:google-research-datasets/mbpp:full@test", "the MBPP test split"),
        ("hf:allenai/ai2_arc:ARC-Challenge@test", "the ARC test split"),
    ],
)
def test_generating_from_a_hub_test_split_needs_the_flag(capsys, tmp_path, source, needle):
    """Refused before anything is loaded (no network needed)."""
    code, out, err = _dry(capsys, tmp_path, "--problems", source)
    assert code == 2, err
    (line,) = _lines(err)
    assert needle in line and "--allow-test-split" in line, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("rel", "preset", "needle"),
    [
        ("gsm8k/test.jsonl", "gsm8k", "the GSM8K test split"),
        ("math500/test.jsonl", "math", "MATH-500"),
        ("math/test.jsonl", "math", "the MATH test split"),
        ("humaneval/HumanEval.jsonl.gz", "humaneval", "HumanEval"),
        ("mbpp/test_11_510.jsonl", "mbpp", "the MBPP test split"),
        ("mbpp/mbpp.jsonl", "mbpp", "contains the MBPP test split"),
        ("arc_challenge/arc_challenge.jsonl", "arc", "the ARC-Challenge test split"),
    ],
)
def test_generating_from_a_known_test_file_needs_the_flag(capsys, tmp_path, bench_dir, rel, preset, needle):
    copy = tmp_path / "mine" / Path(rel).name  # known by its bytes, not by its path
    copy.parent.mkdir()
    copy.write_bytes((bench_dir / rel).read_bytes())
    code, out, err = _dry(capsys, tmp_path, "--problems", str(copy), "--preset", preset, "--limit", "3")
    assert code == 2, err
    (line,) = _lines(err)
    assert (
        line.startswith(f"error: --problems: {copy} is ") and needle in line and "--allow-test-split" in line
    ), line
    code, out, err = _dry(
        capsys, tmp_path, "--problems", str(copy), "--preset", preset, "--limit", "3", "--allow-test-split"
    )
    assert code == 0, err
    assert "problems: 3" in out
    (line,) = _lines(err)
    assert line.startswith("warning: generating from ") and "decontamination" in line, line


def test_train_split_needs_no_flag(capsys, tmp_path, bench_dir):
    code, out, err = _dry(
        capsys,
        tmp_path,
        "--problems",
        str(bench_dir / "gsm8k/train.jsonl"),
        "--preset",
        "gsm8k",
        "--limit",
        "2",
    )
    assert code == 0, err
    assert "problems: 2" in out and _lines(err) == []


def test_preview_of_a_test_split_is_allowed_with_a_note(capsys, bench_dir):
    code, out, err = run_cli(
        capsys, "problems", "preview", str(bench_dir / "gsm8k/test.jsonl"), "--preset", "gsm8k"
    )
    assert code == 0, err
    assert "1319 problems; showing 5" in out
    (line,) = _lines(err)
    assert line.startswith("note: ") and "GSM8K test split" in line and "--allow-test-split" in line


def test_presets_show_what_a_preset_name_reads(capsys):
    code, out, err = run_cli(capsys, "problems", "presets")
    assert code == 0, err
    for text in (
        "hf:openai/gsm8k:main@train",
        "hf:DigitalLearningGmbH/MATH-lighteval@train",
        "hf:openai/openai_humaneval@test (no train split)",
        "hf:google-research-datasets/mbpp:full@train",
        "hf:allenai/ai2_arc:ARC-Challenge@train",
    ):
        assert text in out


@pytest.mark.parametrize(
    ("rel", "preset", "name"),
    [("gsm8k/test.jsonl", "gsm8k", "GSM8K"), ("math500/test.jsonl", "math", "MATH")],
)
def test_a_subset_of_a_test_split_is_known_by_its_content(capsys, tmp_path, bench_dir, rel, preset, name):
    """Not the file's bytes: 30 rows of it, re-serialised, found through the shipped fingerprints."""
    rows = [json.loads(line) for line in (bench_dir / rel).read_text().splitlines()[100:130]]
    subset = _rows(tmp_path / "mine.jsonl", rows)
    code, out, err = _dry(capsys, tmp_path, "--problems", str(subset), "--preset", preset)
    assert code == 2, err
    (line,) = _lines(err)
    assert line.startswith(f"error: --problems: {subset} is {name} test data (20 of the 20 problems checked")
    assert "--allow-test-split" in line
    code, out, err = _dry(
        capsys, tmp_path, "--problems", str(subset), "--preset", preset, "--allow-test-split"
    )
    assert code == 0 and "problems: 30" in out, err
    assert [line for line in _lines(err) if line.startswith("warning: generating from")], err


def test_allow_test_split_is_not_part_of_the_run_identity_but_on_duplicate_id_is():
    from rft.generate.config import GenerateConfig

    base = GenerateConfig(problems="x.jsonl")
    assert base.identity("fp") == GenerateConfig(problems="x.jsonl", allow_test_split=True).identity("fp")
    assert base.identity("fp") != GenerateConfig(problems="x.jsonl", on_duplicate_id="rename").identity("fp")


def test_one_look_alike_problem_is_not_a_test_set(capsys, tmp_path, bench_dir):
    """GSM8K train row 20 resembles a test item; alone it does not make its file test data."""
    row = json.loads((bench_dir / "gsm8k/train.jsonl").read_text().splitlines()[20])
    path = _rows(tmp_path / "one.jsonl", [row])
    code, out, err = _dry(capsys, tmp_path, "--problems", str(path), "--preset", "gsm8k")
    assert code == 0 and "problems: 1" in out and _lines(err) == [], err


def test_a_bad_value_names_the_flag_as_typed(capsys, tmp_path):
    """`--timeout 0` is refused naming --timeout (the flag), not the config field timeout_s."""
    code, _, err = run_cli(capsys, "generate", "--problems", "demo", "--timeout", "0", "--out", str(tmp_path))
    assert code == 2 and "--timeout (command line)" in err and "timeout-s" not in err
    code, _, err = run_cli(
        capsys, "generate", "--problems", "demo", "--max-retry-wait", "-1", "--out", str(tmp_path)
    )
    assert code == 2 and "--max-retry-wait (command line)" in err and "wait-s" not in err
