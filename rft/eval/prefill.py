"""The prompt half of `rft eval`'s batched generation: a batch's prompts read into one KV cache with
as little compute as the batch allows.

- Identical prompts (the n samples of one item under `--samples n`) are computed once.
- The prompts' common prefix (chat template header, system prompt, few-shot exemplars) is computed
  once, at batch size 1, and its keys and values are shared by every row.
- What is left of each prompt (its suffix) is computed in groups of similar length (the prompts come
  sorted by length), so little compute goes into padding: a left-padded batch computes
  rows x longest prompt tokens.

Each row's cache is laid out `[prefix | padding | suffix]`: the attention mask is 0 on the padding
and the position ids count real tokens only, so a row attends to exactly its own prompt at the
positions it has alone (the same arithmetic as one prompt at a time; tests/test_eval_generation.py
checks the tokens against `model.generate`). The rows' caches are then merged into one batch cache,
padding inserted after the prefix, and the decode loop goes on from it.

Continuous batching reads the next prompts while earlier rows still decode: `join` puts the new rows'
cache beside the running one (the narrower left-padded to the wider, mask 0), and drops the columns
no row attends to any more. A prefix read once is kept in a `memo` (one per model and generation) and
reused by the next prompts that start with it.

Only for caches made of plain full-attention layers (`DynamicLayer`); a model with sliding-window or
other cache layers is read as one left-padded batch, as before (and is not joined).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from rft.eval.kvcache import ReservedLayer
from rft.teachers.batching import left_padded

# A group of suffixes may compute at most this share more tokens than its rows hold.
PADDING_SLACK = 1.15
# Tokens of one prefill forward at most (bounds the activations' memory), one row always allowed.
GROUP_TOKENS = 8192
# A prefix in the memo is reused for prompts whose common prefix is at most this many tokens longer.
MEMO_SLACK = 32


@dataclass
class Prefilled:
    """A batch's prompts read: the cache, the mask and last positions the decode loop continues from,
    the next-token logits at each row's last prompt token, and how many prompt tokens were computed."""

    cache: Any
    mask: torch.Tensor  # [rows, prompt width]
    position: torch.Tensor  # [rows, 1]: each row's last prompt position
    logits: torch.Tensor  # [rows, vocab]
    computed_tokens: int  # token positions run through the model, padding included


def new_cache(config: Any) -> Any:
    """An empty DynamicCache whose layers follow the model's config (transformers >= 4.56)."""
    from transformers import DynamicCache

    try:
        return DynamicCache(config=config)
    except TypeError:
        return DynamicCache()


def shareable(config: Any) -> bool:
    """Whether the model's cache is plain full-attention layers, whose tensors can be merged."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(new_cache(config), "layers", None)
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def prefill(
    model: Any,
    config: Any,
    prompts: list[list[int]],
    pad_id: int,
    device: str,
    cache_arg: str,
    reserve: int,
    memo: dict[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] | None = None,
) -> Prefilled:
    """Read `prompts` (token ids) into one batch cache (see the module doc). `model` is what
    generates (the base or the PeftModel on it), `config` the base's config, and `cache_arg` the name
    forward takes the cache by; the cache has room for `reserve` more positions
    (`rft.eval.kvcache.ReservedLayer`). `memo`: prefixes read before by this model (filled here)."""
    if not shareable(config):
        return _padded(model, config, prompts, pad_id, device, cache_arg)
    unique: dict[tuple[int, ...], int] = {}
    row_of = [unique.setdefault(tuple(p), len(unique)) for p in prompts]
    distinct = [list(p) for p in unique]
    width = min(len(p) for p in distinct) - 1  # every row keeps one token of its own
    shared = len(os.path.commonprefix(distinct)) if len(distinct) > 1 else 0
    shared = max(0, min(shared, width))
    computed = 0
    prefix_kv: list[tuple[torch.Tensor, torch.Tensor]] = []
    known = _remembered(memo or {}, distinct, shared)
    if known is not None:
        shared, prefix_kv = len(known), (memo or {})[known]
    elif shared:
        cache = new_cache(config)
        ids = torch.tensor([distinct[0][:shared]], dtype=torch.long, device=device)
        model(input_ids=ids, use_cache=True, logits_to_keep=1, **{cache_arg: cache})
        prefix_kv = [(layer.keys, layer.values) for layer in cache.layers]
        computed += shared
        if memo is not None:
            memo[tuple(distinct[0][:shared])] = prefix_kv
    order = sorted(range(len(distinct)), key=lambda i: len(distinct[i]))
    parts: list[tuple[list[int], dict[str, Any]]] = []
    for group in _groups([len(distinct[i]) - shared for i in order]):
        members = [order[k] for k in group]
        part = _suffixes(
            model, config, [distinct[i][shared:] for i in members], prefix_kv, pad_id, device, cache_arg
        )
        computed += part["mask"].shape[0] * (part["mask"].shape[1] - shared)
        parts.append((members, part))
    longest = max(part["mask"].shape[1] for _, part in parts)
    merged = [_widen(part, shared, longest) for _, part in parts]
    at = {u: k for k, u in enumerate(u for members, _ in parts for u in members)}
    index = torch.tensor([at[u] for u in row_of], device=device)
    layers = len(merged[0]["kv"])
    kv = [
        tuple(torch.cat([m["kv"][layer][t] for m in merged]).index_select(0, index) for t in (0, 1))
        for layer in range(layers)
    ]
    cache = new_cache(config)
    cache.layers = [ReservedLayer(k, v, reserve) for k, v in kv]
    mask = torch.cat([m["mask"] for m in merged]).index_select(0, index)
    logits = torch.cat([m["logits"] for m in merged]).index_select(0, index)
    position = (mask.cumsum(-1) - 1)[:, -1:]
    return Prefilled(cache, mask, position, logits, computed)


def _remembered(
    memo: dict[tuple[int, ...], Any], distinct: list[list[int]], shared: int
) -> tuple[int, ...] | None:
    """The longest prefix in `memo` that every prompt starts with, if it is no more than MEMO_SLACK
    tokens shorter than their common prefix (`shared`) and leaves each row a token of its own."""
    width = min(len(p) for p in distinct) - 1
    best = None
    for key in memo:
        if len(key) <= width and len(key) >= shared - MEMO_SLACK and (best is None or len(key) > len(best)):
            if all(tuple(p[: len(key)]) == key for p in distinct):
                best = key
    return best


def join(
    running: Prefilled, new: Prefilled, reserve: int, config: Any
) -> tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The running rows' cache, mask, positions and logits with the `new` rows' beside them (after
    them): the narrower cache left-padded to the wider (mask 0), then the columns that no row
    attends to dropped (those of rows that have left). Room for `reserve` more positions."""
    width = max(running.mask.shape[1], new.mask.shape[1])

    def left(t: torch.Tensor, dim: int) -> torch.Tensor:
        extra = width - t.shape[dim]
        if not extra:
            return t
        shape = list(t.shape)
        shape[dim] = extra
        return torch.cat([t.new_zeros(shape), t], dim=dim)

    mask = torch.cat([left(running.mask, 1), left(new.mask, 1)])
    used = mask.any(dim=0)
    cols = None if bool(used.all()) else used.nonzero().squeeze(1)
    if cols is not None:
        mask = mask.index_select(1, cols)
    layers = []
    for a, b in zip(running.cache.layers, new.cache.layers, strict=True):
        kv = []
        for x, y in ((a.keys, b.keys), (a.values, b.values)):
            t = torch.cat([left(x, -2), left(y, -2)])
            kv.append(t if cols is None else t.index_select(-2, cols))
        layers.append(ReservedLayer(kv[0], kv[1], reserve))
    cache = new_cache(config)
    cache.layers = layers
    return (
        cache,
        mask,
        torch.cat([running.position, new.position]),
        torch.cat([running.logits, new.logits]),
    )


def _groups(lengths: list[int]) -> list[list[int]]:
    """Consecutive runs of ascending `lengths` whose padded size stays within PADDING_SLACK of their
    tokens and within GROUP_TOKENS."""
    groups: list[list[int]] = []
    current: list[int] = []
    held = 0
    for k, n in enumerate(lengths):
        padded = n * (len(current) + 1)  # the new one is the longest so far
        if current and (padded > PADDING_SLACK * (held + n) or padded > GROUP_TOKENS):
            groups.append(current)
            current, held = [], 0
        current.append(k)
        held += n
    if current:
        groups.append(current)
    return groups


def _suffixes(
    model: Any,
    config: Any,
    suffixes: list[list[int]],
    prefix_kv: list[tuple[torch.Tensor, torch.Tensor]],
    pad_id: int,
    device: str,
    cache_arg: str,
) -> dict[str, Any]:
    """One group of suffixes (left-padded) run on the shared prefix, if any: its cache, the cache's
    layers' keys and values, the mask and the next-token logits."""
    from transformers import DynamicCache

    rows = len(suffixes)
    shared = prefix_kv[0][0].shape[-2] if prefix_kv else 0
    if prefix_kv:
        cache = DynamicCache(
            ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in prefix_kv],
            config=config,
        )
    else:
        cache = new_cache(config)
    ids, own = left_padded(suffixes, pad_id)
    ids, own = ids.to(device), own.to(device)
    mask = torch.cat([own.new_ones((rows, shared)), own], dim=1)
    position = (mask.cumsum(-1) - 1).clamp_(min=0)[:, shared:]
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=position,
        use_cache=True,
        logits_to_keep=1,
        **{cache_arg: cache},
    )
    return {
        "cache": cache,
        "kv": [(layer.keys, layer.values) for layer in cache.layers],
        "mask": mask,
        "logits": out.logits[:, -1, :],
    }


def _widen(part: dict[str, Any], shared: int, width: int) -> dict[str, Any]:
    """A group's cache and mask widened to `width` positions by padding inserted after the prefix."""
    extra = width - part["mask"].shape[1]
    if not extra:
        return part

    def pad(t: torch.Tensor, dim: int) -> torch.Tensor:
        shape = list(t.shape)
        shape[dim] = extra
        head, tail = t.narrow(dim, 0, shared), t.narrow(dim, shared, t.shape[dim] - shared)
        return torch.cat([head, t.new_zeros(shape), tail], dim=dim)

    return {
        "kv": [(pad(k, -2), pad(v, -2)) for k, v in part["kv"]],
        "mask": pad(part["mask"], 1),
        "logits": part["logits"],
    }


def _padded(
    model: Any, config: Any, prompts: list[list[int]], pad_id: int, device: str, cache_arg: str
) -> Prefilled:
    """The prompts as one left-padded batch in transformers' own cache (a cache whose layers are not
    all full attention)."""
    part = _suffixes(model, config, prompts, [], pad_id, device, cache_arg)
    mask = part["mask"]
    return Prefilled(part["cache"], mask, (mask.cumsum(-1) - 1)[:, -1:], part["logits"], int(mask.numel()))
