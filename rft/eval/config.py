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
from rft.teachers.config import REQUEST_LIMITS, TeacherConfig

# A remote model's endpoint and how it is called: where it runs and how fast, not what is measured (the
# model is named by --model), so the same eval resumes against another replica or with other limits.
REMOTE_FLAGS = ("base_url", "api_key_env", *REQUEST_LIMITS)
# Fields that change where results go or come from or how fast they come, not what is measured (the
# benchmark files are in the id by their bytes): left out of the eval's id (and of an experiment
# cell's marker), so a re-run with another --out, --batch-size, --device or --base-url resumes it.
NON_SEMANTIC = frozenset(
    {
        "out",
        "batch_size",
        "device",
        "workers",
        "adapters_dir",
        "benchmark_dir",
        "benchmark_path",
        *REMOTE_FLAGS,
        "response_cache",
    }
)
REMOTE_HELP = {
    "base_url": "OpenAI-compatible server of a remote --model openai:MODEL (vLLM, SGLang, Ollama, "
    "llama.cpp, transformers serve), e.g. http://localhost:8000/v1; or an Anthropic endpoint",
    "api_key_env": "NAME of the env var holding the remote model's API key (default per provider: "
    "OPENAI_API_KEY, ANTHROPIC_API_KEY; a self-hosted server needs none)",
}
DEFAULT_BENCHMARKS = ("gsm8k", "math500", "humaneval")


class EvalConfig(StageConfig):
    """Everything `rft eval` needs (one flat part: the flags' names are the fields' names)."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "eval"
    PARTS: ClassVar[tuple[Part, ...]] = (
        Part(None),
        Part("remote", "Remote model", only=REMOTE_FLAGS, help=REMOTE_HELP),
    )

    # --- models
    model: str = Field(
        default="smollm2-135m",
        description="the model: an alias (smollm2-135m), a local folder, a Hub id already in the HF cache, "
        "or a remote model openai:MODEL (with --base-url: vLLM, SGLang, any OpenAI-compatible server) "
        "or anthropic:MODEL",
        json_schema_extra={"panel": "Models"},
    )
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
    # --- a remote model (--model openai:MODEL / anthropic:MODEL): its endpoint, key and limits
    remote: TeacherConfig = Field(
        default_factory=TeacherConfig,
        description="how a remote --model is called (the teacher layer: retries, rate limits)",
    )
    response_cache: str | None = Field(
        default=None,
        description="sqlite file of a remote model's answers, shared by evals (as lm-eval's --use_cache): "
        "a request asked before is answered from it, not sent again; default: no cache",
        json_schema_extra={"panel": "Remote model"},
    )
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
        if problem := self._remote_problem():
            raise ValueError(problem)
        return self

    @property
    def is_remote(self) -> bool:
        """--model names a model behind an API (openai:MODEL, anthropic:MODEL), not local weights."""
        return is_remote_spec(self.model)

    def _remote_problem(self) -> str | None:
        """What does not go with a remote --model (adapters, local runtime options), or the endpoint
        options without one."""
        if not self.is_remote:
            given = [f for f in ("base_url", "api_key_env") if f in self.remote.model_fields_set]
            given += ["response_cache"] if self.response_cache else []
            if given:
                flag = "--" + given[0].replace("_", "-")
                return f"{flag} is for a remote model: give --model openai:MODEL (or anthropic:MODEL)"
            return None
        if not self.model.split(":", 1)[1].strip():
            return f"--model {self.model!r}: name the model after the provider, e.g. openai:Qwen/Qwen2.5-7B-Instruct"
        if self.adapter or self.adapters_dir:
            flag = "--adapter" if self.adapter else "--adapters"
            return (
                f"{flag}: adapters go on local weights, not on a remote model ({self.model}); "
                "evaluate them with --model <the local base>"
            )
        for name in ("revision", "device", "dtype"):
            if getattr(self, name) is not None:
                return f"--{name} is for local weights; the remote model {self.model} runs on its server"
        return None

    def identity(self, base_hash: str | None, files: dict[str, list[str]]) -> str:
        """A stable id of what is measured: the settings (not where results go, how fast, or which
        adapters: each sample is keyed by its model, so adding an adapter resumes the same eval), the
        base model's version and the benchmark files' hashes."""
        data = {k: v for k, v in self.flat().items() if k not in NON_SEMANTIC | {"adapter"}}
        data["base_hash"], data["files"] = base_hash, files
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


REMOTE_PROVIDERS = ("openai", "anthropic")


def is_remote_spec(spec: str) -> bool:
    """`openai:MODEL` or `anthropic:MODEL`: a model the teacher layer calls (rft.eval.remote)."""
    provider, sep, _ = spec.partition(":")
    return bool(sep) and provider.strip().lower() in REMOTE_PROVIDERS
