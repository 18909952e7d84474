"""Decontamination benchmark: speed of rft's lexical stage against an open-r1-style reference, and
recall / false positives of every method on planted contamination.

    .venv/bin/python benchmarks/decontam.py [--records 100000] [--bench-dir ../shared/benchmarks]

Records: GSM8K train questions with their solution lines as generated steps and a chat rendering
(question + steps + messages), numbers re-drawn to make 100,000 distinct records. Benchmarks: all
five (GSM8K, MATH-500 + MATH test, HumanEval, MBPP, ARC-Challenge), every indexed field.
Reference: Python sets of word 8-gram tuples (lowercased, whitespace-split), any shared 8-gram
flags, the way open-r1's scripts/decontaminate.py works; run on the same records in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rft.validate.benchmarks import BENCHMARKS, load_dir  # noqa: E402
from rft.validate.families import FAMILIES, swap_numbers, synthetic_record  # noqa: E402
from rft.validate.run import BenchmarkIndex, ValidateConfig, build_index, lexical_flags, segments_of  # noqa: E402


def make_records(bench_dir: Path, n: int, seed: int = 0):
    rng = random.Random(seed)
    rows = [
        json.loads(x) for x in (bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines() if x.strip()
    ]
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        q, sol = row["question"], row["answer"]
        if i >= len(rows):  # a distinct variant: numbers re-drawn in question and steps
            q, sol = swap_numbers(q, rng), swap_numbers(sol, rng)
        out.append((i + 1, synthetic_record(f"r{i}", q, sol)))
    return out


class OpenR1Reference:
    """open-r1's decontamination: a dict from 8-gram to item ids; any shared 8-gram flags."""

    def __init__(self, texts: list[str], n: int = 8) -> None:
        self.n = n
        self.lookup: dict[tuple[str, ...], set[int]] = {}
        for i, t in enumerate(texts):
            for g in self.ngrams(t):
                self.lookup.setdefault(g, set()).add(i)

    def ngrams(self, text: str) -> set[tuple[str, ...]]:
        words = " ".join(text.lower().strip().split()).split()
        return {tuple(words[i : i + self.n]) for i in range(len(words) - self.n + 1)}

    def contaminated(self, texts: list[str]) -> bool:
        lookup = self.lookup
        return any(g in lookup for t in texts for g in self.ngrams(t))


def planted(bench_dir: Path, seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """(item id, disguised question) per family, from every GSM8K and MATH-500 test item."""
    items = [it for it in load_dir("gsm8k", bench_dir).items]
    items += [it for it in load_dir("math", bench_dir).items if it.item_id.startswith("math500/")]
    out = {}
    for fam, fn in FAMILIES.items():
        rng = random.Random(seed)
        out[fam] = [(it.item_id, fn(it.fields["question"], rng)) for it in items]
    para = ROOT / "tests" / "data" / "paraphrases.jsonl"
    out["paraphrase"] = [
        (d["item_id"], d["text"]) for d in map(json.loads, para.read_text().splitlines()) if d
    ]
    return out


def recall(index: BenchmarkIndex, texts: list[str]) -> float:
    hits = index.lexical.score([[t] for t in texts])
    return sum(1 for h in hits if h) / len(texts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    ap.add_argument("--semantic", action="store_true", help="also measure paraphrase recall with --semantic")
    args = ap.parse_args()

    t = time.perf_counter()
    records = make_records(args.bench_dir, args.records)
    n_chars = sum(len(x) for _, r in records[:1000] for _, x in segments_of(r)) / 1000
    print(
        f"records: {len(records):,} (avg {n_chars:.0f} chars in question+solution+steps+messages), "
        f"built in {time.perf_counter() - t:.1f}s",
        flush=True,
    )

    cfg = ValidateConfig(benchmark_dir=args.bench_dir, hub=False)
    t = time.perf_counter()
    index = build_index(cfg)
    t_index = time.perf_counter() - t
    texts = [txt for s in index.sources.values() for it in s.items for txt in it.fields.values() if txt]
    t = time.perf_counter()
    ref = OpenR1Reference(texts)
    t_ref_index = time.perf_counter() - t
    print(
        f"index: {len(index.lexical.entries):,} benchmark entries from {', '.join(BENCHMARKS)}; "
        f"rft {t_index:.1f}s, reference {t_ref_index:.1f}s",
        flush=True,
    )

    t = time.perf_counter()
    flags = lexical_flags(records, index, cfg.batch_size)
    t_rft = time.perf_counter() - t
    t = time.perf_counter()
    ref_flagged = sum(1 for _, r in records if ref.contaminated([x for _, x in segments_of(r)]))
    t_ref = time.perf_counter() - t
    rps_rft, rps_ref = len(records) / t_rft, len(records) / t_ref
    print(f"rft lexical (containment):   {rps_rft:8,.0f} records/s  ({t_rft:.1f}s, {len(flags)} flagged)")
    print(f"reference (open-r1 8-grams): {rps_ref:8,.0f} records/s  ({t_ref:.1f}s, {ref_flagged} flagged)")
    print(f"ratio rft/reference: {rps_rft / rps_ref:.2f}x   (target: >= 2,000 records/s, ratio >= 1)")

    fams = planted(args.bench_dir)
    clean = [
        json.loads(x)["question"]
        for x in (args.bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines()[:1000]
    ]
    print("\nrecall per family (GSM8K test + MATH-500 planted) and false positives on 1,000 GSM8K train:")
    header = f"{'method':<14}" + "".join(f"{f:>22}" for f in fams) + f"{'false pos':>12}"
    print(header)
    for method in ("containment", "ngram13", "ngram8"):
        idx = (
            index
            if method == "containment"
            else build_index(ValidateConfig(benchmark_dir=args.bench_dir, method=method, hub=False))
        )
        cells = [f"{recall(idx, [t for _, t in pairs]):.1%}" for pairs in fams.values()]
        fp = recall(idx, clean)
        print(f"{method:<14}" + "".join(f"{c:>22}" for c in cells) + f"{fp:>12.1%}")
    rtexts = {fam: [t for _, t in pairs] for fam, pairs in fams.items()}
    cells = []
    for pairs in rtexts.values():
        cells.append(f"{sum(1 for t in pairs if ref.contaminated([t])) / len(pairs):.1%}")
    fp = sum(1 for t in clean if ref.contaminated([t])) / len(clean)
    print(f"{'reference':<14}" + "".join(f"{c:>22}" for c in cells) + f"{fp:>12.1%}")
    if args.semantic:
        from rft.validate.run import semantic_flags

        scfg = ValidateConfig(
            benchmark_dir=args.bench_dir, hub=False, semantic=True, benchmarks=["gsm8k", "math"]
        )
        sindex = build_index(scfg)
        para = [synthetic_record(f"p{i}", t, "x") for i, (_, t) in enumerate(fams["paraphrase"])]
        cl = [synthetic_record(f"c{i}", t, "x") for i, t in enumerate(clean)]
        recs = [(i, r) for i, r in enumerate(para + cl)]
        lex = {f.record_id for f in lexical_flags(recs, sindex)}
        sem = {
            f.record_id for f in semantic_flags(recs, sindex, scfg, skip=lex) if f.check == "contamination"
        }
        flagged = lex | sem
        pr = sum(1 for r in para if r.id in flagged) / len(para)
        fp = sum(1 for r in cl if r.id in flagged) / len(cl)
        print(f"\ncontainment + --semantic: paraphrase recall {pr:.1%}, false positives {fp:.1%}")


if __name__ == "__main__":
    main()
