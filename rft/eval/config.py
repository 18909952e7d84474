"""`EvalConfig`: everything `rft eval` needs: the base model and the adapters put on it, the benchmarks
and how many of their items, how each item is asked (shots, system message) and sampled, and where the
results go. Every field is documented once; the CLI options, `--config FILE` and the resolved config
saved in `evals/<id>/config.yaml` come from these definitions."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from rft import basemodel
from rft.config import Part, StageConfig, comma_list

# Fields that change where results go or come from or how fast they come, not what is measured (the
# benchmark files are in the id by their bytes): left out of the
# eval's id, so a re-run with another --out, --batch-size or --device resumes the same eval.
NON_SEMANTIC = frozenset(
    {"out", "batch_size", "device", "workers", "adapters_dir", "benchmark_dir", "benchmark_path"}
)
DEFAULT_BENCHMARKS = ("gsm8k", "math500", "humaneval")


class EvalConfig(StageConfig):
    """Everything `rft eval` needs (one flat part: the flags' names are the fields' names)."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "eval"
    PARTS: ClassVar[tuple[Part, ...]] = (Part(None),)

    # --- models
    model: str = basemodel.spec_field(json_schema_extra={"panel": "Models"})
    revision: str | None = basemodel.revision_field("--model", json_schema_extra={"panel": "Models"})
    adapter: list[str] = Field(
        default_factory=list,
        description="an adapter folder of `rft train` (runs/NAME/VARIANT) to evaluate on the base; repeat or "
        "comma-separate for several",
        json_schema_extra={"panel": "Models"},
    )
    adapters_dir: str | None = Field(
        default=None,
        description="a run folder of `rft train` (runs/NAME): every finished variant in it is evaluated",
        json_schema_extra={"panel": "Models", "flag": "--adapters"},
    )
    device: str | None = basemodel.device_field(json_schema_extra={"panel": "Models"})
    dtype: str | None = basemodel.dtype_field(json_schema_extra={"panel": "Models"})
    # --- benchmarks
    benchmarks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BENCHMARKS),
        description="benchmarks from the registry, comma-separated: gsm8k, math500, math, humaneval, mbpp, arc",
        json_schema_extra={"panel": "Benchmarks"},
    )
    benchmark_dir: str | None = Field(
        default=None,
        description="a folder laid out like ../shared/benchmarks to read the benchmarks from (default: the Hub)",
        json_schema_extra={"panel": "Benchmarks"},
    )
    benchmark_path: dict[str, str] = Field(
        default_factory=dict,
        description="NAME=PATH: read benchmark NAME from this local file, or a folder holding its file "
        "(e.g. gsm8k=data/gsm8k/test.jsonl); repeat for several; the others come from --benchmark-dir or the Hub",
        json_schema_extra={"panel": "Benchmarks"},
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="the first N items of each benchmark (in file order; default: all)",
        json_schema_extra={"panel": "Benchmarks"},
    )
    # --- prompting and sampling
    shots: int = Field(
        default=0,
        ge=0,
        description="worked examples put before each question, from the benchmark's train split (never its test split)",
        json_schema_extra={"panel": "Prompting"},
    )
    system: str | None = Field(
        default=None,
        description="system message of the base model's prompts (an adapter is asked with the one it was trained with)",
        json_schema_extra={"panel": "Prompting"},
    )
    samples: int = Field(
        default=1,
        description="samples per item: 1 is greedy; n > 1 samples at --temperature and reports pass@k and maj@k",
        json_schema_extra={"panel": "Prompting"},
    )
    temperature: float = Field(
        default=0.8,
        ge=0.0,
        description="sampling temperature when --samples > 1 (one sample is greedy)",
        json_schema_extra={"panel": "Prompting"},
    )
    max_new_tokens: int = Field(
        default=512,
        ge=1,
        description="generated tokens per sample at most",
        json_schema_extra={"panel": "Prompting"},
    )
    seed: int = Field(
        default=0,
        description="seed of the sampling (each sample draws from its own seed, made of it, the item and the sample index) and of the few-shot choice",
        json_schema_extra={"panel": "Prompting"},
    )
    # --- run
    batch_size: int = Field(
        default=16,
        ge=1,
        description="prompts generated together",
        json_schema_extra={"panel": "Run"},
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="code sandboxes run at a time (default: the CPU count)",
        json_schema_extra={"panel": "Run"},
    )
    out: str = Field(
        default="evals",
        description="root folder of the evals: writes OUT/<id>/ (the id follows from the settings)",
        json_schema_extra={"panel": "Run"},
    )

    @field_validator("adapter", "benchmarks", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        v = comma_list(v)
        if isinstance(v, list):
            return [x for item in v for x in (comma_list(item) if isinstance(item, str) else [item])]
        return v

    @field_validator("benchmark_path", mode="before")
    @classmethod
    def _paths(cls, v: Any) -> Any:
        """NAME=PATH items (the flag, repeated, or a list in a config file) or a mapping."""
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list | tuple):
            out: dict[str, str] = {}
            for item in v:
                name, sep, path = str(item).partition("=")
                if not sep or not name.strip() or not path.strip():
                    raise ValueError(f"{item!r} is not NAME=PATH (e.g. gsm8k=data/gsm8k/test.jsonl)")
                if name.strip() in out:
                    raise ValueError(f"{name.strip()!r} is given twice")
                out[name.strip()] = path.strip()
            return out
        return v

    @field_validator("samples")
    @classmethod
    def _samples(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"must be >= 1 (samples per item), got {v}")
        return v

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        from rft import benchmarks

        for name in self.benchmarks:
            if name not in benchmarks.REGISTRY:
                raise ValueError(
                    f"--benchmarks: unknown benchmark {name!r} (choose from {', '.join(benchmarks.REGISTRY)})"
                )
        if not self.benchmarks:
            raise ValueError("--benchmarks: give at least one benchmark")
        for name, path in self.benchmark_path.items():
            if name not in benchmarks.REGISTRY:
                raise ValueError(
                    f"--benchmark-path {name}={path}: unknown benchmark {name!r} "
                    f"(choose from {', '.join(benchmarks.REGISTRY)})"
                )
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(
                f"--samples {self.samples} at --temperature 0: greedy samples are all the same; "
                "give a temperature > 0 (or --samples 1)"
            )
        if problem := basemodel.runtime_problem(self.device, self.dtype):
            raise ValueError(problem)
        return self

    def identity(self, base_hash: str | None, files: dict[str, list[str]]) -> str:
        """A stable id of what is measured: the settings (not where results go, how fast, or which
        adapters: each sample is keyed by its model, so adding an adapter resumes the same eval), the
        base model's version and the benchmark files' hashes."""
        data = {k: v for k, v in self.flat().items() if k not in NON_SEMANTIC | {"adapter"}}
        data["base_hash"], data["files"] = base_hash, files
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
