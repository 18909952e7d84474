"""The benchmark registry: one frozen `BenchmarkSpec` per benchmark, the one place that says where a
benchmark lives (Hub, local files laid out like ../shared/benchmarks), what its fields are, how its
gold is read (a `rft.problems` preset) and which grader scores it (a name in `rft.verify`)."""

from __future__ import annotations

from dataclasses import dataclass

from rft.errors import ConfigError

_MATH_SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark. `hub_sources` are `rft.problems` sources of its test items (several when the
    Hub splits it by config); `local_file` is its test file inside a ../shared/benchmarks folder."""

    name: str
    title: str
    hub_id: str
    hub_config: str | None
    test_split: str
    train_split: str | None  # where eval draws few-shot exemplars from
    local_file: str
    domain: str  # math | code | text
    fields: tuple[str, ...]  # question/prompt, solution, tests, entry_point, choices
    preset: str  # rft.problems preset reading the gold
    grader: str  # rft.verify grader name
    hub_sources: tuple[str, ...] = ()
    decontam_group: str | None = None  # decontamination list it is checked under (default: name)

    @property
    def sources(self) -> tuple[str, ...]:
        if self.hub_sources:
            return self.hub_sources
        cfg = f":{self.hub_config}" if self.hub_config else ""
        return (f"hf:{self.hub_id}{cfg}@{self.test_split}",)

    @property
    def group(self) -> str:
        return self.decontam_group or self.name


REGISTRY: dict[str, BenchmarkSpec] = {
    s.name: s
    for s in (
        BenchmarkSpec(
            "gsm8k",
            "GSM8K",
            "openai/gsm8k",
            "main",
            "test",
            "train",
            "gsm8k/test.jsonl",
            "math",
            ("question", "solution"),
            "gsm8k",
            "numeric",
        ),
        BenchmarkSpec(
            "math500",
            "MATH-500",
            "HuggingFaceH4/MATH-500",
            None,
            "test",
            None,
            "math500/test.jsonl",
            "math",
            ("question", "solution"),
            "math",
            "math",
            decontam_group="math",
        ),
        BenchmarkSpec(
            "math",
            "MATH",
            "EleutherAI/hendrycks_math",
            None,
            "test",
            "train",
            "math/test.jsonl",
            "math",
            ("question", "solution"),
            "math",
            "math",
            hub_sources=tuple(f"hf:EleutherAI/hendrycks_math:{c}@test" for c in _MATH_SUBJECTS),
        ),
        BenchmarkSpec(
            "humaneval",
            "HumanEval",
            "openai/openai_humaneval",
            None,
            "test",
            None,
            "humaneval/HumanEval.jsonl.gz",
            "code",
            ("question", "solution", "tests", "entry_point"),
            "humaneval",
            "code-tests",
        ),
        BenchmarkSpec(
            "mbpp",
            "MBPP",
            "google-research-datasets/mbpp",
            "full",
            "test",
            "train",
            "mbpp/test_11_510.jsonl",
            "code",
            ("question", "solution", "tests"),
            "mbpp",
            "code-tests",
        ),
        BenchmarkSpec(
            "arc",
            "ARC-Challenge",
            "allenai/ai2_arc",
            "ARC-Challenge",
            "test",
            "train",
            "arc_challenge/arc_challenge.jsonl",
            "text",
            ("question", "choices", "solution"),
            "arc",
            "choice",
        ),
    )
}


def get(name: str) -> BenchmarkSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown benchmark {name!r} (choose from {', '.join(REGISTRY)})") from None


def groups() -> dict[str, list[BenchmarkSpec]]:
    """Decontamination lists: group name -> specs checked under it (math: MATH-500 and full MATH)."""
    out: dict[str, list[BenchmarkSpec]] = {}
    for s in REGISTRY.values():
        out.setdefault(s.group, []).append(s)
    return out


def load_benchmark(name: str, *, benchmark_dir=None, path=None) -> list:
    """A benchmark's test items as `Problem`s: from `path`, from `benchmark_dir` (the shared layout),
    or from the Hub; read by the existing `rft.problems` loaders with the benchmark's preset."""
    from pathlib import Path

    from rft.errors import InputError
    from rft.problems import load_problems

    spec = get(name)
    if path is not None:
        sources = [str(path)]
    elif benchmark_dir is not None:
        file = Path(benchmark_dir) / spec.local_file
        if not file.is_file():
            raise InputError(
                f"--benchmark-dir: {file} not found (expected the layout of ../shared/benchmarks)"
            )
        sources = [str(file)]
    else:
        sources = list(spec.sources)
    return [p for src in sources for p in load_problems(src, preset=spec.preset)]
