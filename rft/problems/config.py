"""Configs of the problem sources: `ProblemsConfig` (which problems a stage reads, and how: the part
`rft generate` takes) and `PreviewConfig` (`rft problems preview`, which shares its fields)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rft.config import Part, StageConfig
from rft.errors import ConfigError
from rft.problems.presets import PRESETS


class ProblemsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problems: str = Field(description="a file (jsonl/json/csv/parquet), hf:<dataset id>, or demo")
    preset: str | None = Field(
        default=None, description=f"field mapping preset for the source: {', '.join(PRESETS)}"
    )
    limit: int | None = Field(default=None, ge=1, description="use at most this many problems")
    fields: dict[str, str] | None = Field(
        default=None,
        description="map a problem field to a column, e.g. question=problem (repeatable)",
        json_schema_extra={"flag": "--field"},
    )
    shuffle: bool = Field(
        default=False,
        description="shuffle problems (with --seed) before --shard and --limit",
        json_schema_extra={"flag": "--shuffle/--no-shuffle"},
    )
    shard: str | None = Field(
        default=None,
        description="keep shard i of n (0-based), e.g. 0/4; merge the parts with `rft datasets merge`",
    )
    on_duplicate_id: Literal["error", "skip", "rename"] = Field(
        default="error",
        description="rows sharing a problem id: error (identical rows are skipped), skip (keep the first) "
        "or rename (id-2, id-3, ...)",
    )
    allow_test_split: bool = Field(
        default=False,
        description="generate from a benchmark's test split anyway (decontamination removes those items)",
    )

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str | None) -> str | None:
        if v is not None:
            from rft.problems import parse_shard

            parse_shard(v)
        return v

    def shard_tuple(self) -> tuple[int, int] | None:
        from rft.problems import parse_shard

        return parse_shard(self.shard) if self.shard else None


# The source fields `rft problems preview` takes as they are (the source itself is its argument).
PREVIEW_SOURCE = ("preset", "fields", "shuffle", "shard", "on_duplicate_id")


class PreviewConfig(StageConfig):
    """`rft problems preview SOURCE`: the source's mapping and selection, and how many rows to show."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "preview"
    PARTS: ClassVar[tuple[Part, ...]] = (
        Part("source", only=PREVIEW_SOURCE),
        Part(None),
    )

    source: ProblemsConfig
    limit: int = Field(default=5, description="rows to show (the total count is printed too)")
    seed: int = Field(default=0, description="shuffle seed")

    @field_validator("limit")
    @classmethod
    def _limit(cls, v: int) -> int:
        if v < 0:
            raise ConfigError(f"--limit: must be >= 0, got {v}")
        return v
