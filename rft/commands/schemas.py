"""`rft schemas export DIR`: JSON Schema files of the record format, for consumers in other languages."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import typer

from rft.console import out
from rft.errors import InputError, write_error
from rft.schemas import Event, Manifest, Node, Outcome, Problem, Record, Trace

app = typer.Typer(help="The record format as JSON Schema.", no_args_is_help=True)

MODELS = {
    "record": Record,
    "problem": Problem,
    "node": Node,
    "event": Event,
    "trace": Trace,
    "outcome": Outcome,
    "manifest": Manifest,
}


def export_schemas(directory: Path) -> list[Path]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {directory}: {exc.strerror}") from exc
    written = []
    for name, model in MODELS.items():
        path = directory / f"{name}.schema.json"
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"rft/{name}.schema.json"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:  # e.g. a full disk: `path` keeps what it held, no temp file is left
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            kept = f"{len(written)} of {len(MODELS)} schema files were written"
            raise write_error(exc, path, kept) from None
        written.append(path)
    return written


@app.command("export")
def export(
    directory: Path = typer.Argument(..., help="folder to write <name>.schema.json files into"),
) -> None:
    """Write JSON Schema files for Record, Problem, Node, Event, Trace, Outcome and Manifest."""
    for path in export_schemas(directory):
        out.print(f"wrote {path}", soft_wrap=True, markup=False, highlight=False)
