"""`rft train` end to end with real SmolLM2-135M on CPU, a few steps each: the loss falls, the saved
adapter reloads and changes the greedy output (and --merge writes the same model merged), a 2x2 grid
writes four variants with the right r and alpha, and a grid killed mid-variant resumes: the finished
variant is skipped, the interrupted one continues from its last checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_records

from rft.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
FAST = ["--no-progress", "--max-length", "256", "--batch-size", "2"]  # few tokens a step: 2 shared cores


@pytest.fixture
def store(tmp_path) -> Path:
    Store(tmp_path / "ds").seal("d", make_records(4), manifest={"teacher": "local:smollm2-135m"})
    return tmp_path / "ds"


def _greedy(model, tok, question: str) -> str:
    import torch

    ids = tok.apply_chat_template(
        [{"role": "user", "content": question}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=24, do_sample=False)
    return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def test_loss_falls_and_the_adapter_reloads_and_changes_greedy_output(capsys, tmp_path, store, smollm2_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    runs = tmp_path / "runs"
    code, stdout, stderr = rft(
        capsys, "train", "d", "--store", str(store), "--out", str(runs), "--rank", "8", "--alpha", "16",
        "--max-steps", "6", "--lr", "3e-3", "--scheduler", "constant", "--warmup-ratio", "0",
        "--eval-split", "0.15", "--merge", *FAST,
    )  # fmt: skip
    assert code == 0, stderr
    folder = runs / "d" / "r8-a16"
    assert "data d@v1: 4 records, 4 kept; 3 train, 1 eval" in stdout
    assert f"r8-a16: wrote {folder}" in stdout and f"grid: {runs / 'd' / 'grid.md'}" in stdout
    for name in ("adapter_config.json", "adapter_model.safetensors", "config.yaml", "metrics.json",
                 "manifest.json", "README.md", "loss.png", "merged/model.safetensors"):  # fmt: skip
        assert (folder / name).is_file(), name
    assert not (folder / "checkpoints").exists() and not list((runs / "d").glob("*.tmp-*"))

    m = json.loads((folder / "metrics.json").read_text())
    losses = [s["loss"] for s in m["loss"]]
    assert [s["step"] for s in m["loss"]] == [1, 2, 3, 4, 5, 6]
    assert losses[-1] < 0.7 * losses[0], losses  # the same three records, four epochs: the loss falls
    assert m["eval_loss"] < m["eval_loss_before"]
    assert 0 < m["trainable_params"] < m["total_params"] and m["tokens"] > 0 and m["tokens_per_s"] > 0
    assert m["peak_memory_kind"] == "peak_rss" and m["peak_memory_bytes"] > 100e6 and m["world_size"] == 1
    assert (m["device"], m["dtype"]) == ("cpu", "float32")

    man = json.loads((folder / "manifest.json").read_text())
    sealed = Store(store).read_manifest("d")
    assert man["dataset"] == {
        "ref": "d@v1",
        "data_sha256": sealed.files["data.jsonl"].sha256,
        "files": {k: v.sha256 for k, v in sealed.files.items()},
    }
    assert man["base"]["spec"] == "smollm2-135m" and len(man["base"]["sha256"]) == 64
    assert man["command"][:3] == ["rft", "train", "d"] and "git_commit" in man and man["rft_version"]
    assert man["config"]["rank"] == 8 and man["config"]["alpha"] == 16 and man["config"]["lr"] == 3e-3
    card = (folder / "README.md").read_text()
    assert (
        "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card
        and "d@v1" in card
        and "| rank (r) | 8 |" in card
    )

    tok = AutoTokenizer.from_pretrained(folder)
    question = make_records(1)[0].problem.question
    before = _greedy(AutoModelForCausalLM.from_pretrained(smollm2_dir), tok, question)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2_dir), folder)
    after = _greedy(tuned, tok, question)
    assert after != before
    assert after.startswith("Tom starts with 3 boxes"), after  # what it was trained to write
    merged = AutoModelForCausalLM.from_pretrained(folder / "merged")
    assert _greedy(merged, tok, question) == after


def test_a_2x2_grid_writes_four_variants_with_their_rank_and_alpha(capsys, tmp_path, store):
    runs = tmp_path / "runs"
    args = ["train", "d", "--store", str(store), "--out", str(runs), "--name", "grid", "--rank", "2,4",
            "--alpha", "4,8", "--max-steps", "1", "--eval-split", "0", *FAST]  # fmt: skip
    # r4-a8 cannot be published (a file holds its name): it fails, the other three go on
    (runs / "grid").mkdir(parents=True)
    (runs / "grid" / "r4-a8").write_text("in the way")
    code, stdout, stderr = rft(capsys, *args)
    assert code == 2
    assert "error: 1 of 4 variants failed: r4-a8 (cannot write " in stderr
    rows = [line for line in (runs / "grid" / "grid.md").read_text().splitlines() if line.startswith("| r")]
    assert [r.split(" | ")[1] for r in rows[:3]] == ["trained"] * 3
    assert rows[3].startswith("| r4-a8 | failed: cannot write ")

    (runs / "grid" / "r4-a8").unlink()  # out of the way: its finished files are moved in, not retrained
    code, stdout, stderr = rft(capsys, *args)
    assert code == 0, stderr
    assert stdout.count("finished already") == 3 and "r4-a8 (4/4): finished in r4-a8.tmp-" in stdout
    names = ["r2-a4", "r2-a8", "r4-a4", "r4-a8"]
    for name in names:
        adapter = json.loads((runs / "grid" / name / "adapter_config.json").read_text())
        assert (adapter["r"], adapter["lora_alpha"]) == (int(name[1]), int(name.split("-a")[1]))
        assert set(adapter["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
        assert name in stdout
    assert not list((runs / "grid").glob("*.tmp-*"))
    table = (runs / "grid" / "grid.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| r")]
    assert [r.split(" | ")[0].removeprefix("| ") for r in rows] == names
    params = json.loads((runs / "grid" / "r4-a8" / "metrics.json").read_text())["trainable_params"]
    assert (
        params == 2 * json.loads((runs / "grid" / "r2-a8" / "metrics.json").read_text())["trainable_params"]
    )

    # the same grid again: every variant is finished, nothing is trained
    code, stdout, _ = rft(capsys, *args)
    assert code == 0 and stdout.count("finished already") == 4
    # a finished variant under the same name with other settings is not mixed in
    code, _, stderr = rft(capsys, *args, "--lr", "1e-3")
    assert code == 2 and "was trained with other settings (--lr differ)" in stderr


def test_a_killed_grid_resumes_without_retraining_the_finished_variant(capsys, tmp_path, store):
    runs = tmp_path / "runs"
    args = ["train", "d", "--store", str(store), "--out", str(runs), "--rank", "2,4", "--alpha", "8",
            "--max-steps", "2", "--save-steps", "1", "--eval-split", "0", "--packing", *FAST]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RFT_TEST_KILL_AFTER_CHECKPOINT": "r4-a8:1"}
    proc = subprocess.run(
        [sys.executable, "-m", "rft.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == -9, proc.stderr  # SIGKILL after r4-a8 saved checkpoint-1
    first = runs / "d" / "r2-a8"
    assert (first / "manifest.json").is_file()
    assert not (runs / "d" / "r4-a8").exists()  # the interrupted variant never looks finished
    [partial] = (runs / "d").glob("r4-a8.tmp-*")
    assert (partial / "checkpoints" / "checkpoint-1").is_dir()
    stamp = (first / "adapter_model.safetensors").stat().st_mtime_ns

    code, stdout, stderr = rft(capsys, *args)
    assert code == 0, stderr
    assert f"r2-a8 (1/2): finished already ({first}); skipped" in stdout
    assert "r4-a8 (2/2): resuming from checkpoint-1" in stderr
    assert (first / "adapter_model.safetensors").stat().st_mtime_ns == stamp  # not retrained
    m = json.loads((runs / "d" / "r4-a8" / "metrics.json").read_text())
    assert m["resumed_from"] == "checkpoint-1" and m["steps"] == 2
    assert [s["step"] for s in m["loss"]] == [1, 2]  # the history before the kill is kept
    assert not partial.exists()
    rows = [r for r in (runs / "d" / "grid.md").read_text().splitlines() if r.startswith("| r")]
    assert " | skipped | " in rows[0] and " | trained | " in rows[1]


def test_ctrl_c_saves_a_checkpoint_and_the_same_command_resumes_from_it(capsys, tmp_path, store, monkeypatch):
    runs = tmp_path / "runs"
    args = ["train", "d", "--store", str(store), "--out", str(runs), "--rank", "2", "--alpha", "4",
            "--max-steps", "3", "--save-steps", "100", "--eval-split", "0", *FAST]  # fmt: skip
    monkeypatch.setenv("RFT_TEST_INTERRUPT_AT_STEP", "r2-a4:1")  # a real SIGINT at the end of step 1
    code, _, stderr = rft(capsys, *args)
    assert code == 130, stderr
    assert "r2-a4: stopping after this step and saving a checkpoint" in stderr
    assert "interrupted: finished variants are kept" in stderr
    [partial] = (runs / "d").glob("r2-a4.tmp-*")
    [checkpoint] = (partial / "checkpoints").glob("checkpoint-*")
    assert checkpoint.name in ("checkpoint-1", "checkpoint-2")  # no periodic checkpoint was due
    assert not (runs / "d" / "r2-a4").exists()

    monkeypatch.delenv("RFT_TEST_INTERRUPT_AT_STEP")
    code, _, stderr = rft(capsys, *args)
    assert code == 0, stderr
    m = json.loads((runs / "d" / "r2-a4" / "metrics.json").read_text())
    assert m["resumed_from"] == checkpoint.name and m["steps"] == 3
    assert [s["step"] for s in m["loss"]] == [1, 2, 3]
