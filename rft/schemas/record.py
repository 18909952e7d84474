"""Record: one dataset row. Enough to re-render, re-verify and audit a trace without a teacher."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rft.schemas.problem import Problem
from rft.schemas.trace import Trace

SCHEMA_VERSION = "1.0"


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    solved: bool = False
    final_answer: str | None = None
    correct: bool | None = Field(
        default=None, description="None when there is no gold answer or tests, or they were not checked"
    )
    nodes: int = 0
    backtracks: int = 0
    pruned: int = Field(default=0, description="beam: paths that fell out of the beam (not backtracks)")
    teacher_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = Field(default=None, description="None = unknown price, never a fake 0")
    wall_time_s: float = 0.0
    stop_reason: str | None = None
    error: str | None = Field(default=None, description="a recorded per-problem failure")
    trainable: bool = Field(
        default=False,
        description="a demonstration worth training on: solved and, where gold exists, correct"
        " (derived from the fields above on every load)",
    )


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    problem: Problem
    trace: Trace = Field(default_factory=Trace)
    outcome: Outcome = Field(default_factory=Outcome)
    messages: list[Message] = Field(default_factory=list)
    render: str | None = Field(default=None, description="renderer style that produced `messages`")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _derive_trainable(self) -> Record:
        self.outcome.trainable = is_trainable(self)
        return self

    @property
    def id(self) -> str:
        return self.problem.id


def is_trainable(record: Record) -> bool:
    """Solved, without error, and correct wherever there is something to check against: a gold answer,
    or a code problem's tests (a failed search, an answer the gold check rejects or cannot read, or a
    program that fails a test, whichever validator accepted it, is not a demonstration)."""
    o = record.outcome
    if not o.solved or o.error is not None:
        return False
    return o.correct is True if (record.problem.answer or record.problem.tests) else True


UNTRAINABLE = ("unsolved", "incorrect", "gold_unchecked")


def untrainable_reason(record: Record) -> str | None:
    """Why a record is not a demonstration to train on (`Outcome.trainable` is False): `unsolved` (no
    solution, or a recorded failure), `incorrect` (wrong against the gold answer, or a program failing
    a test) or `gold_unchecked` (there is a gold answer or tests, but the final answer or program was
    not checked against them); None when trainable."""
    if record.outcome.trainable:
        return None
    o = record.outcome
    if not o.solved or o.error is not None:
        return "unsolved"
    return "incorrect" if o.correct is False else "gold_unchecked"
