"""Exact and near-duplicate questions: normalised-text hash, then MinHash LSH (datasketch)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

from rft.validate.normalize import tokenize
from rft.validate.report import Flag

NUM_PERM = 128
SHINGLE = 3


def _shingles(text: str) -> set[bytes]:
    toks = tokenize(text)
    if len(toks) < SHINGLE:
        return {" ".join(toks).encode()}
    return {" ".join(toks[i : i + SHINGLE]).encode() for i in range(len(toks) - SHINGLE + 1)}


def find_duplicates(ids: Sequence[str], questions: Sequence[str], threshold: float = 0.8) -> list[Flag]:
    """Flag every question that repeats an earlier one, exactly (normalised) or nearly (Jaccard of
    word 3-gram shingles >= threshold, candidates from MinHash LSH, confirmed exactly)."""
    flags: list[Flag] = []
    first_by_key: dict[str, int] = {}
    unique: list[int] = []
    for i, q in enumerate(questions):
        key = hashlib.sha256(" ".join(tokenize(q)).encode()).hexdigest()
        j = first_by_key.setdefault(key, i)
        if j != i:
            flags.append(
                Flag(ids[i], "duplicate", method="exact", score=1.0, evidence={"duplicate_of": ids[j]})
            )
        else:
            unique.append(i)
    if threshold >= 1.0 or len(unique) < 2:
        return flags
    shingles = [_shingles(questions[i]) for i in unique]
    hashes = MinHash.bulk(shingles, num_perm=NUM_PERM)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    kept: list[int] = []  # positions in `unique` kept so far
    for pos, mh in enumerate(hashes):
        best, best_j = 0.0, -1
        for cand in lsh.query(mh):
            a, b = shingles[pos], shingles[cand]
            jac = len(a & b) / max(1, len(a | b))
            if jac > best:
                best, best_j = jac, cand
        if best_j >= 0 and best >= threshold:
            flags.append(
                Flag(
                    ids[unique[pos]],
                    "near_duplicate",
                    method=f"minhash-lsh(shingle={SHINGLE}, perm={NUM_PERM})",
                    score=float(np.round(best, 4)),
                    evidence={"duplicate_of": ids[unique[best_j]], "jaccard": round(best, 4)},
                )
            )
            continue
        lsh.insert(pos, mh)
        kept.append(pos)
    return flags
