"""`rft train --method grpo` end to end with real SmolLM2-135M on CPU: an SFT warm-up made here (a few
steps), then a few GRPO steps from it (4 generations of a few tokens each) write an adapter that
reloads and differs from the warm-up, with the reward shares in its metrics, a reward curve, and a
manifest that links the warm-up; `rft eval` reads it like an SFT adapter; bad input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import (
    run_ok,
    wide_console,  # noqa: F401 (autouse fixture)
)
from factories import make_records

from rft.schemas import Message
from rft.store import Store

pytestmark = pytest.mark.slow
ANSWER = "36 - 5 = 31.\nFinal answer: 31"  # the short solution the warm-up learns to write
SYSTEM = "Solve it."
GRPO = ["--method", "grpo", "--max-steps", "3", "--num-generations", "4", "--batch-size", "4",
        "--max-completion-length", "20", "--temperature", "0.5", "--lr", "2e-3", "--scheduler", "constant", "--warmup-ratio", "0",
        "--no-gradient-checkpointing", "--save-steps", "2", "--no-progress"]  # fmt: skip


def _records(n: int, **kw):
    out = []
    for r in make_records(n, **kw):
        messages = [
            Message(role="user", content=r.problem.question),
            Message(role="assistant", content=ANSWER),
        ]
        out.append(r.model_copy(update={"messages": messages}))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A sealed dataset, an SFT warm-up on it (runs/d/r4-a8) and GRPO from the warm-up (runs/g/r4-a8)."""
    root = tmp_path_factory.mktemp("grpo")
    Store(root / "ds").seal("d", _records(4), manifest={"teacher": "local:smollm2-135m"})
    common = ["--store", str(root / "ds"), "--out", str(root / "runs")]
    run_ok("train", "d", *common, "--rank", "4", "--alpha", "8", "--max-steps", "6", "--lr", "5e-3",
          "--eval-split", "0", "--max-length", "256", "--batch-size", "2", "--system", SYSTEM,
          "--no-gradient-checkpointing", "--no-progress")  # fmt: skip
    run_ok("train", "d", *common, "--name", "g", "--init-adapter", str(root / "runs" / "d" / "r4-a8"), *GRPO)
    return root


def test_grpo_from_the_warm_up_writes_an_adapter_that_reloads_and_differs(runs, smollm2_dir):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    warm, rl = runs / "runs" / "d" / "r4-a8", runs / "runs" / "g" / "r4-a8"
    for name in ("adapter_config.json", "adapter_model.safetensors", "config.yaml", "metrics.json",
                 "manifest.json", "README.md", "loss.png", "reward.png"):  # fmt: skip
        assert (rl / name).is_file(), name
    assert not (rl / "checkpoints").exists() and not (rl / "ref").exists()  # TRL's KL reference is not kept
    adapter = json.loads((rl / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"]) == (4, 8)  # the warm-up's LoRA, trained on
    before, after = load_file(warm / "adapter_model.safetensors"), load_file(rl / "adapter_model.safetensors")
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2_dir), rl)
    assert sum(p.numel() for n, p in model.named_parameters() if "lora_" in n) > 0

    man = json.loads((rl / "manifest.json").read_text())
    warm_man = json.loads((warm / "manifest.json").read_text())
    assert man["method"] == "grpo-lora" and warm_man["method"] == "sft-lora"
    assert man["init_adapter"]["path"] == str(warm.resolve())
    assert man["init_adapter"]["identity"] == warm_man["identity"]
    assert man["base"] == warm_man["base"] and man["prompt"]["system"] == SYSTEM  # asked as it was warmed up
    assert man["reward"]["name"] == "reft" and man["config"]["num_generations"] == 4


def test_metrics_carry_the_reward_shares_per_step(runs):
    m = json.loads((runs / "runs" / "g" / "r4-a8" / "metrics.json").read_text())
    assert m["method"] == "grpo" and m["steps"] == 3 and m["samples"] == 12
    rows = m["steps_metrics"]
    assert [r["step"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert r["correct"] + r["wrong"] + r["no_answer"] == pytest.approx(1.0)
        assert 0.0 <= r["reward"] <= 1.0 and r["reward_std"] >= 0.0
        assert r["kl"] >= 0.0 and 0 < r["completion_length"] <= 20 and r["reward_seconds"] >= 0.0
    assert any(r["reward_std"] > 0 for r in rows)  # some group's samples earned different rewards
    assert m["correct_share"] + m["wrong_share"] + m["no_answer_share"] == pytest.approx(1.0)
    assert m["tokens"] > 0 and m["tokens_per_s"] > 0 and m["peak_memory_bytes"] > 100e6
    assert 0.0 <= m["reward_time_share"] < 0.5 and m["wall_time_s"] > 0
    card = (runs / "runs" / "g" / "r4-a8" / "README.md").read_text()
    assert (
        "GRPOTrainer" in card
        and "![reward](reward.png)" in card
        and "share correct / wrong / no answer" in card
    )
    grid = (runs / "runs" / "g" / "grid.md").read_text()
    assert "| r4-a8 | trained | 3 |" in grid


def test_the_same_command_again_skips_the_finished_variant(capsys, runs):
    common = ["--store", str(runs / "ds"), "--out", str(runs / "runs")]
    warm = str(runs / "runs" / "d" / "r4-a8")
    code, stdout, stderr = rft(capsys, "train", "d", *common, "--name", "g", "--init-adapter", warm, *GRPO)
    assert code == 0, stderr
    assert "r4-a8: finished already" in stdout
    code, _, stderr = rft(
        capsys, "train", "d", *common, "--name", "g", "--init-adapter", warm, *GRPO, "--beta", "0.1"
    )
    assert code == 2 and "was trained with other settings (--beta differ)" in stderr


def test_rft_eval_reads_the_grpo_adapter_like_an_sft_one(capsys, runs, bench_dir, tmp_path):
    rl = runs / "runs" / "g" / "r4-a8"
    code, stdout, stderr = rft(
        capsys, "eval", "--model", "smollm2-135m", "--adapter", str(rl), "--benchmarks", "gsm8k",
        "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "evals"), "--limit", "2",
        "--max-new-tokens", "16", "--batch-size", "4",
    )  # fmt: skip
    assert code == 0, stderr
    assert "its manifest" not in stdout + stderr  # nothing missing: asked as trained, like an SFT adapter
    [folder] = list((tmp_path / "evals").iterdir())
    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    assert {r["model"] for r in rows} == {"base", "g/r4-a8"}
    prompts = {r["model"]: r["prompt"] for r in rows}
    assert prompts["g/r4-a8"][0] == {"role": "system", "content": SYSTEM}


def test_bad_input_is_one_line_and_exit_2(capsys, runs, tmp_path):
    store = tmp_path / "ds"
    records = _records(4)
    records[1] = records[1].model_copy(
        update={"problem": records[1].problem.model_copy(update={"answer": None})}
    )
    records[3] = records[3].model_copy(
        update={"problem": records[3].problem.model_copy(update={"answer": ""})}
    )
    Store(store).seal("nogold", records, manifest={"teacher": "local:smollm2-135m"})
    out = ["--out", str(tmp_path / "runs")]

    def fails(*args: str) -> str:
        code, stdout, stderr = rft(capsys, "train", *args, *out)
        assert code == 2, stderr
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and not list((tmp_path / "runs").glob("*/*")), stderr
        return lines[0]

    line = fails("nogold", "--store", str(store), "--method", "grpo")
    assert "2 of 4 records have nothing --reward reft can check (no gold answer: p1, p3)" in line
    assert "2 of 2 records" not in fails(
        "nogold", "--store", str(store), "--method", "rloo", "--reward", "code-tests"
    )

    other = tmp_path / "other"  # the warm-up's files, its manifest naming another base model
    other.mkdir()
    for f in (runs / "runs" / "d" / "r4-a8").iterdir():
        if f.is_file():
            (other / f.name).write_bytes(f.read_bytes())
    man = json.loads((other / "manifest.json").read_text())
    man["base"] = {"spec": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "7ae557604adf67be50417f59c2c2f167def9a775",
                   "sha256": None, "path": "/x"}  # fmt: skip
    (other / "manifest.json").write_text(json.dumps(man))
    line = fails("d", "--store", str(runs / "ds"), "--method", "grpo", "--init-adapter", str(other))
    assert "trained on another base model (Qwen/Qwen2.5-0.5B-Instruct, 7ae557604adf)" in line

    line = fails("d", "--store", str(runs / "ds"), "--method", "grpo", "--num-generations", "1")
    assert line.startswith("error: --num-generations (command line): must be >= 2, got 1")
    line = fails("d", "--store", str(runs / "ds"), "--method", "grpo", "--reward", "bleu")
    assert "--reward (command line): unknown reward 'bleu' (choose from reft, correct, code-tests)" in line
    assert "--method grpo|rloo" in fails("--problems", "demo")
    assert "multiple of --num-generations (3)" in fails("d", "--store", str(runs / "ds"), "--method", "grpo",
                                                        "--num-generations", "3")  # fmt: skip


def test_rloo_on_a_problem_source_with_a_format_bonus(capsys, tmp_path):
    runs = tmp_path / "runs"
    code, stdout, stderr = rft(
        capsys, "train", "--problems", "demo", "--limit", "2", "--method", "rloo", "--reward", "correct",
        "--format-reward", "0.5", "--rank", "2", "--alpha", "4", "--max-steps", "1", "--num-generations", "2",
        "--batch-size", "2", "--max-completion-length", "8", "--no-gradient-checkpointing", "--no-progress",
        "--out", str(runs),
    )  # fmt: skip
    assert code == 0, stderr
    assert "data demo: 2 problems, 2 prompts" in stdout
    folder = runs / "demo" / "r2-a4"
    man = json.loads((folder / "manifest.json").read_text())
    assert man["method"] == "rloo-lora" and man["init_adapter"] is None
    assert man["dataset"]["ref"] == "demo" and man["dataset"]["data_sha256"].startswith("sha256:")
    assert man["reward"] == {"name": "correct", "format_weight": 0.5, "graders": "rft.verify"}
    m = json.loads((folder / "metrics.json").read_text())
    assert m["method"] == "rloo" and m["steps"] == 1 and (folder / "reward.png").is_file()
    assert m["correct_share"] + m["wrong_share"] + m["no_answer_share"] == pytest.approx(1.0)
