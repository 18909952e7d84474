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

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rft.schemas import Record
from rft.validate.decontam import Entry
from rft.validate.embeddings import embed, embed_cached
from rft.validate.index import BenchmarkIndex
from rft.validate.judge import JudgePairs, open_judge
from rft.validate.nearest import band_ceilings, nearest_items
from rft.validate.report import Flag
from rft.validate.views import benchmark_views, record_views

if TYPE_CHECKING:
    from rft.validate.config import ValidateConfig

JUDGE_PER_RECORD = 3  # nearest items in the band asked about per record, nearest first


def _semantic_bench(index: BenchmarkIndex) -> tuple[list[Entry], np.ndarray, np.ndarray]:
    """The benchmark questions, the embeddings of their comparable forms, and the question of each row."""
    entries = [e for e in index.texts if e.field == "question"]
    texts: list[str] = []
    owner: list[int] = []
    for k, e in enumerate(entries):
        for _, text in benchmark_views(e.benchmark, index.texts[e]):
            texts.append(text)
            owner.append(k)
    bench = embed_cached(texts) if texts else np.zeros((0, 384), np.float32)
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
    if cfg.judge_teacher is None:
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
    judge: JudgePairs | None = None,
) -> list[Flag]:
    """The nearest benchmark questions of each record question, both embedded in every comparable
    form. With a judge, a record's nearest items in the band are asked about (nearest first, at most
    JUDGE_PER_RECORD) and `judge_stats` receives how many pairs it was asked and what it answered.

    With a judge, the band of a benchmark reaches up to its calibrated ceiling (`band_ceilings`: the
    cosine its own distinct items reach to each other) for items with benchmark text, and `weak`
    lexical flags (by record, from `split_weak`) are judged too, their item asked about first: YES or
    an unclear answer drops the record, NO keeps it as a `suspect` row.

    `judge` answers the pairs; None: the configured `--judge` (no response cache), opened here."""
    judged = cfg.judge_teacher is not None
    if judged and judge is None:
        with open_judge(cfg) as own:
            return semantic_flags(records, index, cfg, skip, judge_stats, weak, own)
    weak = weak or {}
    entries, bench, owner = _semantic_bench(index)
    todo = [(line, r) for line, r in records if r.id not in skip]
    if not todo or not len(bench):
        return list(weak.values())
    floor = min(cfg.suspect_threshold, cfg.judge_floor) if judged else cfg.suspect_threshold
    near = _nearest(todo, bench, owner, cfg.top_k, floor)
    ceiling, ceilings = _ceilings(entries, bench, owner, index, cfg)
    # the judge: a record's band candidates with benchmark text, asked in rounds, nearest first
    band = {
        ri: [(it, sc) for it, sc in cands[:JUDGE_PER_RECORD] if sc < ceiling[it]]
        for ri, cands in enumerate(near)
        if cands and cands[0][1] < ceiling[cands[0][0]]
    }
    askable = (
        {ri: [c for c in cs if entries[c[0]] in index.texts] for ri, cs in band.items()} if judged else {}
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
    if cfg.judge_teacher is not None:
        assert judge is not None
        same, unclear, answered = _judge_rounds(
            judge, askable, lambda ri, it: (todo[ri][1].problem.question, index.texts[entries[it]])
        )
        if judge_stats is not None:
            judge_stats.update(
                spec=cfg.judge_teacher.spec,
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
            check, action, method = "contamination", "dropped", _judged("semantic", cfg)
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
            if judged and ri not in askable:
                ev["judge"] = "not asked: no benchmark text (shipped fingerprints)"
            elif judged:
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


def _nearest(
    todo: list[tuple[int, Record]], bench: np.ndarray, owner: np.ndarray, top_k: int, floor: float
) -> list[list[tuple[int, float]]]:
    """Each record's nearest benchmark entries, its question embedded in every comparable form."""
    rec_texts: list[str] = []
    rec_of: list[int] = []
    for j, (_, rec) in enumerate(todo):
        for text in record_views(rec.problem.question):
            rec_texts.append(text)
            rec_of.append(j)
    rec_vecs = embed(rec_texts)
    return nearest_items(
        bench, owner, rec_vecs, np.array(rec_of, dtype=np.int64), len(todo), top_k=top_k, floor=floor
    )


def _ceilings(
    entries: list[Entry], bench: np.ndarray, owner: np.ndarray, index: BenchmarkIndex, cfg: ValidateConfig
) -> tuple[np.ndarray, dict[str, float]]:
    """Per entry, the cosine from which a pair is dropped without asking: the threshold, or with a
    judge the benchmark's ceiling (entries with benchmark text); and the ceilings by benchmark."""
    ceiling = np.full(len(entries), cfg.semantic_threshold)
    ceilings: dict[str, float] = {}
    if cfg.judge_teacher is not None:
        names = sorted({e.benchmark for e in entries})
        group = np.array([names.index(e.benchmark) for e in entries], dtype=np.int64)
        by_group = band_ceilings(bench, owner, group, cfg.semantic_threshold)
        ceilings = {names[g]: round(c, 4) for g, c in by_group.items()}
        for k, e in enumerate(entries):
            if e in index.texts:
                ceiling[k] = by_group[int(group[k])]
    return ceiling, ceilings


def _judge_rounds(
    judge: JudgePairs,
    askable: dict[int, list[tuple[int, float]]],
    pair: Callable[[int, int], tuple[str, str]],
) -> tuple[dict[int, tuple[int, float]], set[int], list[bool | None]]:
    """Ask about each record's candidates (`askable`: record -> (entry, cosine), nearest first) in
    rounds until the judge says YES; `pair(record, entry)` is what it is shown. Returns, by record,
    the candidate called the same problem, the records with an unclear answer, and every answer."""
    same: dict[int, tuple[int, float]] = {}
    unclear: set[int] = set()
    answered: list[bool | None] = []
    for rnd in range(JUDGE_PER_RECORD):
        ask = [(ri, cs[rnd]) for ri, cs in askable.items() if len(cs) > rnd and ri not in same]
        if not ask:
            break
        answers = judge([pair(ri, it) for ri, (it, _) in ask])
        for (ri, cand), a in zip(ask, answers, strict=True):
            answered.append(a)
            if a is True:
                same[ri] = cand
            elif a is None:
                unclear.add(ri)
    return same, unclear, answered


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
            method=_judged("semantic", cfg),
            score=same[1],
            evidence=ev,
        )
    if same is not None:
        ev["judge"] = "same problem"
        return replace(lf, method=_judged(lf.method, cfg), evidence=ev)
    if unclear:
        ev["judge"] = "no clear YES/NO (dropped: lexical match)"
        return replace(lf, evidence=ev)
    ev["judge"] = "different problem"
    return replace(lf, check="suspect", action="kept", method=_judged(lf.method, cfg), evidence=ev)


def _judged(method: str | None, cfg: ValidateConfig) -> str:
    """The method of a row the judge decided: `semantic+judge(openai:gpt-4o-mini)`."""
    assert cfg.judge_teacher is not None
    return f"{method}+judge({cfg.judge_teacher.spec})"
