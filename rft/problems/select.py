"""Selection: seeded shuffle, then shard i/n (round-robin), then limit."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from rft.errors import ConfigError

T = TypeVar("T")


def parse_shard(text: str) -> tuple[int, int]:
    """`"i/n"` -> (i, n) with 0 <= i < n; anything else is a ConfigError naming --shard."""
    parts = (text or "").strip().split("/")
    try:
        if len(parts) != 2:
            raise ValueError
        i, n = int(parts[0]), int(parts[1])
    except ValueError:
        raise ConfigError(f"--shard: expected i/n with 0-based i (e.g. 0/4), got {text!r}") from None
    return check_shard((i, n))


def check_shard(shard: tuple[int, int]) -> tuple[int, int]:
    i, n = shard
    if n < 1:
        raise ConfigError(f"--shard: the number of shards must be >= 1, got {i}/{n}")
    if not 0 <= i < n:
        raise ConfigError(f"--shard: index must be in 0..{n - 1} (0-based), got {i}/{n}")
    return i, n


def check_limit(limit: int | None) -> int | None:
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit: must be >= 0, got {limit}")
    return limit


def select(
    items: Sequence[T],
    *,
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    shard: tuple[int, int] | None = None,
) -> list[T]:
    """Shuffle (seeded) -> shard (every n-th item from i) -> limit. Shards of one order are disjoint and cover it."""
    chosen = list(items)
    if shuffle:
        random.Random(seed).shuffle(chosen)
    if shard is not None:
        i, n = check_shard(shard)
        chosen = chosen[i::n]
    limit = check_limit(limit)
    if limit is not None:
        chosen = chosen[:limit]
    return chosen
