"""TRL's fused LM head, made lean on devices without Triton (the CPU, Apple's MPS).

TRL 1.16 computes the loss through a fused LM head (`trl.kernels.ChunkedLogProbFunction`) that never holds the
full logits. Where Triton runs (CUDA, XPU) it scores only the positions in the loss; elsewhere it scores every
position (a fixed tile shape spares Neuron its recompilations) in tiles 32,768 vocabulary entries wide, and its
torch fallback makes several full-tile temporaries of each. On the CPU that means the LM head runs on every
prompt token too, and a training step's peak memory holds several tokens x 32,768 fp32 tiles (about 1 GB for
a batch of 1,500 tokens with SmolLM2's 49,152-entry vocabulary).

`lean_fused_lm_head` scores only the positions in the loss and narrows the tiles while it is active: the same
log-probabilities (the kernel's online log-sum-exp is exact for any tile width), less compute and memory. It
sets two module-level names of TRL's (read at each call), and leaves TRL as it is when they are not there."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

VOCAB_TILE = 4096


@contextlib.contextmanager
def lean_fused_lm_head(device: str) -> Iterator[None]:
    import torch

    utils = importlib.import_module("trl.trainer.utils")
    names = ("_use_triton", "_CHUNKED_LOGPROB_CHUNK_SIZE")
    if not all(hasattr(utils, n) for n in names) or utils._use_triton(torch.device(device)):
        yield  # TRL's own compact path already runs there (or its internals have changed)
        return
    saved = {n: getattr(utils, n) for n in names}
    # In trl.trainer.utils this only picks the compact path (the loss's positions only); the kernels module
    # keeps its own binding, so the tiles are still folded in torch on the CPU.
    utils._use_triton = lambda device: True
    utils._CHUNKED_LOGPROB_CHUNK_SIZE = VOCAB_TILE
    try:
        yield
    finally:
        for n, value in saved.items():
            setattr(utils, n, value)
