"""What one generate run works with, gathered once (instead of passed around as ten values), and what
it gives back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.generate.config import GenerateConfig
from rft.generate.prompts import PromptSet
from rft.problems.problemset import ProblemSet
from rft.store import Store
from rft.store.run import Run
from rft.verify.steps import JudgePrompt


@dataclass
class RunContext:
    cfg: GenerateConfig  # resolved: a resumed run's saved config
    command: list[str]
    store: Store
    run: Run
    name: str  # the dataset
    problems: ProblemSet  # held compactly: a Problem is made while it is worked on
    fingerprint: str | None  # of the problem source
    validator: str  # the validator's name (answer | judge | composite ...)
    prompts: PromptSet
    judge_prompt: JudgePrompt
    progress: bool = True
    seal_partial: bool = False  # seal the finished problems even when some failed

    def order(self) -> Mapping[str, int]:
        """Problem id -> its position (a compact table, not a dict: see `ProblemSet.positions`)."""
        return self.problems.positions()


@dataclass
class GenerateOutcome:
    name: str
    run_id: str
    ref: str | None = None  # name@vN once sealed
    path: Path | None = None
    counts: dict[str, Any] | None = None
    interrupted: bool = False
