"""USD prices per 1M tokens: a built-in table for common OpenAI/Anthropic models plus a user override file.

Unknown models have no price (None, shown as "unknown"), never 0. Local models cost $0.
Override file (YAML or JSON), keys are `provider:model` or bare model names (a dated suffix matches):

    openai:gpt-4o: {input: 2.5, output: 10.0}
    my-vllm-model: [0.2, 0.2]            # [input, output]
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from rft.errors import ConfigError

PRICES_AS_OF = "2025-08"


class Price(BaseModel):
    input: float = Field(ge=0, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, description="USD per 1M completion tokens")
    cache_read: float | None = Field(default=None, ge=0, description="USD per 1M cached prompt tokens read")
    cache_write: float | None = Field(
        default=None, ge=0, description="USD per 1M prompt tokens written to cache"
    )

    def cost(
        self, prompt_tokens: int, completion_tokens: int, cache_read: int = 0, cache_write: int = 0
    ) -> float:
        """`prompt_tokens` excludes cache reads/writes, which are billed at their own rates."""
        read = self.cache_read if self.cache_read is not None else self.input
        write = self.cache_write if self.cache_write is not None else self.input
        return (
            prompt_tokens * self.input
            + completion_tokens * self.output
            + cache_read * read
            + cache_write * write
        ) / 1e6


def _oa(i: float, o: float) -> Price:
    return Price(input=i, output=o, cache_read=i / 2)


def _an(i: float, o: float) -> Price:
    return Price(input=i, output=o, cache_read=i * 0.1, cache_write=i * 1.25)


BUILTIN: dict[str, Price] = {
    "openai:gpt-5": _oa(1.25, 10.0),
    "openai:gpt-5-mini": _oa(0.25, 2.0),
    "openai:gpt-5-nano": _oa(0.05, 0.40),
    "openai:gpt-4.1": _oa(2.0, 8.0),
    "openai:gpt-4.1-mini": _oa(0.40, 1.60),
    "openai:gpt-4.1-nano": _oa(0.10, 0.40),
    "openai:gpt-4o": _oa(2.50, 10.0),
    "openai:gpt-4o-mini": _oa(0.15, 0.60),
    "openai:gpt-4-turbo": Price(input=10.0, output=30.0),
    "openai:gpt-4": Price(input=30.0, output=60.0),
    "openai:gpt-3.5-turbo": Price(input=0.50, output=1.50),
    "openai:o1": _oa(15.0, 60.0),
    "openai:o1-pro": Price(input=150.0, output=600.0),
    "openai:o1-mini": _oa(1.10, 4.40),
    "openai:o3": _oa(2.0, 8.0),
    "openai:o3-mini": _oa(1.10, 4.40),
    "openai:o4-mini": _oa(1.10, 4.40),
    "anthropic:claude-opus-4-5": _an(5.0, 25.0),
    "anthropic:claude-opus-4-1": _an(15.0, 75.0),
    "anthropic:claude-opus-4": _an(15.0, 75.0),
    "anthropic:claude-sonnet-4-5": _an(3.0, 15.0),
    "anthropic:claude-sonnet-4": _an(3.0, 15.0),
    "anthropic:claude-haiku-4-5": _an(1.0, 5.0),
    "anthropic:claude-3-7-sonnet": _an(3.0, 15.0),
    "anthropic:claude-3-5-sonnet": _an(3.0, 15.0),
    "anthropic:claude-3-5-haiku": _an(0.80, 4.0),
    "anthropic:claude-3-opus": _an(15.0, 75.0),
    "anthropic:claude-3-haiku": _an(0.25, 1.25),
}


@lru_cache(maxsize=32)
def load_overrides(path: Path) -> dict[str, Price]:
    """Read a YAML/JSON price file; bad content is a ConfigError naming the file and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--prices-file {path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"--prices-file {path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"--prices-file {path}: expected a mapping of model -> price")
    prices: dict[str, Price] = {}
    for key, val in data.items():
        try:
            if isinstance(val, list | tuple) and len(val) == 2:
                prices[str(key)] = Price(input=val[0], output=val[1])
            elif isinstance(val, dict):
                prices[str(key)] = Price(**val)
            else:
                raise ConfigError(
                    f"--prices-file {path}: '{key}': give {{input: X, output: Y}} or [X, Y] (USD per 1M tokens)"
                )
        except (ValidationError, TypeError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise ConfigError(f"--prices-file {path}: '{key}': {msg}") from None
    return prices


def _lookup(table: dict[str, Price], provider: str, model: str) -> Price | None:
    for key in (f"{provider}:{model}", model):
        if key in table:
            return table[key]
    # dated snapshots and suffixed names: longest prefix that ends at a '-' boundary
    best: tuple[int, Price] | None = None
    for key, price in table.items():
        bare = key.split(":", 1)[1] if key.startswith(f"{provider}:") else key
        if ":" in bare and not key.startswith(f"{provider}:"):
            continue
        if model.startswith(bare + "-") and (best is None or len(bare) > best[0]):
            best = (len(bare), price)
    return best[1] if best else None


def price_of(provider: str, model: str, prices_file: Path | None = None) -> Price | None:
    """The Price of `provider:model`, or None when unknown. Local models are free."""
    if provider == "local":
        return Price(input=0.0, output=0.0)
    if prices_file is not None:
        hit = _lookup(load_overrides(Path(prices_file)), provider, model)
        if hit is not None:
            return hit
    return _lookup(BUILTIN, provider, model)


def price_for(spec: str, prices_file: Path | None = None) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens for a teacher spec such as `openai:gpt-4o`; None = unknown."""
    provider, _, model = spec.partition(":")
    price = price_of(provider, model, prices_file)
    return None if price is None else (price.input, price.output)
