"""The recipe of an experiment (YAML): where the data comes from, the bases, the training arms, the
benchmarks and metrics, the seeds. `load_recipe(path, sets)` reads it, applies `--set key.path=value`
overrides and checks everything before any cell runs: an unknown key is named with its path and line,
an option of a stage that the stage does not have is named the same way, a warm-up link that makes a
cycle or points to an arm on another base is refused, an unknown benchmark or metric too.

    name: cpu-smoke
    datasets:
      demo:
        generate: {problems: demo, limit: 4, teacher: "local:smollm2-135m", strategy: dfs}
        validate: {hub: false}
    bases: {smollm2: smollm2-135m}
    train: {max_steps: 2}                 # flags of `rft train` for every arm (flat names)
    arms:
      sft: {method: sft, rank: [4, 16], alpha: [16]}
      grpo: {method: grpo, warmup: sft, num_generations: 4, beta: 0.04}
    benchmarks: [gsm8k]
    eval: {limit: 4, max_new_tokens: 64}  # flags of `rft eval`
    metrics: [accuracy, pass@k, bleu, latency, memory]
    seeds: [0]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rft.errors import ConfigError

METRICS = ("accuracy", "pass@k", "bleu", "latency", "memory", "params", "train_time", "teacher_cost")
METHODS = ("sft", "grpo", "rloo")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Options of a stage that the experiment sets itself (from the recipe's structure), never in a section.
OWNED = {
    "generate": {"name", "out", "resume", "dry_run"},
    "validate": {"report_only"},
    "train": {"dataset", "store", "out", "name", "base", "rank", "alpha", "seed", "render"},
    "eval": {"model", "adapter", "adapters_dir", "benchmarks", "out"},
}
# The RL options of `rft train --method grpo|rloo` (issue 14): set on the arm, not in its train section.
RL_FLAGS = {
    "method": "--method",
    "init_adapter": "--init-adapter",
    "num_generations": "--num-generations",
    "max_completion_length": "--max-completion-length",
    "beta": "--beta",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DatasetSpec(_Strict):
    """Where an arm's data comes from: generated (and validated) here, or an existing version."""

    ref: str | None = Field(default=None, description="an existing dataset NAME[@vN] (then no generate)")
    store: str = Field(default="datasets_out", description="the store of `ref`")
    generate: dict[str, Any] | None = Field(default=None, description="options of `rft generate`")
    validate_: dict[str, Any] | None = Field(
        default=None, alias="validate", description="options of `rft validate` (null: skip it)"
    )


class ArmSpec(_Strict):
    """One training arm: a method on a dataset (rendered one way), a grid of LoRA shapes, and
    optionally the arm whose adapters it starts from (`warmup`)."""

    method: Literal["sft", "grpo", "rloo"] = "sft"
    dataset: str | None = Field(default=None, description="key in `datasets` (default: the first)")
    render: Literal["backtrack", "path", "search", "think"] | None = None
    rank: list[int] | None = None
    alpha: list[int] | None = None
    warmup: str | None = Field(default=None, description="the arm whose adapters this one starts from")
    bases: list[str] | None = Field(default=None, description="keys of `bases` (default: all)")
    num_generations: int | None = Field(default=None, ge=1)
    max_completion_length: int | None = Field(default=None, ge=1)
    beta: float | None = Field(default=None, ge=0.0)
    train: dict[str, Any] = Field(default_factory=dict, description="options of `rft train` for this arm")

    @field_validator("rank", "alpha", mode="before")
    @classmethod
    def _grid(cls, v: Any) -> Any:
        if isinstance(v, int | str):
            v = [v]
        if isinstance(v, list):
            out = []
            for x in v:
                try:
                    n = int(str(x).strip())
                except ValueError:
                    raise ValueError(f"{x!r} is not a whole number") from None
                if n <= 0:
                    raise ValueError(f"must be > 0, got {n}")
                out.append(n)
            if not out:
                raise ValueError("give at least one value")
            return list(dict.fromkeys(out))
        return v


class Recipe(_Strict):
    name: str
    description: str = ""
    out: str = Field(default="experiments", description="root of the experiments: writes OUT/NAME/")
    datasets: dict[str, DatasetSpec]
    bases: dict[str, str]
    train: dict[str, Any] = Field(default_factory=dict, description="options of `rft train` for every arm")
    arms: dict[str, ArmSpec] = Field(default_factory=dict)
    benchmarks: list[str]
    eval: dict[str, Any] = Field(default_factory=dict, description="options of `rft eval`")
    metrics: list[str] = Field(default_factory=lambda: list(METRICS))
    seeds: list[int] = Field(default_factory=lambda: [0])

    @property
    def folder(self) -> Path:
        return Path(self.out) / self.name

    def dataset_key(self, arm: ArmSpec) -> str:
        return arm.dataset or next(iter(self.datasets))

    def arm_bases(self, arm: ArmSpec) -> list[str]:
        return list(arm.bases) if arm.bases is not None else list(self.bases)

    def warmup_order(self) -> list[str]:
        """The arms, each after its warm-up (recipe order otherwise)."""
        order: list[str] = []
        placed: set[str] = set()

        def place(name: str) -> None:
            if name in placed:
                return
            warm = self.arms[name].warmup
            if warm:
                place(warm)
            placed.add(name)
            order.append(name)

        for name in self.arms:
            place(name)
        return order


# --- reading -----------------------------------------------------------------------------------


def _lines(node: yaml.Node, path: tuple[str, ...], table: dict[tuple[str, ...], int]) -> None:
    """Path of every key in the YAML document -> its line (1-based)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = path + (str(key.value),)
            table[k] = key.start_mark.line + 1
            _lines(value, k, table)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            table[path + (str(i),)] = item.start_mark.line + 1
            _lines(item, path + (str(i),), table)


class Located:
    """The recipe's file and the line of each key path, for one-line errors."""

    def __init__(self, path: Path, lines: dict[tuple[str, ...], int], sets: set[tuple[str, ...]]) -> None:
        self.path, self.lines, self.sets = path, lines, sets

    def where(self, loc: tuple[str, ...]) -> str:
        loc = tuple(str(x) for x in loc)
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.sets:
                return f"{self.path} (--set {'.'.join(loc[:n])})"
            if loc[:n] in self.lines:
                return f"{self.path}:{self.lines[loc[:n]]}"
        return str(self.path)

    def error(self, loc: tuple[str, ...], message: str) -> ConfigError:
        dotted = ".".join(str(x) for x in loc)
        return ConfigError(
            f"{self.where(loc)}: {dotted}: {message}" if dotted else f"{self.where(loc)}: {message}"
        )


def _apply_set(data: dict[str, Any], item: str) -> tuple[str, ...]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE (e.g. --set eval.limit=4)")
    key, raw = item.split("=", 1)
    path = tuple(p for p in key.strip().split(".") if p)
    if not path:
        raise ConfigError(f"--set {item!r}: no key before '='")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    node: Any = data
    for step in path[:-1]:
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {step!r} is not a section")
        node = node.setdefault(step, {})
        if node is None:
            node = {}
    if not isinstance(node, dict):
        raise ConfigError(f"--set {key}: {path[-2]!r} is not a section")
    node[path[-1]] = value
    return path


def load_recipe(path: str | Path, sets: list[str] | None = None) -> tuple[Recipe, Located]:
    """The recipe at `path` with `sets` applied, fully checked (see the module doc)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"recipe {p}: cannot read it ({exc.strerror or exc})") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a recipe is a mapping (name, datasets, bases, arms, benchmarks, ...)")
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    set_paths = {_apply_set(data, s) for s in sets or []}
    loc = Located(p, lines, set_paths)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = tuple(str(x) for x in first["loc"])
        where = tuple("validate" if x == "validate_" else x for x in where)
        if first["type"] == "extra_forbidden":
            raise loc.error(where, "unknown key") from None
        if first["type"] == "missing":
            raise loc.error(where, "missing (required)") from None
        raise loc.error(where, first["msg"].removeprefix("Value error, ")) from None
    check_recipe(recipe, loc)
    return recipe, loc


# --- checks ------------------------------------------------------------------------------------


def stage_model(stage: str) -> type:
    if stage == "generate":
        from rft.generate.config import GenerateConfig

        return GenerateConfig
    if stage == "validate":
        from rft.validate.config import ValidateConfig

        return ValidateConfig
    if stage == "train":
        from rft.train.config import TrainConfig

        return TrainConfig
    from rft.eval.config import EvalConfig

    return EvalConfig


def check_section(stage: str, section: dict[str, Any], loc: Located, path: tuple[str, ...]) -> dict[str, Any]:
    """The options of one stage section, keys normalised (`-` -> `_`): each one the stage has and the
    experiment does not set itself."""
    from rft.config import flat_fields

    known = flat_fields(stage_model(stage))
    out: dict[str, Any] = {}
    for key, value in section.items():
        k = str(key).replace("-", "_")
        if k in OWNED[stage] or (stage == "train" and k in RL_FLAGS):
            raise loc.error(path + (str(key),), f"set by the experiment, not in a {stage} section")
        if k not in known:
            raise loc.error(path + (str(key),), f"unknown option of rft {stage}")
        out[k] = value
    return out


def check_recipe(recipe: Recipe, loc: Located) -> None:
    from rft import benchmarks

    for key, where in (
        (recipe.name, ("name",)),
        *((k, ("datasets", k)) for k in recipe.datasets),
        *((k, ("bases", k)) for k in recipe.bases),
        *((k, ("arms", k)) for k in recipe.arms),
    ):
        if not NAME_RE.match(key):
            raise loc.error(where, f"{key!r}: use letters, digits, '.', '_' or '-' (it names folders)")
    if not recipe.datasets and recipe.arms:
        raise loc.error(("datasets",), "the arms need a dataset")
    if not recipe.bases:
        raise loc.error(("bases",), "give at least one base model")
    for key, ds in recipe.datasets.items():
        if (ds.ref is None) == (ds.generate is None):
            raise loc.error(("datasets", key), "give either `ref` (an existing dataset) or `generate`")
        if ds.ref is not None and ds.validate_ is not None:
            raise loc.error(
                ("datasets", key, "validate"), "an existing dataset (`ref`) is not validated here"
            )
        if ds.generate is not None:
            check_section("generate", ds.generate, loc, ("datasets", key, "generate"))
            if not ds.generate.get("problems"):
                raise loc.error(
                    ("datasets", key, "generate"), "`problems` is required (a file, hf:<id> or demo)"
                )
        if ds.validate_ is not None:
            check_section("validate", ds.validate_, loc, ("datasets", key, "validate"))
    for b, where in ((b, ("benchmarks", str(i))) for i, b in enumerate(recipe.benchmarks)):
        if b not in benchmarks.REGISTRY:
            raise loc.error(where, f"unknown benchmark {b!r} (choose from {', '.join(benchmarks.REGISTRY)})")
    if not recipe.benchmarks:
        raise loc.error(("benchmarks",), "give at least one benchmark")
    for i, m in enumerate(recipe.metrics):
        if m not in METRICS:
            raise loc.error(("metrics", str(i)), f"unknown metric {m!r} (choose from {', '.join(METRICS)})")
    if not recipe.seeds:
        raise loc.error(("seeds",), "give at least one seed")
    check_section("train", recipe.train, loc, ("train",))
    check_section("eval", recipe.eval, loc, ("eval",))
    for name, arm in recipe.arms.items():
        where = ("arms", name)
        check_section("train", arm.train, loc, where + ("train",))
        if arm.dataset is not None and arm.dataset not in recipe.datasets:
            raise loc.error(where + ("dataset",), f"no dataset {arm.dataset!r} in `datasets`")
        for i, b in enumerate(arm.bases or []):
            if b not in recipe.bases:
                raise loc.error(where + ("bases", str(i)), f"no base {b!r} in `bases`")
        rl = [k for k in ("num_generations", "max_completion_length", "beta") if getattr(arm, k) is not None]
        if arm.method == "sft" and rl:
            raise loc.error(where + (rl[0],), "an RL option; this arm's method is sft")
        if arm.warmup is not None:
            if arm.warmup not in recipe.arms:
                raise loc.error(where + ("warmup",), f"no arm {arm.warmup!r} in `arms`")
            for k in ("rank", "alpha"):
                if getattr(arm, k) is not None:
                    raise loc.error(
                        where + (k,), "a warm-started arm takes the rank and alpha of its warm-up's adapters"
                    )
            warm = recipe.arms[arm.warmup]
            other = [b for b in recipe.arm_bases(arm) if b not in recipe.arm_bases(warm)]
            if other:
                raise loc.error(
                    where + ("warmup",),
                    f"warm-up arm {arm.warmup!r} is not trained on base {other[0]!r} (its bases: "
                    f"{', '.join(recipe.arm_bases(warm))}): an adapter continues only on its own base",
                )
    _check_cycles(recipe, loc)


def _check_cycles(recipe: Recipe, loc: Located) -> None:
    for start in recipe.arms:
        seen = [start]
        cur = recipe.arms[start].warmup
        while cur is not None:
            if cur in seen:
                cycle = " -> ".join([*seen[seen.index(cur) :], cur])
                raise loc.error(("arms", start, "warmup"), f"the warm-up links make a cycle: {cycle}")
            seen.append(cur)
            cur = recipe.arms[cur].warmup
