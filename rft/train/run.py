"""`rft train`: the grid of variants, one after another, each in its own run folder.

    runs/<name>/
      r4-a16/              finished: adapter, config.yaml, metrics.json, loss.png, README.md, manifest.json
                           (the RL stage, --method grpo|rloo, also reward.png)
      r4-a32.tmp-<id>/     in progress (or interrupted): checkpoints/ to resume from
      grid.md              the table of the variants

A variant trains inside `<variant>.tmp-<identity>` (the identity hashes its config, the data's sha256
and the base model's version, so an interrupted variant resumes only into the same settings) and is
renamed to `<variant>` after its manifest, written last, is on disk: a folder named after a variant is
always a finished one. A finished variant is skipped; a failing one is reported and the others go on.
Only the world's process zero writes files and prints. `--method grpo|rloo` runs the RL stage
(`rft.train.grpo`) through the same folders, identities, resume and grid table."""

from __future__ import annotations

import json
import os
import shutil
import traceback
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.markup import escape

import rft
from rft.console import err, out
from rft.errors import ConfigError, RftError, write_error
from rft.redaction import redact, redact_argv
from rft.store.fsutil import fsync_dir, replace_atomic
from rft.train.config import NON_SEMANTIC, TrainConfig, Variant
from rft.train.data import load_train_data
from rft.train.model import check_target_modules, load_tokenizer, pick, resolve_base
from rft.train.report import grid_markdown, grid_table, model_card, plot_loss
from rft.train.results import GridResult, Outcome
from rft.train.sft import CHECKPOINTS, Prepared, init_distributed, is_main, train_variant, wait_for_everyone

MANIFEST = "manifest.json"
METRICS = "metrics.json"
CONFIG = "config.yaml"
PLOT = "loss.png"
CARD = "README.md"
GRID = "grid.md"


def _quiet_libraries() -> None:
    """No tqdm bars from datasets' map and transformers' weight loading: the rich bar is the progress."""
    import datasets
    import transformers

    warnings.filterwarnings(
        "ignore", message=".*gradient_checkpointing.* is deprecated", category=FutureWarning
    )
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def _meta_model(path: Path) -> Any:
    """The base model's module tree without its weights (to check --target-modules before training)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def prepare_run(cfg: TrainConfig) -> Prepared:
    """Everything the variants share, checked before any training: base model, tokenizer, data, modules.
    The RL stage's data are its prompts (`rft.train.grpo.RLData`), and the warm-up adapter's LoRA
    settings replace the config's."""
    _quiet_libraries()
    base = resolve_base(cfg.model)
    device, dtype = pick(cfg.model)
    tokenizer = load_tokenizer(base)
    if cfg.is_rl:
        from rft.train import grpo

        init = grpo.read_init_adapter(cfg.rl.init_adapter, base) if cfg.rl.init_adapter else None
        if init is not None:
            cfg = grpo.adopt_adapter(cfg, init)
        data: Any = grpo.load_rl_data(cfg, tokenizer, init)
    else:
        data = load_train_data(cfg.data, tokenizer, seed=cfg.optim.seed)
    targets = check_target_modules(_meta_model(base.path), cfg.lora.target_modules)
    init_distributed(device)
    if device.startswith("cuda:"):
        import torch

        torch.cuda.set_device(int(device.split(":", 1)[1]))
    return Prepared(cfg, base, tokenizer, data, device, dtype, targets)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def identity(prep: Prepared, variant: Variant) -> str:
    """The identity of a variant of this run (the warm-up adapter's weights count for the RL stage)."""
    init = getattr(prep.data, "init_sha256", None)
    return prep.cfg.identity(variant, prep.data.data_sha256, prep.base.hash, init)


def finished(folder: Path) -> dict[str, Any] | None:
    """The manifest of a finished variant folder (None: not finished)."""
    return _read_json(folder / MANIFEST) if folder.is_dir() else None


def _check_finished(cfg: TrainConfig, prep: Prepared, root: Path) -> None:
    """A finished variant of the same name trained with other settings is not silently mixed into
    this grid: one line naming what differs."""
    for v in cfg.variants():
        m = finished(root / v.name)
        if m is None or m.get("identity") == identity(prep, v):
            continue
        old = m.get("config") or {}
        new = cfg.for_variant(v)
        keys = [k for k in new if k not in NON_SEMANTIC and old.get(k) != new[k]]
        if m.get("dataset", {}).get("data_sha256") != prep.data.data_sha256:
            keys.append("the dataset's data")
        if (m.get("base") or {}).get("revision") != prep.base.revision or (m.get("base") or {}).get(
            "sha256"
        ) != prep.base.sha256:
            keys.append("the base model's files")
        what = ", ".join(f"--{k.replace('_', '-')}" if not k.startswith("the ") else k for k in keys)
        raise ConfigError(
            f"{root / v.name} was trained with other settings ({what or 'its identity'} differ); "
            "pass another --name or remove that folder"
        )


def _manifest(prep: Prepared, variant: Variant, identity: str, command: list[str]) -> dict[str, Any]:
    import peft
    import torch
    import transformers
    import trl

    from rft.store.store import git_commit

    data = prep.data
    rl = {}
    if prep.cfg.is_rl:
        r = prep.cfg.rl
        init = data.init
        rl = {
            "init_adapter": init.link() if init else None,
            "reward": {"name": r.reward, "format_weight": r.format_reward, "graders": "rft.verify"},
        }
    return redact(
        {
            "kind": "rft-train-run",
            "method": f"{prep.cfg.method}-lora",
            "variant": variant.name,
            "identity": identity,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rft_version": rft.__version__,
            "git_commit": git_commit(),
            "command": redact_argv(command),
            "dataset": {"ref": data.ref, "data_sha256": data.data_sha256, "files": data.files},
            "data": data.counts(),
            "prompt": {"system": data.system()},  # what the examples' prompts held, whatever set it
            "base": prep.base.manifest(),
            **rl,
            "config": prep.cfg.for_variant(variant),
            "libraries": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "trl": trl.__version__,
                "peft": peft.__version__,
            },
        }
    )


def _write(path: Path, text: str) -> None:
    try:
        replace_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise write_error(exc, path) from exc


def _finish(prep: Prepared, variant: Variant, work: Path, final: Path, trained: Any, manifest: dict) -> None:
    """Write the run files into `work` (the manifest last) and rename it to `final`."""
    shutil.rmtree(work / CHECKPOINTS, ignore_errors=True)
    metrics = trained.metrics
    _write(work / METRICS, json.dumps(metrics, indent=2) + "\n")
    _write(work / CONFIG, yaml.safe_dump(prep.cfg.for_variant(variant), sort_keys=False))
    plot_loss(metrics, trained.log_history, work / PLOT)
    if prep.cfg.is_rl:
        from rft.train import grpo

        grpo.plot_reward(metrics, work / grpo.REWARD_PLOT)
        _write(work / CARD, grpo.model_card(prep, variant, metrics, manifest))
    else:
        _write(work / CARD, model_card(prep, variant, metrics, manifest))
    _write(work / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    _publish(work, final)


def _publish(work: Path, final: Path) -> None:
    """The rename that makes a variant finished (its manifest is already on disk)."""
    try:
        os.rename(work, final)
        fsync_dir(final.parent)
    except OSError as exc:
        raise write_error(exc, final, f"the finished files stay in {work}") from exc


def run_grid(cfg: TrainConfig, command: list[str], *, progress: bool = True) -> GridResult:
    prep = prepare_run(cfg)
    cfg = prep.cfg  # the RL stage's warm-up adapter sets the LoRA settings
    root = Path(cfg.output.out) / cfg.run_name()
    _check_finished(cfg, prep, root)
    main = is_main()
    if main:
        out.print("data " + prep.data.summary(cfg.data.max_length), markup=False, soft_wrap=True)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, root) from exc
    wait_for_everyone()
    variants = cfg.variants()
    outcomes: list[Outcome] = []
    for i, v in enumerate(variants, 1):
        final = root / v.name
        label = f"{v.name} ({i}/{len(variants)})" if len(variants) > 1 else v.name
        done = finished(final)
        if done is not None:
            if main:
                out.print(f"{label}: finished already ({final}); skipped", markup=False)
            outcomes.append(Outcome(v, "skipped", final, _read_json(final / METRICS)))
            continue
        ident = identity(prep, v)
        work = root / f"{v.name}.tmp-{ident}"
        stale = sorted(p.name for p in root.glob(f"{v.name}.tmp-*") if p != work)
        if main and stale:
            out.print(
                f"{label}: left as it was: {', '.join(stale)} (interrupted with other settings; remove it "
                "once you do not want to resume it)",
                markup=False,
                soft_wrap=True,
            )
        outcomes.append(_train_one(prep, v, work, final, label, ident, command, progress, len(variants) > 1))
        wait_for_everyone()
    grid_path = None
    if main:
        grid_path = root / GRID
        if cfg.is_rl:
            from rft.train import grpo

            out.print(grpo.grid_table(cfg, outcomes))
            _write(grid_path, grpo.grid_markdown(cfg, prep, outcomes))
        else:
            out.print(grid_table(outcomes))
            _write(grid_path, grid_markdown(cfg, prep, outcomes))
        out.print(f"grid: {grid_path}", markup=False)
    return GridResult(root, outcomes, grid_path)


def _train_one(
    prep: Prepared,
    v: Variant,
    work: Path,
    final: Path,
    label: str,
    identity: str,
    command: list[str],
    progress: bool,
    announce: bool = True,
) -> Outcome:
    """Train, write and publish one variant; a failure is an Outcome (printed when `announce`: in a
    grid; a single variant's failure is the command's one error line)."""
    main = is_main()
    loud = main and announce
    try:
        if finished(work) is not None:  # written completely, not yet renamed (killed, or the rename failed)
            if main:
                _publish(work, final)
                out.print(f"{label}: finished in {work.name}; moved to {final}", markup=False)
            return Outcome(v, "trained", final, _read_json(final / METRICS))
        work.mkdir(parents=True, exist_ok=True)
        if main:
            d = prep.data
            if prep.cfg.is_rl:
                start = f"from {d.init.path}" if d.init else "from a new adapter"
                what = f"{prep.cfg.method} r={v.rank} alpha={v.alpha} {start} on {len(d.train)} prompt{'s' if len(d.train) != 1 else ''}"
            else:
                what = (
                    f"r={v.rank} alpha={v.alpha} on {len(d.train)} record{'s' if len(d.train) != 1 else ''}"
                )
            out.print(f"{label}: training {what} ({d.ref}) in {work}", markup=False, soft_wrap=True)
        if prep.cfg.is_rl:
            from rft.train.grpo import train_rl_variant

            trained = train_rl_variant(prep, v, work, label=label, progress=progress)
        else:
            trained = train_variant(prep, v, work, label=label, progress=progress)
        if main:
            _finish(prep, v, work, final, trained, _manifest(prep, v, identity, command))
            out.print(f"{label}: wrote {final}", markup=False)
        return Outcome(v, "trained", final, trained.metrics)
    except KeyboardInterrupt:
        raise
    except RftError as exc:
        return _failed(v, work, label, str(exc), loud)
    except OSError as exc:
        return _failed(v, work, label, str(write_error(exc, getattr(exc, "filename", None) or work)), loud)
    except Exception as exc:  # a bug or a library error: the others go on; the traceback is kept in work
        if main:
            _save_traceback(work)
        return _failed(v, work, label, f"{type(exc).__name__}: {exc} (traceback in {work}/error.txt)", loud)


def _save_traceback(work: Path) -> None:
    try:
        work.mkdir(parents=True, exist_ok=True)
        (work / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        pass


def _failed(v: Variant, work: Path, label: str, why: str, main: bool) -> Outcome:
    why = why.removeprefix(f"{label}: ").removeprefix(f"{v.name}: ")
    if main:
        err.print(f"[bold red]{escape(label)} failed:[/] {escape(why)}", soft_wrap=True)
    return Outcome(v, "failed", work if work.exists() else None, None, why)
