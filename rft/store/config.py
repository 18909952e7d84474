"""Configs of the `rft datasets` commands, beside the store they read and write: `StoreConfig` (the
store's root, the `--out` every command that reads or writes the store shares), `ShowConfig`,
`MergeConfig` and `ExportConfig`. The CLI options come from these definitions; `--config FILE`
loads them (rft/config.py). An export writes its resolved config beside the file it exported
(`<output>.config.yaml`); a merge records its own in the manifest of the version it seals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from rft.config import StageConfig, config_beside, config_text
from rft.redaction import redact_text
from rft.store.formats import EXPORT_FORMATS, FILE_TYPES, LEGACY_FORMATS
from rft.store.fsutil import replace_atomic

DEFAULT_ROOT = Path("datasets_out")
OUT_HELP = "root folder of the dataset store"


def store_root(description: str = OUT_HELP) -> Any:
    """The one declaration of a config's `out` field: the dataset store's root (`--out DIR`)."""
    return Field(default=DEFAULT_ROOT, description=description)


class StoreConfig(StageConfig):
    """What every command that reads or writes the store takes: its root."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "datasets"

    out: Path = store_root()


class ShowConfig(StoreConfig):
    SECTION: ClassVar[str | None] = "show"

    record: str | None = Field(
        default=None,
        description="show this problem id's trace as a tree",
        json_schema_extra={"aliases": ["-r"]},
    )
    rows: int = Field(default=5, ge=0, description="how many records to list")
    events: bool = Field(default=False, description="with --record: also list the search events in order")
    render: str | None = Field(
        default=None,
        description="with --record: also print its messages rendered as path | backtrack | search | think "
        "(from the trace; no teacher is called)",
    )


class MergeConfig(StoreConfig):
    SECTION: ClassVar[str | None] = "merge"

    allow_unvalidated: bool = Field(
        default=False,
        description="let unvalidated data become the LATEST of a dataset whose LATEST is validated",
    )


class ExportConfig(StoreConfig):
    SECTION: ClassVar[str | None] = "export"

    format: str = Field(
        default="messages",
        description=f"columns: {' | '.join(EXPORT_FORMATS)} (file type from the --output suffix:"
        f" {', '.join(FILE_TYPES)}); {' | '.join(LEGACY_FORMATS)}: messages in that file type",
        json_schema_extra={"aliases": ["-f"]},
    )
    output: Path = Field(
        description="file to write (.jsonl, .json or .parquet)", json_schema_extra={"aliases": ["-o"]}
    )
    trainable_only: bool = Field(
        default=False, description="only records that are solved and, where gold exists, correct"
    )
    render: str | None = Field(
        default=None, description="re-render every record's messages from its trace in this style first"
    )
    system: str | None = Field(
        default=None, description="a system message at the start of every conversation"
    )


def write_config_beside(cfg: BaseModel, output: Path, header: list[str]) -> Path:
    """Write `cfg` (YAML that `--config` loads back) beside `output`, atomically, secrets redacted;
    `header`: comment lines on top (the command, what it read). Returns the file's path."""
    path = config_beside(output)
    replace_atomic(path, redact_text(config_text(cfg, header)).encode("utf-8"))
    return path
