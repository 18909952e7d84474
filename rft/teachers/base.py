"""The one Teacher protocol every provider implements, and what a call returns."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


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
        if c.cost_usd is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += c.cost_usd


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
