"""Conversion of records to a `datasets.Dataset` with flat, TRL-ready columns, and file export.

Three column sets (`--format`): `messages` (TRL's conversational language-modeling type, plus the
record's fields), `prompt-completion` (TRL's conversational prompt/completion type: completion-only
loss) and `stepwise` (stepwise-supervision rows, the format of Hub PRM datasets such as
`trl-lib/math_shepherd`). The file type comes from the output's suffix.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset, Features, List, Value
from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from rft.errors import ConfigError, InputError, write_error
from rft.schemas import Message, Record
from rft.store.formats import EXPORT_FORMATS, FILE_TYPES, LEGACY_FORMATS
from rft.store.fsutil import guard_writable

MESSAGE = {"role": Value("string"), "content": Value("string")}

FEATURES = Features(
    {
        "id": Value("string"),
        "question": Value("string"),
        "answer": Value("string"),
        "domain": Value("string"),
        "messages": List(MESSAGE),
        "solved": Value("bool"),
        "correct": Value("bool"),
        "trainable": Value("bool"),
        "backtracks": Value("int32"),
        "render": Value("string"),
        "record": Value("string"),
    }
)

PROMPT_COMPLETION_FEATURES = Features(
    {
        "id": Value("string"),
        "prompt": List(MESSAGE),
        "completion": List(MESSAGE),
        "answer": Value("string"),
        "trainable": Value("bool"),
    }
)

STEPWISE_FEATURES = Features(
    {
        "id": Value("string"),
        "prompt": Value("string"),
        "completions": List(Value("string")),
        "labels": List(Value("bool")),
        "values": List(Value("float64")),
    }
)


def resolve_format(fmt: str, output: Path) -> tuple[str, str]:
    """(columns, file type) of an export: `--format` names the columns and the `--output` suffix the
    file type; the older `--format jsonl|parquet` means messages columns in that file type."""
    if fmt in LEGACY_FORMATS:
        return "messages", fmt
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(
            f"--format must be one of {', '.join(EXPORT_FORMATS)} (or {', '.join(LEGACY_FORMATS)}: "
            f"messages in that file type), got {fmt!r}"
        )
    suffix = output.suffix.lower()
    if suffix not in FILE_TYPES:
        raise ConfigError(
            f"--output {output}: cannot tell the file type from {suffix or 'no suffix'!r} "
            f"(use {', '.join(FILE_TYPES)})"
        )
    return fmt, FILE_TYPES[suffix]


def last_assistant(messages: list[Message]) -> int | None:
    """Index of the last assistant message with text, or None (nothing to train on)."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "assistant":
            return i if messages[i].content.strip() else None
    return None


def to_hf_dataset(records: list[Record]) -> Dataset:
    """One row per record: id, question, answer, domain, messages, solved, correct, trainable,
    backtracks, render, and `record` (the full record as JSON) so nothing is lost."""
    cols: dict[str, list] = {k: [] for k in FEATURES}
    for r in records:
        cols["id"].append(r.id)
        cols["question"].append(r.problem.question)
        cols["answer"].append(r.problem.answer)
        cols["domain"].append(r.problem.domain.value)
        cols["messages"].append([m.model_dump() for m in r.messages])
        cols["solved"].append(r.outcome.solved)
        cols["correct"].append(r.outcome.correct)
        cols["trainable"].append(r.outcome.trainable)
        cols["backtracks"].append(r.outcome.backtracks)
        cols["render"].append(r.render)
        cols["record"].append(r.model_dump_json())
    return Dataset.from_dict(cols, features=FEATURES)


def to_prompt_completion(records: list[Record]) -> Dataset:
    """TRL's conversational prompt/completion rows: `prompt` = the messages before the last assistant
    turn (system, user), `completion` = [that assistant message]; plus id, answer, trainable. A record
    without assistant text gives no row."""
    cols: dict[str, list] = {k: [] for k in PROMPT_COMPLETION_FEATURES}
    for r in records:
        i = last_assistant(r.messages)
        if i is None:
            continue
        cols["id"].append(r.id)
        cols["prompt"].append([m.model_dump() for m in r.messages[:i]])
        cols["completion"].append([r.messages[i].model_dump()])
        cols["answer"].append(r.problem.answer)
        cols["trainable"].append(r.outcome.trainable)
    return Dataset.from_dict(cols, features=PROMPT_COMPLETION_FEATURES)


def to_stepwise(records: list[Record]) -> Dataset:
    """Stepwise-supervision rows of every record (`rft.generate.labels.stepwise_rows`)."""
    from rft.generate.labels import stepwise_rows

    cols: dict[str, list] = {k: [] for k in STEPWISE_FEATURES}
    for r in records:
        for row in stepwise_rows(r):
            for k in cols:
                cols[k].append(row[k])
    return Dataset.from_dict(cols, features=STEPWISE_FEATURES)


@dataclass
class Exported:
    path: Path
    columns: str
    file_type: str
    rows: int
    no_assistant_text: list[str] = field(default_factory=list)  # ids left out of a chat export


def export_dataset(records: list[Record], fmt: str, output: Path) -> Exported:
    """Write one column set of `records` to `output` (jsonl or parquet) via `datasets`, atomically.
    Chat exports leave out records whose assistant text is empty, and say which."""
    columns, file_type = resolve_format(fmt, output)
    guard_writable(output)
    if output.is_dir():
        raise InputError(f"--output {output} is a folder; give a file path")
    empty: list[str] = []
    if columns == "stepwise":
        ds = to_stepwise(records)
    else:
        empty = [r.id for r in records if last_assistant(r.messages) is None]
        with_text = [r for r in records if last_assistant(r.messages) is not None]
        ds = to_hf_dataset(with_text) if columns == "messages" else to_prompt_completion(with_text)
    _write(ds, file_type, output)
    return Exported(output, columns, file_type, len(ds), empty)


def _write(ds: Dataset, file_type: str, output: Path) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {output.parent}: {exc.strerror}") from exc
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    bars = not are_progress_bars_disabled()
    if bars:
        disable_progress_bars()  # the write is quick; its progress bar is noise
    try:
        if file_type == "jsonl":
            ds.to_json(str(tmp), lines=True, force_ascii=False)
        else:
            ds.to_parquet(str(tmp))
        os.replace(tmp, output)
    except OSError as exc:
        raise write_error(exc, output, "nothing was exported") from exc
    finally:
        with contextlib.suppress(OSError):  # on a read-only folder even this fails
            tmp.unlink(missing_ok=True)
        if bars:
            enable_progress_bars()
