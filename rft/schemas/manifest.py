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
    validated: bool | None = Field(
        default=None,
        description="the records passed `rft validate` (a merge: every parent did); None in manifests "
        "sealed before this was recorded, where it follows from stage == 'validate'",
    )
    identity: dict[str, Any] | None = Field(
        default=None,
        description="what this seal was of (a run id, or a parent and a config hash) and records_sha256, "
        "the hash of its records in any order: sealing the same thing again returns this version",
    )
    manifest_sha256: str | None = Field(
        default=None,
        description="sha256 of this manifest's canonical JSON (sorted keys, without this field), checked "
        "on load; None in manifests sealed before manifests were checksummed (loaded as unverified)",
    )

    @property
    def is_validated(self) -> bool:
        return self.validated if self.validated is not None else self.stage == "validate"
