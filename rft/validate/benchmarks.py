"""Benchmark test items to decontaminate against: from the Hub, a local folder, or per-benchmark files.
The lists, the folder layout and the Hub sources are the registry's (`rft.benchmarks`), read when
asked; the items are read by `rft.problems.load_benchmark`.

Every field a model sees at eval time is kept (the question or prompt, answer choices, MBPP's test
asserts) plus the gold solution. When no text source can be used, `rft.validate.fingerprints`
supplies the shipped hashed fingerprints instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rft import benchmarks as registry
from rft.errors import ConfigError, InputError, RftError
from rft.problems import load_benchmark
from rft.problems.hub import hub_reachable
from rft.schemas import Problem


def names() -> list[str]:
    """The decontamination lists, from the registry (math holds MATH-500 and the full MATH)."""
    return list(registry.groups())


def specs_of(benchmark: str) -> list[registry.BenchmarkSpec]:
    """The registry's benchmarks checked under the decontamination list `benchmark`."""
    return registry.groups()[benchmark]


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


def parse_benchmarks(spec: str | None) -> list[str]:
    """`gsm8k,math` -> ["gsm8k", "math"]; None or "all" -> every benchmark."""
    known = names()
    if spec is None or spec.strip() in ("", "all"):
        return known
    wanted = [s.strip().lower() for s in spec.split(",") if s.strip()]
    for name in wanted:
        if name not in known:
            raise ConfigError(f"--benchmarks: unknown benchmark {name!r} (choose from {', '.join(known)})")
    return list(dict.fromkeys(wanted))


def _item_id(kind: str, p: Problem) -> str:
    """A stable, readable id: the row for files without ids, the benchmark's own id otherwise (the
    shipped fingerprints hold these ids: they must not change)."""
    row = p.source.row if p.source is not None and p.source.row is not None else 0
    hub = p.source is not None and p.source.kind == "hub"
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
    if kind == "arc":
        return f"arc/test/{row}" if not hub else f"arc/{p.id.removeprefix('arc-')}"
    return f"{kind}/{p.id}"


def items_of(kind: str, problems: list[Problem], where: str) -> list[BenchItem]:
    """The decontamination items of one benchmark's test problems (`where`: for the error message).

    Indexed fields: what a model sees at eval time (the question or prompt with its answer choices,
    MBPP's test asserts) and the gold solution."""
    benchmark = registry.get(kind).group
    items = []
    for p in problems:
        fields = {"question": p.question}
        if p.solution:
            fields["solution"] = p.solution
        if kind == "mbpp" and p.tests:
            fields["tests"] = "\n".join(p.tests)
        items.append(BenchItem(benchmark, _item_id(kind, p), fields))
    if not items:
        raise InputError(f"benchmark source {where} has no rows")
    return items


def items_from(kind: str, source: str | Path) -> list[BenchItem]:
    """Benchmark items of one file, read by `rft.problems` with the benchmark's preset."""
    return items_of(kind, load_benchmark(kind, path=source), str(source))


def load_dir(benchmark: str, root: Path) -> BenchSource:
    """Every benchmark of a decontamination list from a folder laid out like ../shared/benchmarks."""
    items: list[BenchItem] = []
    for spec in specs_of(benchmark):
        problems = load_benchmark(spec.name, benchmark_dir=root)
        items.extend(items_of(spec.name, problems, str(root / spec.local_file)))
    return BenchSource(benchmark, "dir", str(root), items)


def load_path(benchmark: str, path: Path) -> BenchSource:
    """A single file named by the user for one benchmark (`--benchmark-path math=FILE`)."""
    kind = "math500" if benchmark == "math" and "500" in path.name else benchmark
    return BenchSource(benchmark, "path", str(path), items_from(kind, path))


def load_hub(benchmark: str) -> BenchSource:
    """Load from the Hugging Face Hub (raises RftError when it cannot)."""
    items: list[BenchItem] = []
    for spec in specs_of(benchmark):
        items.extend(items_of(spec.name, load_benchmark(spec.name), ", ".join(spec.sources)))
    location = ", ".join(src.removeprefix("hf:") for spec in specs_of(benchmark) for src in spec.sources)
    return BenchSource(benchmark, "hub", location, items)


def _offline() -> bool:
    return any(
        os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _probe(timeout: float = 2.0) -> tuple[bool, str]:
    """Whether the Hub endpoint (HF_ENDPOINT, read now) answers within `timeout`, and why not."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if hub_reachable(endpoint, timeout=timeout):
        return True, ""
    return False, f"{endpoint} unreachable"


FINGERPRINTS_LOCATION = "shipped rft/validate/data/fingerprints.npz"


def resolve_sources(
    wanted: list[str],
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
    for b in wanted:
        if b in paths:
            out[b] = load_path(b, paths[b])
            continue
        if benchmark_dir is not None:
            out[b] = load_dir(b, benchmark_dir)
            continue
        why = "--no-hub"
        if hub:
            if probe is None:
                offline = _offline()
                probe = (True, "") if offline else _probe()
            ok, why = probe
            if ok:
                try:
                    out[b] = load_hub(b)
                    continue
                except RftError as exc:
                    why = "offline and not in the local HF cache" if offline else str(exc).split(";")[0][:120]
        out[b] = BenchSource(b, "fingerprints", FINGERPRINTS_LOCATION, note=f"Hub not used: {why}")
    return out
