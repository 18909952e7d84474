"""The validate stage: checks, dedup and decontamination of a sealed version, sealed as the next one."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from rft.errors import ConfigError, InputError, RftError, TeacherError, write_error
from rft.schemas import Record
from rft.store.redaction import redact
from rft.validate import fingerprints as fp_mod
from rft.validate.benchmarks import BenchSource, resolve_sources
from rft.validate.checks import check_answer_verdict, check_steps, check_trainable
from rft.validate.config import ValidateConfig
from rft.validate.decontam import Entry, EntryGrams, Hit, LexicalIndex, entry_grams, get_method
from rft.validate.dedup import find_duplicates
from rft.validate.report import REPORT_FILE, Flag, Report
from rft.validate.semantic import (
    JUDGE_PER_RECORD,
    band_ceilings,
    embed,
    judge_pairs,
    nearest_items,
)
from rft.validate.views import benchmark_views, record_views

Progress = Callable[[int, int], None]


# --- parsing -------------------------------------------------------------------------------------
def parse_records(path: Path) -> tuple[list[tuple[int, Record]], list[Flag]]:
    """Every valid record of a data.jsonl with its line; invalid lines become `schema` flags."""
    records: list[tuple[int, Record]] = []
    flags: list[Flag] = []
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append((lineno, Record.model_validate_json(line)))
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(x) for x in first["loc"]) or "record"
                rid = _raw_id(line) or f"line {lineno}"
                flags.append(
                    Flag(rid, "schema", evidence={"field": loc, "error": first["msg"][:300]}, line=lineno)
                )
    return records, flags


def _raw_id(line: bytes) -> str | None:
    try:
        obj = json.loads(line)
        return str(obj["problem"]["id"])
    except (ValueError, KeyError, TypeError):
        return None


def segments_of(record: Record) -> list[tuple[str, str]]:
    """The texts of a record compared with benchmarks: question, reference solution, steps, messages."""
    out: list[tuple[str, str]] = [("question", record.problem.question)]
    if record.problem.solution:
        out.append(("reference solution", record.problem.solution))
    for node in record.trace.nodes:
        if node.text:
            out.append((f"step {node.id}", node.text))
    for i, msg in enumerate(record.messages):
        if msg.content:
            out.append((f"message {i} ({msg.role})", msg.content))
    seen: set[str] = set()
    unique = []
    for where, text in out:
        if text not in seen:
            seen.add(text)
            unique.append((where, text))
    return unique


def scan_texts(segments: list[tuple[str, str]]) -> list[str]:
    """The texts to scan: a segment contained in one of the longest segments (a step inside the
    rendered assistant message, the question inside the user message) adds no n-gram of its own."""
    texts = [t for _, t in segments]
    longest = sorted(texts, key=len, reverse=True)[:3]
    return [t for t in texts if not any(len(o) > len(t) and t in o for o in longest)]


# --- benchmark index -----------------------------------------------------------------------------
@dataclass
class BenchmarkIndex:
    lexical: LexicalIndex
    sources: dict[str, BenchSource]
    texts: dict[Entry, str]  # benchmark text by entry (empty for fingerprint sources)
    fingerprints: fp_mod.Fingerprints | None

    def describe_sources(self) -> dict[str, dict[str, Any]]:
        out = {}
        for b, s in self.sources.items():
            d = s.describe()
            if s.kind == "fingerprints" and self.fingerprints is not None:
                d["items"] = self.fingerprints.counts.get(b, 0)
                d["built"] = self.fingerprints.provenance.get("created_at")
                d["sha256"] = [x["sha256"] for x in self.fingerprints.provenance["sources"].get(b, [])]
            out[b] = d
        return out


def build_index(cfg: ValidateConfig) -> BenchmarkIndex:
    method = get_method(cfg.method)
    sources = resolve_sources(cfg.benchmarks, cfg.benchmark_dir, cfg.benchmark_paths, hub=cfg.hub)
    shipped = [b for b, s in sources.items() if s.kind == "fingerprints"]
    fps = None
    if shipped:
        if method.name != "containment":
            raise ConfigError(
                f"--method {method.name} needs benchmark text, and {', '.join(shipped)} could only come "
                "from the shipped fingerprints (containment n-grams): pass --benchmark-dir DIR or "
                "--benchmark-path NAME=FILE"
            )
        fps = fp_mod.load(shipped, embeddings=cfg.semantic)
    bits = fp_mod.GRAM_BITS if fps is not None else 48
    items: list[EntryGrams] = []
    texts: dict[Entry, str] = {}
    for b, src in sources.items():
        for it in src.items:
            for fname, text in it.fields.items():
                if not text or not text.strip():
                    continue
                e = Entry(b, it.item_id, fname)
                texts[e] = text
                items.append(entry_grams(e, text, method, bits=bits))
    if fps is not None:
        items.extend(fps.items)
    lexical = LexicalIndex(method, items, bits=bits, threshold=cfg.threshold)
    return BenchmarkIndex(lexical, sources, texts, fps)


# --- stages --------------------------------------------------------------------------------------
def record_checks(
    records: Sequence[tuple[int, Record]], dedup_threshold: float, keep_unsolved: bool = False
) -> list[Flag]:
    """Per-record checks and dedup. An untrainable record (unsolved, incorrect, gold unchecked) is
    dropped, or with `keep_unsolved` kept for its tree, with its missing or empty assistant turn
    (exports leave such a record out of the chat formats)."""
    flags: list[Flag] = []
    for line, rec in records:
        own = check_steps(rec)
        untrainable = check_trainable(rec, keep_unsolved)
        if untrainable is not None and keep_unsolved:
            for f in own:
                if f.check == "no_messages" or (f.check == "empty_step" and "message" in f.evidence):
                    f.action = "kept"
        own += [f for f in (untrainable, check_answer_verdict(rec)) if f is not None]
        for f in own:
            f.line = line
        flags += own
    lines = {rec.id: line for line, rec in records}
    dups = find_duplicates(
        [r.id for _, r in records], [r.problem.question for _, r in records], dedup_threshold
    )
    for f in dups:
        f.line = lines.get(f.record_id)
    return flags + dups


PARALLEL_MIN_RECORDS = 20_000  # below this, starting worker processes costs more than it saves

_WORKER_INDEX: LexicalIndex | None = None


def _init_worker(index: LexicalIndex) -> None:
    global _WORKER_INDEX
    _WORKER_INDEX = index


def _score_in_worker(docs: list[list[str]]) -> list[list[Hit]]:
    assert _WORKER_INDEX is not None
    return _WORKER_INDEX.score(docs)


def _auto_workers(n_records: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if n_records < PARALLEL_MIN_RECORDS:
        return 1
    return max(
        1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    )


def lexical_flags(
    records: Sequence[tuple[int, Record]],
    index: BenchmarkIndex,
    batch_size: int = 512,
    progress: Progress | None = None,
    workers: int | None = None,
) -> list[Flag]:
    """One `contamination` flag per record that matches a benchmark entry (the best match).

    With several workers (default: 2 from 20,000 records on), batches are scored in worker processes
    while this one prepares the next batches and writes the evidence."""
    lex = index.lexical
    flags: list[Flag] = []
    batches = [records[i : i + batch_size] for i in range(0, len(records), batch_size)]
    texts = ([scan_texts(segments_of(r)) for _, r in b] for b in batches)
    n_workers = _auto_workers(len(records), workers)
    if n_workers > 1 and len(batches) > 1:
        ctx = multiprocessing.get_context("spawn")  # fork is unsafe once torch/tokenizer threads exist
        pool = ctx.Pool(n_workers, initializer=_init_worker, initargs=(lex,))
        scored = pool.imap(_score_in_worker, texts, chunksize=1)
    else:
        pool = None
        scored = (lex.score(t) for t in texts)
    try:
        done = 0
        for batch, hits in zip(batches, scored, strict=True):
            for (line, rec), rec_hits in zip(batch, hits, strict=True):
                if rec_hits:
                    flags.append(_contamination_flag(lex, rec.id, line, segments_of(rec), rec_hits))
            done += len(batch)
            if progress:
                progress(done, len(records))
    finally:
        if pool is not None:
            pool.terminate()
    return flags


def _contamination_flag(
    lex: LexicalIndex, rid: str, line: int, segs: list[tuple[str, str]], hits: list[Hit]
) -> Flag:
    """The flag of a record's best hit; a strong hit is preferred over a weak one (see
    `LexicalIndex.is_weak`), and a weak one says so in `evidence["weak"]`."""
    texts = [t for _, t in segs]
    strong = next((h for h in hits[:8] if not lex.is_weak(h, texts)), None)
    best = strong or hits[0]
    hits = [best] + [h for h in hits if h is not best]
    e = lex.entries[best.entry]
    ev = lex.evidence(segs, best)
    ev["shared_ngrams"] = best.shared
    ev["item_ngrams"] = int(lex.long_size[best.entry] if best.exact else lex.size[best.entry])
    ev["field"] = e.field
    if best.exact:
        ev["rule"] = "exact normalised match (short item)"
    if strong is None:
        ev["weak"] = (
            f"{best.shared} informative n-grams (< {lex.weak_min}) and no segment is the whole item: "
            "with --judge the judge decides, without one it is dropped"
        )
    others = sorted({lex.entries[h.entry].item_id for h in hits[1:]} - {e.item_id})
    if others:
        ev["also"] = others[:5]
    return Flag(
        rid,
        "contamination",
        benchmark=e.benchmark,
        item_id=e.item_id,
        method=lex.method.name,
        score=best.score,
        evidence=ev,
        line=line,
    )


_EMB_CACHE = Path.home() / ".cache" / "rft" / "embeddings"


def _embed_cached(texts: list[str]) -> np.ndarray:
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


def _semantic_bench(index: BenchmarkIndex) -> tuple[list[Entry], np.ndarray, np.ndarray]:
    """The benchmark questions, the embeddings of their comparable forms, and the question of each row."""
    entries = [e for e in index.texts if e.field == "question"]
    texts: list[str] = []
    owner: list[int] = []
    for k, e in enumerate(entries):
        for _, text in benchmark_views(e.benchmark, index.texts[e]):
            texts.append(text)
            owner.append(k)
    bench = _embed_cached(texts) if texts else np.zeros((0, 384), np.float32)
    fps = index.fingerprints
    if fps is not None and len(fps.emb):  # one row per shipped form; an entry may have several
        pos: dict[Entry, int] = {}
        for e in fps.emb_entries:
            pos.setdefault(e, len(entries) + len(pos))
        entries = entries + list(pos)
        owner += [pos[e] for e in fps.emb_entries]
        bench = np.concatenate([bench, fps.emb])
    return entries, bench, np.array(owner, dtype=np.int64)


def split_weak(
    lex: list[Flag], index: BenchmarkIndex, cfg: ValidateConfig
) -> tuple[list[Flag], dict[str, Flag]]:
    """With a judge: the lexical flags that stand (strong, or weak on an item without benchmark text to
    show the judge) and, by record, the weak ones the judge decides in `semantic_flags`. Without a judge
    every lexical flag stands (weak hits are dropped conservatively and say so in their evidence)."""
    if not cfg.judge:
        return lex, {}
    weak = {
        f.record_id: f
        for f in lex
        if f.check == "contamination"
        and "weak" in f.evidence
        and Entry(str(f.benchmark), str(f.item_id), "question") in index.texts
    }
    return [f for f in lex if f.record_id not in weak], weak


def semantic_flags(
    records: Sequence[tuple[int, Record]],
    index: BenchmarkIndex,
    cfg: ValidateConfig,
    skip: set[str],
    judge_stats: dict[str, Any] | None = None,
    weak: dict[str, Flag] | None = None,
) -> list[Flag]:
    """The nearest benchmark questions of each record question, both embedded in every comparable
    form. With a judge, a record's nearest items in the band are asked about (nearest first, at most
    JUDGE_PER_RECORD) and `judge_stats` receives how many pairs it was asked and what it answered.

    With a judge, the band of a benchmark reaches up to its calibrated ceiling (`band_ceilings`: the
    cosine its own distinct items reach to each other) for items with benchmark text, and `weak`
    lexical flags (by record, from `split_weak`) are judged too, their item asked about first: YES or
    an unclear answer drops the record, NO keeps it as a `suspect` row."""
    weak = weak or {}
    entries, bench, owner = _semantic_bench(index)
    todo = [(line, r) for line, r in records if r.id not in skip]
    if not todo or not len(bench):
        return list(weak.values())
    rec_texts: list[str] = []
    rec_of: list[int] = []
    for j, (_, rec) in enumerate(todo):
        for text in record_views(rec.problem.question):
            rec_texts.append(text)
            rec_of.append(j)
    floor = min(cfg.suspect_threshold, cfg.judge_floor) if cfg.judge else cfg.suspect_threshold
    near = nearest_items(
        bench,
        owner,
        embed(rec_texts),
        np.array(rec_of, dtype=np.int64),
        len(todo),
        top_k=cfg.top_k,
        floor=floor,
    )
    # where a pair is dropped without asking: the threshold, or with a judge the benchmark's ceiling
    ceiling = np.full(len(entries), cfg.semantic_threshold)
    ceilings: dict[str, float] = {}
    if cfg.judge:
        names = sorted({e.benchmark for e in entries})
        group = np.array([names.index(e.benchmark) for e in entries], dtype=np.int64)
        by_group = band_ceilings(bench, owner, group, cfg.semantic_threshold)
        ceilings = {names[g]: round(c, 4) for g, c in by_group.items()}
        for k, e in enumerate(entries):
            if e in index.texts:
                ceiling[k] = by_group[int(group[k])]
    # the judge: a record's band candidates with benchmark text, asked in rounds, nearest first
    band = {
        ri: [(it, sc) for it, sc in cands[:JUDGE_PER_RECORD] if sc < ceiling[it]]
        for ri, cands in enumerate(near)
        if cands and cands[0][1] < ceiling[cands[0][0]]
    }
    askable = (
        {ri: [c for c in cs if entries[c[0]] in index.texts] for ri, cs in band.items()} if cfg.judge else {}
    )
    # weak lexical hits: their item first (with its cosine when it is among the nearest)
    pos = {e: k for k, e in enumerate(entries)}
    weak_of: dict[int, int] = {}  # record -> entry of its weak lexical item
    for ri, (_, rec) in enumerate(todo):
        f = weak.get(rec.id)
        if f is None:
            continue
        k = pos[Entry(str(f.benchmark), str(f.item_id), "question")]
        weak_of[ri] = k
        if near[ri] and near[ri][0][1] >= ceiling[near[ri][0][0]]:
            continue  # dropped by its cosine anyway
        cos = dict(near[ri]).get(k, float("nan"))
        rest = [c for c in askable.get(ri, []) if c[0] != k]
        askable[ri] = [(k, cos), *rest][:JUDGE_PER_RECORD]
    askable = {ri: cs for ri, cs in askable.items() if cs}
    same: dict[int, tuple[int, float]] = {}  # record -> the item the judge called the same problem
    unclear: set[int] = set()
    answered: list[bool | None] = []
    if cfg.judge:
        for rnd in range(JUDGE_PER_RECORD):
            ask = [(ri, cs[rnd]) for ri, cs in askable.items() if len(cs) > rnd and ri not in same]
            if not ask:
                break
            answers = judge_pairs(
                cfg.judge,
                [(todo[ri][1].problem.question, index.texts[entries[it]]) for ri, (it, _) in ask],
                cfg.judge_options(),
            )
            for (ri, cand), a in zip(ask, answers, strict=True):
                answered.append(a)
                if a is True:
                    same[ri] = cand
                elif a is None:
                    unclear.add(ri)
        if judge_stats is not None:
            judge_stats.update(
                spec=cfg.judge,
                asked=len(answered),
                same=answered.count(True),
                different=answered.count(False),
                unclear=answered.count(None),
                records_asked=len(askable),
                band=[round(floor, 4), cfg.semantic_threshold],
                band_ceilings=ceilings,
                weak_lexical=len(weak_of),
                not_asked_no_text=len(band) - len({ri for ri in band if ri in askable}),
            )
    flags = []
    for ri, cands in enumerate(near):
        line, rec = todo[ri]
        lf = weak.get(rec.id)
        if lf is not None and not (cands and cands[0][1] >= ceiling[cands[0][0]]):
            flags.append(_judged_weak(lf, cfg, same.get(ri), weak_of[ri], ri in unclear, entries, index))
            continue
        if not cands:
            continue
        item, score = same.get(ri, cands[0])
        e = entries[item]
        ev: dict[str, Any] = {"nearest_item": e.item_id, "cosine": round(score, 4)}
        if e in index.texts:
            ev["nearest_text"] = index.texts[e][:240]
        if score >= ceiling[item]:
            check, action, method = "contamination", "dropped", "semantic"
        elif ri in same:
            check, action, method = "contamination", "dropped", f"semantic+judge({cfg.judge})"
            ev["judge"] = "same problem"
        elif ri in askable and ri not in unclear:
            continue  # the judge says: different problems
        elif score >= cfg.semantic_threshold:  # above the threshold and no clear answer: dropped
            check, action, method = "contamination", "dropped", "semantic"
            ev["judge"] = "no clear YES/NO"
        elif score < cfg.suspect_threshold and ri not in askable:
            continue  # under the suspect threshold, and not for the judge to decide
        else:
            check, action, method = "suspect", "kept", "semantic"
            if cfg.judge and ri not in askable:
                ev["judge"] = "not asked: no benchmark text (shipped fingerprints)"
            elif cfg.judge:
                ev["judge"] = "no clear YES/NO"
        flags.append(
            Flag(
                rec.id,
                check,
                action=action,
                benchmark=e.benchmark,
                item_id=e.item_id,
                method=method,
                score=score,
                evidence=ev,
                line=line,
            )
        )
    return flags


def _judged_weak(
    lf: Flag,
    cfg: ValidateConfig,
    same: tuple[int, float] | None,
    lex_item: int,
    unclear: bool,
    entries: list[Entry],
    index: BenchmarkIndex,
) -> Flag:
    """The row of a record with a weak lexical hit, after the judge: YES on the lexical item or an
    unclear answer keeps the lexical flag (dropped); YES on another item drops it as that item;
    NO on everything asked keeps the record as a `suspect` row naming the lexical match."""
    ev = dict(lf.evidence)
    if same is not None and same[0] != lex_item:
        e = entries[same[0]]
        ev = {"nearest_item": e.item_id, "cosine": round(same[1], 4), "nearest_text": index.texts[e][:240]}
        ev["judge"] = "same problem"
        return replace(
            lf,
            benchmark=e.benchmark,
            item_id=e.item_id,
            method=f"semantic+judge({cfg.judge})",
            score=same[1],
            evidence=ev,
        )
    if same is not None:
        ev["judge"] = "same problem"
        return replace(lf, method=f"{lf.method}+judge({cfg.judge})", evidence=ev)
    if unclear:
        ev["judge"] = "no clear YES/NO (dropped: lexical match)"
        return replace(lf, evidence=ev)
    ev["judge"] = "different problem"
    return replace(lf, check="suspect", action="kept", method=f"{lf.method}+judge({cfg.judge})", evidence=ev)


def validate_records(
    records: Sequence[tuple[int, Record]],
    cfg: ValidateConfig,
    *,
    dataset: str = "",
    parent: int = 0,
    pre_flags: list[Flag] | None = None,
    index: BenchmarkIndex | None = None,
    progress: Progress | None = None,
) -> Report:
    """All checks over parsed records; returns the report (nothing written)."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    index = index or build_index(cfg)
    timings["benchmarks"] = time.perf_counter() - t
    flags = list(pre_flags or [])
    t = time.perf_counter()
    flags += record_checks(records, cfg.dedup_threshold, cfg.keep_unsolved)
    timings["checks"] = time.perf_counter() - t
    t = time.perf_counter()
    lex = lexical_flags(records, index, cfg.batch_size, progress, cfg.workers)
    lex, weak = split_weak(lex, index, cfg)
    flags += lex
    timings["lexical"] = time.perf_counter() - t
    judge_stats: dict[str, Any] = {}
    if cfg.semantic:
        t = time.perf_counter()
        flags += semantic_flags(
            records, index, cfg, skip={f.record_id for f in lex}, judge_stats=judge_stats, weak=weak
        )
        timings["semantic"] = time.perf_counter() - t
    total = len(records) + sum(1 for f in (pre_flags or []) if f.check == "schema")
    return Report(
        dataset, parent, total, flags, cfg.to_dict(), index.describe_sources(), timings, judge_stats or None
    )


@dataclass
class ValidateResult:
    report: Report
    sealed: Any | None  # SealedVersion
    report_path: Path


def seal_identity(name: str, version: int, parent: Any, cfg: ValidateConfig) -> dict[str, Any]:
    """What a validate seal is of: the parent version (and its data hash) and the settings that decide
    what is kept. Validating the same parent the same way again returns the version sealed before."""
    settings = {k: v for k, v in cfg.to_dict().items() if k not in ("workers", "batch_size")}
    blob = json.dumps(redact(settings), sort_keys=True, default=str).encode("utf-8")
    return {
        "stage": "validate",
        "parent": f"{name}@v{version}",
        "parent_sha256": parent.files["data.jsonl"].sha256,
        "config_sha256": hashlib.sha256(blob).hexdigest(),
    }


JUDGE_PREFLIGHT_RETRIES = 2  # the judge has no --max-retries: a dead server fails in seconds


def check_judge(cfg: ValidateConfig) -> None:
    """A bad judge spec, a missing key, a missing local model or an unreachable judge ends here,
    before any work: one tiny request, as generate does, even when no pair will need the judge."""
    if not cfg.judge:
        return
    import asyncio

    from rft.teachers import make_teacher
    from rft.teachers.ping import preflight

    opts = cfg.judge_options()
    opts = opts.model_copy(update={"max_retries": min(opts.max_retries, JUDGE_PREFLIGHT_RETRIES)})
    teacher = make_teacher(cfg.judge, opts)

    async def check() -> None:
        try:
            await preflight(teacher)
        finally:
            await teacher.aclose()

    try:
        asyncio.run(check())
    except RftError as exc:
        detail = (
            str(exc).removeprefix(f"teacher {teacher.spec} is not usable: ").removeprefix(f"{teacher.spec}: ")
        )
        raise TeacherError(f"--judge {cfg.judge} is not usable: {detail}") from None


def report_json(report: Report) -> str:
    """The report as written to disk: secrets (a key in --judge-base-url, ...) redacted."""
    return json.dumps(redact(report.to_json()), indent=1, ensure_ascii=False) + "\n"


def write_report(out: Path, report: Report) -> None:
    """Write the report to `out` atomically (a temp file renamed into place)."""
    tmp = out.with_suffix(".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(report_json(report), encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise write_error(exc, out, "no report was written") from None


def run(
    store: Any,
    name: str,
    version: int | None,
    cfg: ValidateConfig,
    *,
    report_only: bool = False,
    command: list[str] | None = None,
    progress: Progress | None = None,
    judge_checked: bool = False,
) -> ValidateResult:
    """Validate NAME@vN from `store`; seal the kept records as the next version (or only write the
    report). Checksums are verified first; nothing is written unless everything succeeded.
    `judge_checked`: the caller already ran `check_judge(cfg)`."""
    if not judge_checked:
        check_judge(cfg)
    version, path = store.resolve(name, version)
    manifest = store.read_manifest(name, version)
    store.verify(path, manifest)
    records, schema_flags = parse_records(path / "data.jsonl")
    report = validate_records(
        records, cfg, dataset=name, parent=version, pre_flags=schema_flags, progress=progress
    )
    if report_only:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = store.dataset_dir(name) / "reports" / f"v{version}-validate-{stamp}.json"
        store.guard_writable(out.parent)
        write_report(out, report)
        return ValidateResult(report, None, out)
    dropped = report.dropped_ids
    kept = [r for _, r in records if r.id not in dropped]
    summary = report.summary()
    sealed = store.seal(
        name,
        kept,
        manifest={
            "stage": "validate",
            "parent": version,
            "config": {"validate": cfg.to_dict()},
            "command": command or [],
            "teacher": manifest.teacher,
            "validator": manifest.validator,
            "source_fingerprint": manifest.source_fingerprint,
            "counts": {"validate_in": float(report.total), "validate_dropped": float(len(dropped))},
            "validation": {**summary, "report": REPORT_FILE},
        },
        extra_files={REPORT_FILE: report_json(report)},
        identity=seal_identity(name, version, manifest, cfg),
    )
    return ValidateResult(report, sealed, sealed.path / REPORT_FILE)
