"""`load_problems`, `load_problem_set` and `source_fingerprint`: the public entry points of problem sources."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from rft.errors import ConfigError, InputError, RftError
from rft.problems.demo import demo_options, demo_rows
from rft.problems.hub import hub_label, read_hub
from rft.problems.origin import source_of
from rft.problems.parse import parse_source
from rft.problems.presets import Preset, generic, get_preset
from rft.problems.problemset import ProblemSet
from rft.problems.readers import RawRow, iter_rows
from rft.problems.rows import PROBLEM_FIELDS, RowView
from rft.problems.select import check_limit, check_shard, select
from rft.problems.spec import SourceSpec
from rft.schemas import Problem, ProblemSource, problem_id_for
from rft.store.fsutil import sha256_file


def _check_fields(fields: dict[str, str] | None) -> dict[str, str]:
    fields = dict(fields or {})
    allowed = (*PROBLEM_FIELDS, "choices")
    for key, col in fields.items():
        if key not in allowed:
            raise ConfigError(f"--field: unknown problem field {key!r} (known: {', '.join(allowed)})")
        if not col or not str(col).strip():
            raise ConfigError(f"--field: empty column name for {key!r}")
    return fields


def _check_selection(
    fields: dict[str, str] | None, limit: int | None, shard: tuple[int, int] | None
) -> dict[str, str]:
    """The options both loaders check before reading anything; the checked `--field` mapping."""
    checked = _check_fields(fields)
    check_limit(limit)
    if shard is not None:
        check_shard(shard)
    return checked


def _resolve_preset(spec: SourceSpec, preset: str | None) -> Preset | None:
    name = preset or spec.preset
    return get_preset(name) if name else None


def _raw_rows(spec: SourceSpec) -> Iterable[RawRow]:
    if spec.kind == "file":
        return iter_rows(spec.path)
    if spec.kind == "hub":
        return read_hub(spec)
    return demo_rows(spec.size or 0, spec.seed or 0)


def _problem_id(spec: SourceSpec, preset: Preset | None, own_id: str | None, question: str) -> str:
    if own_id is not None and own_id.strip():
        return f"{preset.name}-{own_id.strip()}" if preset else own_id.strip()
    if spec.kind == "builtin":
        return "demo-" + problem_id_for(question)[2:]
    return problem_id_for(question)


def _blank_to_none(value: str | None) -> str | None:
    """Empty cells (common in CSV) mean "not given"."""
    return value if value is not None and value.strip() else None


def _to_problem(spec: SourceSpec, preset: Preset | None, view: RowView) -> tuple[str, dict[str, Any]]:
    converted = (preset.convert if preset else generic)(view)
    question = converted["question"]
    if question is None or not question.strip():
        raise view.fail(f"empty question (field {view.column_name('question')!r})")
    metadata = dict(converted.get("metadata") or {})
    if spec.kind == "builtin":
        metadata["generator"] = view.raw.data.get("generator")
    return _problem_id(spec, preset, converted.get("own_id"), question), {
        "question": question,
        "answer": _blank_to_none(converted.get("answer")),
        "solution": _blank_to_none(converted.get("solution")),
        "domain": converted.get("domain") or "math",
        "tests": [t for t in converted.get("tests") or [] if t.strip()],
        "entry_point": _blank_to_none(converted.get("entry_point")),
        "metadata": metadata,
    }


DUPLICATE_POLICIES = ("error", "skip", "rename")


def _source_label(spec: SourceSpec) -> str:
    if spec.kind == "file":
        return str(spec.path)
    if spec.kind == "hub":
        return hub_label(spec)
    return f"demo:{spec.size}:{spec.seed}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _resolve_duplicates(
    spec: SourceSpec,
    rows: list[tuple[str, RawRow, dict[str, Any]]],
    policy: str,
    warn: Callable[[str], None] | None,
) -> list[tuple[str, RawRow, dict[str, Any]]]:
    """Rows sharing a problem id. A row identical to an earlier one with its id is dropped (with
    `error` and `skip`); other rows sharing an id are refused (`error`, naming the id and its rows),
    dropped after the first (`skip`) or renamed `-2`, `-3`, ... in source order (`rename`)."""
    say = warn or (lambda _msg: None)
    if policy != "rename":
        bodies: dict[str, list[dict[str, Any]]] = {}
        kept, repeats = [], 0
        for pid, raw, body in rows:
            if body in bodies.setdefault(pid, []):
                repeats += 1
                continue
            bodies[pid].append(body)
            kept.append((pid, raw, body))
        if repeats:
            it = "it" if repeats == 1 else "them"
            say(
                f"warning: {_plural(repeats, 'row repeats', 'rows repeat')} an earlier row exactly; skipped {it}"
            )
        rows = kept
    by_id: dict[str, list[RawRow]] = {}
    for pid, raw, _ in rows:
        by_id.setdefault(pid, []).append(raw)
    shared = {pid: raws for pid, raws in by_id.items() if len(raws) > 1}
    if not shared:
        return rows
    first = next(iter(shared))
    extra = sum(len(raws) - 1 for raws in shared.values())
    if policy == "error":
        raws = shared[first]
        where = ", ".join(r.location for r in raws[:5]) + (", ..." if len(raws) > 5 else "")
        question = next(body["question"] for pid, _, body in rows if pid == first)
        derived = problem_id_for(question)[2:] in first  # no id column: the id hashes the question
        fix = (
            "give each row its own id"
            if not derived
            else "the same question with other fields: fix or drop rows"
        )
        raise InputError(
            f"{_source_label(spec)}: problem id {first!r} is used by {len(raws)} different rows ({where}); "
            f"{fix}, or choose --on-duplicate-id skip (keep the first) or rename ({first}-2, {first}-3, ...)"
        )
    head = f"warning: {_plural(extra, 'row repeats', 'rows repeat')} an earlier problem id (first: {first!r})"
    if policy == "skip":
        seen: set[str] = set()
        kept = []
        for pid, raw, body in rows:
            if pid not in seen:
                seen.add(pid)
                kept.append((pid, raw, body))
        say(f"{head}; skipped {'it' if extra == 1 else 'them'}")
        return kept
    renamed = _dedupe_ids([pid for pid, _, _ in rows])
    first_new = next(new for (pid, _, _), new in zip(rows, renamed, strict=True) if new != pid)
    say(f"{head}; renamed {'it' if extra == 1 else 'them'} {first_new}{', ...' if extra > 1 else ''}")
    return [(new, raw, body) for new, (_, raw, body) in zip(renamed, rows, strict=True)]


def _dedupe_ids(ids: list[str]) -> list[str]:
    """Duplicate ids get `-2`, `-3`, ... in source order (so they stay stable across shuffles)."""
    seen: dict[str, int] = {}
    taken = set(ids)
    out = []
    for pid in ids:
        count = seen.get(pid, 0) + 1
        seen[pid] = count
        if count == 1:
            out.append(pid)
            continue
        candidate = f"{pid}-{count}"
        while candidate in taken:
            count += 1
            candidate = f"{pid}-{count}"
        seen[pid] = count
        taken.add(candidate)
        out.append(candidate)
    return out


def load_problems(
    source: str,
    *,
    preset: str | None = None,
    fields: dict[str, str] | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    shard: tuple[int, int] | None = None,
    on_duplicate_id: str = "rename",
    warn: Callable[[str], None] | None = None,
) -> list[Problem]:
    """Load problems from a file, `hf:owner/name[:config][@split]`, `demo[:size[:seed]]` or a preset name.

    All rows are read and mapped first (ids are assigned in source order), then the selection runs:
    seeded shuffle -> shard i/n -> limit. Bad input raises an RftError naming the file/line and field.
    Rows sharing an id are handled by `on_duplicate_id` (error | skip | rename); what was skipped or
    renamed is said through `warn` (one line). `load_problem_set` gives the same problems, held
    compactly (for a run over many).
    """
    fields = _check_selection(fields, limit, shard)
    problems: list[Problem] = _load(source, preset, fields, on_duplicate_id, warn, list)
    return select(problems, limit=limit, shuffle=shuffle, seed=seed, shard=shard)


def load_problem_set(
    source: str,
    *,
    preset: str | None = None,
    fields: dict[str, str] | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    shard: tuple[int, int] | None = None,
    on_duplicate_id: str = "rename",
    warn: Callable[[str], None] | None = None,
) -> ProblemSet:
    """`load_problems` as a `ProblemSet`: the same problems, in the same order, each packed as soon as
    its row is read, so memory stays small however many there are."""
    fields = _check_selection(fields, limit, shard)
    problems: ProblemSet = _load(source, preset, fields, on_duplicate_id, warn, ProblemSet)
    if shuffle or shard is not None or (limit is not None and limit < len(problems)):
        chosen = select(range(len(problems)), limit=limit, shuffle=shuffle, seed=seed, shard=shard)
        return problems.subset(chosen)
    problems.trim()
    return problems


Sink = TypeVar("Sink", list[Problem], ProblemSet)


def _load(
    source: str,
    preset: str | None,
    fields: dict[str, str],
    on_duplicate_id: str,
    warn: Callable[[str], None] | None,
    sink: Callable[[], Sink],
) -> Sink:
    """Every problem of the source, in source order, appended to `sink()`.

    The rows are read as a stream and each problem is appended as soon as it is made. A source
    whose rows share an id, or with a row that cannot be mapped, is read again the way that holds
    every row at once: duplicates are resolved across all rows, and the error raised is the one a
    full read finds first (a line that cannot be read anywhere before a bad field)."""
    spec = parse_source(source)
    chosen = _resolve_preset(spec, preset)
    defaults = dict(chosen.columns) if chosen else {}
    if on_duplicate_id not in DUPLICATE_POLICIES:
        raise ConfigError(
            f"--on-duplicate-id: expected one of {', '.join(DUPLICATE_POLICIES)}, got {on_duplicate_id!r}"
        )
    origin = source_of(spec, chosen.name if chosen else None)
    problems = _streamed(spec, chosen, fields, defaults, origin, sink())
    if problems is None:
        problems = _resolved(spec, chosen, fields, defaults, origin, on_duplicate_id, warn, sink())
    return problems


def _make(origin: ProblemSource, pid: str, raw: RawRow, body: dict[str, Any]) -> Problem:
    return Problem(id=pid, source=origin.model_copy(update={"row": raw.index}), **body)


def _streamed(
    spec: SourceSpec,
    preset: Preset | None,
    fields: dict[str, str],
    defaults: dict[str, Any],
    origin: ProblemSource,
    problems: Sink,
) -> Sink | None:
    """The problems of a source read as a stream, appended to `problems`; None when a row repeats
    an earlier id or a row cannot be mapped (`_resolved` reads those)."""
    seen: set[str] = set()
    # a line that cannot be read raises here: reading every row first would stop at the same one
    for raw in _raw_rows(spec):
        try:
            pid, body = _to_problem(spec, preset, RowView(raw, fields, defaults))
            if pid in seen:
                return None
            seen.add(pid)
            problems.append(_make(origin, pid, raw, body))
        except (RftError, ValidationError):
            return None
    return problems


def _resolved(
    spec: SourceSpec,
    preset: Preset | None,
    fields: dict[str, str],
    defaults: dict[str, Any],
    origin: ProblemSource,
    on_duplicate_id: str,
    warn: Callable[[str], None] | None,
    problems: Sink,
) -> Sink:
    """Every row read and mapped first, then the ids shared resolved across all of them, then the
    problems made and appended to `problems`."""
    rows = []
    for raw in list(_raw_rows(spec)):
        pid, body = _to_problem(spec, preset, RowView(raw, fields, defaults))
        rows.append((pid, raw, body))
    for pid, raw, body in _resolve_duplicates(spec, rows, on_duplicate_id, warn):
        try:
            problems.append(_make(origin, pid, raw, body))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise InputError(f"{raw.location}: {where}: {first['msg']}") from None
    return problems


def _sha256_file(path: Path) -> str:
    try:
        return sha256_file(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def source_fingerprint(
    source: str,
    *,
    preset: str | None = None,
    fields: dict[str, str] | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    shard: tuple[int, int] | None = None,
) -> str:
    """`sha256:<hex>` over what determines the problems: the file bytes (or Hub id, config, split and
    revision; or the demo generator, size, seed and options) plus the loading options."""
    spec = parse_source(source)
    chosen = _resolve_preset(spec, preset)
    if spec.kind == "file":
        origin: dict[str, Any] = {"kind": "file", "sha256": _sha256_file(spec.path)}
    elif spec.kind == "hub":
        origin = {"kind": "hub", "source": hub_label(spec), "revision": spec.revision or "default"}
    else:
        origin = {"kind": "builtin", "name": "demo", "size": spec.size, "seed": spec.seed, **demo_options()}
    payload = {
        "origin": origin,
        "preset": chosen.name if chosen else None,
        "fields": dict(sorted(_check_fields(fields).items())),
        "limit": limit,
        "shuffle": shuffle,
        "seed": seed if shuffle else None,
        "shard": list(shard) if shard else None,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()
