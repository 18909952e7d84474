"""`rft train` under `torchrun --nproc_per_node 2` on CPU (gloo), with real SmolLM2-135M for a few
steps: the Trainer sees a world of two processes, and only process zero writes and prints, so the run
leaves one set of outputs (one variant folder, one adapter, one metrics.json) and prints every line once.
The tokens in metrics.json are the world's (TRL gathers them across processes), not process zero's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from factories import make_records

from rft.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).parent / "torchrun"


def test_torchrun_two_processes_train_one_variant_with_one_set_of_outputs(tmp_path, smollm2_dir):
    store, runs = tmp_path / "ds", tmp_path / "runs"
    Store(store).seal("d", make_records(8), manifest={"teacher": "local:smollm2-135m"})
    args = ["train", "d", "--store", str(store), "--out", str(runs), "--rank", "4", "--alpha", "8",
            "--max-steps", "3", "--save-steps", "2", "--batch-size", "2", "--max-length", "256",
            "--eval-split", "0.15", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COLUMNS": "250"}
    # --standalone: a free rendezvous port on localhost (other jobs may hold torchrun's default 29500)
    proc = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc_per_node", "2", "-m", "rft.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr

    root = runs / "d"
    folder = root / "r4-a8"
    assert sorted(p.name for p in root.iterdir()) == ["grid.md", "r4-a8"]  # no tmp folder left
    assert [p.relative_to(runs) for p in runs.rglob("adapter_model.safetensors")] == [
        Path("d/r4-a8/adapter_model.safetensors")
    ]
    assert [p.relative_to(runs) for p in runs.rglob("metrics.json")] == [Path("d/r4-a8/metrics.json")]
    assert not (folder / "checkpoints").exists()  # the checkpoint of step 2 was removed once, at the end
    adapter = json.loads((folder / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"]) == (4, 8)

    m = json.loads((folder / "metrics.json").read_text())
    assert m["world_size"] == 2 and m["steps"] == 3 and [s["step"] for s in m["loss"]] == [1, 2, 3]
    assert m["eval_loss"] is not None and m["tokens_per_s"] > 0
    man = json.loads((folder / "manifest.json").read_text())
    # 3 steps x 2 processes x 2 examples cover the 6 training records at least once: only when the
    # count is gathered from both processes does it reach the training set's tokens
    assert m["tokens"] >= man["data"]["train_tokens"], (m["tokens"], man["data"])
    assert man["command"][:3] == ["rft", "train", "d"]

    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    twice = [line for line, n in Counter(lines).items() if n > 1]
    assert not twice, proc.stdout  # process one printed nothing
    assert "data d@v1: 8 records, 8 kept; 6 train, 2 eval" in lines
    assert f"r4-a8: wrote {folder}" in lines and f"grid: {root / 'grid.md'}" in lines


def test_torchrun_bad_input_is_one_error_line_from_process_zero(tmp_path):
    store = tmp_path / "ds"
    Store(store).seal("d", make_records(2), manifest={"teacher": "local:smollm2-135m"})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COLUMNS": "250"}
    proc = subprocess.run(
        [
            str(TORCHRUN),
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "rft.cli",
            "train",
            "nosuch",
            "--store",
            str(store),
            "--no-progress",
        ],  # fmt: skip
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: no dataset 'nosuch' under {store} (datasets: d)"], proc.stderr
    assert "exitcode  : 2" in proc.stderr  # process zero's exit code, as torchrun reports it
    assert not (tmp_path / "runs").exists()
