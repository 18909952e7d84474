"""The RL stage of `rft train` (`--method grpo|rloo`): ReFT's recipe (Luong et al., 2024) with TRL's
maintained online methods. ReFT used PPO; TRL 1.16 has no `PPOTrainer`, so rft uses `GRPOTrainer`
(group-normalised advantages) and `RLOOTrainer` (leave-one-out baseline): each samples
`--num-generations` completions per problem, rewards them with `rft.train.rewards` (graded by
`rft.verify`), and updates a LoRA adapter, with a KL penalty (`--beta`) against where it started.

- The prompts are the problems: a dataset version's records (every record whose problem has a gold
  answer, or tests for code; solved or not) or a problem source (`--problems`, read as `rft generate`
  reads it). The user turn is the bare question, after the system message the SFT stage trained with
  (so `rft eval` asks the adapter as it asks an SFT one).
- `--init-adapter runs/x/r16-a32` is the warm-up: a finished `rft train` variant, whose manifest must
  name the same base model. Its adapter is trained on (PEFT, `is_trainable`), keeping its rank, alpha
  and target modules; TRL keeps a frozen copy of it as the KL reference. The result is again one LoRA
  adapter on the base, read by `rft eval` and PEFT like an SFT one; the manifest links the warm-up.
- The run folder is the SFT one (`rft.train.run`): adapter, config.yaml, metrics.json, loss.png and
  reward.png, README.md, manifest.json; checkpoints to resume from while it trains.

Metrics per step (metrics.json `steps`): reward mean and std, shares of correct / wrong / no-answer
samples, KL, completion length, the seconds the reward took; overall: tokens/s (prompt and completion
tokens TRL counted), peak memory, wall time and the share of it spent computing rewards."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rft.console import err
from rft.errors import ConfigError, InputError
from rft.schemas import Problem
from rft.train.config import LoraConfigPart, TrainConfig, Variant
from rft.train.model import BaseModelInfo

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
REWARD_PLOT = "reward.png"
SHOW_IDS = 5  # record ids named in an error at most


# --- the warm-up adapter --------------------------------------------------------------------------


@dataclass(frozen=True)
class InitAdapter:
    """A finished `rft train` variant to start the RL stage from."""

    path: Path
    manifest: dict[str, Any]
    adapter: dict[str, Any]  # its adapter_config.json
    sha256: str  # of its weights

    @property
    def system(self) -> str | None:
        prompt = self.manifest.get("prompt")
        return prompt.get("system") if isinstance(prompt, dict) else None

    def link(self) -> dict[str, Any]:
        """What the RL run's manifest says of it."""
        m = self.manifest
        return {
            "path": str(self.path),
            "method": m.get("method"),
            "variant": m.get("variant"),
            "identity": m.get("identity"),
            "adapter_sha256": self.sha256,
            "dataset": (m.get("dataset") or {}).get("ref"),
            "base": m.get("base"),
        }


def read_init_adapter(folder: str, base: BaseModelInfo) -> InitAdapter:
    """The warm-up adapter at `folder`, checked: a finished variant (manifest and adapter) trained on
    `base`. A ConfigError (one line) otherwise."""
    from rft.store.fsutil import sha256_file

    path = Path(folder).expanduser()
    flag = f"--init-adapter {folder}"
    if not path.is_dir():
        raise ConfigError(f"{flag}: no such folder")
    if not (path / ADAPTER_CONFIG).is_file() or not (path / ADAPTER_WEIGHTS).is_file():
        raise ConfigError(f"{flag}: not an adapter folder (no {ADAPTER_CONFIG} and {ADAPTER_WEIGHTS})")
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        adapter = json.loads((path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{flag}: no readable manifest.json (a finished `rft train` variant has one): {exc}"
        ) from None
    trained = manifest.get("base") if isinstance(manifest.get("base"), dict) else {}
    same = (
        trained.get("sha256") == base.sha256
        if trained.get("sha256") and base.sha256
        else trained.get("revision") == base.revision
        if trained.get("revision") and base.revision
        else None
    )
    if not same:
        what = trained.get("spec") or "an unnamed base"
        version = trained.get("sha256") or trained.get("revision") or "unknown version"
        raise ConfigError(
            f"{flag}: trained on another base model ({what}, {str(version)[:12]}), not --base {base.spec} "
            f"({(base.hash or 'unknown version')[:12]}); give the --base it was trained on"
        )
    if adapter.get("peft_type") != "LORA":
        raise ConfigError(
            f"{flag}: a {adapter.get('peft_type')} adapter; the RL stage continues LoRA adapters"
        )
    return InitAdapter(path.resolve(), manifest, adapter, sha256_file(path / ADAPTER_WEIGHTS))


def adopt_adapter(cfg: TrainConfig, init: InitAdapter) -> TrainConfig:
    """`cfg` with the warm-up adapter's LoRA settings (the adapter is trained on as it is). A rank or
    alpha given that is not the adapter's is a ConfigError."""
    a = init.adapter
    defaults = LoraConfigPart()
    for name, key in (("rank", "r"), ("alpha", "lora_alpha")):
        given = getattr(cfg.lora, name)
        if given != getattr(defaults, name) and given != [a.get(key)]:
            raise ConfigError(
                f"--{name} {','.join(map(str, given))}: --init-adapter continues an adapter of {name} "
                f"{a.get(key)}; drop --{name}"
            )
    targets = a.get("target_modules") or cfg.lora.target_modules
    lora = cfg.lora.model_copy(
        update={
            "rank": [int(a["r"])],
            "alpha": [int(a["lora_alpha"])],
            "dropout": float(a.get("lora_dropout", cfg.lora.dropout)),
            "target_modules": sorted(targets) if isinstance(targets, list) else [targets],
            "use_rslora": bool(a.get("use_rslora", False)),
            "use_dora": bool(a.get("use_dora", False)),
        }
    )
    return cfg.model_copy(update={"lora": lora})


# --- the prompts ----------------------------------------------------------------------------------


@dataclass
class RLExample:
    """One prompt of the RL stage: the chat prompt and the problem its completions are graded against."""

    id: str
    prompt: list[dict[str, str]]
    problem: Problem
    tokens: int = 0

    def row(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "problem": self.problem.model_dump_json()}


@dataclass
class RLData:
    """The RL stage's prompts; read by `rft.train.run` as it reads `TrainData` (ref, sha256, counts)."""

    ref: str
    data_sha256: str
    files: dict[str, str]
    total: int
    render: str | None = None
    train: list[RLExample] = field(default_factory=list)
    eval: list[RLExample] = field(default_factory=list)  # never held out: `rft eval` measures
    dropped: Counter[str] = field(default_factory=Counter)
    included: Counter[str] = field(default_factory=Counter)
    system_message: str | None = None
    init: InitAdapter | None = None
    source: str = "dataset"  # dataset | problems

    def system(self) -> str | None:
        return self.system_message

    @property
    def kept(self) -> int:
        return len(self.train)

    @property
    def init_sha256(self) -> str | None:
        return self.init.sha256 if self.init else None

    def counts(self) -> dict[str, Any]:
        domains = Counter(e.problem.domain for e in self.train)
        return {
            "records": self.total,
            "kept": self.kept,
            "train": len(self.train),
            "eval": 0,
            "dropped": dict(self.dropped),
            "included": {},
            "prompt_tokens": sum(e.tokens for e in self.train),
            "domains": dict(domains),
        }

    def summary(self, max_length: int) -> str:
        """`d@v1: 4 problems with gold answers, 4 prompts (2 over --max-length 64 tokens dropped)`."""
        what = "records" if self.source == "dataset" else "problems"
        extra = (
            f" ({self.dropped['too_long']} over --max-length {max_length} tokens dropped)"
            if self.dropped.get("too_long")
            else ""
        )
        return f"{self.ref}: {self.total} {what}, {len(self.train)} prompts{extra}"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOW_IDS])
    return shown + (f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else "")


def check_gold(problems: list[Problem], reward: str, where: str) -> None:
    """An InputError naming the records RL cannot check (no gold answer, or no tests)."""
    from rft.train.rewards import missing_gold

    lacking: dict[str, list[str]] = {}
    for p in problems:
        why = missing_gold(p, reward)
        if why:
            lacking.setdefault(why, []).append(p.id)
    if not lacking:
        return
    n = sum(len(v) for v in lacking.values())
    parts = "; ".join(f"{why}: {_ids(ids)}" for why, ids in lacking.items())
    raise InputError(
        f"{where}: {n} of {len(problems)} records have nothing --reward {reward} can check ({parts}); "
        "RL needs a checkable answer for every prompt"
    )


def _problems_from_source(cfg: TrainConfig) -> tuple[list[Problem], str, str]:
    """(problems, ref, fingerprint) of `--problems`, a benchmark's test split refused as generate does."""
    from rft.problems import load_problem_set, source_fingerprint
    from rft.problems.parse import parse_source
    from rft.problems.testsplits import known_test_split

    p = cfg.problems
    assert p is not None
    known = known_test_split(parse_source(p.problems))
    if known and not p.allow_test_split:
        raise ConfigError(known.refusal())
    if known:
        err.print(known.warning(), soft_wrap=True, markup=False)
    selection = dict(
        preset=p.preset,
        fields=p.fields,
        limit=p.limit,
        shuffle=p.shuffle,
        seed=cfg.optim.seed,
        shard=p.shard_tuple(),
    )
    warn = lambda msg: err.print(msg, soft_wrap=True, markup=False)  # noqa: E731
    problems = list(load_problem_set(p.problems, **selection, on_duplicate_id=p.on_duplicate_id, warn=warn))
    if not problems:
        raise ConfigError(f"--problems: no problems in {p.problems}")
    return problems, p.problems, source_fingerprint(p.problems, **selection)


def _stored_system(records: list[Any]) -> str | None:
    found = {
        r.messages[0].content if r.messages and r.messages[0].role == "system" else None for r in records
    }
    return found.pop() if len(found) == 1 else None


def load_rl_data(cfg: TrainConfig, tokenizer: Any, init: InitAdapter | None) -> RLData:
    """The prompts of the RL stage (see the module doc); an InputError when a record has no gold."""
    from rft.store import Store

    if cfg.data.dataset:
        loaded = Store(cfg.data.store).load_ref(cfg.data.dataset)
        problems = [r.problem for r in loaded.records]
        files = {name: e.sha256 for name, e in loaded.manifest.files.items()}
        data = RLData(loaded.ref, files.get("data.jsonl", ""), files, len(problems))
        stored = _stored_system(loaded.records)
    else:
        problems, ref, fingerprint = _problems_from_source(cfg)
        data = RLData(ref, fingerprint, {}, len(problems), source="problems")
        stored = None
    check_gold(problems, cfg.rl.reward, data.ref)
    # the system message: --system, else the one the warm-up trained with, else the records' own
    system = cfg.data.system or (init.system if init else None) or stored
    data.system_message, data.init = system, init
    head = [{"role": "system", "content": system}] if system else []
    examples = [RLExample(p.id, [*head, {"role": "user", "content": p.question}], p) for p in problems]
    enc = tokenizer.apply_chat_template(
        [e.prompt for e in examples], add_generation_prompt=True, tokenize=True, return_dict=True
    )
    for e, ids in zip(examples, enc["input_ids"], strict=True):
        e.tokens = len(ids)
    data.train = [e for e in examples if e.tokens <= cfg.data.max_length]
    if len(data.train) < len(examples):
        data.dropped["too_long"] = len(examples) - len(data.train)
    if not data.train:
        shortest = min(e.tokens for e in examples)
        raise InputError(
            f"{data.ref}: every prompt is over --max-length {cfg.data.max_length} tokens (the shortest has "
            f"{shortest}); raise --max-length"
        )
    return data


# --- training -------------------------------------------------------------------------------------


def rl_args(prep: Any, work: Path) -> Any:
    """TRL's GRPOConfig / RLOOConfig from the run's config."""
    import torch

    from rft.train.sft import CHECKPOINTS

    cfg, o, rl = prep.cfg, prep.cfg.optim, prep.cfg.rl
    if cfg.method == "grpo":
        from trl import GRPOConfig as Args
    else:
        from trl import RLOOConfig as Args
    extra: dict[str, Any] = {}
    if rl.format_reward > 0:
        extra["reward_weights"] = [1.0, rl.format_reward]
    if rl.vllm:
        extra.update(use_vllm=True, vllm_mode="colocate")
    return Args(
        output_dir=str(work / CHECKPOINTS),
        per_device_train_batch_size=o.batch_size,  # completions, `--num-generations` of each prompt
        gradient_accumulation_steps=o.grad_accum,
        learning_rate=o.lr,
        lr_scheduler_type=o.scheduler,
        warmup_steps=o.warmup_ratio,
        weight_decay=o.weight_decay,
        num_train_epochs=o.epochs,
        max_steps=o.max_steps or -1,
        seed=o.seed,
        activation_checkpointing=o.gradient_checkpointing,
        bf16=prep.dtype == torch.bfloat16 and prep.device != "cpu",
        fp16=prep.dtype == torch.float16 and prep.device != "cpu",
        use_cpu=prep.device == "cpu",
        num_generations=rl.num_generations,
        max_completion_length=rl.max_completion_length,
        temperature=rl.temperature,
        beta=rl.beta,
        logging_steps=1,
        save_strategy="steps",
        save_steps=cfg.output.save_steps,
        save_total_limit=cfg.output.save_total_limit,
        eval_strategy="no",
        report_to=[],
        disable_tqdm=True,
        log_level="warning",
        log_completions=False,
        **extra,
    )


def _check_vllm(prep: Any) -> None:
    if not prep.cfg.rl.vllm:
        return
    import importlib.util

    if prep.device == "cpu" or not prep.device.startswith("cuda"):
        raise ConfigError(f"--vllm: TRL's vLLM generation needs a CUDA GPU (this run is on {prep.device})")
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError("--vllm: vllm is not installed (pip install vllm, on a GPU machine)")


def build_rl_trainer(prep: Any, variant: Variant, work: Path, callbacks: list[Any], scorer: Any) -> Any:
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback

    from rft.train.model import load_model
    from rft.train.rewards import FormatReward, TRLReward
    from rft.train.sft import lora_config

    _check_vllm(prep)
    if prep.cfg.method == "grpo":
        from trl import GRPOTrainer as Trainer
    else:
        from trl import RLOOTrainer as Trainer
    model = load_model(prep.base, prep.dtype)
    peft_config = None
    init = prep.data.init
    if init is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(init.path), is_trainable=True)
    else:
        peft_config = lora_config(prep.cfg, variant, prep.targets)
    funcs: list[Any] = [TRLReward(scorer)]
    if prep.cfg.rl.format_reward > 0:
        funcs.append(FormatReward())
    trainer = Trainer(
        model=model,
        reward_funcs=funcs,
        args=rl_args(prep, work),
        train_dataset=Dataset.from_list([e.row() for e in prep.data.train]),
        processing_class=prep.tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)
    return trainer


STEP_KEYS = {  # metrics.json `steps` name -> TRL's log key
    "reward": "reward",
    "reward_std": "reward_std",
    "correct": "outcome/correct",
    "wrong": "outcome/wrong",
    "no_answer": "outcome/none",
    "kl": "kl",
    "completion_length": "completions/mean_length",
    "clipped_ratio": "completions/clipped_ratio",
    "loss": "loss",
    "reward_seconds": "reward_seconds",
}


def step_metrics(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per training step from the Trainer's log history (TRL's names -> metrics.json's)."""
    rows = []
    for h in history:
        if "step" not in h or "reward" not in h:
            continue
        row: dict[str, Any] = {"step": int(h["step"])}
        for name, key in STEP_KEYS.items():
            if h.get(key) is not None:
                row[name] = float(h[key])
        rows.append(row)
    return rows


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def train_rl_variant(prep: Any, variant: Variant, work: Path, *, label: str, progress: bool) -> Any:
    """Train one RL variant (checkpoints in `work/checkpoints`, resumed from the last one), save the
    adapter and tokenizer into `work`, and return its metrics (a `Trained`)."""
    import torch

    from rft.memory import PeakMemory
    from rft.train.progress import LiveProgress
    from rft.train.rewards import RewardScorer
    from rft.train.sft import (
        OOM_HINT,
        OutOfMemory,
        StopOnInterrupt,
        Trained,
        _test_hooks,
        is_main,
        is_oom,
        last_checkpoint,
        parameter_counts,
        world_size,
    )

    rl = prep.cfg.rl
    memory = PeakMemory(prep.device)
    memory.start()
    live = LiveProgress(label, enabled=progress)
    stopper = StopOnInterrupt(label)
    scorer = RewardScorer(rl.reward, rl.format_reward, workers=rl.reward_workers)
    trainer = build_rl_trainer(prep, variant, work, [live, stopper, *_test_hooks(variant)], scorer)
    trainable, total = parameter_counts(trainer.model)
    resume = last_checkpoint(work)
    if resume and is_main():
        err.print(f"{label}: resuming from {Path(resume).name}", markup=False)
    started = time.perf_counter()
    try:
        with stopper.installed():
            out = trainer.train(resume_from_checkpoint=resume)
        if stopper.requested:
            saved = last_checkpoint(work)
            if is_main():
                err.print(f"{label}: saved {Path(saved).name if saved else 'no checkpoint'}", markup=False)
            raise KeyboardInterrupt
    except Exception as exc:
        live.stop()
        if is_oom(exc):
            if prep.device.startswith("cuda"):
                torch.cuda.empty_cache()
            raise OutOfMemory(
                f"{label}: out of memory on {prep.device}; try fewer --num-generations, a shorter "
                f"--max-completion-length, or {OOM_HINT.removeprefix('try ')}"
            ) from exc
        raise
    finally:
        live.stop()
        scorer.close()
    wall = time.perf_counter() - started
    peak = memory.read()
    history = list(trainer.state.log_history)
    steps = step_metrics(history)
    runtime = float(out.metrics.get("train_runtime") or wall)
    tokens = int(trainer.state.num_input_tokens_seen or 0)
    reward_seconds = sum(r.get("reward_seconds", 0.0) for r in steps)
    metrics = {
        "method": prep.cfg.method,
        "variant": variant.name,
        "rank": variant.rank,
        "alpha": variant.alpha,
        "steps": int(trainer.state.global_step),
        "epochs": float(trainer.state.epoch or 0.0),
        "train_records": len(prep.data.train),
        "eval_records": 0,
        "reward_name": rl.reward,
        "format_reward": rl.format_reward,
        "num_generations": rl.num_generations,
        "samples": len(steps) * prep.cfg.optim.batch_size * prep.cfg.optim.grad_accum * world_size(),
        "steps_metrics": steps,
        "loss": [{"step": r["step"], "loss": r["loss"]} for r in steps if "loss" in r],
        "final_train_loss": steps[-1].get("loss") if steps else None,
        "train_loss_mean": float(out.training_loss),
        "eval_loss_before": None,
        "eval_loss": None,
        "reward_mean": _mean(steps, "reward"),
        "reward_first": steps[0].get("reward") if steps else None,
        "reward_last": steps[-1].get("reward") if steps else None,
        "reward_std_mean": _mean(steps, "reward_std"),
        "correct_share": _mean(steps, "correct"),
        "wrong_share": _mean(steps, "wrong"),
        "no_answer_share": _mean(steps, "no_answer"),
        "kl_last": steps[-1].get("kl") if steps else None,
        "kl_mean": _mean(steps, "kl"),
        "completion_length_mean": _mean(steps, "completion_length"),
        "reward_seconds": reward_seconds,
        "reward_time_share": reward_seconds / runtime if runtime > 0 else None,
        "trainable_params": trainable,
        "total_params": total,
        "tokens": tokens,
        "tokens_per_s": tokens / runtime if runtime > 0 and tokens else None,
        "peak_memory_bytes": peak,
        "peak_memory_kind": memory.kind,
        "wall_time_s": wall,
        "train_runtime_s": runtime,
        "resumed_from": Path(resume).name if resume else None,
        "init_adapter": str(prep.data.init.path) if prep.data.init else None,
        "device": prep.device,
        "dtype": str(prep.dtype).removeprefix("torch."),
        "world_size": world_size(),
    }
    model = trainer.accelerator.unwrap_model(trainer.model)
    if "ref" in getattr(model, "peft_config", {}):  # TRL's frozen copy of the warm-up (the KL reference)
        model.delete_adapter("ref")
    trainer.save_model(str(work))
    if is_main():
        prep.tokenizer.save_pretrained(str(work))
        if prep.cfg.output.merge:
            merged = model.merge_and_unload()
            merged.save_pretrained(str(work / "merged"))
            prep.tokenizer.save_pretrained(str(work / "merged"))
    return Trained(metrics, history)


# --- report: the reward curve, the card, the grid ---------------------------------------------------


def plot_reward(metrics: dict[str, Any], path: Path) -> None:
    """Reward mean per step (a band of one std), and the shares of correct and no-answer samples, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = metrics.get("steps_metrics") or []
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        x = [r["step"] for r in rows]
        mean = [r.get("reward", float("nan")) for r in rows]
        std = [r.get("reward_std", 0.0) for r in rows]
        if rows:
            ax.plot(x, mean, label="reward mean", color="tab:green")
            ax.fill_between(x, [m - s for m, s in zip(mean, std, strict=True)], [m + s for m, s in zip(mean, std, strict=True)],
                            color="tab:green", alpha=0.15, label="± std")  # fmt: skip
            ax.plot(
                x,
                [r.get("correct", float("nan")) for r in rows],
                "--",
                label="share correct",
                color="tab:blue",
            )
            ax.plot(
                x,
                [r.get("no_answer", float("nan")) for r in rows],
                ":",
                label="share no answer",
                color="tab:red",
            )
        ax.set_xlabel("step")
        ax.set_ylabel(f"reward ({metrics.get('reward_name')}) / share of samples")
        ax.set_title(f"{metrics.get('method')} {metrics.get('variant', '')}: reward per step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    finally:
        plt.close(fig)


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def model_card(prep: Any, variant: Variant, metrics: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The README.md of an RL variant: what it started from, the rewards, the settings, the results."""
    from rft.train.report import ALIAS_HUB_IDS, _md, _memory, _wall, usage_lines

    cfg, base, data, rl = prep.cfg, prep.base, prep.data, prep.cfg.rl
    trainer = "GRPOTrainer" if cfg.method == "grpo" else "RLOOTrainer"
    init = data.init
    start = (
        f"the SFT adapter `{init.path}` ({init.manifest.get('variant')}, trained on "
        f"{(init.manifest.get('dataset') or {}).get('ref')}, weights sha256 `{init.sha256[:16]}`)"
        if init
        else "a new LoRA adapter on the base model"
    )
    hyper = [
        ("method", f"{cfg.method} (TRL {trainer})"),
        ("reward", rl.reward + (f" + {rl.format_reward:g} x format" if rl.format_reward else "")),
        ("generations per prompt", rl.num_generations),
        ("max completion length", rl.max_completion_length),
        ("temperature", rl.temperature),
        ("beta (KL weight)", rl.beta),
        ("rank (r) / alpha", f"{variant.rank} / {variant.alpha}"),
        ("target modules", ",".join(cfg.lora.target_modules)),
        ("learning rate", f"{cfg.optim.lr:g} ({cfg.optim.scheduler}, warmup {cfg.optim.warmup_ratio:g})"),
        ("epochs / max steps", f"{cfg.optim.epochs:g} / {cfg.optim.max_steps or '-'}"),
        ("completions a step (batch x grad accum)", f"{cfg.optim.batch_size} x {cfg.optim.grad_accum}"),
        ("seed", cfg.optim.seed),
        ("dtype / device", f"{metrics.get('dtype')} / {metrics.get('device')}"),
    ]
    results = [
        ("steps", metrics.get("steps")),
        ("reward (first -> last step)", f"{_fmt(metrics.get('reward_first'), '.3f')} -> {_fmt(metrics.get('reward_last'), '.3f')}"),
        ("reward mean", _fmt(metrics.get("reward_mean"), ".3f")),
        ("share correct / wrong / no answer", " / ".join(_fmt(metrics.get(k), ".2f") for k in ("correct_share", "wrong_share", "no_answer_share"))),
        ("KL (last step)", _fmt(metrics.get("kl_last"), ".4f")),
        ("completion length (mean tokens)", _fmt(metrics.get("completion_length_mean"), ".1f")),
        ("tokens/s (prompt + completion)", _fmt(metrics.get("tokens_per_s"), ",.0f")),
        ("share of wall time in the reward", _fmt(metrics.get("reward_time_share"), ".1%")),
        ("peak memory", _memory(metrics)),
        ("wall time", _wall(metrics.get("wall_time_s"))),
    ]  # fmt: skip
    hub_id = ALIAS_HUB_IDS.get(base.spec) or (base.spec if base.revision else None)
    base_ref = hub_id or str(base.path)
    lines = [
        "---",
        *([f"base_model: {hub_id}"] if hub_id else []),
        "library_name: peft",
        f"tags: [rft, lora, {cfg.method}, reft, trl, reinforcement-learning]",
        "---",
        "",
        f"# {cfg.run_name()} / {variant.name} ({cfg.method})",
        "",
        f"A LoRA adapter trained by `rft train --method {cfg.method}` (TRL {trainer} + PEFT) on the problems of "
        f"**{data.ref}**, starting from {start}. Each step samples {rl.num_generations} completions per problem "
        f"and rewards them with rft.verify's graders (`{rl.reward}`).",
        "",
        "## Base model",
        "",
        f"- {base.spec} ({'revision ' + base.revision if base.revision else 'sha256 ' + (base.sha256 or '?')[:16]})",
        "",
        "## Prompts",
        "",
        f"- {data.summary(cfg.data.max_length)}",
        f"- system message: {data.system()!r}"
        if data.system()
        else "- no system message; the user turn is the bare question",
        "",
        "## Hyperparameters",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {k} | {_md(str(v))} |" for k, v in hyper],
        "",
        "## Results",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {_md(str(v))} |" for k, v in results],
        "",
        "![reward](reward.png)",
        "",
        "![loss](loss.png)",
        "",
        *usage_lines(base_ref),
        f"Made with rft {manifest.get('rft_version')} (git {manifest.get('git_commit') or 'unknown'}): "
        f"`{' '.join(manifest.get('command') or ['rft', 'train'])}`. "
        "The resolved config is in config.yaml, the metrics (per step too) in metrics.json.",
        "",
    ]
    return "\n".join(lines)


COLUMNS = ("variant", "status", "steps", "reward first -> last", "correct", "no answer", "KL", "tokens/s",
           "peak memory", "wall time")  # fmt: skip


def _row(o: Any) -> list[str]:
    from rft.memory import format_bytes
    from rft.train.report import _wall

    m = o.metrics or {}
    return [
        o.variant.name,
        o.status if o.status != "failed" else f"failed: {o.error}",
        str(m.get("steps", "-")),
        f"{_fmt(m.get('reward_first'), '.3f')} -> {_fmt(m.get('reward_last'), '.3f')}",
        _fmt(m.get("correct_share"), ".2f"),
        _fmt(m.get("no_answer_share"), ".2f"),
        _fmt(m.get("kl_last"), ".4f"),
        _fmt(m.get("tokens_per_s"), ",.0f"),
        format_bytes(m.get("peak_memory_bytes")),
        _wall(m.get("wall_time_s")),
    ]


def grid_table(cfg: TrainConfig, outcomes: list[Any]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=f"rft train --method {cfg.method}: reward per variant", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)  # fmt: skip
    short = ("variant", "status", "reward", "correct", "none", "KL", "tok/s", "peak mem", "wall")
    for c in short:
        table.add_column(c, justify="left" if c in ("variant", "status") else "right", no_wrap=True)
    for o in outcomes:
        cells = _row(o)
        m = o.metrics or {}
        cells[3] = f"{_fmt(m.get('reward_first'), '.2f')}→{_fmt(m.get('reward_last'), '.2f')}"
        table.add_row(*cells[:2], *cells[3:])
    return table


def grid_markdown(cfg: TrainConfig, prep: Any, outcomes: list[Any]) -> str:
    from rft.train.report import _md

    rl = prep.cfg.rl
    init = prep.data.init
    lines = [
        f"# rft train --method {cfg.method}: {cfg.run_name()}",
        "",
        f"- prompts: {prep.data.summary(cfg.data.max_length)}",
        f"- base: {prep.base.spec} ({prep.base.hash or 'unknown version'})",
        f"- start: {init.path if init else 'a new LoRA adapter'}",
        f"- reward {rl.reward}"
        + (f" + {rl.format_reward:g} x format" if rl.format_reward else "")
        + f"; {rl.num_generations} generations of at most {rl.max_completion_length} tokens, temperature "
        f"{rl.temperature:g}; beta {rl.beta:g}; lr {cfg.optim.lr:g}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_md(c) for c in _row(o)) + " |" for o in outcomes]
    lines.append("")
    return "\n".join(lines)
