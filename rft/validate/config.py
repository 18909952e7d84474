"""`ValidateConfig`: everything `rft validate` needs; the CLI options come from these definitions and
`--config FILE` loads it (rft/config.py). The resolved config is saved in the version's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from rft.config import Part, StageConfig
from rft.errors import ConfigError, InputError
from rft.redaction import register_url_secrets
from rft.teachers.config import TeacherConfig, judge_part
from rft.validate.benchmarks import names, parse_benchmarks
from rft.validate.decontam import METHODS, get_method
from rft.validate.nearest import JUDGE_FLOOR, SUSPECT, THRESHOLD, TOP_K

B = "Benchmarks"
C = "Checks"
JUDGE_HELP = {
    "spec": "teacher SPEC that judges the ambiguous band (e.g. openai:gpt-4o-mini)",
    "base_url": "endpoint of the judge (an OpenAI-compatible server such as vLLM or Ollama)",
    "api_key_env": "NAME of the env var with the judge's API key",
}


def _extra(panel: str, **kw: Any) -> dict[str, Any]:
    return {"panel": panel, **kw}


class ValidateConfig(StageConfig):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    SECTION: ClassVar[str | None] = "validate"
    PARTS: ClassVar[tuple[Part, ...]] = (Part(None, B), judge_part("judge_teacher", B, JUDGE_HELP))

    benchmarks: list[str] = Field(
        default_factory=lambda: parse_benchmarks(None),
        description=f"comma-separated: {','.join(names())} (default all)",
    )
    benchmark_dir: Path | None = Field(
        default=None, description="folder with the layout of ../shared/benchmarks (instead of the Hub)"
    )
    benchmark_paths: dict[str, Path] = Field(
        default_factory=dict,
        description="NAME=FILE for one benchmark (repeatable)",
        json_schema_extra={"flag": "--benchmark-path"},
    )
    hub: bool = Field(
        default=True,
        description="--no-hub: never try the Hub, use the shipped fingerprints",
        json_schema_extra={"flag": "--hub/--no-hub"},
    )
    method: str = Field(default="containment", description=f"lexical rule: {' | '.join(METHODS)}")
    threshold: float | None = Field(
        default=None,
        description="containment share that flags (default 0.35; ngram13/ngram8: any shared n-gram unless given)",
    )
    semantic: bool = Field(
        default=False, description="also compare questions by embedding (all-MiniLM-L6-v2)"
    )
    semantic_threshold: float = Field(default=THRESHOLD, description="cosine that flags")
    suspect_threshold: float = Field(default=SUSPECT, description="cosine where the ambiguous band starts")
    judge_floor: float = Field(
        default=JUDGE_FLOOR,
        description="with a judge, the judged band starts at min(this, suspect threshold)",
    )
    top_k: int = Field(default=TOP_K, description="nearest benchmark items compared per record")
    judge_teacher: TeacherConfig | None = Field(
        default=None, description="the judge of the ambiguous band (--judge and its endpoint)"
    )
    dedup_threshold: float = Field(
        default=0.8,
        description="Jaccard of question shingles for near-duplicates",
        json_schema_extra=_extra(C),
    )
    batch_size: int = Field(default=512, description="records per lexical batch", json_schema_extra=_extra(C))
    workers: int | None = Field(
        default=None,
        description="processes for the lexical stage (default: 2 from 20,000 records on)",
        json_schema_extra=_extra(C),
    )
    keep_unsolved: bool = Field(
        default=False,
        description="keep untrainable records (unsolved, incorrect against gold, gold not checked): their "
        "trees still give stepwise labels; dropped by default",
        json_schema_extra=_extra(C),
    )

    @field_validator("benchmarks", mode="before")
    @classmethod
    def _benchmarks(cls, v: Any) -> Any:
        return parse_benchmarks(v) if isinstance(v, str) else v

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> ValidateConfig:
        if self.judge_teacher is not None:
            for url in self.judge_teacher.base_urls:
                register_url_secrets(url)
        get_method(self.method)
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"--threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 < self.dedup_threshold <= 1.0:
            raise ConfigError(f"--dedup-threshold must be in (0, 1], got {self.dedup_threshold}")
        if not 0.0 < self.suspect_threshold <= self.semantic_threshold <= 1.0:
            raise ConfigError("--semantic-threshold must be in (0, 1] and above the suspect threshold")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.judge_teacher is not None and not self.semantic:
            raise ConfigError("--judge needs --semantic (it judges the ambiguous semantic band)")
        if self.benchmark_dir is not None and not Path(self.benchmark_dir).is_dir():
            raise InputError(f"--benchmark-dir: {self.benchmark_dir} is not a folder")
        for b, p in self.benchmark_paths.items():
            if b not in self.benchmarks:
                raise ConfigError(f"--benchmark-path {b}=...: {b} is not among --benchmarks")
            if not Path(p).is_file():
                raise InputError(f"--benchmark-path {b}: file not found: {p}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved config under its flat names (the manifest's and the seal identity's form)."""
        d = self.flat()
        d["threshold"] = self.effective_threshold
        return d

    @property
    def effective_threshold(self) -> float | None:
        return self.threshold if self.threshold is not None else get_method(self.method).threshold


def parse_benchmark_paths(specs: list[str] | None) -> dict[str, Path]:
    """Repeated `--benchmark-path NAME=FILE` -> {name: path}; a ConfigError naming the flag otherwise."""
    paths: dict[str, Path] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        name = name.strip().lower()
        if not sep or not path:
            raise ConfigError(f"--benchmark-path: expected NAME=FILE, got {spec!r}")
        if name not in names():
            raise ConfigError(
                f"--benchmark-path: unknown benchmark {name!r} (choose from {', '.join(names())})"
            )
        paths[name] = Path(path)
    return paths
