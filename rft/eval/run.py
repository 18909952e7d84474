"""`rft eval`: the base model and every adapter on the same items, with the same graders.

    evals/<id>/
      samples.jsonl   one line per sample, appended as it finishes (resume reads it back)
      results.json    per benchmark and model: summaries, BLEU, timing; per adapter the paired comparison
      table.md        the comparison table (also printed)
      accuracy.png    the bar chart with 95% error bars
      config.yaml     the resolved config (`--config` loads it back)
      manifest.json   models (base, adapter manifests), benchmark files and their sha256, rft version,
                      git commit, command line, libraries

The id hashes what is measured (`EvalConfig.identity`: the settings, the base model's version, the
benchmark files' bytes), so the same command resumes: a sample already in samples.jsonl (same
benchmark, item, model, sample index; an adapter by the identity in its manifest) is not generated
again, and when nothing is left to generate the model is not even loaded.

A remote `--model openai:MODEL --base-url URL` (or `anthropic:MODEL`) is the base, asked through the
teacher layer (`rft.eval.remote`): the same items, the same messages, the same graders and rows; one
request per sample; no adapters. The server is asked once before anything is written (a dead one is
one line, exit 2), and a request that fails after its retries is never a wrong answer: the run stops
with the finished samples kept, and the same command resumes the rest."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rft
from rft import basemodel, benchmarks
from rft.basemodel import BaseModelInfo
from rft.config import config_text
from rft.console import err, out
from rft.errors import ConfigError, InputError, write_error
from rft.eval import report
from rft.eval.config import EvalConfig
from rft.eval.progress import EvalProgress
from rft.eval.prompting import Prompter, PromptFormat, format_of_adapter
from rft.redaction import redact, redact_argv, redact_text
from rft.schemas import Problem
from rft.store.fsutil import replace_atomic, sha256_file

SAMPLES, RESULTS, TABLE, PLOT = "samples.jsonl", "results.json", "table.md", "accuracy.png"
CONFIG, MANIFEST = "config.yaml", "manifest.json"
BASE = "base"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the eval: the base (adapter None) or an adapter folder on it."""

    name: str
    adapter: Path | None
    identity: str | None  # the base's hash, or the adapter's manifest identity (else its weights' sha256)
    manifest: dict[str, Any] | None
    fmt: PromptFormat


@dataclass(frozen=True)
class EvalResult:
    folder: Path
    generated: int
    reused: int
    results: dict[str, Any]


# --- resolving the inputs ------------------------------------------------------------------------


def resolve_model(cfg: EvalConfig) -> Any:
    """The local base model's files (`BaseModelInfo`), or a remote model named by its spec."""
    if cfg.is_remote:
        from rft.eval.remote import RemoteModelInfo

        return RemoteModelInfo(cfg.model, cfg.remote.base_url)
    return basemodel.resolve(cfg.model, cfg.revision, "--model")


def adapter_folders(cfg: EvalConfig) -> list[Path]:
    """The adapters given (--adapter) and the finished variants of --adapters (sorted), once each."""
    folders = [Path(a) for a in cfg.adapter]
    if cfg.adapters_dir:
        root = Path(cfg.adapters_dir)
        if not root.is_dir():
            raise ConfigError(f"--adapters {root}: no such folder")
        found = sorted(
            p
            for p in root.iterdir()
            if (p / "adapter_config.json").is_file() and (p / "manifest.json").is_file()
        )
        if not found:
            raise ConfigError(
                f"--adapters {root}: no finished adapter in it (folders with adapter_config.json and manifest.json)"
            )
        folders += found
    seen: dict[str, Path] = {}
    for f in folders:
        seen.setdefault(str(f.resolve()), f)
    return list(seen.values())


def _adapter_name(folder: Path, taken: set[str]) -> str:
    name = f"{folder.resolve().parent.name}/{folder.name}"
    while name in taken or name == BASE:
        name += "'"
    return name


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{what}: cannot read it ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: not a JSON object")
    return data


def _base_check(folder: Path, manifest: dict[str, Any], base: BaseModelInfo) -> tuple[bool, str, str | None]:
    """Whether the adapter at `folder` was trained on `base`: (same, the base it names, a note).
    The manifest's `base` (sha256, else revision, else spec) decides; a manifest without one falls
    back to PEFT's `base_model_name_or_path` in adapter_config.json; with neither the adapter is
    taken as trained on `base`, said in the note (PEFT still refuses weights of another shape)."""
    trained = manifest.get("base")
    trained = trained if isinstance(trained, dict) else {}
    if trained.get("sha256") and base.sha256:
        return trained["sha256"] == base.sha256, str(trained.get("spec") or "another model"), None
    if trained.get("revision") and base.revision:
        return trained["revision"] == base.revision, str(trained.get("spec") or "another model"), None
    if trained.get("spec"):
        return trained["spec"] == base.spec, str(trained["spec"]), None
    peft_base = _read_json_object(
        folder / "adapter_config.json", f"--adapter {folder}/adapter_config.json"
    ).get("base_model_name_or_path")
    if isinstance(peft_base, str) and peft_base:
        same = peft_base == base.spec or Path(peft_base).expanduser().resolve() == Path(base.path).resolve()
        note = f"its manifest names no base: adapter_config.json's base_model_name_or_path {peft_base!r} is --model"
        return same, peft_base, note if same else None
    return (
        True,
        base.spec,
        f"neither its manifest nor adapter_config.json names a base: taken as trained on {base.spec}",
    )


def _adapter_identity(folder: Path, manifest: dict[str, Any]) -> str:
    """The identity in the adapter's manifest, else the sha256 of its weights."""
    if manifest.get("identity"):
        return str(manifest["identity"])
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        if (folder / name).is_file():
            return sha256_file(folder / name)
    raise ConfigError(f"--adapter {folder}: no adapter weights in it (adapter_model.safetensors)")


def resolve_models(cfg: EvalConfig, base: BaseModelInfo, prompter: Prompter) -> list[ModelSpec]:
    """The base, then each adapter: an adapter folder (of `rft train`, or any PEFT adapter with a
    manifest.json), trained on this base. What its manifest lacks gets a default, said in a note."""
    models = [ModelSpec(BASE, None, base.hash, None, prompter.base_format())]
    taken = {BASE}
    for folder in adapter_folders(cfg):
        if not (folder / "adapter_config.json").is_file():
            raise ConfigError(f"--adapter {folder}: not an adapter folder (no adapter_config.json)")
        if not (folder / "manifest.json").is_file():
            raise ConfigError(
                f"--adapter {folder}: no manifest.json (rft eval takes the adapters of `rft train`, whose "
                "manifest names the base and the prompt format)"
            )
        manifest = _read_json_object(folder / "manifest.json", f"--adapter {folder}/manifest.json")
        same, trained, note = _base_check(folder, manifest, base)
        if not same:
            raise ConfigError(
                f"--adapter {folder}: trained on base {trained!r} (other weights), not --model {cfg.model}"
            )
        ident = _adapter_identity(folder, manifest)
        name = _adapter_name(folder, taken)
        taken.add(name)
        fmt, missing = format_of_adapter(manifest)
        prompter.notes.extend(f"adapter {name}: {n}" for n in ([note] if note else []) + missing)
        models.append(ModelSpec(name, folder, ident, manifest, fmt))
    return models


def benchmark_path(cfg: EvalConfig, name: str) -> Path | None:
    """The local file `--benchmark-path NAME=PATH` names for benchmark `name`: PATH itself, or in a
    folder PATH the benchmark's file (the ../shared/benchmarks layout below it, or the file's own
    name in it); None when no path is given for it (then --benchmark-dir or the Hub)."""
    given = cfg.benchmark_path.get(name)
    if given is None:
        return None
    spec = benchmarks.get(name)
    path = Path(given).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in (path / spec.local_file, path / Path(spec.local_file).name):
            if candidate.is_file():
                return candidate
        raise ConfigError(
            f"--benchmark-path {name}={given}: the folder holds no {Path(spec.local_file).name} "
            f"(nor {spec.local_file})"
        )
    raise ConfigError(f"--benchmark-path {name}={given}: no such file or folder")


def benchmark_files(cfg: EvalConfig, name: str) -> dict[str, str | None]:
    """source -> sha256 of its bytes (a Hub source: None, its revision is the Hub's)."""
    from rft.problems.benchmark import benchmark_sources

    local = benchmark_path(cfg, name)
    sources = [str(local)] if local else benchmark_sources(name, benchmark_dir=cfg.benchmark_dir)
    return {s: (sha256_file(Path(s)) if Path(s).is_file() else None) for s in sources}


def load_items(cfg: EvalConfig, name: str) -> list[Problem]:
    from rft.problems import load_benchmark

    try:
        items = load_benchmark(name, benchmark_dir=cfg.benchmark_dir, path=benchmark_path(cfg, name))
    except InputError as exc:  # the loader's hint names rft generate's --field, which eval has not
        raise InputError(f"benchmark {name}: {str(exc).split('; map another column')[0]}") from None
    if cfg.limit:
        items = items[: cfg.limit]
    if not items:
        raise InputError(f"benchmark {name}: no items")
    spec = benchmarks.get(name)
    for p in items:
        if report.is_code(name) and not p.tests:
            raise InputError(f"benchmark {name}: item {p.id} has no tests (field 'tests')")
        if not report.is_code(name) and not (p.answer or "").strip():
            raise InputError(f"benchmark {name}: item {p.id} has no gold answer ({spec.title})")
    ids = [p.id for p in items]
    if len(set(ids)) != len(ids):
        raise InputError(f"benchmark {name}: item ids repeat")
    return items


# --- samples -------------------------------------------------------------------------------------


def sample_seed(seed: int, benchmark: str, item: str, index: int) -> int:
    """The seed of one sample: from --seed, the item and the sample index (independent of batching)."""
    digest = hashlib.sha256(f"{seed}:{benchmark}:{item}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def read_samples(path: Path) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """Finished samples by (benchmark, item, model identity, sample); a line cut by a crash is skipped."""
    done: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    if not path.is_file():
        return done
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
                done[(r["benchmark"], r["item"], r["model_identity"], int(r["sample"]))] = r
            except (ValueError, KeyError, TypeError):
                continue
    return done


def score_rows(benchmark: str, problems: list[Problem], texts: list[str], workers: int | None) -> list[dict]:
    """Each output scored: answer benchmarks by every extraction, code by running its tests."""
    from rft.eval.scoring import score_output
    from rft.verify.grader import CODE_TESTS

    if report.is_code(benchmark):
        grades = CODE_TESTS.grade_many(list(zip(problems, texts, strict=True)), workers=workers)
        return [
            {
                report.CODE: {
                    "extracted": g.extracted,
                    "verdict": g.verdict.value,
                    "detail": g.detail,
                    "tests_passed": g.tests_passed,
                    "n_tests": g.n_tests,
                }
            }  # fmt: skip
            for g in grades
        ]
    return [
        {k: s.as_dict() for k, s in score_output(benchmark, p, t).items()}
        for p, t in zip(problems, texts, strict=True)
    ]


# --- the run -------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    try:
        replace_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise write_error(exc, path) from exc


def _quiet() -> None:
    import warnings

    warnings.filterwarnings("ignore", message=".*generation flags are not valid.*")
    # PEFT asks transformers a deprecated question when it puts an adapter on the base (transformers 5.x)
    warnings.filterwarnings(
        "ignore", message=".*is_gradient_checkpointing.*deprecated", category=FutureWarning
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def run_eval(cfg: EvalConfig, command: list[str], progress: bool = True) -> EvalResult:
    """Evaluate the base and every adapter on every benchmark (see the module doc); `progress`: the
    live bar on a terminal (`rft.eval.progress`)."""
    paths = {b: benchmark_path(cfg, b) for b in cfg.benchmark_path}  # a bad path fails before anything loads
    base = resolve_model(cfg)
    prompter = Prompter(
        cfg.shots, cfg.system, cfg.benchmark_dir, cfg.seed, {b: p for b, p in paths.items() if p is not None}
    )
    prompter.notes.extend(
        f"--benchmark-path {b}: not among --benchmarks, not read" for b in paths if b not in cfg.benchmarks
    )
    models = resolve_models(cfg, base, prompter)
    items = {b: load_items(cfg, b) for b in cfg.benchmarks}
    files = {src: h for b in cfg.benchmarks for src, h in benchmark_files(cfg, b).items()}
    # the id knows a benchmark file by its bytes (a Hub source by its name), not by where it lies
    ident = cfg.identity(
        base.hash, {b: [h or s for s, h in benchmark_files(cfg, b).items()] for b in cfg.benchmarks}
    )
    folder = Path(cfg.out) / ident
    for b in cfg.benchmarks:
        prompter.exemplars(b)
    path = folder / SAMPLES
    done = read_samples(path)
    temperature = 0.0 if cfg.samples == 1 else cfg.temperature
    generated = reused = 0
    engine: Any = None
    memory: dict[str, dict[str, Any]] = _previous_memory(folder)
    todos: dict[str, dict[str, list[tuple[Problem, int]]]] = {}
    planned: set[tuple[str, str, str | None, int]] = set(done)  # a model given twice generates once
    for m in models:
        todos[m.name] = {}
        for b in cfg.benchmarks:
            want = [(p, i) for p in items[b] for i in range(cfg.samples)]
            todos[m.name][b] = [(p, i) for p, i in want if (b, p.id, m.identity, i) not in planned]
            planned.update((b, p.id, m.identity, i) for p, i in todos[m.name][b])
            reused += len(want) - len(todos[m.name][b])
    total = sum(len(t) for per in todos.values() for t in per.values())
    remote: Any = None
    if cfg.is_remote:  # before anything is written: a bad key or URL, a dead server end here
        from rft.eval.remote import MEMORY_KIND, RemoteModel

        remote = RemoteModel(cfg)
        if total:
            remote.preflight()
        prompter.notes.append(
            f"{remote.where()}: each sample is one request; tokens are the API's usage, latency is the "
            "request's wall time (queueing at the server included); memory is not measured (the server's)"
        )
        memory[BASE] = {"peak_memory_bytes": None, "peak_memory_kind": MEMORY_KIND}
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, folder) from exc
        for note in prompter.notes:
            err.print(f"note: {note}")
        _write(
            folder / CONFIG,
            redact_text(config_text(cfg, [f"rft eval {ident}: the resolved config (--config loads it)"])),
        )
    except BaseException:
        if remote is not None:
            remote.close()
        raise
    if remote is not None:
        try:
            with EvalProgress(total, enabled=progress and total > 0) as bar:
                writer = SampleWriter(cfg, done, path, bar)
                _run_remote(cfg, remote, models[0], todos[models[0].name], prompter, writer, temperature)
                generated = writer.generated
        finally:
            remote.close()
    else:
        with EvalProgress(total, enabled=progress and total > 0) as bar:
            writer = SampleWriter(cfg, done, path, bar)
            for m in models:
                todo = todos[m.name]
                if not any(todo.values()):
                    continue
                if engine is None:
                    from rft.eval.generation import Models

                    _quiet()
                    device, dtype = basemodel.device_and_dtype(cfg.device, cfg.dtype)
                    engine = Models(base.path, device, dtype)
                    for other in models:  # every adapter with work left, before any generation: one that
                        if other.adapter is not None and any(todos[other.name].values()):  # fails, fails now
                            engine.load_adapter(other.name, other.adapter)
                with engine.use(None if m.adapter is None else m.name):
                    engine.memory.start()
                    for b in cfg.benchmarks:
                        if not todo[b]:
                            continue
                        err.print(f"{m.name} on {b}: {len(todo[b])} samples to generate")
                        # each item's prompt built and tokenized once (not once per sample); all of the
                        # benchmark's samples are one continuous batch (rft.eval.generation), each row
                        # written as soon as it ends, so an interrupted run keeps what it finished
                        job = writer.job(b, m, todo[b], prompter, temperature, one_batch=True)
                        ids = {item: engine.encode(msg) for item, msg in job.asked.items()}
                        engine.generate(
                            [ids[p.id] for p, _ in todo[b]],
                            job.seeds,
                            temperature=temperature,
                            max_new_tokens=cfg.max_new_tokens,
                            batch_size=cfg.batch_size,
                            on_done=job.on_done,
                            flush_every=job.flush_every,
                        )
                    memory[m.name] = {
                        "peak_memory_bytes": engine.memory.read(),
                        "peak_memory_kind": engine.memory.kind,
                    }
            generated = writer.generated

    results = gather(cfg, ident, models, items, done, memory, prompter)
    _write(folder / RESULTS, json.dumps(results, indent=2) + "\n")
    _write(folder / TABLE, report.markdown(results))
    report.plot(results, folder / PLOT)
    base_manifest = base.manifest(remote.served_model) if remote is not None else base.manifest()
    _write(
        folder / MANIFEST,
        json.dumps(_manifest(cfg, ident, base_manifest, models, files, prompter, command), indent=2) + "\n",
    )
    return EvalResult(folder, generated, reused, results)


class SampleWriter:
    """Finished samples scored and appended to samples.jsonl as they come (code: a group graded
    together), for both backends. `batch` numbers go on from the rows already there: a local
    generation call is one batch (its rows share the wall time of `report.timing`), a remote sample
    its own."""

    def __init__(self, cfg: EvalConfig, done: dict, path: Path, bar: EvalProgress) -> None:
        self.cfg, self.done, self.path, self.bar = cfg, done, path, bar
        self.batch_no = max((int(r.get("batch", 0)) for r in done.values()), default=0)
        self.generated = 0

    def job(
        self,
        b: str,
        m: ModelSpec,
        work: list[tuple[Problem, int]],
        prompter: Prompter,
        temperature: float,
        one_batch: bool,
    ) -> Job:
        """The samples `work` of model `m` on benchmark `b` to generate: their messages and seeds, and
        the `on_done` that scores and appends them (pairs of index into `work` and `Generated`)."""
        self.bar.stage(m.name, b)
        asked = {p.id: prompter.messages(b, p, m.fmt) for p, _ in work}
        seeds = [None if temperature == 0 else sample_seed(self.cfg.seed, b, p.id, i) for p, i in work]
        fixed = self._new_batch() if one_batch else None

        def keep(pairs: list[tuple[int, Any]]) -> None:
            chunk = [work[j] for j, _ in pairs]
            scores = score_rows(b, [p for p, _ in chunk], [o.text for _, o in pairs], self.cfg.workers)
            rows = []
            for (j, o), (p, i), sc in zip(pairs, chunk, scores, strict=True):
                batch = fixed if fixed is not None else self._new_batch()
                rows.append(_row(b, p, i, m, seeds[j], asked[p.id], o, sc, batch))
                self.done[(b, p.id, m.identity, i)] = rows[-1]
            _append(self.path, rows)
            self.generated += len(rows)
            self.bar.advance(len(rows))

        return Job(asked, seeds, keep, self.cfg.batch_size if report.is_code(b) else 1)

    def _new_batch(self) -> int:
        self.batch_no += 1
        return self.batch_no


@dataclass(frozen=True)
class Job:
    """What a backend needs to generate one model's samples on one benchmark (`SampleWriter.job`)."""

    asked: dict[str, list[dict[str, str]]]  # item id -> its messages
    seeds: list[int | None]
    on_done: Callable[[list[tuple[int, Any]]], None]
    flush_every: int  # code: a group graded together


def _row(
    b: str,
    p: Problem,
    i: int,
    m: ModelSpec,
    seed: int | None,
    msg: list[dict[str, str]],
    o: Any,
    sc: dict[str, Any],
    batch_no: int,
) -> dict[str, Any]:
    """One samples.jsonl row: the sample's prompt, its output (`o`: a `Generated`) and its scores."""
    return {
            "benchmark": b,
            "item": p.id,
            "model": m.name,
            "model_identity": m.identity,
            "sample": i,
            "seed": seed,
            "prompt": msg,
            "output": o.text,
            "finish_reason": o.finish_reason,
            "extracted": {k: v["extracted"] for k, v in sc.items()},
            "verdict": {k: v["verdict"] for k, v in sc.items()},
            "scores": sc,
            "tokens": o.tokens,
            "latency_s": o.latency_s,
            "elapsed_s": o.latency_s if o.elapsed_s is None else o.elapsed_s,
            "batch": batch_no,
        }  # fmt: skip


def _run_remote(
    cfg: EvalConfig,
    remote: Any,
    m: ModelSpec,
    todo: dict[str, list[tuple[Problem, int]]],
    prompter: Prompter,
    writer: SampleWriter,
    temperature: float,
) -> None:
    """Every sample left of the remote model, each its own request: a row appended as soon as its
    answer is scored (code: --batch-size answers graded together); each row is its own `batch`, so
    latency and tokens/s are per request. A failed request stops the run after the finished rows are
    kept (`rft.eval.remote.RemoteFailure`)."""
    for b in cfg.benchmarks:
        work = todo[b]
        if not work:
            continue
        err.print(f"{m.name} ({cfg.model}) on {b}: {len(work)} samples to generate")
        job = writer.job(b, m, work, prompter, temperature, one_batch=False)
        remote.generate(
            [job.asked[p.id] for p, _ in work],
            job.seeds,
            temperature=temperature,
            max_new_tokens=cfg.max_new_tokens,
            on_done=job.on_done,
            flush_every=job.flush_every,
        )


def _append(path: Path, rows: list[dict[str, Any]]) -> None:
    try:
        with open(path, "a", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(redact(r), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise write_error(exc, path) from exc


def _previous_memory(folder: Path) -> dict[str, dict[str, Any]]:
    """The peak memory an earlier invocation measured, for models that generate nothing now."""
    try:
        old = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
        return {
            n: {k: m.get(k) for k in ("peak_memory_bytes", "peak_memory_kind")}
            for n, m in old.get("models", {}).items()
        }
    except (OSError, ValueError, AttributeError):
        return {}


def gather(
    cfg: EvalConfig,
    ident: str,
    models: list[ModelSpec],
    items: dict[str, list[Problem]],
    done: dict[tuple[str, str, str, int], dict[str, Any]],
    memory: dict[str, dict[str, Any]],
    prompter: Prompter,
) -> dict[str, Any]:
    """results.json from the samples of this eval's models."""
    from rft.eval.bleu import reasoning_bleu

    per_bench: dict[str, dict[str, Any]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for b, problems in items.items():
        per_bench[b], summaries[b] = {}, {}
        for m in models:
            rows = [[done[(b, p.id, m.identity, i)] for i in range(cfg.samples)] for p in problems]
            if report.is_code(b):
                summ = report.code_summary(rows)
            else:
                summ = report.answer_summary(b, [p.answer or "" for p in problems], rows)
            summaries[b][m.name] = summ
            flat = [r for samples in rows for r in samples]
            bleu = None
            if any(p.solution for p in problems) and not report.is_code(b):
                sols = [p.solution for p in problems for _ in range(cfg.samples)]
                bleu = reasoning_bleu(b, [r["output"] for r in flat], sols).as_dict()
            per_bench[b][m.name] = {
                "items": len(problems),
                "samples_per_item": cfg.samples,
                "extractions": {k: s.as_dict() for k, s in summ.items()},
                "bleu": bleu,
                "timing": report.timing(flat),
            }
    base_name = models[0].name
    results: dict[str, Any] = {
        "id": ident,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": (
            f"{len(models)} model(s) on the same items; {'greedy' if cfg.samples == 1 else f'{cfg.samples} samples at T={cfg.temperature}'}, "
            f"{cfg.shots}-shot, max {cfg.max_new_tokens} new tokens. Accuracy is the headline extraction's "
            "(GSM8K: rft; lm-eval strict/flexible beside it); code: all tests pass in the sandbox."
        ),
        "stats_note": (
            "± is one standard error; the chart's error bars are 95% intervals (Wilson; normal for a mean of "
            "per-item pass@1 over several samples). Each adapter is "
            "compared with the base on the same items: difference of pass@1, paired bootstrap 95% CI "
            "(10,000 resamples), McNemar's exact p; 'no significant difference' when the CI spans 0. "
            + (
                "Latency is one request's wall time (queueing at the server included), tokens/s a "
                "request's tokens over its time, tokens the API's usage; peak memory is not measured "
                "(a remote model's memory is its server's)."
                if cfg.is_remote
                else "Latency runs from when a sample's prompt is read into the batch to its last token, "
                "tokens/s is the tokens over the batch's wall time; peak memory is per model (CPU: the "
                "process's RSS high-water mark while that model generated, weights of the base included)."
            )
        ),
        "models": {
            m.name: {
                "kind": "base" if m.adapter is None else "adapter",
                "path": str(m.adapter) if m.adapter else cfg.model,
                "identity": m.identity,
                "prompt_format": m.fmt.as_dict(),
                **memory.get(m.name, {"peak_memory_bytes": None, "peak_memory_kind": None}),
            }
            for m in models
        },
        "benchmarks": per_bench,
        "comparisons": {},
        "exemplar_files": prompter.exemplar_files,
        "notes": prompter.notes,
    }
    results["comparisons"] = report.comparisons(results, summaries, base_name)
    return results


def _manifest(
    cfg: EvalConfig,
    ident: str,
    base: dict[str, Any],
    models: list[ModelSpec],
    files: dict[str, str | None],
    prompter: Prompter,
    command: list[str],
) -> dict[str, Any]:
    import peft
    import torch
    import transformers

    from rft.store.store import git_commit

    return redact(
        {
            "kind": "rft-eval",
            "id": ident,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rft_version": rft.__version__,
            "git_commit": git_commit(),
            "command": redact_argv(command),
            "base": base,
            "adapters": {
                m.name: {"path": str(m.adapter), "identity": m.identity, "manifest": m.manifest}
                for m in models
                if m.adapter is not None
            },
            "benchmarks": {
                b: {
                    "files": benchmark_files(cfg, b),
                    "grader": benchmarks.get(b).grader,
                    "extractions": list(benchmarks.get(b).extractions) or [report.CODE],
                }  # fmt: skip
                for b in cfg.benchmarks
            },
            "benchmark_files": files,
            "exemplar_files": {
                k: {"path": v, "sha256": sha256_file(Path(v))} for k, v in prompter.exemplar_files.items()
            },
            "config": cfg.resolved(),
            "libraries": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "peft": peft.__version__,
            },
        }
    )


def print_result(result: EvalResult) -> None:
    report.print_tables(result.results, out)
    out.print(
        f"{result.generated} samples generated, {result.reused} already there; wrote {result.folder} "
        f"({RESULTS}, {SAMPLES}, {TABLE}, {PLOT}, {CONFIG}, {MANIFEST})"
    )
