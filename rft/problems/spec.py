"""`SourceSpec`: a parsed problem source (file, Hub dataset, or built-in demo), and file suffixes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".parquet")


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source. `kind` is `file`, `hub` or `builtin`."""

    kind: str
    name: str  # file path, Hub id, or generator name
    config: str | None = None
    split: str | None = None
    revision: str | None = None
    size: int | None = None  # builtin only
    seed: int | None = None  # builtin only
    preset: str | None = None  # preset implied by the source (preset shorthand or known Hub id)

    @property
    def path(self) -> Path:
        return Path(self.name)


def file_suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()
