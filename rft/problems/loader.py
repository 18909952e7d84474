"""`load_problems` and `source_fingerprint`: the public entry points of problem sources."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rft.errors import ConfigError, InputError
from rft.problems.demo import demo_options, demo_rows
from rft.problems.hub import hub_label, read_hub
from rft.problems.presets import Preset, generic, get_preset
from rft.problems.readers import RawRow, read_rows
from rft.problems.rows import PROBLEM_FIELDS, RowView
from rft.problems.select import check_limit, check_shard, select
from rft.problems.spec import SourceSpec, parse_source
from rft.schemas import Problem, ProblemSource, problem_id_for


def _check_fields(fields: dict[str, str] | None) -> dict[str, str]:
    fields = dict(fields or {})
    allowed = (*PROBLEM_FIELDS, "choices")
    for key, col in fields.items():
        if key not in allowed:
            raise ConfigError(f"--field: unknown problem field {key!r} (known: {', '.join(allowed)})")
        if not col or not str(col).strip():
            raise ConfigError(f"--field: empty column name for {key!r}")
    return fields


def _resolve_preset(spec: SourceSpec, preset: str | None) -> Preset | None:
    name = preset or spec.preset
    return get_preset(name) if name else None


def _raw_rows(spec: SourceSpec) -> list[RawRow]:
    if spec.kind == "file":
        return read_rows(spec.path)
    if spec.kind == "hub":
        return read_hub(spec)
    return demo_rows(spec.size or 0, spec.seed or 0)


def _source_of(spec: SourceSpec, row: RawRow) -> ProblemSource:
    if spec.kind == "file":
        return ProblemSource(kind="file", name=str(spec.path), row=row.index)
    if spec.kind == "hub":
        return ProblemSource(kind="hub", name=spec.name, split=spec.split, config=spec.config, row=row.index)
    return ProblemSource(kind="builtin", name=f"demo:{spec.size}:{spec.seed}", row=row.index)


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
) -> list[Problem]:
    """Load problems from a file, `hf:owner/name[:config][@split]`, `demo[:size[:seed]]` or a preset name.

    All rows are read and mapped first (ids are assigned in source order), then the selection runs:
    seeded shuffle -> shard i/n -> limit. Bad input raises an RftError naming the file/line and field.
    """
    fields = _check_fields(fields)
    check_limit(limit)
    if shard is not None:
        check_shard(shard)
    spec = parse_source(source)
    chosen = _resolve_preset(spec, preset)
    defaults = dict(chosen.columns) if chosen else {}
    raws = _raw_rows(spec)
    ids, bodies = [], []
    for raw in raws:
        pid, body = _to_problem(spec, chosen, RowView(raw, fields, defaults))
        ids.append(pid)
        bodies.append((raw, body))
    problems = []
    for pid, (raw, body) in zip(_dedupe_ids(ids), bodies, strict=True):
        try:
            problems.append(Problem(id=pid, source=_source_of(spec, raw), **body))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise InputError(f"{raw.location}: {where}: {first['msg']}") from None
    return select(problems, limit=limit, shuffle=shuffle, seed=seed, shard=shard)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return h.hexdigest()


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
