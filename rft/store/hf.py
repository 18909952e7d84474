"""Conversion of records to a `datasets.Dataset` with flat, TRL-ready columns, and file export."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from datasets import Dataset, Features, List, Value
from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from rft.errors import ConfigError, InputError, write_error
from rft.schemas import Record
from rft.store.fsutil import guard_writable
from rft.store.store import EXPORT_FORMATS as FORMATS

FEATURES = Features(
    {
        "id": Value("string"),
        "question": Value("string"),
        "answer": Value("string"),
        "domain": Value("string"),
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "solved": Value("bool"),
        "correct": Value("bool"),
        "backtracks": Value("int32"),
        "render": Value("string"),
        "record": Value("string"),
    }
)


def to_hf_dataset(records: list[Record]) -> Dataset:
    """One row per record: id, question, answer, domain, messages, solved, correct, backtracks, render,
    and `record` (the full record as JSON) so nothing is lost."""
    cols: dict[str, list] = {k: [] for k in FEATURES}
    for r in records:
        cols["id"].append(r.id)
        cols["question"].append(r.problem.question)
        cols["answer"].append(r.problem.answer)
        cols["domain"].append(r.problem.domain.value)
        cols["messages"].append([m.model_dump() for m in r.messages])
        cols["solved"].append(r.outcome.solved)
        cols["correct"].append(r.outcome.correct)
        cols["backtracks"].append(r.outcome.backtracks)
        cols["render"].append(r.render)
        cols["record"].append(r.model_dump_json())
    return Dataset.from_dict(cols, features=FEATURES)


def export_dataset(records: list[Record], fmt: str, output: Path) -> Path:
    """Write the flat columns to `output` (jsonl or parquet) via `datasets`, atomically."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    guard_writable(output)
    if output.is_dir():
        raise InputError(f"--output {output} is a folder; give a file path")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {output.parent}: {exc.strerror}") from exc
    ds = to_hf_dataset(records)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    bars = not are_progress_bars_disabled()
    if bars:
        disable_progress_bars()  # the write is quick; its progress bar is noise
    try:
        if fmt == "jsonl":
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
    return output
