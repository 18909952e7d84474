"""Live progress of `rft eval` on stderr: the model and benchmark being generated, samples done/total
(over every model and benchmark of the eval; samples already in samples.jsonl are not counted), the
samples/s of this invocation and the ETA. Drawn only on a terminal (like `rft train`'s bar) and gone
once the eval is done; `--no-progress` turns it off."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rft.console import err


class EvalProgress:
    """`stage(model, benchmark)` names what is generated, `advance(n)` counts finished samples."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.done = 0
        self._start: float | None = None  # the first stage: samples/s leaves the model's loading out
        self.progress = Progress(
            TextColumn("[bold]eval[/] {task.fields[what]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} samples/s"),
            TimeRemainingColumn(),
            console=err,
            disable=not (enabled and err.is_terminal),
            transient=True,
        )
        self.task = self.progress.add_task("eval", total=total, what="(loading the model)", rate="-")

    def __enter__(self) -> EvalProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def stage(self, model: str, benchmark: str) -> None:
        if self._start is None:
            self._start = time.perf_counter()
        self.progress.update(self.task, what=f"{model} on {benchmark}")

    def advance(self, n: int) -> None:
        self.done += n
        elapsed = max(time.perf_counter() - (self._start or time.perf_counter()), 1e-9)
        self.progress.update(self.task, advance=n, rate=f"{self.done / elapsed:.2f}")
