"""Attention for padding-free training: each sequence of a flattened batch attends only to itself,
with no padding and no dense mask.

TRL's padding-free collator flattens a batch into one row and marks the sequence boundaries
(`cu_seq_lens_q`, from `position_ids`). The kernels that read those boundaries (flash-attention varlen)
are CUDA-only; with plain `sdpa`, transformers turns the boundaries into a dense block-diagonal mask over
the whole flattened row, whose cost grows with the square of the batch's total length, and which keeps
sdpa off its fused causal kernels. `varlen_sdpa` runs sdpa once per sequence instead, causal and
maskless: the same attention, computed only where it is needed, on any device.

The name is registered with transformers' `AttentionInterface`; transformers builds no mask for an
attention implementation it has no mask function for, so the layers get `attention_mask=None` and the
boundaries in their keyword arguments."""

from __future__ import annotations

import importlib.util
import itertools
from typing import Any

VARLEN_SDPA = "rft_varlen_sdpa"


def varlen_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """transformers' attention signature; (batch, seq, heads, head_dim) out, as sdpa's."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    bounds = kwargs.pop("cu_seq_lens_q", None)
    for name in ("cu_seq_lens_k", "max_length_q", "max_length_k", "seq_idx"):
        kwargs.pop(name, None)
    if bounds is None or attention_mask is not None or query.shape[0] != 1 or query.shape[2] == 1:
        # not a flattened batch (generation, a padded batch): plain sdpa
        return sdpa_attention_forward(
            module,
            query,
            key,
            value,
            attention_mask,
            dropout=dropout,
            scaling=scaling,
            is_causal=is_causal,
            **kwargs,
        )
    edges = bounds.tolist()
    outputs = [
        sdpa_attention_forward(
            module,
            query[:, :, start:end],
            key[:, :, start:end],
            value[:, :, start:end],
            None,
            dropout=dropout,
            scaling=scaling,
            is_causal=True,
            **kwargs,
        )[0]
        for start, end in itertools.pairwise(edges)
        if end > start
    ]
    return torch.cat(outputs, dim=1), None


def register() -> str:
    """Make `VARLEN_SDPA` a name `from_pretrained(attn_implementation=...)` accepts; returns it."""
    from transformers import AttentionInterface

    AttentionInterface.register(VARLEN_SDPA, varlen_sdpa)
    return VARLEN_SDPA


def padding_free_attention(device: str) -> str:
    """The attention implementation for padding-free training on `device`: flash-attention 2 where it
    is installed on a GPU (its varlen kernel reads the boundaries itself), else `varlen_sdpa`."""
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return register()
