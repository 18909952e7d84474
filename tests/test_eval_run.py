"""`rft eval` end to end with real SmolLM2-135M on CPU and the real benchmark files: the base and an
adapter trained here (2 steps of `rft train`) on GSM8K and HumanEval write every artefact, a re-run
generates nothing new (and loads no model); adapters are switched on the one base without loading it
again; bad input ends with one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_records

from rft.store import Store

FAST = ["--limit", "2", "--max-new-tokens", "32", "--batch-size", "4"]
SYSTEM = "You are a careful solver."  # the system message the adapter below is trained with


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> Path:
    """An adapter of `rft train` on SmolLM2 (2 steps on a tiny sealed dataset, with a system message)."""
    import sys

    root = tmp_path_factory.mktemp("train")
    Store(root / "ds").seal("d", make_records(4), manifest={"teacher": "local:smollm2-135m"})
    old = sys.argv
    sys.argv = ["rft", "train", "d", "--store", str(root / "ds"), "--out", str(root / "runs"),
                "--rank", "4", "--alpha", "8", "--max-steps", "2", "--lr", "3e-3", "--eval-split", "0",
                "--no-progress", "--max-length", "256", "--batch-size", "2", "--system", SYSTEM]  # fmt: skip
    try:
        from rft.cli import main

        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = old
    assert (exc.value.code or 0) == 0
    return root / "runs" / "d" / "r4-a8"


@pytest.mark.slow
def test_base_vs_adapter_writes_every_artefact_and_a_rerun_generates_nothing(
    capsys, tmp_path, adapter, bench_dir
):
    from rft.eval.generation import Models

    args = ["eval", "--model", "smollm2-135m", "--adapter", str(adapter), "--benchmarks", "gsm8k,humaneval",
            "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "evals"), *FAST]  # fmt: skip
    loads = Models.base_loads
    code, stdout, stderr = rft(capsys, *args)
    assert code == 0, stderr
    assert Models.base_loads == loads + 1  # the adapter went onto the base already loaded
    [folder] = list((tmp_path / "evals").iterdir())
    for name in ("results.json", "samples.jsonl", "table.md", "accuracy.png", "config.yaml", "manifest.json"):
        assert (folder / name).is_file(), name
    assert "8 samples generated, 0 already there" in stdout and str(folder) in stdout
    assert "no significant difference" in stdout and "accuracy % ± SE" in stdout

    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 8  # 2 benchmarks x 2 items x 2 models x 1 sample
    assert {r["model"] for r in rows} == {"base", "d/r4-a8"}
    for r in rows:
        for key in (
            "benchmark",
            "item",
            "sample",
            "prompt",
            "output",
            "extracted",
            "verdict",
            "tokens",
            "latency_s",
        ):
            assert key in r, key
        assert 0 < r["tokens"] <= 33 and r["latency_s"] > 0
    gsm = [r for r in rows if r["benchmark"] == "gsm8k"]
    assert all(set(r["extracted"]) == {"rft", "strict", "flexible"} for r in gsm)
    he = [r for r in rows if r["benchmark"] == "humaneval"]
    assert all(set(r["verdict"]) == {"tests"} and "code-tests" in r["scores"]["tests"]["detail"] for r in he)
    # the same items for both models; the base asked with eval's CoT instruction, the adapter as trained
    assert sorted((r["benchmark"], r["item"]) for r in rows if r["model"] == "base") == sorted(
        (r["benchmark"], r["item"]) for r in rows if r["model"] == "d/r4-a8"
    )
    base_q = next(r for r in gsm if r["model"] == "base")["prompt"][-1]["content"]
    tuned_q = next(r for r in gsm if r["model"] != "base")["prompt"][-1]["content"]
    assert base_q.endswith("`Final answer: <answer>`.") and base_q.startswith(tuned_q)

    res = json.loads((folder / "results.json").read_text())
    assert set(res["benchmarks"]) == {"gsm8k", "humaneval"}
    g = res["benchmarks"]["gsm8k"]["base"]
    assert set(g["extractions"]) == {"rft", "strict", "flexible"} and g["bleu"]["scored"] == 2
    assert g["timing"]["tokens_per_s"] > 0
    assert res["models"]["base"]["peak_memory_kind"] in ("peak_rss", "peak_rss_process")
    assert res["models"]["d/r4-a8"]["peak_memory_bytes"] > 100e6
    c = res["comparisons"]["humaneval"]["d/r4-a8"]
    assert c["won"] + c["lost"] + c["tied"] == 2 and c["b"] == "base"
    man = json.loads((folder / "manifest.json").read_text())
    assert man["benchmark_files"][str(bench_dir / "gsm8k" / "test.jsonl")].startswith("3730d312")
    assert man["adapters"]["d/r4-a8"]["manifest"]["base"]["spec"] == "smollm2-135m"
    assert man["command"][:2] == ["rft", "eval"] and man["rft_version"] and "git_commit" in man
    assert "| gsm8k | base |" in (folder / "table.md").read_text()

    code, stdout, stderr = rft(capsys, *args)  # the same command: everything is there already
    assert code == 0, stderr
    assert "0 samples generated, 8 already there" in stdout
    assert Models.base_loads == loads + 1  # nothing left to generate: no model loaded
    assert len((folder / "samples.jsonl").read_text().splitlines()) == 8
    assert json.loads((folder / "results.json").read_text())["benchmarks"] == res["benchmarks"]


@pytest.mark.slow
def test_switching_adapters_keeps_the_one_base(adapter, smollm2_dir):
    import torch

    from rft.eval.generation import Models

    loads = Models.base_loads
    m = Models(smollm2_dir, "cpu", None)
    ids = torch.tensor([m.encode([{"role": "user", "content": make_records(1)[0].problem.question}])])

    def logits() -> torch.Tensor:
        with torch.no_grad():
            return m.model(input_ids=ids).logits[0, -1]

    before = logits()
    text = m.generate(ids.tolist(), [None], temperature=0.0, max_new_tokens=8, batch_size=1)[0]
    base = m.base
    m.load_adapter("a", adapter)
    m.load_adapter("b", adapter)
    assert m.model.base_model.model is base and Models.base_loads == loads + 1
    with m.use("a"):
        tuned = logits()
        assert m.model.active_adapter == "a"
    assert not torch.equal(tuned, before)  # the adapter is on
    with m.use(None):
        assert torch.equal(logits(), before)  # disabled: the base's own logits
        again = m.generate(ids.tolist(), [None], temperature=0.0, max_new_tokens=8, batch_size=1)[0]
        assert again.text == text.text and again.tokens == text.tokens
    with m.use("b"):
        assert torch.equal(logits(), tuned) and m.model.active_adapter == "b"


def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, bench_dir):
    code, _, stderr = rft(capsys, "eval", "--benchmarks", "gsm8k,nope")
    assert code == 2 and stderr.strip().startswith("error: --benchmarks: unknown benchmark 'nope'")
    assert len(stderr.strip().splitlines()) == 1

    code, _, stderr = rft(capsys, "eval", "--samples", "0")
    assert code == 2 and "--samples (command line): must be >= 1" in stderr

    bad = tmp_path / "bench" / "gsm8k"
    bad.mkdir(parents=True)
    (bad / "test.jsonl").write_text('{"question": "What is 1+1?"}\n')
    code, _, stderr = rft(capsys, "eval", "--benchmarks", "gsm8k", "--benchmark-dir", str(bad.parent),
                          "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 2 and "benchmark gsm8k:" in stderr and "missing field 'answer'" in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr

    other = tmp_path / "runs" / "q" / "r4-a8"  # an adapter of `rft train` on another base (checked first)
    other.mkdir(parents=True)
    (other / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4}))
    base = {"spec": "Qwen/Qwen2.5-0.5B-Instruct", "path": "/x", "revision": "abc", "sha256": None}
    (other / "manifest.json").write_text(json.dumps({"kind": "rft-train-run", "identity": "x", "base": base}))
    code, _, stderr = rft(capsys, "eval", "--adapter", str(other), "--benchmarks", "gsm8k",
                          "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 2
    assert (
        f"--adapter {other}: trained on base 'Qwen/Qwen2.5-0.5B-Instruct'" in stderr
        and "not --model smollm2-135m" in stderr
    )
    assert not (tmp_path / "e").exists()


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_samples_give_pass_and_maj_at_k_with_per_sample_seeds(capsys, tmp_path, bench_dir):
    args = ["eval", "--benchmarks", "math500", "--benchmark-dir", str(bench_dir), "--samples", "3",
            "--temperature", "0.8", "--limit", "1", "--max-new-tokens", "12"]  # fmt: skip
    code, stdout, stderr = rft(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0, stderr
    [folder] = list((tmp_path / "a").iterdir())
    res = json.loads((folder / "results.json").read_text())
    ex = res["benchmarks"]["math500"]["base"]["extractions"]["rft"]
    assert (
        ex["samples"] == 3 and set(ex["pass_at_k"]) == {"1", "2", "3"} and set(ex["maj_at_k"]) == {"2", "3"}
    )
    assert ex["accuracy"] == ex["pass_at_k"]["1"] and 0 <= ex["extraction_failures"]["value"] <= 1
    assert "maj@k %" in stdout and "@2 " in stdout and "@3 " in stdout
    table = (folder / "table.md").read_text()
    assert "| pass@k % | maj@k % |" in table and table.count("@3 ") == 2  # pass@3 and maj@3
    assert "3 samples at T=0.8" in res["note"]
    rows = _rows(folder)
    assert sorted(r["sample"] for r in rows) == [0, 1, 2]
    assert len({r["seed"] for r in rows}) == 3  # each sample its own seed

    # another --out, another batch size: each sample is drawn from its own seed, so the same outputs
    code, _, stderr = rft(capsys, *args, "--out", str(tmp_path / "b"), "--batch-size", "1")
    assert code == 0, stderr
    [again] = list((tmp_path / "b").iterdir())
    assert again.name == folder.name
    key = lambda r: r["sample"]  # noqa: E731
    assert [(r["seed"], r["output"]) for r in sorted(_rows(again), key=key)] == [
        (r["seed"], r["output"]) for r in sorted(rows, key=key)
    ]


@pytest.mark.slow
def test_mbpp_and_arc_end_to_end(capsys, tmp_path, bench_dir):
    code, stdout, stderr = rft(capsys, "eval", "--benchmarks", "mbpp,arc", "--benchmark-dir", str(bench_dir),
                               "--limit", "1", "--max-new-tokens", "24", "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 0, stderr
    [folder] = list((tmp_path / "e").iterdir())
    rows = {r["benchmark"]: r for r in _rows(folder)}
    assert set(rows) == {"mbpp", "arc"}
    mbpp = rows["mbpp"]
    assert mbpp["item"] == "mbpp-11" and "Your code should pass this test" in mbpp["prompt"][-1]["content"]
    assert set(mbpp["verdict"]) == {"tests"} and mbpp["scores"]["tests"]["n_tests"] == 3
    assert mbpp["scores"]["tests"]["detail"].startswith("code-tests")
    arc = rows["arc"]
    assert (
        "\nA. " in arc["prompt"][-1]["content"] and "`Final answer: <letter>`" in arc["prompt"][-1]["content"]
    )
    assert set(arc["verdict"]) == {"rft"}
    assert arc["scores"]["rft"]["detail"].startswith("choice") or arc["verdict"]["rft"] == "unknown"
    res = json.loads((folder / "results.json").read_text())
    assert set(res["benchmarks"]) == {"mbpp", "arc"}
    assert set(res["benchmarks"]["mbpp"]["base"]["extractions"]) == {"tests"}
    man = json.loads((folder / "manifest.json").read_text())
    assert (
        man["benchmarks"]["mbpp"]["grader"] == "code-tests" and man["benchmarks"]["arc"]["grader"] == "choice"
    )
    table = (folder / "table.md").read_text()
    assert (
        "| mbpp | base |" in table
        and "| arc | base |" in table
        and "2 samples generated, 0 already there" in stdout
    )


@pytest.mark.slow
def test_shots_come_from_the_train_split_and_an_adapter_gets_its_system_message(
    capsys, tmp_path, adapter, bench_dir
):
    code, _, stderr = rft(capsys, "eval", "--adapter", str(adapter), "--benchmarks", "gsm8k", "--shots", "2",
                          "--benchmark-dir", str(bench_dir), "--limit", "1", "--max-new-tokens", "8",
                          "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 0, stderr
    [folder] = list((tmp_path / "e").iterdir())
    rows = {r["model"]: r for r in _rows(folder)}
    train = {json.loads(line)["question"] for line in (bench_dir / "gsm8k" / "train.jsonl").open()}
    test = {json.loads(line)["question"] for line in (bench_dir / "gsm8k" / "test.jsonl").open()}
    base = rows["base"]["prompt"]
    assert [m["role"] for m in base] == ["user", "assistant", "user", "assistant", "user"]
    shown = [m["content"] for m in base[:-1] if m["role"] == "user"]
    # the exemplars are train questions (with eval's instruction), never a test question
    assert all(any(s.startswith(q) for q in train) for s in shown)
    assert not any(s.startswith(q) for s in shown for q in test)
    assert any(base[-1]["content"].startswith(q) for q in test)
    assert all(
        m["content"].rstrip().split("\n")[-1].startswith("Final answer: ")
        for m in base
        if m["role"] == "assistant"
    )
    tuned = rows["d/r4-a8"]["prompt"]
    assert tuned[0] == {"role": "system", "content": SYSTEM}  # as the adapter was trained
    assert [m["role"] for m in tuned[1:]] == ["user", "assistant", "user", "assistant", "user"]
    assert not any(m["role"] == "system" for m in base)  # the base: no --system given
    res = json.loads((folder / "results.json").read_text())
    assert res["models"]["d/r4-a8"]["prompt_format"]["system"] == SYSTEM
    assert res["exemplar_files"] == {"gsm8k": str(bench_dir / "gsm8k" / "train.jsonl")}
    man = json.loads((folder / "manifest.json").read_text())
    assert man["exemplar_files"]["gsm8k"]["sha256"]


def test_live_progress_names_model_and_benchmark_and_is_off_without_a_terminal(capsys, monkeypatch):
    from rft.console import err
    from rft.eval.progress import EvalProgress

    monkeypatch.setattr(err, "_force_terminal", True)  # stderr as a terminal shows it
    monkeypatch.setattr(err, "is_interactive", True)
    monkeypatch.setenv("TERM", "xterm")
    with EvalProgress(4) as bar:
        bar.stage("d/r4-a8", "gsm8k")
        bar.advance(3)
    drawn = capsys.readouterr().err
    assert "eval d/r4-a8 on gsm8k" in drawn and "3/4" in drawn and "samples/s" in drawn
    assert bar.done == 3

    with EvalProgress(4, enabled=False) as bar:  # --no-progress
        bar.stage("base", "gsm8k")
        bar.advance(4)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(err, "_force_terminal", False)
    with EvalProgress(4) as bar:  # not a terminal (a log file, CI): no bar
        bar.advance(4)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_an_adapter_manifest_without_base_or_config_gets_defaults_said_in_notes(
    capsys, tmp_path, adapter, bench_dir
):
    """An adapter whose manifest lacks what `rft train` writes (another trainer's, e.g. a later GRPO
    stage): its base is checked through adapter_config.json, no system message, each said in a note;
    weights that do not fit the base and an unreadable manifest are one line and exit 2."""
    import shutil

    bare = tmp_path / "rl" / "grpo"
    shutil.copytree(adapter, bare)
    (bare / "manifest.json").write_text(json.dumps({"kind": "some-other-trainer"}))
    args = ["eval", "--benchmarks", "gsm8k", "--benchmark-dir", str(bench_dir), "--limit", "1",
            "--max-new-tokens", "4", "--no-progress", "--out", str(tmp_path / "e")]  # fmt: skip
    code, _, stderr = rft(capsys, *args, "--adapter", str(bare))
    assert code == 0, stderr
    assert (
        "note: adapter rl/grpo: its manifest names no base: adapter_config.json's base_model_name_or_path"
        in stderr
    )
    assert "note: adapter rl/grpo: its manifest has no config: asked with no system message" in stderr
    [folder] = list((tmp_path / "e").iterdir())
    rows = {r["model"]: r for r in _rows(folder)}
    assert [m["role"] for m in rows["rl/grpo"]["prompt"]] == ["user"]
    res = json.loads((folder / "results.json").read_text())
    assert res["models"]["rl/grpo"]["prompt_format"]["system"] is None
    assert any("rl/grpo" in n for n in res["notes"])
    assert res["models"]["rl/grpo"]["identity"] == rows["rl/grpo"]["model_identity"]  # its weights' sha256

    (bare / "manifest.json").write_text("[1, 2]")
    code, _, stderr = rft(capsys, *args, "--adapter", str(bare))
    assert code == 2 and stderr.strip() == f"error: --adapter {bare}/manifest.json: not a JSON object"

    (bare / "manifest.json").write_text("{}")
    cfg = json.loads((bare / "adapter_config.json").read_text())
    (bare / "adapter_config.json").write_text(
        json.dumps({**cfg, "base_model_name_or_path": "Qwen/Qwen2.5-7B"})
    )
    code, _, stderr = rft(capsys, *args, "--adapter", str(bare))
    assert (
        code == 2 and "trained on base 'Qwen/Qwen2.5-7B' (other weights), not --model smollm2-135m" in stderr
    )

    # the manifest names this base but the weights do not fit the config (another rank): PEFT refuses
    (bare / "manifest.json").write_text(json.dumps({"base": {"spec": "smollm2-135m"}}))
    (bare / "adapter_config.json").write_text(json.dumps({**cfg, "r": 8}))
    code, _, stderr = rft(capsys, *args, "--adapter", str(bare), "--out", str(tmp_path / "e2"))
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note: ")]
    assert code == 2 and "Traceback" not in stderr and len(lines) == 1  # nothing generated first
    assert lines[0].startswith(
        f"error: --adapter {bare}: PEFT cannot put it on the base model (size mismatch"
    )


def test_more_bad_input_is_one_line_and_exit_2(capsys, tmp_path):
    def one_line(*args: str) -> str:
        code, _, stderr = rft(capsys, "eval", *args, "--out", str(tmp_path / "e"))
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        return stderr.strip()

    root = tmp_path / "bench"
    (root / "mbpp").mkdir(parents=True)
    (root / "mbpp" / "test_11_510.jsonl").write_text(
        '{"text": "Write f.", "code": "def f(): return 1", "task_id": 11}\n'
    )
    line = one_line("--benchmarks", "mbpp", "--benchmark-dir", str(root))
    assert line.startswith("error: benchmark mbpp:") and "missing field 'test_list'" in line
    (root / "math500").mkdir()
    (root / "math500" / "test.jsonl").write_text('{"problem": "1+1?", "solution": "2"}\n')
    line = one_line("--benchmarks", "math500", "--benchmark-dir", str(root))
    assert line.startswith("error: benchmark math500:") and "no answer" in line
    (root / "math500" / "test.jsonl").write_text("not json\n")
    assert "malformed JSON" in one_line("--benchmarks", "math500", "--benchmark-dir", str(root))
    line = one_line("--benchmarks", "arc", "--benchmark-dir", str(root))
    assert "not found (expected the layout of ../shared/benchmarks)" in line
    line = one_line("--samples", "3", "--temperature", "0")
    assert "--samples 3 at --temperature 0: greedy samples are all the same" in line
    assert "--limit" in one_line("--limit", "0")
    assert not (tmp_path / "e").exists()


def test_timing_counts_each_batch_once_by_its_last_row():
    """tokens/s over wall time: a continuous batch's wall time is its last row's elapsed_s (rows
    finish one by one); a remote row is its own batch; rows of before elapsed_s share their latency."""
    from rft.eval.report import timing

    rows = [
        {"batch": 1, "tokens": 10, "latency_s": 2.0, "elapsed_s": 2.0},
        {"batch": 1, "tokens": 30, "latency_s": 3.0, "elapsed_s": 5.0},  # joined later, ended last
        {"batch": 2, "tokens": 20, "latency_s": 1.0, "elapsed_s": 1.0},
        {"batch": 3, "tokens": 40, "latency_s": 4.0},  # an old row: its batch's wall time
        {"batch": 3, "tokens": 40, "latency_s": 4.0},
    ]
    t = timing(rows)
    assert t["generation_s"] == 5.0 + 1.0 + 4.0 and t["batches"] == 3
    assert t["tokens_per_s"] == 140 / 10.0 and t["latency_s_mean"] == 14.0 / 5
