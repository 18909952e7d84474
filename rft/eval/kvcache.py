"""A KV-cache layer with its room reserved: the decode loop writes each step's keys and values into
place instead of concatenating.

transformers' `DynamicLayer` grows by `torch.cat` at every step, so each step of each layer allocates
and copies the whole cache again (on CPU, fresh pages of a few MB per layer and step). `ReservedLayer`
holds buffers of `[rows, heads, capacity, head_dim]` made once, for the prompt width plus the batch's
most new tokens, and exposes the filled part as views; a row leaving the batch compacts the buffers
once. It is a `DynamicLayer` for everything else (masks, lengths, the model's attention)."""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicLayer


class ReservedLayer(DynamicLayer):
    """A full-attention cache layer filled from `keys`/`values`, with room for `reserve` more positions."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, reserve: int) -> None:
        super().__init__()
        rows, heads, length, dim = keys.shape
        self._k = keys.new_empty((rows, heads, length + reserve, dim))
        self._v = values.new_empty((rows, heads, length + reserve, values.shape[-1]))
        self._k[:, :, :length] = keys
        self._v[:, :, :length] = values
        self._length = length
        self.device = keys.device
        self.is_initialized = True
        self._views()

    def _views(self) -> None:
        self.keys = self._k[:, :, : self._length]
        self.values = self._v[:, :, : self._length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        new = key_states.shape[-2]
        if self._length + new > self._k.shape[-2]:  # more than was reserved: grow (not in rft eval's loop)
            more = max(new, self._k.shape[-2])
            self._k = torch.cat(
                [self._k, self._k.new_empty((*self._k.shape[:2], more, self._k.shape[-1]))], dim=-2
            )
            self._v = torch.cat(
                [self._v, self._v.new_empty((*self._v.shape[:2], more, self._v.shape[-1]))], dim=-2
            )
        self._k[:, :, self._length : self._length + new] = key_states
        self._v[:, :, self._length : self._length + new] = value_states
        self._length += new
        self._views()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._k = self._k.index_select(0, indices)
        self._v = self._v.index_select(0, indices)
        self._views()

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._k = self._k.repeat_interleave(repeats, dim=0)
        self._v = self._v.repeat_interleave(repeats, dim=0)
        self._views()

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError("crop takes a negative number of tokens to remove")
        self._length = max(0, self._length + tokens_to_remove)
        self._views()

    def reset(self) -> None:
        self._length = 0
        self._views()
