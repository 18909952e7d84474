"""Shared fixtures. Real benchmark files live in ../shared/benchmarks (read-only, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCHMARKS = (ROOT.parent / "shared" / "benchmarks").resolve()

# Nothing may be downloaded at test time: fail fast instead of hanging on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """The real benchmark files (see ../shared/benchmarks/SOURCES.md)."""
    if not SHARED_BENCHMARKS.is_dir():
        pytest.fail(f"real benchmark files not found at {SHARED_BENCHMARKS}")
    return SHARED_BENCHMARKS
