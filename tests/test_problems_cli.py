"""`rft problems preview|presets` end to end: CliRunner, the real entry point, and one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from typer.testing import CliRunner

from rft.cli import app

RFT = Path(sys.executable).parent / "rft"
runner = CliRunner()


def test_preview_gsm8k(bench_dir):
    result = runner.invoke(
        app, ["problems", "preview", str(bench_dir / "gsm8k/test.jsonl"), "--preset", "gsm8k"]
    )
    assert result.exit_code == 0, result.output
    assert "Janet" in result.output and "│ 18 " in result.output
    assert "1319 problems; showing 5" in result.output
    assert result.output.count("│ math ") == 5


def test_preview_mapping_limit_shuffle_shard(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("problem,solution\n" + "".join(f"What is {i} + {i}?,{2 * i}\n" for i in range(10)))
    base = ["problems", "preview", str(path), "--field", "question=problem", "--field", "answer=solution"]
    result = runner.invoke(app, [*base, "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "What is 0 + 0?" in result.output and "What is 1 + 1?" in result.output
    assert "What is 2 + 2?" not in result.output
    assert "10 problems; showing 2" in result.output
    result = runner.invoke(app, [*base, "--shard", "1/3", "--limit", "10"])
    assert result.exit_code == 0, result.output
    shown = [f"What is {i} + {i}?" in result.output for i in range(10)]
    assert shown == [i % 3 == 1 for i in range(10)]
    assert "3 problems in shard 1/3; showing 3" in result.output
    a = runner.invoke(app, [*base, "--shuffle", "--seed", "4", "--limit", "10"]).output
    b = runner.invoke(app, [*base, "--shuffle", "--seed", "4", "--limit", "10"]).output
    assert a == b and a != runner.invoke(app, [*base, "--limit", "10"]).output


def test_preview_code_and_demo(bench_dir):
    result = runner.invoke(
        app,
        [
            "problems",
            "preview",
            str(bench_dir / "mbpp/test_11_510.jsonl"),
            "--preset",
            "mbpp",
            "--limit",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "mbpp-11" in result.output and "│ code " in result.output and "3 tests" in result.output
    result = runner.invoke(
        app,
        ["problems", "preview", str(bench_dir / "math500/test.jsonl"), "--preset", "math", "--limit", "2"],
    )
    assert result.exit_code == 0, result.output
    assert r"Define \[p = \sum_{k = 1}" in result.output  # LaTeX brackets are not read as rich markup
    result = runner.invoke(app, ["problems", "preview", "demo", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("demo-") == 3 and "100 problems; showing 3" in result.output


def test_presets_lists_hub_sources():
    result = runner.invoke(app, ["problems", "presets"])
    assert result.exit_code == 0, result.output
    for text in (
        "hf:openai/gsm8k:main@test",
        "hf:HuggingFaceH4/MATH-500@test",
        "hf:openai/openai_humaneval@test",
        "hf:google-research-datasets/mbpp@test",
        "hf:allenai/ai2_arc:ARC-Challenge@test",
    ):
        assert text in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.jsonl"], "missing.jsonl: no such file"),
        (["{bad}"], "bad.jsonl:2: malformed JSON"),
        (
            ["{bad}", "--preset", "gsm9k"],
            "--preset: unknown preset 'gsm9k' (known: gsm8k, math, humaneval, mbpp, arc)",
        ),
        (
            ["{rows}", "--field", "question=problem", "--field", "answer=solution"],
            "rows.jsonl:2: missing field 'solution' (for answer)",
        ),
        (["{rows}", "--field", "question"], "--field: expected problem_field=column"),
        (["{rows}", "--shard", "3/3"], "--shard: index must be in 0..2"),
        (["{rows}", "--shard", "x"], "--shard: expected i/n"),
        (["{rows}", "--limit", "-1"], "--limit: must be >= 0"),
        (["{txt}"], "problems.txt: unsupported file type '.txt'"),
        (["{empty}"], "empty.jsonl:1: empty question (field 'question')"),
        (["hf:a b"], "'hf:a b': expected hf:owner/name, optionally followed by :config, @split, #revision"),
        (["demo:x"], "'demo:x': demo size must be an integer, got 'x'"),
        (["hf:nobody/nothing"], "hf:nobody/nothing@train: cannot load from the Hugging Face Hub"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, expected):
    files = {
        "bad": ("bad.jsonl", '{"question": "ok"}\n{"question": \n'),
        "rows": ("rows.jsonl", '{"problem": "a", "solution": "1"}\n{"problem": "b"}\n'),
        "txt": ("problems.txt", "what is 1 + 1?\n"),
        "empty": ("empty.jsonl", '{"question": ""}\n'),
    }
    paths = {}
    for key, (name, text) in files.items():
        paths[key] = tmp_path / name
        paths[key].write_text(text)
    args = [str(paths[a[1:-1]]) if a.startswith("{") else a for a in args]
    if args[0] == "missing.jsonl":
        args[0] = str(tmp_path / "missing.jsonl")
    code, out, err = rft(capsys, "problems", "preview", *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]


def test_real_subprocess_preview_gsm8k(bench_dir, tmp_path):
    proc = subprocess.run(
        [str(RFT), "problems", "preview", str(bench_dir / "gsm8k/test.jsonl"), "--preset", "gsm8k"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Janet’s ducks" in proc.stdout
    for answer in ("18", "3", "70000", "540", "20"):
        assert f"│ {answer} " in proc.stdout
    assert "1319 problems; showing 5" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # preview writes nothing


def test_real_subprocess_bad_json(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "fine"}) + "\n{oops\n")
    proc = subprocess.run(
        [str(RFT), "problems", "preview", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert (
        proc.stderr.strip()
        == f"error: {path}:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)"
    )
