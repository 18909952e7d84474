"""Shipped fingerprints of the standard test sets: hashed normalised n-grams and int8 embeddings.

No benchmark text is stored: only item ids, 32-bit hashes of number-masked word 5-grams (the
`containment` method; gold solutions unmasked), 48-bit hashes of whole short items for exact
matching, and int8-quantised all-MiniLM-L6-v2 embeddings of the questions in each comparable form
(`rft.validate.views`: as they are, HumanEval docstring prose, LaTeX read out, ARC stems). Provenance
(source files and sha256, normalisation, model) sits beside them in `fingerprints.json`.

Build (from a folder with the layout of ../shared/benchmarks; --out names the folder to write, the
package's own data folder being rft/validate/data):

    python -m rft.validate.fingerprints build --from ../shared/benchmarks --out rft/validate/data
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rft import __version__
from rft.errors import InputError, RftError
from rft.store.fsutil import sha256_file
from rft.validate.benchmarks import items_from, names, specs_of
from rft.validate.decontam import METHODS, Entry, EntryGrams, entry_grams
from rft.validate.normalize import NORMALISATION

DATA_DIR = Path(__file__).resolve().parent / "data"
NPZ = "fingerprints.npz"
PROVENANCE = "fingerprints.json"
GRAM_BITS = 32
SHIPPED_METHODS = ("containment",)


def _full_math_extra(benchmark: str, item_id: str) -> bool:
    """Items of the full MATH test outside MATH-500: shipped as question n-grams only (no solution
    n-grams, no embeddings), which keeps the package data to a few MB."""
    return benchmark == "math" and item_id.startswith("math/")


@dataclass
class Fingerprints:
    """The shipped fingerprints of some benchmarks, ready for `LexicalIndex` and the semantic stage."""

    benchmarks: list[str]
    items: list[EntryGrams]  # containment grams (GRAM_BITS wide)
    emb_entries: list[Entry]  # the question of each row of `emb` (one row per comparable form)
    emb: np.ndarray  # float32, L2-normalised
    provenance: dict

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        seen = set()
        for it in self.items:
            key = (it.entry.benchmark, it.entry.item_id)
            if key not in seen:
                seen.add(key)
                out[it.entry.benchmark] = out.get(it.entry.benchmark, 0) + 1
        return out


Step = Callable[[str, int, int], None]  # (what, done, total)


def build(src: Path, out_dir: Path, *, with_embeddings: bool = True, progress: Step | None = None) -> dict:
    """Hash every benchmark under `src` and write fingerprints.npz + fingerprints.json to `out_dir`."""
    from rft.validate.views import benchmark_views

    step = progress or (lambda what, done, total: None)
    method = METHODS["containment"]
    bench, item, fld, indptr, grams = [], [], [], [0], []
    ex_len, ex_hash, ex_mhash = [], [], []
    q_rows, q_texts, q_views = [], [], []
    sources = {}
    lists = names()
    for bi, b in enumerate(lists):
        step(f"reading {b}", bi, len(lists))
        sources[b] = []
        items = []
        for spec in specs_of(b):
            rel = spec.local_file
            got = items_from(spec.name, src / rel)
            sources[b].append({"file": rel, "sha256": sha256_file(src / rel), "rows": len(got)})
            items.extend(got)
        step(f"hashing {b}", bi, len(lists))
        for it in items:
            for f, text in it.fields.items():
                if f != "question" and _full_math_extra(b, it.item_id):
                    continue
                eg = entry_grams(Entry(b, it.item_id, f), text, method)
                g = np.unique(eg.grams & np.uint64((1 << GRAM_BITS) - 1)).astype(np.uint32)
                if f == "question" and not _full_math_extra(b, it.item_id):
                    for view, vtext in benchmark_views(b, text):
                        q_rows.append(len(bench))
                        q_texts.append(vtext)
                        q_views.append(view)
                bench.append(b)
                item.append(it.item_id)
                fld.append(f)
                grams.append(g)
                indptr.append(indptr[-1] + len(g))
                ex_len.append(eg.exact_len)
                ex_hash.append(eg.exact_hash)
                ex_mhash.append(eg.exact_masked_hash)
    arrays: dict[str, np.ndarray] = {
        "benchmark": np.array(bench),
        "item_id": np.array(item),
        "field": np.array(fld),
        "containment_indptr": np.array(indptr, dtype=np.int64),
        "containment_grams": np.concatenate(grams),
        "exact_len": np.array(ex_len, dtype=np.uint16),
        "exact_hash": np.array(ex_hash, dtype=np.uint64),
        "exact_masked_hash": np.array(ex_mhash, dtype=np.uint64),
    }
    step("hashed", len(lists), len(lists))
    if with_embeddings:
        from rft.validate.embeddings import MODEL_NAME

        q, scale = _embeddings(q_texts, out_dir / NPZ, step)
        arrays |= {
            "emb": q,
            "emb_scale": scale,
            "emb_rows": np.array(q_rows, dtype=np.int32),
            "emb_view": np.array(q_views),
            "emb_text_sha": np.array([_text_sha(t) for t in q_texts]),
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / NPZ, **arrays)
    provenance = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rft_version": __version__,
        "normalisation": NORMALISATION,
        "methods": {
            "containment": {
                "n": method.n,
                "numbers_masked": "all fields except solution",
                "hash_bits": GRAM_BITS,
                "exact_hash_bits": 48,
            }
        },
        "embeddings": (
            {
                "model": MODEL_NAME,
                "field": "question",
                "forms": {v: q_views.count(v) for v in dict.fromkeys(q_views)},
                "dims": 384,
                "quantization": "int8, per-row scale",
                "rows": len(q_rows),
            }
            if with_embeddings
            else None
        ),
        "benchmarks": {
            b: {"items": len({i for bb, i in zip(bench, item, strict=True) if bb == b})} for b in lists
        },
        "coverage": "every item's question (and MBPP tests, HumanEval prompt) n-grams; gold-solution "
        "n-grams and question embeddings for every item except the full-MATH-test items outside "
        "MATH-500 (MATH-500 is covered in full)",
        "sources": sources,
        "npz_sha256": sha256_file(out_dir / NPZ),
        "built_with": f"python -m rft.validate.fingerprints build --from {src} --out {out_dir}",
    }
    (out_dir / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance


def _text_sha(text: str) -> str:
    """A short hash of a question, to reuse its embedding in the next build (not its text)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _embeddings(texts: list[str], previous: Path, step: Step) -> tuple[np.ndarray, np.ndarray]:
    """Quantised embeddings of `texts`; rows of the previous build are reused for unchanged texts."""
    from rft.validate.embeddings import embed, quantize

    old: dict[str, tuple[np.ndarray, float]] = {}
    if previous.is_file():
        with np.load(previous) as z:
            if "emb_text_sha" in z.files:
                old = {
                    str(h): (q, sc)
                    for h, q, sc in zip(z["emb_text_sha"], z["emb"], z["emb_scale"], strict=True)
                }
    shas = [_text_sha(t) for t in texts]
    missing = [i for i, h in enumerate(shas) if h not in old]
    q = np.zeros((len(texts), 384), dtype=np.int8)
    scale = np.zeros(len(texts), dtype=np.float32)
    step("embedding", 0, len(missing))
    for lo in range(0, len(missing), 256):  # in slices, so progress can be shown
        part = missing[lo : lo + 256]
        new_q, new_scale = quantize(embed([texts[i] for i in part]))
        q[part], scale[part] = new_q, new_scale
        step("embedding", lo + len(part), len(missing))
    for i, h in enumerate(shas):
        if h in old:
            q[i], scale[i] = old[h]
    return q, scale


def available(data_dir: Path = DATA_DIR) -> bool:
    return (data_dir / NPZ).is_file() and (data_dir / PROVENANCE).is_file()


def load(benchmarks: list[str], data_dir: Path = DATA_DIR, *, embeddings: bool = False) -> Fingerprints:
    """The shipped fingerprints of `benchmarks`."""
    if not available(data_dir):
        raise InputError(
            f"shipped fingerprints not found in {data_dir} (rebuild: python -m rft.validate.fingerprints "
            f"build --from BENCHMARK_DIR --out {data_dir})"
        )
    provenance = json.loads((data_dir / PROVENANCE).read_text())
    with np.load(data_dir / NPZ) as z:
        bench, item, fld = z["benchmark"], z["item_id"], z["field"]
        indptr, grams = z["containment_indptr"], z["containment_grams"].astype(np.uint64)
        ex_len, ex_hash, ex_mhash = z["exact_len"], z["exact_hash"], z["exact_masked_hash"]
        emb = rows = None
        if embeddings and "emb" in z:
            from rft.validate.embeddings import dequantize

            emb, rows = dequantize(z["emb"], z["emb_scale"]), z["emb_rows"]
    wanted = set(benchmarks)
    items, keep = [], np.isin(bench, list(wanted))
    for i in np.nonzero(keep)[0]:
        items.append(
            EntryGrams(
                Entry(str(bench[i]), str(item[i]), str(fld[i])),
                grams[indptr[i] : indptr[i + 1]],
                int(ex_len[i]),
                int(ex_hash[i]),
                int(ex_mhash[i]),
            )
        )
    emb_entries: list[Entry] = []
    emb_out = np.zeros((0, 384), dtype=np.float32)
    if emb is not None and rows is not None:
        sel = keep[rows]
        emb_out = emb[sel]
        emb_entries = [Entry(str(bench[r]), str(item[r]), str(fld[r])) for r in rows[sel]]
    return Fingerprints(list(benchmarks), items, emb_entries, emb_out, provenance)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rft.validate.fingerprints",
        description="Build the hashed fingerprints of the standard test sets that `rft validate` uses "
        "when no benchmark text is available.",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser(
        "build",
        help="hash (and embed) the benchmark files into fingerprints.npz + fingerprints.json",
        description="Hash (and embed) the benchmark files under --from into --out. Embedding takes a few "
        "minutes on CPU; rows of a previous build in --out are reused.",
    )
    b.add_argument(
        "--from", dest="src", required=True, type=Path, help="folder with the layout of ../shared/benchmarks"
    )
    b.add_argument(
        "--out",
        required=True,
        type=Path,
        help=f"folder to write fingerprints.npz and fingerprints.json to (the package's own: {DATA_DIR})",
    )
    b.add_argument("--no-embeddings", action="store_true", help="n-gram hashes only (no --semantic data)")
    args = parser.parse_args(argv)
    if not args.src.is_dir():
        parser.error(f"--from: {args.src} is not a folder")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out: {args.out} is not a folder")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task("starting", total=None)

        def step(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total or None)

        try:
            prov = build(args.src, args.out, with_embeddings=not args.no_embeddings, progress=step)
        except (RftError, OSError) as exc:
            bar.stop()
            print(f"error: {exc}", file=sys.stderr)
            return 2
    size = (args.out / NPZ).stat().st_size
    print(f"wrote {args.out / NPZ} ({size / 1e6:.2f} MB) and {args.out / PROVENANCE}: {prov['benchmarks']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
