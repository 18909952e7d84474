"""Problem: one question to solve, with its gold answer and where it came from."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Domain(StrEnum):
    math = "math"
    code = "code"
    text = "text"


class ProblemSource(BaseModel):
    """Where a problem came from, without the machine's directories: a file's name, a Hub id, or a
    built-in generator; the split, the preset that mapped the rows, the known benchmark, and the row."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="file | hub | builtin")
    name: str = Field(description="file name (no directories), Hub dataset id, or generator name")
    split: str | None = Field(
        default=None, description="Hub split; for a file, a known benchmark file's split or the file name's"
    )
    config: str | None = None
    preset: str | None = Field(default=None, description="the preset that mapped the rows")
    benchmark: str | None = Field(
        default=None, description="the known benchmark the data is (by Hub id, or by a file's bytes)"
    )
    row: int | None = Field(default=None, description="0-based row index in the source")


def normalize_question(text: str) -> str:
    """Normalisation used for stable ids: NFKC, lowercase, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\s+", " ", text).strip()


def problem_id_for(question: str) -> str:
    """Stable id of a question that has none: a hash of its normalised text."""
    digest = hashlib.sha256(normalize_question(question).encode("utf-8")).hexdigest()
    return f"q-{digest[:16]}"


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    answer: str | None = Field(default=None, description="gold final answer, if known")
    solution: str | None = Field(default=None, description="reference solution, if known")
    domain: Domain = Domain.math
    tests: list[str] = Field(default_factory=list, description="code tests (asserts or a check program)")
    entry_point: str | None = Field(default=None, description="function name the tests call (code)")
    source: ProblemSource | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("question")
    @classmethod
    def _question_not_empty(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("question is empty")
        return v

    @field_validator("id")
    @classmethod
    def _id_not_empty(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("id is empty")
        return v
