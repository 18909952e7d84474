"""A recipe as cells: each cell is one plain `rft` command line with its own output folder.

    experiments/<name>/
      datasets/<dataset>/v1, v2     generate (v1), validate (v2): the experiment's own dataset store
      runs/<arm>-<base>-s<seed>/<variant>/   one train cell per variant
      evals/<arm>-<base>-s<seed>/<id>/       one eval cell per arm, base and seed: the base and that
                                             arm's adapters on the same items (paired comparisons)
      evals/base-<base>/<id>/                the base alone, for a base no arm trains on
      cells/<cell>.json  logs/<cell>.log     what `rft experiment run` recorded of each cell

A cell is done when the command's own completion marker is there and says it was made with the
cell's settings: a sealed version whose manifest holds the same config (generate, validate), a
finished variant folder's manifest (train), an eval folder's manifest (written last) with the same
settings and models (eval). A marker made with other settings is an error naming the folder, as
`rft train` does for a variant trained with other settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rft.config import flat_fields, load_config
from rft.errors import ConfigError, RftError
from rft.experiment.recipe import RL_FLAGS, Located, Recipe, check_section

GENERATE_VERSION, VALIDATE_VERSION = 1, 2


@dataclass
class Cell:
    id: str
    stage: str  # generate | validate | train | eval
    argv: list[str]  # ["rft", "train", ...]
    output: str  # the folder the command writes
    deps: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)  # what its completion marker must say

    @property
    def command(self) -> str:
        import shlex

        return shlex.join(self.argv)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "stage": self.stage, "command": self.command, "output": self.output,
                "deps": self.deps, **{k: v for k, v in self.info.items() if k not in ("adapters", "generate_options")}}  # fmt: skip


# --- flags -------------------------------------------------------------------------------------


def to_flags(stage: str, options: dict[str, Any]) -> list[str]:
    """A stage's options (flat names) as its command-line flags, in the order given."""
    from rft.experiment.recipe import stage_model

    table = flat_fields(stage_model(stage))
    argv: list[str] = []
    for key, value in options.items():
        if value is None:
            continue
        flag = table[key].flags[0]
        if isinstance(value, bool):
            on, _, off = flag.partition("/")
            if value:
                argv.append(on)
            elif off:
                argv.append(off)
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                argv += [flag, f"{k}={v}"]
            continue
        if isinstance(value, list):
            argv += [flag, ",".join(str(v) for v in value)]
            continue
        argv += [flag, str(value)]
    return argv


def _check_options(stage: str, options: dict[str, Any], loc: Located, where: tuple[str, ...]) -> Any:
    """The stage's config from `options` (flat names), so a bad value is an error before any cell runs."""
    from rft.experiment.recipe import stage_model

    try:
        return load_config(stage_model(stage), None, options)
    except RftError as exc:
        raise loc.error(where, str(exc).replace(" (command line)", "")) from None


# --- planning ----------------------------------------------------------------------------------


def plan(recipe: Recipe, loc: Located) -> list[Cell]:
    """Every cell of the recipe, in dependency order (by dependency depth, then recipe order)."""
    root = recipe.folder
    store = root / "datasets"
    cells: list[Cell] = []
    data_ref: dict[str, tuple[str, str, list[str]]] = {}  # dataset key -> (ref, store, cell ids)
    for key, ds in recipe.datasets.items():
        if ds.ref is not None:
            data_ref[key] = (ds.ref, ds.store, [])
            continue
        gen = check_section("generate", ds.generate or {}, loc, ("datasets", key, "generate"))
        gen_opts = {**gen, "name": key, "out": str(store)}
        gcfg = _check_options("generate", gen_opts, loc, ("datasets", key, "generate"))
        gid = f"generate-{key}"
        cells.append(Cell(gid, "generate", ["rft", "generate", *to_flags("generate", gen_opts), "--no-progress"],
                          str(store / key / f"v{GENERATE_VERSION}"), [], {"dataset": key, "generate_options": gen_opts},
                          {"config": _semantic_generate(gcfg)}))  # fmt: skip
        ref, deps = f"{key}@v{GENERATE_VERSION}", [gid]
        if ds.validate_ is not None:
            val = check_section("validate", ds.validate_, loc, ("datasets", key, "validate"))
            vcfg = _check_options("validate", val, loc, ("datasets", key, "validate"))
            vid = f"validate-{key}"
            argv = ["rft", "validate", ref, "--out", str(store), *to_flags("validate", val)]
            cells.append(Cell(vid, "validate", argv, str(store / key / f"v{VALIDATE_VERSION}"), [gid],
                              {"dataset": key}, {"config": _semantic_validate(vcfg)}))  # fmt: skip
            ref, deps = f"{key}@v{VALIDATE_VERSION}", [vid]
        data_ref[key] = (ref, str(store), deps)

    common_train = check_section("train", recipe.train, loc, ("train",))
    eval_opts = check_section("eval", recipe.eval, loc, ("eval",))
    variants: dict[tuple[str, str, int], list[Cell]] = {}  # (arm, base, seed) -> its train cells
    for arm_name in recipe.warmup_order():
        arm = recipe.arms[arm_name]
        ref, ds_store, deps = data_ref[recipe.dataset_key(arm)]
        own = check_section("train", arm.train, loc, ("arms", arm_name, "train"))
        for base_key in recipe.arm_bases(arm):
            for seed in recipe.seeds:
                run_name = f"{arm_name}-{base_key}-s{seed}"
                if arm.warmup:
                    shapes = [
                        (c.info["rank"], c.info["alpha"], c) for c in variants[(arm.warmup, base_key, seed)]
                    ]
                else:
                    shapes = [(r, a, None) for r in arm.rank or [16] for a in arm.alpha or [32]]
                made = []
                for rank, alpha, warm in shapes:
                    opts: dict[str, Any] = {
                        "store": ds_store, "base": recipe.bases[base_key], **common_train, **own,
                        "render": arm.render, "rank": rank, "alpha": alpha, "seed": seed,
                        "out": str(root / "runs"), "name": run_name,
                    }  # fmt: skip
                    opts = {k: v for k, v in opts.items() if v is not None}
                    rl = _rl_flags(arm, warm)
                    cfg = _check_options("train", {"dataset": ref, **opts}, loc, ("arms", arm_name))
                    variant = f"r{rank}-a{alpha}"
                    expect = {k: v for k, v in cfg.flat().items() if k in opts or k == "dataset"}
                    expect["rank"], expect["alpha"] = rank, alpha
                    expect.update({k: v for k, v in rl.items()})
                    cid = f"train-{run_name}-{variant}"
                    argv = ["rft", "train", ref, *to_flags("train", opts), *_rl_argv(rl), "--no-progress"]
                    cell = Cell(
                        cid, "train", argv, str(root / "runs" / run_name / variant),
                        [*deps, *([warm.id] if warm else [])],
                        {"arm": arm_name, "base": base_key, "seed": seed, "variant": variant, "rank": rank,
                         "alpha": alpha, "method": arm.method, "dataset": recipe.dataset_key(arm),
                         "warmup": warm.output if warm else None},
                        {"config": expect},
                    )  # fmt: skip
                    made.append(cell)
                variants[(arm_name, base_key, seed)] = made
                cells.extend(made)

    for base_key, model in recipe.bases.items():
        arms_here = [(a, s) for a in recipe.arms for s in recipe.seeds if (a, base_key, s) in variants]
        groups = [(f"{a}-{base_key}-s{s}", a, s, variants[(a, base_key, s)]) for a, s in arms_here]
        if not groups:
            groups = [(f"base-{base_key}", None, None, [])]
        for label, arm_name, seed, trains in groups:
            opts = {"model": model, **eval_opts, "benchmarks": list(recipe.benchmarks),
                    "out": str(root / "evals" / label)}  # fmt: skip
            cfg = _check_options("eval", opts, loc, ("eval",))
            adapters = [t.output for t in trains]
            argv = ["rft", "eval", *to_flags("eval", opts)]
            for a in adapters:
                argv += ["--adapter", a]
            argv.append("--no-progress")
            cells.append(Cell(
                f"eval-{label}", "eval", argv, str(root / "evals" / label), [t.id for t in trains],
                {"base": base_key, "arm": arm_name, "seed": seed, "adapters": adapters},
                {"config": _semantic_eval(cfg), "adapters": adapters},
            ))  # fmt: skip
    return order(cells)


def _rl_flags(arm: Any, warm: Cell | None) -> dict[str, Any]:
    if arm.method == "sft":
        return {}
    rl: dict[str, Any] = {"method": arm.method}
    if warm is not None:
        rl["init_adapter"] = warm.output
    for k in ("num_generations", "max_completion_length", "beta"):
        if getattr(arm, k) is not None:
            rl[k] = getattr(arm, k)
    return rl


def _rl_argv(rl: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for k, v in rl.items():
        argv += [RL_FLAGS[k], str(v)]
    return argv


def order(cells: list[Cell]) -> list[Cell]:
    """Dependency depth first, then the order the cells were made in: deterministic, and every
    cell after the cells it depends on."""
    depth: dict[str, int] = {}
    by_id = {c.id: c for c in cells}
    for c in cells:  # made after their dependencies
        depth[c.id] = 1 + max((depth[d] for d in c.deps if d in by_id), default=-1)
    index = {c.id: i for i, c in enumerate(cells)}
    return sorted(cells, key=lambda c: (depth[c.id], index[c.id]))


def waves(cells: list[Cell]) -> list[list[int]]:
    """Indices of `cells` (in plan order) grouped by dependency depth: a wave needs only earlier ones."""
    depth: dict[str, int] = {}
    for c in cells:
        depth[c.id] = 1 + max((depth[d] for d in c.deps if d in depth), default=-1)
    out: list[list[int]] = []
    for i, c in enumerate(cells):
        while len(out) <= depth[c.id]:
            out.append([])
        out[depth[c.id]].append(i)
    return out


# --- what a completion marker must say ------------------------------------------------------------


def _semantic_generate(cfg: Any) -> dict[str, Any]:
    from rft.generate.config import NON_SEMANTIC

    return {k: v for k, v in cfg.resolved().items() if k not in NON_SEMANTIC | {"out"}}


def _semantic_validate(cfg: Any) -> dict[str, Any]:
    return {k: v for k, v in cfg.to_dict().items() if k not in ("workers", "batch_size")}


def _semantic_eval(cfg: Any) -> dict[str, Any]:
    from rft.eval.config import NON_SEMANTIC

    return {k: v for k, v in cfg.resolved().items() if k not in NON_SEMANTIC | {"adapter"}}


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file's content; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _differs(expected: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    return [k for k, v in expected.items() if _norm(recorded.get(k)) != _norm(v)]


def _norm(v: Any) -> Any:
    return json.loads(json.dumps(v, default=str))


def _stale(cell: Cell, marker: Path, keys: list[str]) -> ConfigError:
    shown = ", ".join(f"--{k.replace('_', '-')}" for k in keys[:4])
    return ConfigError(
        f"{marker.parent} was made with other settings ({shown} differ) than cell {cell.id}; "
        f"remove it or give the recipe another name"
    )


def marker(cell: Cell) -> Path | None:
    """The completion marker of a done cell (None: not done); ConfigError when a marker is there but
    was made with other settings."""
    out = Path(cell.output)
    if cell.stage in ("generate", "validate", "train"):
        m = read_json(out / "manifest.json")
        if m is None:
            return None
        recorded = m.get("config") or {}
        if cell.stage == "validate":
            recorded = recorded.get("validate") or {}
        if cell.stage == "generate" and m.get("stage") != "generate":
            raise _stale(cell, out / "manifest.json", ["stage"])
        keys = _differs(cell.expect["config"], recorded)
        if (
            cell.stage == "train"
        ):  # an RL option a manifest does not record is not checked (issue 14's manifest)
            keys = [k for k in keys if not (k in RL_FLAGS and k not in recorded)]
        if keys:
            raise _stale(cell, out / "manifest.json", keys)
        return out / "manifest.json"
    # eval: a folder OUT/<id>/ whose manifest (written last) has these settings and these adapters
    if not out.is_dir():
        return None
    for sub in sorted(p for p in out.iterdir() if p.is_dir()):
        m = read_json(sub / "manifest.json")
        if m is None or not (sub / "results.json").is_file():
            continue
        recorded = m.get("config") or {}
        given = [str(Path(a)) for a in recorded.get("adapter") or []]
        if not _differs(cell.expect["config"], recorded) and given == cell.expect["adapters"]:
            return sub / "manifest.json"
    return None


def result_folder(cell: Cell) -> Path | None:
    try:
        m = marker(cell)
    except ConfigError:
        return None
    return m.parent if m else None
