"""The validate stage: checks, dedup and decontamination of a sealed version, sealed as the next one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.redaction import redact
from rft.schemas import Manifest, Record
from rft.store import SealedVersion, Store
from rft.validate.checks import check_answer_verdict, check_steps, check_trainable
from rft.validate.config import ValidateConfig
from rft.validate.dedup import find_duplicates
from rft.validate.index import BenchmarkIndex, build_index
from rft.validate.judge import JUDGE_CACHE, JudgePairs, check_judge, open_judge
from rft.validate.lexical import lexical_flags
from rft.validate.records import parse_records
from rft.validate.report import REPORT_FILE, Flag, Report
from rft.validate.semantic import semantic_flags, split_weak

Progress = Callable[[int, int], None]


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


def validate_records(
    records: Sequence[tuple[int, Record]],
    cfg: ValidateConfig,
    *,
    dataset: str = "",
    parent: int = 0,
    pre_flags: list[Flag] | None = None,
    index: BenchmarkIndex | None = None,
    progress: Progress | None = None,
    judge: JudgePairs | None = None,
) -> Report:
    """All checks over parsed records; returns the report (nothing written). `judge`: see
    `semantic_flags`."""
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
            records,
            index,
            cfg,
            skip={f.record_id for f in lex},
            judge_stats=judge_stats,
            weak=weak,
            judge=judge,
        )
        timings["semantic"] = time.perf_counter() - t
    total = len(records) + sum(1 for f in (pre_flags or []) if f.check == "schema")
    return Report(
        dataset, parent, total, flags, cfg.to_dict(), index.describe_sources(), timings, judge_stats or None
    )


@dataclass
class ValidateResult:
    report: Report
    sealed: SealedVersion | None
    report_path: Path


def seal_identity(name: str, version: int, parent: Manifest, cfg: ValidateConfig) -> dict[str, Any]:
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


def report_json(report: Report) -> str:
    """The report as written to disk: secrets (a key in --judge-base-url, ...) redacted."""
    return json.dumps(redact(report.to_json()), indent=1, ensure_ascii=False) + "\n"


def write_report(store: Store, report: Report) -> Path:
    """Write the report of `--report-only` into the dataset's reports folder (atomically); its path."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return store.write_report(report.dataset, f"v{report.parent}-validate-{stamp}.json", report_json(report))


def run(
    store: Store,
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
    report). Checksums are verified first; nothing is written unless everything succeeded (the
    judge's response cache aside). `judge_checked`: the caller already ran `check_judge(cfg)`."""
    if not judge_checked:
        check_judge(cfg)
    version, path = store.resolve(name, version)
    manifest = store.read_manifest(name, version)
    store.verify(path, manifest)
    records, schema_flags = parse_records(path / "data.jsonl")
    with open_judge(cfg, store.cache_path(name, JUDGE_CACHE)) as judge:
        report = validate_records(
            records,
            cfg,
            dataset=name,
            parent=version,
            pre_flags=schema_flags,
            progress=progress,
            judge=judge,
        )
    if report_only:
        return ValidateResult(report, None, write_report(store, report))
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
