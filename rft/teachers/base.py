"""The one Teacher protocol every provider implements, and what a call returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from rft.schemas.totals import add_cost


class Completion(BaseModel):
    text: str
    finish_reason: str | None = None
    truncated: bool = Field(default=False, description="finish_reason == 'length': hit max_tokens")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    model: str = ""
    cost_usd: float | None = Field(default=None, description="None when the model's price is unknown")
    cached: bool = Field(default=False, description="served from the response cache, no call made")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call's arguments, from `Teacher.chat` down to a provider's request body; with the
    sample index it is also what the response cache keys on (`cache.cache_key`). `messages` may be
    given as any sequence of mappings: the request keeps a tuple of copies."""

    messages: tuple[dict[str, str], ...]
    n: int = 1
    temperature: float = 0.7
    max_tokens: int = 256
    stop: tuple[str, ...] | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        # a copy the caller cannot change afterwards; an empty stop list is no stop list
        object.__setattr__(self, "messages", tuple(dict(m) for m in self.messages))
        object.__setattr__(self, "stop", tuple(self.stop or ()) or None)

    @property
    def message_list(self) -> list[dict[str, str]]:
        return list(self.messages)

    @property
    def stop_list(self) -> list[str] | None:
        return list(self.stop) if self.stop else None

    def params(self) -> dict[str, Any]:
        """The sampling parameters that determine an answer (`n` does not: each sample is keyed alone)."""
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop_list,
            "seed": self.seed,
        }

    def with_n(self, n: int) -> ChatRequest:
        return dataclasses.replace(self, n=n)

    def sample(self, i: int) -> ChatRequest:
        """The one-choice request for sample `i` (its own seed) when a server is asked once per sample."""
        return dataclasses.replace(self, n=1, seed=None if self.seed is None else self.seed + i)

    def estimate_tokens(self) -> int:
        """A cheap upper-ish estimate for the token bucket (about 4 characters per token)."""
        chars = sum(len(str(m.get("content", ""))) + 8 for m in self.messages)
        return chars // 4 + 1 + self.n * self.max_tokens


class UsageTotals(BaseModel):
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0  # becomes None once any call had an unknown price

    def add(self, c: Completion) -> None:
        if c.cached:
            self.cached_calls += 1
            return
        self.calls += 1
        self.prompt_tokens += c.prompt_tokens
        self.completion_tokens += c.completion_tokens
        self.cost_usd = add_cost(self.cost_usd, c.cost_usd)


@runtime_checkable
class Teacher(Protocol):
    """An LLM that answers chat messages. `messages` are OpenAI-style dicts (role, content)."""

    spec: str

    async def chat(
        self,
        messages: list[dict[str, str]],
        n: int = 1,
        temperature: float = 0.7,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        """Return exactly `n` completions (fanning out where a server ignores `n`)."""
        ...

    async def aclose(self) -> None: ...
