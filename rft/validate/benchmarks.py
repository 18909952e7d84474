"""Benchmark test items to decontaminate against: from the Hub, a local folder, or per-benchmark files.

Every field a model sees at eval time is kept (the question or prompt, answer choices, MBPP's test
asserts) plus the gold solution. When no text source can be used, `rft.validate.fingerprints`
supplies the shipped hashed fingerprints instead.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rft import benchmarks as registry
from rft.errors import ConfigError, InputError, RftError
from rft.schemas import Problem

BENCHMARKS = tuple(registry.groups())


@dataclass(frozen=True)
class BenchItem:
    """One test item. `fields` maps a field name (question, solution, tests) to its text."""

    benchmark: str
    item_id: str
    fields: dict[str, str]


@dataclass
class BenchSource:
    """Where one benchmark's items came from: hub | dir | path | fingerprints."""

    benchmark: str
    kind: str
    location: str
    items: list[BenchItem] = field(default_factory=list)
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "location": self.location, "items": len(self.items)}
        if self.note:
            out["note"] = self.note
        return out


# Derived from the registry: decontamination list -> [(kind, file or Hub source)].
DIR_LAYOUT: dict[str, list[tuple[str, str]]] = {
    g: [(sp.name, sp.local_file) for sp in specs] for g, specs in registry.groups().items()
}
HUB: dict[str, list[tuple[str, str]]] = {
    g: [(sp.name, src) for sp in specs for src in sp.sources] for g, specs in registry.groups().items()
}
_PRESET = {name: sp.preset for name, sp in registry.REGISTRY.items()}


def parse_benchmarks(spec: str | None) -> list[str]:
    """`gsm8k,math` -> ["gsm8k", "math"]; None or "all" -> every benchmark."""
    if spec is None or spec.strip() in ("", "all"):
        return list(BENCHMARKS)
    names = [s.strip().lower() for s in spec.split(",") if s.strip()]
    for name in names:
        if name not in BENCHMARKS:
            raise ConfigError(
                f"--benchmarks: unknown benchmark {name!r} (choose from {', '.join(BENCHMARKS)})"
            )
    return list(dict.fromkeys(names))


def _item_id(kind: str, p: Problem, hub: bool) -> str:
    """A stable, readable id: the row for files without ids, the benchmark's own id otherwise."""
    row = p.source.row if p.source is not None and p.source.row is not None else 0
    if kind == "gsm8k":
        return f"gsm8k/test/{row}"
    if kind == "math500":
        return f"math500/{p.metadata.get('unique_id') or row}"
    if kind == "math":
        subject = str(p.metadata.get("subject") or "").replace(" ", "_")
        return f"math/test/{subject}/{row}" if not hub else f"math/{subject}/{row}"
    if kind == "humaneval":
        return p.id.removeprefix("humaneval-")
    if kind == "mbpp":
        return "mbpp/" + p.id.removeprefix("mbpp-")
    return f"arc/test/{row}" if not hub else f"arc/{p.id.removeprefix('arc-')}"


def items_from(kind: str, source: str, *, hub: bool = False) -> list[BenchItem]:
    """Benchmark items of one file or Hub dataset, read by `rft.problems` with the benchmark's preset.

    Indexed fields: what a model sees at eval time (the question or prompt with its answer choices,
    MBPP's test asserts) and the gold solution."""
    benchmark = registry.get(kind).group
    items = []
    for p in registry.load_benchmark(kind, path=source) if not hub else _hub_problems(kind, source):
        fields = {"question": p.question}
        if p.solution:
            fields["solution"] = p.solution
        if kind == "mbpp" and p.tests:
            fields["tests"] = "\n".join(p.tests)
        items.append(BenchItem(benchmark, _item_id(kind, p, hub), fields))
    if not items:
        raise InputError(f"benchmark source {source} has no rows")
    return items


def _hub_problems(kind: str, source: str) -> list[Problem]:
    from rft.problems import load_problems

    return load_problems(source, preset=_PRESET[kind])


def load_dir(benchmark: str, root: Path) -> BenchSource:
    items: list[BenchItem] = []
    for kind, rel in DIR_LAYOUT[benchmark]:
        path = root / rel
        if not path.is_file():
            raise InputError(
                f"--benchmark-dir: {path} not found (expected the layout of ../shared/benchmarks)"
            )
        items.extend(items_from(kind, str(path)))
    return BenchSource(benchmark, "dir", str(root), items)


def load_path(benchmark: str, path: Path) -> BenchSource:
    """A single file named by the user for one benchmark (`--benchmark-path math=FILE`)."""
    kind = "math500" if benchmark == "math" and "500" in path.name else benchmark
    return BenchSource(benchmark, "path", str(path), items_from(kind, str(path)))


def hub_reachable(timeout: float = 2.0) -> tuple[bool, str]:
    """False fast when offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) or huggingface.co is unreachable."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(var, "").upper() in ("1", "ON", "YES", "TRUE"):
            return False, f"{var} is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    hostname, _, port = host.partition(":")
    try:
        with socket.create_connection((hostname, int(port or 443)), timeout=timeout):
            return True, ""
    except OSError as exc:
        return False, f"{hostname} unreachable ({exc.__class__.__name__})"


def load_hub(benchmark: str) -> BenchSource:
    """Load from the Hugging Face Hub (raises RftError when it cannot)."""
    items: list[BenchItem] = []
    for kind, source in HUB[benchmark]:
        items.extend(items_from(kind, source, hub=True))
    return BenchSource(
        benchmark, "hub", ", ".join(src.removeprefix("hf:") for _, src in HUB[benchmark]), items
    )


FINGERPRINTS_LOCATION = "shipped rft/validate/data/fingerprints.npz"


def resolve_sources(
    names: list[str],
    benchmark_dir: Path | None = None,
    paths: dict[str, Path] | None = None,
    *,
    hub: bool = True,
) -> dict[str, BenchSource]:
    """Load each benchmark from (in order) its own path, `benchmark_dir`, or the Hub; a benchmark that
    none of these can supply gets an empty `fingerprints` source (filled by the shipped fingerprints).

    A path or folder the user named must work (bad ones raise); the Hub is tried only when it can
    answer fast (offline env vars: the local cache only; otherwise a 2 s connection probe)."""
    paths = paths or {}
    out: dict[str, BenchSource] = {}
    probe: tuple[bool, str] | None = None
    offline = False
    for b in names:
        if b in paths:
            out[b] = load_path(b, paths[b])
            continue
        if benchmark_dir is not None:
            out[b] = load_dir(b, benchmark_dir)
            continue
        why = "--no-hub"
        if hub:
            if probe is None:
                offline = any(
                    os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")
                    for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
                )
                probe = (True, "") if offline else hub_reachable()
            ok, why = probe
            if ok:
                try:
                    out[b] = load_hub(b)
                    continue
                except RftError as exc:
                    why = "offline and not in the local HF cache" if offline else str(exc).split(";")[0][:120]
        out[b] = BenchSource(b, "fingerprints", FINGERPRINTS_LOCATION, note=f"Hub not used: {why}")
    return out
