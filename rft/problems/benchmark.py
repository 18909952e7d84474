"""A benchmark's test items as `Problem`s, read as the registry (`rft.benchmarks`) says: from a file,
from a folder laid out like ../shared/benchmarks, or from the Hub; with the benchmark's preset.

It lives here rather than in `rft.benchmarks` so that the registry stays data only: `rft.problems`
reads the registry (the test-split gate, the presets' Hub aliases), and the registry imports none of it."""

from __future__ import annotations

from pathlib import Path

from rft import benchmarks
from rft.errors import InputError
from rft.problems.loader import load_problems
from rft.schemas import Problem


def benchmark_sources(name: str, *, benchmark_dir: str | Path | None = None) -> list[str]:
    """The `rft.problems` sources of a benchmark's test items: its test file under `benchmark_dir`
    (which must be there), else its Hub sources."""
    spec = benchmarks.get(name)
    if benchmark_dir is None:
        return list(spec.sources)
    file = Path(benchmark_dir) / spec.local_file
    if not file.is_file():
        raise InputError(f"--benchmark-dir: {file} not found (expected the layout of ../shared/benchmarks)")
    return [str(file)]


def load_benchmark(
    name: str, *, benchmark_dir: str | Path | None = None, path: str | Path | None = None
) -> list[Problem]:
    """A benchmark's test items: from `path`, from `benchmark_dir` (the shared layout), or from the
    Hub; read by `load_problems` with the benchmark's preset (row numbers count per source)."""
    spec = benchmarks.get(name)
    sources = [str(path)] if path is not None else benchmark_sources(name, benchmark_dir=benchmark_dir)
    return [p for src in sources for p in load_problems(src, preset=spec.preset)]
