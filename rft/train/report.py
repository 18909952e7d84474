"""What a training run shows: the grid table (rich and Markdown), the loss curve (PNG) and the model
card (README.md) of each variant. Pure formatting over the metrics, except the PNG written by matplotlib."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from rft.memory import format_bytes

if TYPE_CHECKING:
    from rft.train.config import TrainConfig, Variant
    from rft.train.results import Outcome
    from rft.train.sft import Prepared

# The Hub model an alias of rft.teachers.local_model stands for (the card's `base_model`).
ALIAS_HUB_IDS = {
    "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
}

COLUMNS = (
    "variant",
    "status",
    "trainable / total params",
    "train loss",
    "eval loss",
    "tokens/s",
    "peak memory",
    "wall time",
)
# The terminal table's headers (narrow enough for 80 columns); grid.md has the full ones.
SHORT = ("variant", "status", "trainable", "train", "eval", "tok/s", "peak mem", "wall")


def _params(m: dict[str, Any]) -> str:
    t, n = m.get("trainable_params"), m.get("total_params")
    if not t or not n:
        return "-"
    return f"{_count(t)} / {_count(n)} ({t / n:.2%})"


def _count(n: int) -> str:
    """1234567 -> 1.23M; 460800 -> 461K."""
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.0f}K"
    return str(n)


def _num(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _memory(m: dict[str, Any]) -> str:
    kind = {"cuda_max_allocated": "CUDA", "peak_rss": "RSS", "peak_rss_process": "RSS"}.get(
        m.get("peak_memory_kind", ""), ""
    )
    text = format_bytes(m.get("peak_memory_bytes"))
    return f"{text} {kind}".strip() if text != "-" else text


def _wall(s: Any) -> str:
    if s is None:
        return "-"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def row(o: Outcome) -> list[str]:
    m = o.metrics or {}
    status = o.status if o.status != "failed" else f"failed: {o.error}"
    return [
        o.variant.name,
        status,
        _params(m),
        _num(m.get("final_train_loss"), ".4f"),
        _num(m.get("eval_loss"), ".4f"),
        _num(m.get("tokens_per_s"), ",.0f"),
        _memory(m) if m else "-",
        _wall(m.get("wall_time_s")),
    ]


def grid_table(outcomes: list[Outcome]) -> Table:
    """The grid for the terminal: trainable params as a count and share of the total, losses to 3
    places, peak memory without its kind (CUDA max allocated on GPU, peak RSS on CPU: the caption)."""
    kinds = {(o.metrics or {}).get("peak_memory_kind") for o in outcomes} - {None}
    caption = {
        "peak_rss": "peak mem: the process's peak RSS",
        "peak_rss_process": "peak mem: the process's peak RSS since it started",
        "cuda_max_allocated": "peak mem: CUDA max allocated",
    }
    table = Table(
        title="rft train: final train and eval loss per variant",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        caption="; ".join(caption[k] for k in sorted(kinds) if k in caption) or None,
    )
    for c in SHORT:
        table.add_column(c, justify="left" if c in ("variant", "status") else "right", no_wrap=c != "status")
    for o in outcomes:
        m = o.metrics or {}
        t, n = m.get("trainable_params"), m.get("total_params")
        table.add_row(
            o.variant.name,
            o.status if o.status != "failed" else f"failed: {o.error}",
            f"{_count(t)} ({t / n:.2%})" if t and n else "-",
            _num(m.get("final_train_loss"), ".3f"),
            _num(m.get("eval_loss"), ".3f"),
            _num(m.get("tokens_per_s"), ",.0f"),
            format_bytes(m.get("peak_memory_bytes")),
            _wall(m.get("wall_time_s")),
        )
    return table


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def grid_markdown(cfg: TrainConfig, prep: Prepared, outcomes: list[Outcome]) -> str:
    lines = [
        f"# rft train: {cfg.run_name()}",
        "",
        f"- data: {prep.data.summary(cfg.data.max_length)}",
        f"- base: {prep.base.spec} ({prep.base.hash or 'unknown version'})",
        f"- grid: rank {','.join(map(str, cfg.lora.rank))} x alpha {','.join(map(str, cfg.lora.alpha))}; "
        f"target modules {','.join(cfg.lora.target_modules)}; lr {cfg.optim.lr:g}, {cfg.optim.scheduler}; "
        f"batch {cfg.optim.batch_size} x {cfg.optim.grad_accum}; "
        + (f"max steps {cfg.optim.max_steps}" if cfg.optim.max_steps else f"epochs {cfg.optim.epochs:g}")
        + ("; packing" if cfg.optim.packing else ""),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for o in outcomes:
        lines.append("| " + " | ".join(_md(c) for c in row(o)) + " |")
    lines.append("")
    return "\n".join(lines)


def plot_loss(metrics: dict[str, Any], history: list[dict[str, Any]], path: Path) -> None:
    """Train loss per step, and the eval loss before and after training, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        if steps:
            ax.plot([s for s, _ in steps], [v for _, v in steps], label="train loss", color="tab:blue")
        evals = []
        if metrics.get("eval_loss_before") is not None:
            evals.append((0, metrics["eval_loss_before"]))
        if metrics.get("eval_loss") is not None:
            evals.append((metrics.get("steps", 0), metrics["eval_loss"]))
        if evals:
            ax.plot(
                [s for s, _ in evals], [v for _, v in evals], "o--", label="eval loss", color="tab:orange"
            )
        ax.set_xlabel("step")
        ax.set_ylabel("loss (completion tokens)")
        ax.set_title(f"{metrics.get('variant', '')}: r={metrics.get('rank')} alpha={metrics.get('alpha')}")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    finally:
        plt.close(fig)


def usage_lines(base_ref: str) -> list[str]:
    """A card's "Use" section: the adapter loaded on its base with PEFT."""
    return [
        "## Use",
        "",
        "```python",
        "from peft import PeftModel",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'base = AutoModelForCausalLM.from_pretrained("{base_ref}")',
        'model = PeftModel.from_pretrained(base, "<this folder>")',
        'tokenizer = AutoTokenizer.from_pretrained("<this folder>")',
        "```",
        "",
    ]


def model_card(prep: Prepared, variant: Variant, metrics: dict[str, Any], manifest: dict[str, Any]) -> str:
    cfg, base, data = prep.cfg, prep.base, prep.data
    flat = cfg.for_variant(variant)
    hyper = [
        ("rank (r)", variant.rank),
        ("alpha", variant.alpha),
        ("dropout", cfg.lora.dropout),
        ("target modules", ",".join(cfg.lora.target_modules)),
        ("rsLoRA", cfg.lora.use_rslora),
        ("DoRA", cfg.lora.use_dora),
        ("learning rate", f"{cfg.optim.lr:g} ({cfg.optim.scheduler}, warmup {cfg.optim.warmup_ratio:g})"),
        ("epochs / max steps", f"{cfg.optim.epochs:g} / {cfg.optim.max_steps or '-'}"),
        ("batch size x grad accum", f"{cfg.optim.batch_size} x {cfg.optim.grad_accum}"),
        ("max length", cfg.data.max_length),
        ("packing", cfg.optim.packing),
        ("seed", cfg.optim.seed),
        ("dtype / device", f"{metrics.get('dtype')} / {metrics.get('device')}"),
    ]
    results = [
        ("steps", metrics.get("steps")),
        ("final train loss", _num(metrics.get("final_train_loss"), ".4f")),
        (
            "eval loss (before -> after)",
            f"{_num(metrics.get('eval_loss_before'), '.4f')} -> {_num(metrics.get('eval_loss'), '.4f')}",
        ),  # fmt: skip
        (
            "trainable / total params",
            f"{metrics.get('trainable_params'):,} / {metrics.get('total_params'):,}",
        ),
        ("tokens/s (non-padding)", _num(metrics.get("tokens_per_s"), ",.0f")),
        ("peak memory", _memory(metrics)),
        ("wall time", _wall(metrics.get("wall_time_s"))),
    ]
    hub_id = ALIAS_HUB_IDS.get(base.spec) or (base.spec if base.revision else None)
    base_ref = hub_id or str(base.path)
    lines = [
        "---",
        *([f"base_model: {hub_id}"] if hub_id else []),
        "library_name: peft",
        "tags: [rft, lora, sft, trl, reasoning-traces]",
        "---",
        "",
        f"# {cfg.run_name()} / {variant.name}",
        "",
        f"A LoRA adapter trained by `rft train` (TRL SFTTrainer + PEFT) on **{data.ref}**, with the loss on "
        "the assistant turn and its end-of-turn token only.",
        "",
        "## Base model",
        "",
        f"- {base.spec} ({'revision ' + base.revision if base.revision else 'sha256 ' + (base.sha256 or '?')[:16]})"
        + (
            f": rft's alias of {hub_id}, converted from the GGUF it ships as"
            if base.spec in ALIAS_HUB_IDS
            else ""
        ),
        "",
        "## Data",
        "",
        f"- dataset: {data.ref}, data.jsonl sha256 `{data.data_sha256[:16]}`",
        f"- {data.summary(cfg.data.max_length)}",
        f"- rendering: {data.render or 'the stored messages'}"
        + (f"; system prompt: {cfg.data.system!r}" if cfg.data.system else ""),
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
        "![loss](loss.png)",
        "",
        *usage_lines(base_ref),
        f"Made with rft {manifest.get('rft_version')} (git {manifest.get('git_commit') or 'unknown'}): "
        f"`{' '.join(manifest.get('command') or ['rft', 'train'])}`. "
        f"The resolved config is in config.yaml ({len(flat)} settings), the metrics in metrics.json.",
        "",
    ]
    return "\n".join(lines)
