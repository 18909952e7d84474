"""The training examples of `rft train`: a sealed dataset version's records, filtered (trainable only
unless `--include` takes some back), re-rendered from their traces when `--render` asks (no teacher
call), turned into TRL's conversational prompt/completion form, measured in tokens (records over
`--max-length` are dropped and counted, never cut), and split into train and eval by problem id.

The prompt/completion form is what makes the loss cover the assistant turn only: TRL's completion-only
loss needs no generation markers in the chat template (SmolLM2's has none, and `assistant_only_loss`
refuses such templates), and the completion ends with the template's end-of-turn token, so the model
learns to stop."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rft.errors import InputError
from rft.schemas import Record
from rft.schemas.record import untrainable_reason
from rft.store import LoadedVersion, Store
from rft.store.export import prepare
from rft.store.hf import last_assistant
from rft.train.config import INCLUDE, DataConfig

DATA_FILE = "data.jsonl"


@dataclass
class Example:
    """One training example: TRL's conversational prompt/completion row, and the problem it is of."""

    id: str
    prompt: list[dict[str, str]]
    completion: list[dict[str, str]]
    tokens: int = 0

    def row(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "completion": self.completion}

    def text(self) -> str:
        """The completion's text (what the loss covers, before the template's end-of-turn token)."""
        return self.completion[0]["content"]


@dataclass
class TrainData:
    ref: str
    data_sha256: str
    files: dict[str, str]
    total: int
    render: str | None
    train: list[Example] = field(default_factory=list)
    eval: list[Example] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> records
    included: Counter[str] = field(default_factory=Counter)  # untrainable reason -> records kept by --include

    def system(self) -> str | None:
        """The system message the training prompts start with (from `--system`, or stored in the
        records by `rft generate --system`); None when they have none or differ."""
        found = {
            e.prompt[0]["content"] if e.prompt and e.prompt[0]["role"] == "system" else None
            for e in self.train + self.eval
        }
        return found.pop() if len(found) == 1 else None

    @property
    def kept(self) -> int:
        return len(self.train) + len(self.eval)

    def counts(self) -> dict[str, Any]:
        return {
            "records": self.total,
            "kept": self.kept,
            "train": len(self.train),
            "eval": len(self.eval),
            "dropped": dict(self.dropped),
            "included": dict(self.included),
            "train_tokens": sum(e.tokens for e in self.train),
        }

    def summary(self, max_length: int) -> str:
        """`demo@v2: 20 records, 18 kept (2 unsolved dropped: --include unsolved keeps them); 17 train, 1 eval`."""
        notes = []
        untrainable = {r: n for r, n in self.dropped.items() if r in INCLUDE}
        if untrainable:
            notes.append(f"{_reasons(untrainable)} dropped: --include {','.join(untrainable)} keeps them")
        if self.included:
            notes.append(f"{_reasons(self.included)} included")
        if self.dropped.get("no_messages"):
            notes.append(f"{self.dropped['no_messages']} without assistant text dropped")
        if self.dropped.get("too_long"):
            notes.append(f"{self.dropped['too_long']} over --max-length {max_length} tokens dropped")
        rendered = f", rendered as {self.render}" if self.render else ""
        extra = f" ({'; '.join(notes)})" if notes else ""
        return (
            f"{self.ref}{rendered}: {self.total} records, {self.kept} kept{extra}; "
            f"{len(self.train)} train, {len(self.eval)} eval"
        )


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {r}" for r, n in counts.items())


def examples_from_records(
    records: list[Record], cfg: DataConfig, seed: int = 0
) -> tuple[list[Example], Counter[str], Counter[str]]:
    """The prompt/completion examples of `records` (in order), the dropped records by reason and the
    untrainable records `--include` kept, by reason. Pure: no tokenizer, no I/O."""
    dropped: Counter[str] = Counter()
    included: Counter[str] = Counter()
    chosen: list[Record] = []
    for r in records:
        reason = untrainable_reason(r)
        if reason is not None:
            if reason not in cfg.include:
                dropped[reason] += 1
                continue
            included[reason] += 1
        chosen.append(r)
    rendered = prepare(chosen, render_style=cfg.render, system=cfg.system, seed=seed).records
    examples = []
    for r in rendered:
        i = last_assistant(r.messages)
        if i is None:
            dropped["no_messages"] += 1
            continue
        prompt = [{"role": m.role, "content": m.content} for m in r.messages[:i]]
        completion = [{"role": "assistant", "content": r.messages[i].content}]
        examples.append(Example(r.id, prompt, completion))
    return examples, dropped, included


def count_tokens(examples: list[Example], tokenizer: Any, batch: int = 256) -> None:
    """Set each example's `tokens`: its prompt + completion through the chat template, as TRL tokenizes it."""
    for start in range(0, len(examples), batch):
        chunk = examples[start : start + batch]
        enc = tokenizer.apply_chat_template(
            [e.prompt + e.completion for e in chunk], tokenize=True, return_dict=True
        )
        for e, ids in zip(chunk, enc["input_ids"], strict=True):
            e.tokens = len(ids)


def eval_fraction(problem_id: str) -> float:
    """Where a problem id falls in [0, 1): the same id always lands in the same split."""
    return int(hashlib.sha256(problem_id.encode()).hexdigest()[:8], 16) / 2**32


def split(examples: list[Example], share: float) -> tuple[list[Example], list[Example]]:
    """(train, eval): a problem is held out when its id hashes below `share`. With a share > 0 and at
    least two examples, the eval set is never empty (the lowest hash is held out)."""
    if share <= 0 or len(examples) < 2:
        return list(examples), []
    held = {e.id for e in examples if eval_fraction(e.id) < share}
    if not held:
        held = {min(examples, key=lambda e: eval_fraction(e.id)).id}
    return [e for e in examples if e.id not in held], [e for e in examples if e.id in held]


def load_train_data(cfg: DataConfig, tokenizer: Any, seed: int = 0) -> TrainData:
    """The examples of `cfg.dataset`; an InputError (one line) when there is nothing to train on."""
    loaded = Store(cfg.store).load_ref(cfg.dataset)
    return build_train_data(loaded, cfg, tokenizer, seed)


def build_train_data(loaded: LoadedVersion, cfg: DataConfig, tokenizer: Any, seed: int = 0) -> TrainData:
    ref = loaded.ref
    records = loaded.records
    has_messages = any(last_assistant(r.messages) is not None for r in records)
    has_traces = any(r.trace.nodes for r in records)
    if cfg.render and not has_traces:
        raise InputError(
            f"{ref}: --render {cfg.render} re-renders traces, and no record has one "
            "(drop --render to train on the stored messages)"
        )
    if not has_messages and not has_traces:
        raise InputError(f"{ref}: no record has messages or a trace to train on ({len(records)} records)")
    examples, dropped, included = examples_from_records(records, cfg, seed)
    count_tokens(examples, tokenizer)
    fitting = [e for e in examples if e.tokens <= cfg.max_length]
    if len(fitting) < len(examples):
        dropped["too_long"] += len(examples) - len(fitting)
    files = {name: entry.sha256 for name, entry in loaded.manifest.files.items()}
    data = TrainData(
        ref=ref,
        data_sha256=files.get(DATA_FILE, ""),
        files=files,
        total=len(records),
        render=cfg.render,
        dropped=dropped,
        included=included,
    )
    if not fitting:
        raise InputError(_nothing_left(data, cfg, examples))
    data.train, data.eval = split(fitting, cfg.eval_split)
    if not data.train:
        raise InputError(
            f"{ref}: --eval-split {cfg.eval_split:g} holds out all {len(fitting)} examples; lower it"
        )
    return data


def _nothing_left(data: TrainData, cfg: DataConfig, examples: list[Example]) -> str:
    parts = [f"nothing to train on in {data.ref}: {data.total} of {data.total} records dropped"]
    if data.dropped:
        parts[0] += f" ({_reasons(data.dropped)})"
    untrainable = [r for r in data.dropped if r in INCLUDE]
    if untrainable:
        parts.append(f"--include {','.join(untrainable)} keeps the untrainable ones")
    if data.dropped.get("too_long"):
        shortest = min(e.tokens for e in examples)
        parts.append(f"the shortest example has {shortest} tokens: raise --max-length (now {cfg.max_length})")
    return "; ".join(parts)
