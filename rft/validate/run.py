"""The validate stage: checks, dedup and decontamination of a sealed version, sealed as the next one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rft.errors import ConfigError, InputError
from rft.redaction import redact, register_url_secrets
from rft.schemas import Manifest, Record
from rft.store import SealedVersion, Store
from rft.teachers.http import check_env_name
from rft.validate.benchmarks import parse_benchmarks
from rft.validate.checks import check_answer_verdict, check_steps, check_trainable
from rft.validate.decontam import get_method
from rft.validate.dedup import find_duplicates
from rft.validate.index import BenchmarkIndex, build_index
from rft.validate.judge import JUDGE_CACHE, JudgePairs, check_judge, open_judge
from rft.validate.lexical import lexical_flags
from rft.validate.nearest import SUSPECT, TOP_K
from rft.validate.records import parse_records
from rft.validate.report import REPORT_FILE, Flag, Report
from rft.validate.semantic import JUDGE_FLOOR, THRESHOLD, semantic_flags, split_weak

Progress = Callable[[int, int], None]


@dataclass
class ValidateConfig:
    benchmarks: list[str] = field(default_factory=lambda: parse_benchmarks(None))
    method: str = "containment"
    threshold: float | None = None  # None: the method's default
    benchmark_dir: Path | None = None
    benchmark_paths: dict[str, Path] = field(default_factory=dict)
    semantic: bool = False
    semantic_threshold: float = THRESHOLD
    suspect_threshold: float = SUSPECT
    judge_floor: float = JUDGE_FLOOR  # with a judge, the judged band starts at min(this, suspect_threshold)
    top_k: int = TOP_K
    judge: str | None = None
    judge_base_url: str | None = None  # an OpenAI-compatible or Anthropic endpoint for the judge
    judge_api_key_env: str | None = None  # NAME of the env var with the judge's key
    dedup_threshold: float = 0.8
    hub: bool = True
    batch_size: int = 512
    workers: int | None = None  # lexical stage processes; None: 2 from 20,000 records on
    keep_unsolved: bool = False  # keep untrainable records (unsolved, incorrect, gold unchecked)

    def __post_init__(self) -> None:
        check_env_name("--judge-api-key-env", self.judge_api_key_env)
        register_url_secrets(self.judge_base_url)
        get_method(self.method)
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"--threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 < self.dedup_threshold <= 1.0:
            raise ConfigError(f"--dedup-threshold must be in (0, 1], got {self.dedup_threshold}")
        if not 0.0 < self.suspect_threshold <= self.semantic_threshold <= 1.0:
            raise ConfigError("--semantic-threshold must be in (0, 1] and above the suspect threshold")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.judge and not self.semantic:
            raise ConfigError("--judge needs --semantic (it judges the ambiguous semantic band)")
        if (self.judge_base_url or self.judge_api_key_env) and not self.judge:
            raise ConfigError("--judge-base-url and --judge-api-key-env need --judge SPEC")
        if self.benchmark_dir is not None and not Path(self.benchmark_dir).is_dir():
            raise InputError(f"--benchmark-dir: {self.benchmark_dir} is not a folder")
        for b, p in self.benchmark_paths.items():
            if b not in self.benchmarks:
                raise ConfigError(f"--benchmark-path {b}=...: {b} is not among --benchmarks")
            if not Path(p).is_file():
                raise InputError(f"--benchmark-path {b}: file not found: {p}")

    def judge_options(self):
        from rft.teachers import TeacherOptions

        return TeacherOptions(base_url=self.judge_base_url, api_key_env=self.judge_api_key_env)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["benchmark_dir"] = str(self.benchmark_dir) if self.benchmark_dir else None
        d["benchmark_paths"] = {k: str(v) for k, v in self.benchmark_paths.items()}
        d["threshold"] = self.effective_threshold
        return d

    @property
    def effective_threshold(self) -> float | None:
        return self.threshold if self.threshold is not None else get_method(self.method).threshold


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
