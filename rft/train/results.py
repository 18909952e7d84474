"""What a grid produced: one Outcome per variant (trained, skipped or failed, with its metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.train.config import Variant


@dataclass
class Outcome:
    variant: Variant
    status: str  # trained | skipped | failed
    path: Path | None = None
    metrics: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class GridResult:
    root: Path
    outcomes: list[Outcome]
    grid_path: Path | None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]
