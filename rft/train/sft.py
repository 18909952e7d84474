"""One LoRA SFT variant: TRL's `SFTTrainer` with a PEFT `LoraConfig`, on the prompt/completion examples
(completion-only loss: the assistant turn and its end-of-turn token, nothing of the prompt).

Runs unchanged under `torchrun` / `accelerate launch`: the Trainer shards the data and syncs the
gradients; only the world's process zero draws progress (the callbacks check it) and writes files (the
caller checks `is_main`)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rft.console import err
from rft.errors import RftError
from rft.memory import PeakMemory
from rft.train.attention import padding_free_attention
from rft.train.config import OptimConfig, TrainConfig, Variant
from rft.train.data import TrainData
from rft.train.lm_head import lean_fused_lm_head
from rft.train.model import BaseModelInfo, load_model

CHECKPOINTS = "checkpoints"
OOM_HINT = "try a smaller --batch-size (with --grad-accum to keep the effective batch), --gradient-checkpointing, or a shorter --max-length"


class OutOfMemory(RftError):
    """Training ran out of (GPU or host) memory."""


@dataclass
class Prepared:
    """What every variant of a grid shares: the config, the base model, its tokenizer, the data."""

    cfg: TrainConfig
    base: BaseModelInfo
    tokenizer: Any
    data: TrainData
    device: str
    dtype: Any
    targets: str | list[str]


@dataclass
class Trained:
    metrics: dict[str, Any]
    log_history: list[dict[str, Any]] = field(default_factory=list)


def init_distributed(device: str) -> None:
    """Join the launcher's process group (torchrun / accelerate launch set the env) the way the
    Trainer's arguments will (`use_cpu` on CPU: gloo), so rank checks before the Trainer exists agree
    with it. A single process stays undistributed."""
    from accelerate import PartialState

    PartialState(cpu=device == "cpu")


def is_main() -> bool:
    """True on the world's process zero (and when not distributed)."""
    from accelerate import PartialState

    return PartialState().is_main_process


def wait_for_everyone() -> None:
    from accelerate import PartialState

    PartialState().wait_for_everyone()


def world_size() -> int:
    from accelerate import PartialState

    return PartialState().num_processes


def lora_config(cfg: TrainConfig, variant: Variant, targets: str | list[str]) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=variant.rank,
        lora_alpha=variant.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=targets,
        use_rslora=cfg.lora.use_rslora,
        use_dora=cfg.lora.use_dora,
        bias="none",
        task_type="CAUSAL_LM",
    )


def sft_config(prep: Prepared, work: Path) -> Any:
    import torch
    from trl import SFTConfig

    o, cfg = prep.cfg.optim, prep.cfg
    return SFTConfig(
        output_dir=str(work / CHECKPOINTS),
        per_device_train_batch_size=o.batch_size,
        per_device_eval_batch_size=o.batch_size,
        gradient_accumulation_steps=o.grad_accum,
        learning_rate=o.lr,
        lr_scheduler_type=o.scheduler,
        warmup_steps=o.warmup_ratio,  # a float below 1 is a share of the steps
        weight_decay=o.weight_decay,
        num_train_epochs=o.epochs,
        max_steps=o.max_steps or -1,
        seed=o.seed,
        activation_checkpointing=o.gradient_checkpointing,  # transformers 5's name of gradient checkpointing
        bf16=prep.dtype == torch.bfloat16 and prep.device != "cpu",
        fp16=prep.dtype == torch.float16 and prep.device != "cpu",
        use_cpu=prep.device == "cpu",
        # records over it were dropped, so nothing is truncated (TRL refuses a max_length it would not enforce:
        # padding-free without packing)
        max_length=None if o.padding_free and not o.packing else cfg.data.max_length,
        packing=o.packing,
        packing_strategy="bfd",
        padding_free=o.padding_free or o.packing,
        train_sampling_strategy="group_by_length" if o.group_by_length and not padding_free(o) else "random",
        completion_only_loss=True,
        assistant_only_loss=False,
        logging_steps=1,
        save_strategy="steps",
        save_steps=cfg.output.save_steps,
        save_total_limit=cfg.output.save_total_limit,
        eval_strategy="no",  # eval loss before and after training, not mid-run
        report_to=[],
        disable_tqdm=True,
        log_level="warning",
    )


def padding_free(o: OptimConfig) -> bool:
    """Batches flattened into one row (packing is padding-free too)."""
    return o.padding_free or o.packing


def is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def build_trainer(prep: Prepared, variant: Variant, work: Path, callbacks: list[Any]) -> Any:
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer

    model = load_model(
        prep.base, prep.dtype, padding_free_attention(prep.device) if padding_free(prep.cfg.optim) else None
    )
    train = Dataset.from_list([e.row() for e in prep.data.train])
    evalset = Dataset.from_list([e.row() for e in prep.data.eval]) if prep.data.eval else None
    trainer = SFTTrainer(
        model=model,
        args=sft_config(prep, work),
        train_dataset=train,
        eval_dataset=evalset,
        processing_class=prep.tokenizer,
        peft_config=lora_config(prep.cfg, variant, prep.targets),
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the rich progress shows them
    return trainer


def parameter_counts(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def last_checkpoint(work: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = work / CHECKPOINTS
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


class _KillAfterCheckpoint(TrainerCallback):
    """Test hook: RFT_TEST_KILL_AFTER_CHECKPOINT=<variant>:<step> kills this process with SIGKILL once
    that variant has saved the checkpoint of that step (a grid killed mid-variant)."""

    def __init__(self, variant: str, step: int) -> None:
        self.variant, self.step = variant, step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class _InterruptAtStep(TrainerCallback):
    """Test hook: RFT_TEST_INTERRUPT_AT_STEP=<variant>:<step> sends this process SIGINT (a Ctrl-C)
    at the end of that step."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def _test_hooks(variant: Variant) -> list[Any]:
    hooks: list[Any] = []
    for env, hook in (
        ("RFT_TEST_KILL_AFTER_CHECKPOINT", _KillAfterCheckpoint),
        ("RFT_TEST_INTERRUPT_AT_STEP", None),
    ):
        name, _, step = os.environ.get(env, "").partition(":")
        if name == variant.name and step.isdigit():
            hooks.append(hook(name, int(step)) if hook else _InterruptAtStep(int(step)))
    return hooks


class StopOnInterrupt(TrainerCallback):
    """A first Ctrl-C asks the Trainer to save a checkpoint after the current step and stop (the
    variant resumes from it); a second one stops at once. Single-process runs only: under torchrun
    the ranks would stop at different steps, so there Ctrl-C keeps the last periodic checkpoint."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.requested = False

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested:
            control.should_save = True
            control.should_training_stop = True

    @contextlib.contextmanager
    def installed(self):
        import threading

        if world_size() > 1 or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            err.print(
                f"{self.label}: stopping after this step and saving a checkpoint (Ctrl-C again stops at once)",
                markup=False,
            )

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def train_variant(prep: Prepared, variant: Variant, work: Path, *, label: str, progress: bool) -> Trained:
    """Train one variant with its checkpoints in `work/checkpoints` (resumed from the last one), save
    the adapter (and tokenizer) into `work`, and return its metrics. OutOfMemory on OOM."""
    import torch

    from rft.train.progress import LiveProgress

    memory = PeakMemory(prep.device)
    memory.start()
    live = LiveProgress(label, enabled=progress)
    stopper = StopOnInterrupt(label)
    trainer = build_trainer(prep, variant, work, [live, stopper, *_test_hooks(variant)])
    trainable, total = parameter_counts(trainer.model)
    resume = last_checkpoint(work)
    if resume and is_main():
        err.print(f"{label}: resuming from {Path(resume).name}", markup=False)
    started = time.perf_counter()
    with lean_fused_lm_head(prep.device):  # eval loss and training alike
        try:
            before = trainer.evaluate()["eval_loss"] if prep.data.eval and not resume else None
            with stopper.installed():
                out = trainer.train(resume_from_checkpoint=resume)
            if stopper.requested:
                saved = last_checkpoint(work)
                if is_main():
                    err.print(
                        f"{label}: saved {Path(saved).name if saved else 'no checkpoint'}", markup=False
                    )
                raise KeyboardInterrupt
            after = trainer.evaluate()["eval_loss"] if prep.data.eval else None
        except Exception as exc:
            live.stop()
            if is_oom(exc):
                if prep.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                raise OutOfMemory(f"{label}: out of memory on {prep.device}; {OOM_HINT}") from exc
            raise
        finally:
            live.stop()
    wall = time.perf_counter() - started
    peak = memory.read()
    history = list(trainer.state.log_history)
    steps = [h for h in history if "loss" in h and "step" in h]
    runtime = float(out.metrics.get("train_runtime") or wall)
    session_tokens = live.tokens  # counted by TRL without padding, in this session (after a resume: since it)
    metrics = {
        "variant": variant.name,
        "rank": variant.rank,
        "alpha": variant.alpha,
        "steps": int(trainer.state.global_step),
        "epochs": float(trainer.state.epoch or 0.0),
        "train_records": len(prep.data.train),
        "eval_records": len(prep.data.eval),
        "loss": [{"step": int(h["step"]), "loss": float(h["loss"])} for h in steps],
        "final_train_loss": float(steps[-1]["loss"]) if steps else None,
        "train_loss_mean": float(out.training_loss),
        "eval_loss_before": float(before) if before is not None else None,
        "eval_loss": float(after) if after is not None else None,
        "trainable_params": trainable,
        "total_params": total,
        "tokens": int(session_tokens),
        "tokens_per_s": session_tokens / runtime if runtime > 0 else None,
        "peak_memory_bytes": peak,
        "peak_memory_kind": memory.kind,
        "wall_time_s": wall,
        "train_runtime_s": runtime,
        "resumed_from": Path(resume).name if resume else None,
        "device": prep.device,
        "dtype": str(prep.dtype).removeprefix("torch."),
        "world_size": world_size(),
    }
    trainer.save_model(str(work))  # the adapter (adapter_config.json, adapter_model.safetensors), rank 0 only
    if is_main():
        prep.tokenizer.save_pretrained(str(work))
        if prep.cfg.output.merge:
            merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
            merged.save_pretrained(str(work / "merged"))
            prep.tokenizer.save_pretrained(str(work / "merged"))
    return Trained(metrics, history)
