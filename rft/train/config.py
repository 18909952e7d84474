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
from rft.schemas.record import UNTRAINABLE

# The untrainable reasons `--include` may take back in (rft.schemas.record.untrainable_reason).
INCLUDE = UNTRAINABLE
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
# Flat names that change where a run goes or what it writes besides the adapter, not what it trains:
# left out of the identity of a variant, so re-running with another --out or --device resumes the same
# variant. The dataset is in the identity by its data's sha256, not by how its ref was spelled (d, d@v1).
NON_SEMANTIC = frozenset(
    {"dataset", "store", "out", "name", "merge", "save_steps", "save_total_limit", "device"}
)


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

    dataset: str = Field(
        description="dataset NAME[@vN] in the store to train on (default: its latest version)"
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
    packing: bool = Field(
        default=False,
        description="pack examples into --max-length rows without padding (TRL's bfd, padding-free)",
        json_schema_extra={"flag": "--packing/--no-packing"},
    )
    group_by_length: bool = Field(
        default=True,
        description="batch examples of similar length together (transformers' LengthGroupedSampler): "
        "less padding, the same examples and loss; ignored with --packing",
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
    )

    data: DataConfig
    model: BaseModelConfig = Field(default_factory=BaseModelConfig)
    lora: LoraConfigPart = Field(default_factory=LoraConfigPart)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    output: RunOutputConfig = Field(default_factory=RunOutputConfig)

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if problem := basemodel.runtime_problem(self.model.device, self.model.dtype):
            raise ValueError(problem)
        return self

    def variants(self) -> list[Variant]:
        """The grid: one variant per (rank, alpha), ranks outermost, in the order given."""
        return [Variant(r, a) for r in self.lora.rank for a in self.lora.alpha]

    def run_name(self) -> str:
        from rft.store import parse_ref

        return self.output.name or parse_ref(self.data.dataset)[0]

    def for_variant(self, variant: Variant) -> dict[str, Any]:
        """The resolved config of one variant (flat names; rank and alpha single numbers)."""
        flat = self.flat()
        flat["rank"], flat["alpha"] = variant.rank, variant.alpha
        return flat

    def identity(self, variant: Variant, data_sha256: str, base_hash: str | None) -> str:
        """A stable id of what a variant trains: same config, same data bytes, same base -> same id."""
        data = {k: v for k, v in self.for_variant(variant).items() if k not in NON_SEMANTIC}
        data["data_sha256"], data["base_hash"] = data_sha256, base_hash
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


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
