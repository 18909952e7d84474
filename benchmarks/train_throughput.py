"""`rft train` against a plain TRL `SFTTrainer` script (prints ratios; not a test).

Same model (SmolLM2-135M-Instruct, the `smollm2-135m` alias, fp32 on CPU), same LoRA (r 16, alpha 32,
q/k/v/o), same optimiser settings, same data, batch size and steps: one epoch of each over the same
steps x batch-size rows (a seeded sample), so both see the same examples in another order. The data is a real sealed rft
dataset with variable-length traces: 8 word problems searched 18 ways each (dfs, beam, best-first x
2-4 branches x 2 seeds) by the scripted fallible teacher and judge of tests/fallible.py, rendered with
backtracks; the baseline gets the same prompt/completion rows rft trains on, as a JSONL file.

- rft: `rft train traces` with its defaults: padding-free batches (TRL's padding-free collator flattens
  each batch into one row, and rft.train.attention runs sdpa once per example, causal and maskless),
  so no compute goes to padding and no example attends to another. `--packing` here runs the rft side
  with TRL's bfd packing as well (rows filled up to --max-length: fewer, fuller steps).
- TRL: the script of TRL's quickstart (a dataset, an `SFTConfig`, a `LoraConfig`, `SFTTrainer`):
  no packing, default padding (each batch padded to its longest example), sdpa with a padding mask.

Both sides keep TRL's defaults otherwise (gradient checkpointing on, its fused LM head), so the
difference is padding and attention. Plain sdpa would turn padding-free boundaries into a dense
block-diagonal mask over the whole flattened batch (attention cost growing with the square of the
batch's total length, off sdpa's fused causal kernels): that is why TRL ties padding-free to
flash-attention, which is CUDA-only; per-example sdpa needs no such kernel.

Each side runs in its own subprocess, so peak RSS (os.wait4) is measured per side. tokens/s counts
non-padding tokens only (TRL's own `num_tokens`) over the trainer's `train_runtime`. Targets: tokens/s
ratio >= 1.3, peak-memory ratio <= 1.0; the final losses of both are printed so the speed is not bought
with a different objective.

    .venv/bin/python benchmarks/train_throughput.py [--steps 3] [--batch-size 4] [--max-length 640] [--repeats 1] [--packing] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]  # rft train's default
RANK, ALPHA, LR, WARMUP, SCHEDULER, DROPOUT = 16, 32, 2e-4, 0.03, "cosine", 0.05  # rft train's defaults


def build_dataset(store: Path, rows: int) -> str:
    """Seal `traces@v1`: `rows` trainable fallible-teacher searches of the 8 word problems (a seeded
    sample of all of them), rendered with backtracks. Both sides train one epoch over exactly these rows,
    so they see the same examples, and the peak memory of each comes from the same longest example."""
    sys.path.insert(0, str(ROOT / "tests"))
    import fallible as F

    from rft.generate.render import render
    from rft.store import Store

    configs = list(itertools.product(["dfs", "beam", "best-first"], [2, 3, 4], [0, 1]))
    records = []
    for problem in F.problems():
        for k, (strategy, branches, seed) in enumerate(configs):
            res = F.run_search(problem, strategy, branches=branches, seed=seed)
            rec = F.record_for(problem.model_copy(update={"id": f"{problem.id}-{k}"}), res)
            rec.messages = render(rec, "backtrack", seed)
            rec.render = "backtrack"
            records.append(rec)
    trainable = [r for r in records if r.outcome.trainable]
    if rows > len(trainable):
        sys.exit(f"--steps x --batch-size = {rows} rows; the data has {len(trainable)} trainable rows")
    records = random.Random(0).sample(trainable, rows)
    Store(store).seal(
        "traces", records, manifest={"teacher": "fallible:teacher", "validator": "fallible:judge"}
    )
    return "traces"


def write_rows(store: Path, name: str, path: Path, tokenizer) -> list[int]:
    """The prompt/completion rows rft trains on (its own filter: trainable records only) as JSONL;
    returns each row's length in tokens."""
    from rft.store import Store
    from rft.train.config import DataConfig
    from rft.train.data import count_tokens, examples_from_records

    examples, _, _ = examples_from_records(Store(store).load_ref(name).records, DataConfig(dataset=name))
    count_tokens(examples, tokenizer)
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e.row()) + "\n")
    return [e.tokens for e in examples]


def trl_baseline(data: str, model: str, out: str, steps: int, batch_size: int, max_length: int) -> None:
    """The plain TRL script, as TRL's docs write it (no packing, default padding)."""
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    dataset = load_dataset("json", data_files=data, split="train")
    training_args = SFTConfig(
        output_dir=out,
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        max_length=max_length,
        learning_rate=LR,
        lr_scheduler_type=SCHEDULER,
        warmup_steps=WARMUP,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        use_cpu=True,  # TRL's default bf16=True refuses a machine without a GPU
        # fp32, what rft picks on CPU: TRL's default (bf16 autocast on CPU) would compare precisions, not trainers
        bf16=False,
    )
    peft_config = LoraConfig(
        r=RANK, lora_alpha=ALPHA, lora_dropout=DROPOUT, target_modules=TARGETS, task_type="CAUSAL_LM"
    )
    trainer = SFTTrainer(model=model, args=training_args, train_dataset=dataset, peft_config=peft_config)
    result = trainer.train()

    logs = [h for h in trainer.state.log_history if "loss" in h and "num_tokens" in h]
    runtime = result.metrics["train_runtime"]
    metrics = {
        "steps": trainer.state.global_step,
        "tokens": int(logs[-1]["num_tokens"]),
        "tokens_per_s": logs[-1]["num_tokens"] / runtime,
        "final_train_loss": logs[-1]["loss"],
        "train_loss_mean": result.training_loss,
        "train_runtime_s": runtime,
    }
    Path(out, "metrics.json").write_text(json.dumps(metrics, indent=2))


def run_child(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[int, float, float]:
    """Run `cmd` to the end; (its peak RSS in bytes, wall seconds, CPU seconds). Exits with its log's
    tail on failure."""
    started = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed (exit {code}):\n{log.read_text()[-3000:]}")
    return usage.ru_maxrss * 1024, wall, usage.ru_utime + usage.ru_stime  # ru_maxrss: kilobytes on Linux


def bench(
    steps: int, batch_size: int, max_length: int, repeats: int, work: Path, packing: bool = False
) -> None:
    from transformers import AutoTokenizer

    from rft.teachers.local_model import resolve_local_model

    model = resolve_local_model("smollm2-135m")
    store = work / "ds"
    name = build_dataset(store, steps * batch_size)
    data = work / "rows.jsonl"
    lengths = write_rows(store, name, data, AutoTokenizer.from_pretrained(model))
    over = sum(n > max_length for n in lengths)
    if over:
        sys.exit(f"{over} rows are over --max-length {max_length}: rft would drop them, TRL cut them")

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the tests: spinning OpenMP threads steal shared cores
    rft_cmd = [
        sys.executable, "-m", "rft.cli", "train", name, "--store", str(store), "--out", "{out}",
        "--base", "smollm2-135m", *(["--packing"] if packing else []), "--max-steps", str(steps), "--batch-size", str(batch_size),
        "--max-length", str(max_length), "--eval-split", "0", "--rank", str(RANK), "--alpha", str(ALPHA),
        "--lr", str(LR), "--scheduler", SCHEDULER, "--warmup-ratio", str(WARMUP), "--dropout", str(DROPOUT),
        "--save-steps", str(steps + 1), "--seed", "0", "--no-progress",
    ]  # fmt: skip
    trl_cmd = [
        sys.executable, __file__, "--trl-baseline", str(data), str(model), "{out}",
        str(steps), str(batch_size), str(max_length),
    ]  # fmt: skip

    import torch

    print(
        f"data: {name}@v1, {len(lengths)} trainable rows of {min(lengths)}-{max(lengths)} tokens "
        f"(mean {statistics.mean(lengths):.0f}, sd {statistics.pstdev(lengths):.0f}); "
        f"SmolLM2-135M fp32 on CPU ({torch.get_num_threads()} threads), LoRA r{RANK} a{ALPHA} q/k/v/o; "
        f"batch {batch_size}, {steps} steps, max length {max_length}",
        flush=True,
    )
    runs: dict[str, list[tuple[dict, int, float, float]]] = {"rft": [], "trl": []}
    for r in range(repeats):  # the sides alternate, so a burst of load elsewhere hits both alike
        out = work / f"rft-{r}"
        rss, wall, cpu = run_child([a.format(out=out) for a in rft_cmd], work / f"rft-{r}.log", env)
        runs["rft"].append(
            (json.loads((out / name / f"r{RANK}-a{ALPHA}" / "metrics.json").read_text()), rss, wall, cpu)
        )
        out = work / f"trl-{r}"
        rss, wall, cpu = run_child([a.format(out=out) for a in trl_cmd], work / f"trl-{r}.log", env)
        runs["trl"].append((json.loads((out / "metrics.json").read_text()), rss, wall, cpu))

    print(
        f"{'':24} {'tokens/s':>9} {'tok/CPU-s':>9} {'peak RSS':>9} {'final loss':>10} {'mean loss':>9} "
        f"{'tokens':>7} {'tok/step':>8} {'train s':>8} {'wall s':>7}"
    )
    labels = {
        "rft": "rft train --packing" if packing else "rft train (pad-free)",
        "trl": "TRL SFTTrainer (padded)",
    }
    for side in ("rft", "trl"):
        for m, rss, wall, cpu in runs[side]:
            print(
                f"{labels[side]:24} {m['tokens_per_s']:9.1f} {m['tokens'] / cpu:9.1f} {rss / 2**30:7.2f}GB "
                f"{m['final_train_loss']:10.4f} {m['train_loss_mean']:9.4f} {m['tokens']:7d} "
                f"{m['tokens'] / m['steps']:8.0f} {m['train_runtime_s']:8.1f} {wall:7.1f}"
            )
    best = {side: max(runs[side], key=lambda run: run[0]["tokens_per_s"]) for side in runs}
    (rft_m, _, _, rft_cpu), (trl_m, _, _, trl_cpu) = best["rft"], best["trl"]
    speed = rft_m["tokens_per_s"] / trl_m["tokens_per_s"]
    per_cpu = (rft_m["tokens"] / rft_cpu) / (trl_m["tokens"] / trl_cpu)
    memory = max(run[1] for run in runs["rft"]) / max(run[1] for run in runs["trl"])
    of = f" (best of {repeats} runs each)" if repeats > 1 else ""
    print(
        f"tokens/s ratio (rft / TRL){of}: {speed:.2f}  (target >= 1.3: {'met' if speed >= 1.3 else 'NOT met'}); "
        f"tokens per CPU-second of the whole process, less sensitive to other load: {per_cpu:.2f}"
    )
    print(
        f"peak memory ratio (rft / TRL): {memory:.2f}  (target <= 1.0: {'met' if memory <= 1.0 else 'NOT met'})"
    )
    print(
        f"final train loss: rft {rft_m['final_train_loss']:.4f}, TRL {trl_m['final_train_loss']:.4f} "
        f"(mean over the steps: rft {rft_m['train_loss_mean']:.4f}, TRL {trl_m['train_loss_mean']:.4f})"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--trl-baseline":
        data, model, out, steps, batch, length = sys.argv[2:8]
        trl_baseline(data, model, out, int(steps), int(batch), int(length))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3, help="optimizer steps of each side")
    ap.add_argument("--batch-size", type=int, default=4, help="per-device batch size of each side")
    ap.add_argument(
        "--max-length",
        type=int,
        default=640,
        help="tokens per packed row (the longest trace is 599 tokens: nothing is dropped or cut)",
    )
    ap.add_argument(
        "--repeats", type=int, default=1, help="runs of each side, alternating (best tokens/s kept)"
    )
    ap.add_argument(
        "--packing",
        action="store_true",
        help="rft side with --packing (bfd, padding-free) instead of its default",
    )
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (logs, runs)")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        bench(args.steps, args.batch_size, args.max_length, args.repeats, args.keep.resolve(), args.packing)
        return
    work = Path(tempfile.mkdtemp(prefix="rft-train-bench-"))
    try:
        bench(args.steps, args.batch_size, args.max_length, args.repeats, work, args.packing)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
