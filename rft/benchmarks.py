"""The benchmark registry: one frozen `BenchmarkSpec` per benchmark, the one place that says where a
benchmark lives (Hub ids, configs and splits; its files in a folder laid out like ../shared/benchmarks
and their sha256), what its fields are, how its gold is read (a `rft.problems` preset) and which grader
scores it (a name in `rft.verify`). Adding a benchmark is adding one entry to `REGISTRY`.

Everything else derives from it, read when asked (so an entry added at run time is seen too): the
test-split gate (`rft.problems.testsplits`), the presets' Hub aliases, decontamination's lists and
sources (`rft.validate.benchmarks`), and `rft.problems.load_benchmark`, which reads a benchmark's test
items. This module is data only: it imports nothing of the stages, so all of them may import it."""

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
class LocalFile:
    """A benchmark file inside a folder laid out like ../shared/benchmarks, known by its bytes
    wherever it lies (the test-split gate)."""

    path: str  # relative to the folder
    sha256: tuple[str, ...]  # of its bytes, and of them decompressed when it ships gzipped
    split: str | None = "test"  # the split it holds; None: several, the test split among them
    what: str | None = None  # how messages name it, when not as the benchmark's test split


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark. `files[0]` is its test file; further files hold the test split among others
    (the full MBPP). `hub_sources` are `rft.problems` sources of its test items, when the Hub splits
    them by config."""

    name: str
    title: str
    hub_id: str
    hub_config: str | None
    test_split: str
    train_split: str | None  # the Hub dataset's train split (generation data, eval's few-shot exemplars)
    files: tuple[LocalFile, ...]
    domain: str  # math | code | text
    fields: tuple[str, ...]  # question/prompt, solution, tests, entry_point, choices
    preset: str  # rft.problems preset reading the gold
    grader: str  # rft.verify grader name
    # rft.verify.extract names: how eval reads the answer from an output, each reported; the first is
    # the headline score. () where no answer is read (code: its tests run)
    extractions: tuple[str, ...] = ()
    hub_sources: tuple[str, ...] = ()
    hub_aliases: tuple[str, ...] = ()  # other Hub ids of the same data (old names, mirrors)
    family: str | None = None  # the name problem sources record and messages use (default: title)
    test_is: str | None = None  # how messages name its test split (default: "the <family> test split")
    instead: str | None = None  # what to generate from instead of its test split
    decontam_group: str | None = None  # decontamination list it is checked under (default: name)

    @property
    def local_file(self) -> str:
        return self.files[0].path

    @property
    def sources(self) -> tuple[str, ...]:
        if self.hub_sources:
            return self.hub_sources
        cfg = f":{self.hub_config}" if self.hub_config else ""
        return (f"hf:{self.hub_id}{cfg}@{self.test_split}",)

    @property
    def hub_ids(self) -> tuple[str, ...]:
        return (self.hub_id, *self.hub_aliases)

    @property
    def known_as(self) -> str:
        return self.family or self.title

    @property
    def test_description(self) -> str:
        return self.test_is or f"the {self.known_as} test split"

    @property
    def generate_instead(self) -> str:
        if self.instead:
            return self.instead
        if self.train_split:
            # a preset's name stands for that benchmark's train split; else name the Hub split itself
            cfg = f":{self.hub_config}" if self.hub_config else ""
            source = self.name if self.preset == self.name else f"hf:{self.hub_id}{cfg}@{self.train_split}"
            return f"use its {self.train_split} split (--problems {source})"
        return f"{self.known_as} has only a test split: generate from another source"

    @property
    def group(self) -> str:
        return self.decontam_group or self.name


REGISTRY: dict[str, BenchmarkSpec] = {
    s.name: s
    for s in (
        BenchmarkSpec(
            name="gsm8k",
            title="GSM8K",
            hub_id="openai/gsm8k",
            hub_config="main",
            test_split="test",
            train_split="train",
            files=(
                LocalFile(
                    "gsm8k/test.jsonl", ("3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",)
                ),
            ),
            domain="math",
            fields=("question", "solution"),
            preset="gsm8k",
            grader="numeric",
            extractions=("rft", "strict", "flexible"),
            hub_aliases=("gsm8k",),
        ),
        BenchmarkSpec(
            name="math500",
            title="MATH-500",
            hub_id="HuggingFaceH4/MATH-500",
            hub_config=None,
            test_split="test",
            train_split=None,
            files=(
                LocalFile(
                    "math500/test.jsonl",
                    ("35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",),
                ),
            ),
            domain="math",
            fields=("question", "solution"),
            preset="math",
            grader="math",
            extractions=("rft",),
            test_is="MATH-500, a subset of the MATH test split",
            instead="use the MATH train split (--problems math)",
            decontam_group="math",
        ),
        BenchmarkSpec(
            name="math",
            title="MATH",
            hub_id="EleutherAI/hendrycks_math",
            hub_config=None,
            test_split="test",
            train_split="train",
            files=(
                LocalFile(
                    "math/test.jsonl", ("3371949f33dd702d04b43fddd7d53a028de0aaca0e76abb1b875a050297b3aa4",)
                ),
            ),
            domain="math",
            fields=("question", "solution"),
            preset="math",
            grader="math",
            extractions=("rft",),
            hub_sources=tuple(f"hf:EleutherAI/hendrycks_math:{c}@test" for c in _MATH_SUBJECTS),
            hub_aliases=("hendrycks/competition_math", "DigitalLearningGmbH/MATH-lighteval"),
        ),
        BenchmarkSpec(
            name="humaneval",
            title="HumanEval",
            hub_id="openai/openai_humaneval",
            hub_config=None,
            test_split="test",
            train_split=None,
            files=(
                LocalFile(
                    "humaneval/HumanEval.jsonl.gz",
                    (
                        "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
                        "1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2",
                    ),
                ),
            ),
            domain="code",
            fields=("question", "solution", "tests", "entry_point"),
            preset="humaneval",
            grader="code-tests",
            hub_aliases=("openai_humaneval",),
            instead="HumanEval has only a test split: for code, use MBPP's train split (--problems mbpp)",
        ),
        BenchmarkSpec(
            name="mbpp",
            title="MBPP",
            hub_id="google-research-datasets/mbpp",
            hub_config="full",
            test_split="test",
            train_split="train",
            files=(
                LocalFile(
                    "mbpp/test_11_510.jsonl",
                    ("9bcaa67d5c2943e95eb9d9127e844f0551a77ac910c664aa45a4ebd75d239bd9",),
                ),
                LocalFile(
                    "mbpp/mbpp.jsonl",
                    ("ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f",),
                    split=None,
                    what="the full MBPP, which contains the MBPP test split (task_id 11-510)",
                ),
            ),
            domain="code",
            fields=("question", "solution", "tests"),
            preset="mbpp",
            grader="code-tests",
            hub_aliases=("mbpp",),
        ),
        BenchmarkSpec(
            name="arc",
            title="ARC-Challenge",
            hub_id="allenai/ai2_arc",
            hub_config="ARC-Challenge",
            test_split="test",
            train_split="train",
            files=(
                LocalFile(
                    "arc_challenge/arc_challenge.jsonl",
                    ("1ae3aeedf1951d881cbd5c2e3a31e78a1993d251479afbe4cb413b6707244636",),
                    what="the ARC-Challenge test split",
                ),
            ),
            domain="text",
            fields=("question", "choices", "solution"),
            preset="arc",
            grader="choice",
            extractions=("rft",),
            hub_aliases=("ai2_arc",),
            family="ARC",  # allenai/ai2_arc holds ARC-Easy too
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


def of_hub_id(hub_id: str) -> BenchmarkSpec | None:
    """The benchmark whose Hub dataset `hub_id` is (its id or an alias, any case), else None."""
    wanted = hub_id.lower()
    return next((s for s in REGISTRY.values() if wanted in (h.lower() for h in s.hub_ids)), None)


def of_family(name: str) -> BenchmarkSpec | None:
    """The benchmark messages name `name` (`BenchmarkSpec.known_as`), else None."""
    return next((s for s in REGISTRY.values() if s.known_as == name), None)
