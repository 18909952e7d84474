"""Live progress on stderr: problems done/total, solve rate, backtracks, tokens, cost, ETA."""

from __future__ import annotations

from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rft.console import err
from rft.schemas import add_cost


@dataclass
class Totals:
    done: int = 0
    solved: int = 0
    failed: int = 0
    backtracks: int = 0
    tokens: int = 0
    cost_usd: float | None = 0.0  # spent by this process (cached answers cost nothing)

    def add_cost(self, cost: float | None) -> None:
        self.cost_usd = add_cost(self.cost_usd, cost)

    def line(self) -> str:
        rate = f"{self.solved / self.done:.0%}" if self.done else "-"
        cost = "?" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        failed = f" · failed {self.failed}" if self.failed else ""
        return f"solved {rate} · backtracks {self.backtracks} · tokens {self.tokens:,} · cost {cost}{failed}"


class LiveProgress:
    def __init__(self, total: int, already: int, totals: Totals, enabled: bool = True) -> None:
        self.totals = totals
        self.progress = Progress(
            TextColumn("[bold]generate[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=err,
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("generate", total=total, completed=already, stats=totals.line())

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.refresh()
        self.progress.stop()

    def refresh(self, advance: int = 0) -> None:
        if self.progress.disable:  # --no-progress: nothing is drawn, so nothing to format per problem
            return
        self.progress.update(self.task, advance=advance, stats=self.totals.line())
