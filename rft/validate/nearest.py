"""The nearest benchmark items of each record by cosine over embedded forms, and the per-benchmark
ceiling of the judged band (how close a benchmark's own distinct items come to each other)."""

from __future__ import annotations

import numpy as np

TOP_K = 5
SUSPECT = 0.80
THRESHOLD = 0.85  # a cosine at or above it is the same problem (semantic flag)
JUDGE_FLOOR = 0.65  # where the judged band starts when a judge is given (SUSPECT without one)
# Per-benchmark calibration of the judged band (with a judge only): a cosine that the top
# 1 - CALIBRATION_QUANTILE of a benchmark's items reach to a *different* item of the same benchmark is
# no evidence of sameness (MBPP's one-word template twins: "convert degrees to radians" / "radians to
# degrees"), so with a judge the band of that benchmark reaches up to that level, never below the
# threshold and at most CEILING_MAX (from there on a pair is dropped without asking). Pairs at or above
# DUPLICATE are the same text listed twice (MATH-500 is part of MATH test) and are left out.
CALIBRATION_QUANTILE = 0.99
CEILING_MAX = 0.99
DUPLICATE = 0.999


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
