"""`rft eval --benchmark-path NAME=PATH`: one benchmark read from a given local file or folder (the real
files of ../shared/benchmarks), the others from --benchmark-dir or the Hub; the same mapping in a
config file; the eval is known by the files' bytes, so the same items read from elsewhere resume it;
bad paths and names end with one line and exit 2."""

from __future__ import annotations

import json

from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)

FAST = ["--limit", "1", "--max-new-tokens", "8", "--batch-size", "2"]


def test_a_benchmark_read_from_its_own_path_and_the_same_bytes_resume_the_eval(capsys, tmp_path, bench_dir):
    out = tmp_path / "evals"
    gsm8k, humaneval = bench_dir / "gsm8k" / "test.jsonl", bench_dir / "humaneval"
    code, stdout, stderr = rft(capsys, "eval", "--benchmarks", "gsm8k,humaneval", "--shots", "1",
                               "--benchmark-path", f"gsm8k={gsm8k}", "--benchmark-path", f"humaneval={humaneval}",
                               "--out", str(out), *FAST)  # fmt: skip
    assert code == 0, stderr
    assert "2 samples generated, 0 already there" in stdout
    [folder] = list(out.iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["benchmark_files"] == {
        str(gsm8k): "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
        str(
            humaneval / "HumanEval.jsonl.gz"
        ): "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
    }
    # --shots: the exemplar comes from the train split beside the given test file
    assert manifest["exemplar_files"]["gsm8k"]["path"] == str(bench_dir / "gsm8k" / "train.jsonl")
    [row] = [r for r in map(json.loads, (folder / "samples.jsonl").open()) if r["benchmark"] == "gsm8k"]
    assert len(row["prompt"]) == 3  # exemplar question, its answer, the item

    # the mapping in a config file, one benchmark from it and one from --benchmark-dir: the same eval
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(f"eval:\n  benchmark_path:\n    gsm8k: {gsm8k}\n")
    code, stdout, stderr = rft(capsys, "eval", "--config", str(cfg), "--benchmarks", "gsm8k,humaneval",
                               "--benchmark-dir", str(bench_dir), "--shots", "1", "--out", str(out), *FAST)  # fmt: skip
    assert code == 0, stderr
    assert "0 samples generated, 2 already there" in stdout and str(folder) in stdout


def test_bad_benchmark_paths_are_one_line_and_exit_2(capsys, tmp_path, bench_dir):
    def one_line(*args: str) -> str:
        code, _, stderr = rft(capsys, "eval", "--benchmarks", "gsm8k", *args, "--out", str(tmp_path / "e"))
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        return stderr.strip()

    line = one_line("--benchmark-path", f"gsm8kk={bench_dir / 'gsm8k'}")
    assert line.startswith("error: --benchmark-path gsm8kk=") and "unknown benchmark 'gsm8kk'" in line
    line = one_line("--benchmark-path", f"gsm8k={tmp_path / 'nope.jsonl'}")
    assert line == f"error: --benchmark-path gsm8k={tmp_path / 'nope.jsonl'}: no such file or folder"
    line = one_line("--benchmark-path", f"gsm8k={bench_dir / 'arc_challenge'}")
    assert "the folder holds no test.jsonl (nor gsm8k/test.jsonl)" in line
    assert "is not NAME=PATH" in one_line("--benchmark-path", "gsm8k")
    line = one_line("--benchmark-path", f"gsm8k={bench_dir}", "--benchmark-path", f"gsm8k={bench_dir}")
    assert "'gsm8k' is given twice" in line
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("eval:\n  benchmark_path:\n    nope: x\n")
    line = one_line("--config", str(cfg))
    assert "unknown benchmark 'nope'" in line and str(cfg) in line
    assert not (tmp_path / "e").exists()
