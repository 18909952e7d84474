"""Nothing that looks like a key leaves the machine: a record holding a known secret (the value of a
key env var such as HF_TOKEN, the token of this upload) or a string shaped like a provider key
(`sk-...`, `hf_...`, `Bearer ...`) stops the publish, naming the record and the field. Every file of
the folder to upload is checked the same way before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rft.errors import InputError
from rft.redaction import SECRET_VALUE_RE, known_secrets
from rft.schemas import Record


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _hit(text: str, values: list[str]) -> bool:
    return any(v in text for v in values) or SECRET_VALUE_RE.search(text) is not None


def check_records(records: Iterable[Record], where: str) -> None:
    """InputError naming the first record and field that holds a known secret or a key-shaped string."""
    values = known_secrets()
    for r in records:
        for path, text in _strings(r.model_dump(mode="json"), ""):
            if _hit(text, values):
                raise InputError(
                    f"{where}: record {r.id!r} field {path} holds something that looks like a key or token; "
                    "nothing was published (remove it and seal a new version)"
                )


def check_folder(folder: Path) -> None:
    """InputError naming the first file of `folder` that holds a known secret (byte for byte, any
    file) or, in a text file, a key-shaped string."""
    values = known_secrets()
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if any(v.encode() in data for v in values) or (text is not None and _hit(text, [])):
            raise InputError(
                f"{p.relative_to(folder)}: holds something that looks like a key or token; nothing was published"
            )
