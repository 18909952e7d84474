"""What a published folder is: its file names, the configs of a dataset and what each holds, and the
`Bundle` (a folder ready to upload and what it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "rft_publish.json"
README = "README.md"
RENDER_CONFIGS = ("path", "backtrack", "search")
CONFIGS = ("default", "solved_correct", *RENDER_CONFIGS)
CONFIG_TEXT = {
    "default": "every record, with `messages` as stored",
    "solved_correct": "the trainable records (solved and, where gold exists, correct): what `rft train` "
    "trains on by default",
    "path": "the trainable records, `messages` re-rendered from the trace as the correct path only "
    "(the baseline without backtracks)",
    "backtrack": "the trainable records, `messages` re-rendered with the wrong turns and natural backtracks",
    "search": "the trainable records, `messages` re-rendered in explicit search notation",
}


def data_file(config: str) -> str:
    return f"data/{config}/train-00000-of-00001.parquet"


@dataclass
class Bundle:
    """A folder ready to upload, and what it is."""

    folder: Path
    kind: str  # dataset | adapter
    ref: str  # NAME@vN, or runs/<name>/<variant>
    tag: str  # the Hub tag it is published under
    marker: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)  # a dataset's rows per config
    notes: list[str] = field(default_factory=list)
