"""Manifest: what a sealed dataset version holds and how it was made."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rft.schemas.record import SCHEMA_VERSION


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str
    bytes: int
    rows: int | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    name: str
    version: int = Field(ge=1)
    parent: int | None = Field(default=None, description="version this one was derived from")
    parents: list[str] = Field(default_factory=list, description="NAME@vN lineage for merges")
    created_at: str
    rft_version: str
    git_commit: str | None = None
    command: list[str] = Field(default_factory=list)
    stage: str = Field(default="generate", description="generate | validate | merge | ...")
    config: dict[str, Any] = Field(default_factory=dict, description="resolved config, secrets removed")
    source_fingerprint: str | None = None
    teacher: str | None = None
    validator: str | None = None
    counts: dict[str, int | float] = Field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    files: dict[str, FileEntry] = Field(default_factory=dict)
    validation: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
