"""`TrainConfig`: everything `rft train` needs, built from parts: the data (which dataset version, which
records, how they are rendered), the base model, the LoRA adapter (a grid of ranks x alphas), the
optimisation and the output. Every field is documented once; the CLI options, `--config FILE` and the
resolved config saved in each run folder come from these definitions."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rft import basemodel
from rft.config import Part, StageConfig, comma_list
from rft.generate.render import RENDERERS
from rft.problems.config import ProblemsConfig
from rft.schemas.record import UNTRAINABLE

# The untrainable reasons `--include` may take back in (rft.schemas.record.untrainable_reason).
INCLUDE = UNTRAINABLE
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
# Flat names that change where a run goes or what it writes besides the adapter, not what it trains:
# left out of the identity of a variant, so re-running with another --out or --device resumes the same
# variant. The dataset is in the identity by its data's sha256, not by how its ref was spelled (d, d@v1).
NON_SEMANTIC = frozenset(
    {"dataset", "store", "out", "name", "merge", "save_steps", "save_total_limit", "device", "reward_workers"}
)
METHODS = ("sft", "grpo", "rloo")
REWARD_NAMES = ("reft", "correct", "code-tests")  # rft.train.rewards.REWARDS (that module imports verify)


def _grid(value: Any, flag: str, example: str) -> Any:
    """`4,16` / `[4, 16]` / `8` -> a list of positive whole numbers; a ValueError naming the value."""
    if value is None:
        return value
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    out = []
    for item in items:
        text = str(item).strip()
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"grid value {text!r} is not a whole number (e.g. {flag} {example})") from None
        if number <= 0:
            raise ValueError(f"must be > 0, got {number}")
        out.append(number)
    if not out:
        raise ValueError(f"give at least one value (e.g. {flag} {example})")
    return list(dict.fromkeys(out))  # a value given twice is one variant


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(
        default=None,
        description="dataset NAME[@vN] in the store to train on (default: its latest version)",
    )
    store: str = Field(default="datasets_out", description="root folder of the dataset store")
    include: list[str] = Field(
        default_factory=list,
        description=f"also train on these untrainable records, comma-separated: {', '.join(INCLUDE)} "
        "(default: only trainable ones, solved and correct where gold exists)",
    )
    render: Literal["backtrack", "path", "search", "think"] | None = Field(
        default=None,
        description=f"re-render every trace at train time: {' | '.join(RENDERERS)} (default: the stored messages)",
    )
    system: str | None = Field(default=None, description="system message put first in every training example")
    max_length: int = Field(
        default=1024,
        ge=8,
        description="tokens per example at most: longer records are dropped (counted), never cut",
    )
    eval_split: float = Field(
        default=0.05,
        ge=0.0,
        lt=1.0,
        description="share of problems held out for eval loss (by problem id, stable)",
    )

    @field_validator("include", mode="before")
    @classmethod
    def _include(cls, v: Any) -> Any:
        v = comma_list(v)
        if isinstance(v, list):
            if "all" in v:
                return list(INCLUDE)
            for item in v:
                if item not in INCLUDE:
                    raise ValueError(f"unknown reason {item!r} (choose from {', '.join(INCLUDE)}, or all)")
        return v


class BaseModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: str = basemodel.spec_field()
    revision: str | None = basemodel.revision_field("--base")
    device: str | None = basemodel.device_field()
    dtype: str | None = basemodel.dtype_field()


class LoraConfigPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: list[int] = Field(
        default_factory=lambda: [16],
        description="LoRA rank r; comma-separated values make a grid, e.g. 4,16 (default: 16)",
    )
    alpha: list[int] = Field(
        default_factory=lambda: [32],
        description="LoRA alpha; comma-separated values make a grid, e.g. 16,32 (default: 32)",
    )
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0, description="LoRA dropout")
    target_modules: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TARGETS),
        description=f"modules to adapt, comma-separated, or all-linear (default: {','.join(DEFAULT_TARGETS)})",
    )
    use_rslora: bool = Field(
        default=False,
        description="rank-stabilised LoRA (scale alpha/sqrt(r))",
        json_schema_extra={"flag": "--use-rslora/--no-use-rslora"},
    )
    use_dora: bool = Field(
        default=False,
        description="weight-decomposed LoRA (DoRA)",
        json_schema_extra={"flag": "--use-dora/--no-use-dora"},
    )

    @field_validator("rank", mode="before")
    @classmethod
    def _rank(cls, v: Any) -> Any:
        return _grid(v, "--rank", "4,16")

    @field_validator("alpha", mode="before")
    @classmethod
    def _alpha(cls, v: Any) -> Any:
        return _grid(v, "--alpha", "16,32")

    @field_validator("target_modules", mode="before")
    @classmethod
    def _targets(cls, v: Any) -> Any:
        v = comma_list(v)
        if isinstance(v, list) and not v:
            raise ValueError("give at least one module name, or all-linear")
        return v


class OptimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lr: float = Field(default=2e-4, gt=0.0, description="peak learning rate")
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = Field(
        default="cosine",
        description="learning-rate schedule: cosine | linear | constant | constant_with_warmup",
    )
    warmup_ratio: float = Field(
        default=0.03, ge=0.0, lt=1.0, description="share of the steps spent warming up"
    )
    weight_decay: float = Field(default=0.0, ge=0.0, description="AdamW weight decay")
    epochs: float = Field(default=1.0, gt=0.0, description="passes over the training records")
    max_steps: int | None = Field(
        default=None, ge=1, description="optimizer steps at most (overrides --epochs)"
    )
    batch_size: int = Field(default=4, ge=1, description="examples per device per step")
    grad_accum: int = Field(default=1, ge=1, description="gradient accumulation steps")
    padding_free: bool = Field(
        default=True,
        description="flatten each batch into one row with no padding, each example attending only to "
        "itself (flash-attention varlen on a GPU that has it, per-example sdpa elsewhere): the same "
        "examples and loss as padded batches, no compute spent on padding",
        json_schema_extra={"flag": "--padding-free/--no-padding-free"},
    )
    packing: bool = Field(
        default=False,
        description="pack examples into --max-length rows (TRL's bfd; padding-free): fuller steps, so "
        "fewer of them per epoch",
        json_schema_extra={"flag": "--packing/--no-packing"},
    )
    group_by_length: bool = Field(
        default=False,
        description="with --no-padding-free: batch examples of similar length together "
        "(transformers' LengthGroupedSampler), so less of each batch is padding",
        json_schema_extra={"flag": "--group-by-length/--no-group-by-length"},
    )
    gradient_checkpointing: bool = Field(
        default=True,
        description="recompute activations in backward: much less memory, some more compute (on by default, "
        "as in TRL's SFTConfig)",
        json_schema_extra={"flag": "--gradient-checkpointing/--no-gradient-checkpointing"},
    )
    seed: int = Field(default=0, description="seed of the adapter's initialisation and the data order")


class RunOutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out: str = Field(default="runs", description="root folder of the runs: writes OUT/NAME/<variant>/")
    name: str | None = Field(default=None, description="run name (default: the dataset's name)")
    merge: bool = Field(
        default=False,
        description="also write the base model with the adapter merged in (merged/)",
        json_schema_extra={"flag": "--merge/--no-merge"},
    )
    save_steps: int = Field(
        default=50, ge=1, description="steps between checkpoints (an interrupted variant resumes)"
    )
    save_total_limit: int = Field(default=2, ge=1, description="checkpoints kept per variant while it trains")


class RLConfigPart(BaseModel):
    """The RL stage (`--method grpo|rloo`): TRL's GRPOTrainer / RLOOTrainer, rewards from rft.verify."""

    model_config = ConfigDict(extra="forbid")

    init_adapter: str | None = Field(
        default=None,
        description="start from this SFT adapter (a finished `rft train` variant folder, e.g. runs/d/r16-a32): "
        "the warm-up; its LoRA settings are kept (default: a new adapter on the base)",
    )
    reward: str = Field(
        default="reft",
        description="reft (1 correct, 0.1 an answer that is wrong, 0 none: ReFT's) | correct (1/0) | "
        "code-tests (share of the tests passed in the sandbox)",
    )
    format_reward: float = Field(
        default=0.0,
        ge=0.0,
        description="added to the reward when the completion ends in the taught format (a `Final answer:` "
        "line; a ```python block for code)",
    )
    num_generations: int = Field(
        default=4, description="completions sampled per prompt (>= 2: the group is the baseline)"
    )
    max_completion_length: int = Field(default=256, ge=1, description="tokens per sampled completion at most")
    temperature: float = Field(default=1.0, gt=0.0, description="sampling temperature of the completions")
    beta: float = Field(
        default=0.04,
        ge=0.0,
        description="KL weight against the start (the warm-up adapter, or the base); 0: no reference pass, no KL",
    )
    reward_workers: int | None = Field(
        default=None,
        ge=1,
        description="math-verify processes and code sandboxes at a time (default: the CPUs)",
    )
    vllm: bool = Field(
        default=False,
        description="generate with TRL's vLLM integration (colocated; GPU machines with vllm installed)",
        json_schema_extra={"flag": "--vllm/--no-vllm"},
    )

    @field_validator("reward")
    @classmethod
    def _reward(cls, v: str) -> str:
        if v not in REWARD_NAMES:
            raise ValueError(f"unknown reward {v!r} (choose from {', '.join(REWARD_NAMES)})")
        return v

    @field_validator("num_generations")
    @classmethod
    def _generations(cls, v: int) -> int:
        if v < 2:
            raise ValueError(
                f"must be >= 2, got {v} (GRPO and RLOO compare the samples of a prompt with each other)"
            )
        return v


class RLProblemsConfig(ProblemsConfig):
    """`--problems` for the RL stage: optional (a dataset's problems are the default)."""

    problems: str | None = Field(  # type: ignore[assignment]
        default=None,
        description="RL prompts from a problem source instead of a dataset: a file (jsonl/json/csv/parquet), "
        "hf:<dataset id>, or demo (read as `rft generate` reads it)",
    )
    allow_test_split: bool = Field(
        default=False, description="train on a benchmark's test split anyway (it contaminates any eval on it)"
    )


# Flat names of the RL stage's options: not part of an SFT variant's config (its identity and
# config.yaml stay as they were before the RL stage existed).
RL_ONLY = ("method", *RLConfigPart.model_fields, *ProblemsConfig.model_fields)


class TrainConfig(StageConfig):
    """Everything `rft train` needs. Flat keys (the flags' names) are accepted beside the parts."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "train"
    PARTS: ClassVar[tuple[Part, ...]] = (
        Part("data", "Data"),
        Part("model", "Model"),
        Part("lora", "LoRA"),
        Part("optim", "Optimisation"),
        Part("output", "Output"),
        Part(None, "RL stage"),
        Part("rl", "RL stage"),
        Part(
            "problems",
            "RL stage",
            help={
                "problems": "RL prompts from a problem source instead of a dataset (as `rft generate` reads it)"
            },
            requires=(
                "problems",
                "give --problems (a file, hf:<id> or demo) with the problem-source options",
            ),
        ),
    )

    method: Literal["sft", "grpo", "rloo"] = Field(
        default="sft",
        description="sft (LoRA SFT on the traces) | grpo | rloo (the RL stage: samples rewarded by rft.verify)",
    )
    data: DataConfig
    model: BaseModelConfig = Field(default_factory=BaseModelConfig)
    lora: LoraConfigPart = Field(default_factory=LoraConfigPart)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    output: RunOutputConfig = Field(default_factory=RunOutputConfig)
    rl: RLConfigPart = Field(default_factory=RLConfigPart)
    problems: RLProblemsConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _data_part(cls, data: Any) -> Any:
        if isinstance(data, dict) and "data" not in data:  # --problems alone: the data part's defaults
            data = {**data, "data": {}}
        return data

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if problem := basemodel.runtime_problem(self.model.device, self.model.dtype):
            raise ValueError(problem)
        rl = self.is_rl
        if self.data.dataset and self.problems:
            raise ValueError("give a dataset or --problems, not both")
        if not self.data.dataset and not self.problems:
            raise ValueError(
                "missing the dataset: rft train NAME[@vN] (or `dataset:` in a --config file"
                + ("; or --problems SOURCE)" if rl else ")")
            )
        if self.problems and not rl:
            raise ValueError(
                "--problems drives the RL stage (--method grpo|rloo); SFT trains on a dataset's traces"
            )
        if not rl:
            given = [k for k in ("init_adapter", "vllm") if getattr(self.rl, k)]
            if given:
                raise ValueError(f"--{given[0].replace('_', '-')} is an option of --method grpo|rloo")
            return self
        per_step = self.optim.batch_size * self.optim.grad_accum
        if per_step % self.rl.num_generations:
            raise ValueError(
                f"--batch-size x --grad-accum ({per_step} completions a step) must be a multiple of "
                f"--num-generations ({self.rl.num_generations}): every prompt's samples train together"
            )
        if self.optim.packing:
            raise ValueError("--packing is an SFT option (the RL stage trains on sampled completions)")
        return self

    @property
    def is_rl(self) -> bool:
        return self.method != "sft"

    def variants(self) -> list[Variant]:
        """The grid: one variant per (rank, alpha), ranks outermost, in the order given."""
        return [Variant(r, a) for r in self.lora.rank for a in self.lora.alpha]

    def run_name(self) -> str:
        from rft.store import parse_ref

        if self.output.name:
            return self.output.name
        if self.data.dataset:
            return parse_ref(self.data.dataset)[0]
        assert self.problems is not None
        return source_name(self.problems.problems)

    def for_variant(self, variant: Variant) -> dict[str, Any]:
        """The resolved config of one variant (flat names; rank and alpha single numbers). An SFT
        variant's leaves the RL stage's options out."""
        flat = self.flat()
        flat["rank"], flat["alpha"] = variant.rank, variant.alpha
        if not self.is_rl:
            for key in RL_ONLY:
                flat.pop(key, None)
        return flat

    def identity(
        self, variant: Variant, data_sha256: str, base_hash: str | None, init_sha256: str | None = None
    ) -> str:
        """A stable id of what a variant trains: same config, same data bytes, same base (and the same
        warm-up adapter's bytes) -> same id."""
        data = {k: v for k, v in self.for_variant(variant).items() if k not in NON_SEMANTIC}
        data["data_sha256"], data["base_hash"] = data_sha256, base_hash
        if init_sha256 is not None:
            data["init_adapter_sha256"] = init_sha256
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def source_name(source: str) -> str:
    """A run name from a problem source: `demo`, `gsm8k-train` (a file), `openai-gsm8k` (hf:openai/gsm8k)."""
    import re
    from pathlib import Path

    if source.startswith("hf:"):
        base = source[3:].split(":")[0].replace("/", "-")
    elif Path(source).suffix:
        p = Path(source)
        base = f"{p.parent.name}-{p.stem}" if p.parent.name not in ("", ".") else p.stem
    else:
        base = source.split(":")[0]
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._") or "problems")[:72]


class Variant(BaseModel):
    """One point of the grid."""

    model_config = ConfigDict(frozen=True)

    rank: int
    alpha: int

    def __init__(self, rank: int, alpha: int) -> None:
        super().__init__(rank=rank, alpha=alpha)

    @property
    def name(self) -> str:
        return f"r{self.rank}-a{self.alpha}"
