"""Live progress of one variant: a rich bar with the step, the loss, tokens/s and the ETA, drawn on
stderr by the world's process zero only (a TrainerCallback, so it works under torchrun too)."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from transformers import TrainerCallback

from rft.console import err


class LiveProgress(TrainerCallback):
    """Draws the bar; also keeps what it saw: the non-padding tokens TRL counted in this session."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled
        self.tokens = 0
        self.loss: float | None = None
        self._bar: Progress | None = None
        self._task: Any = None
        self._start = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()
        if not (self.enabled and state.is_world_process_zero and err.is_terminal):
            return
        self._bar = Progress(
            TextColumn(f"{self.label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[tps]} tok/s"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            "steps", total=state.max_steps, completed=state.global_step, loss="-", tps="-"
        )

    def on_step_end(self, args, state, control, **kwargs):
        if self._bar is not None:
            self._bar.update(self._task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "num_tokens" in logs and "loss" in logs:  # a training log (eval logs carry eval_num_tokens)
            self.tokens = int(logs["num_tokens"])
        if "loss" in logs:
            self.loss = float(logs["loss"])
        if self._bar is not None:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            loss = f"{self.loss:.4f}" if self.loss is not None else "-"
            self._bar.update(self._task, loss=loss, tps=f"{self.tokens / elapsed:,.0f}")

    def on_train_end(self, args, state, control, **kwargs):
        self.stop()

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
