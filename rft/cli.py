"""The `rft` command line. One thin command per stage; user errors end with one line and exit 2."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.markup import escape

from rft import __version__
from rft.commands import datasets as datasets_cmd
from rft.commands import eval as eval_cmd
from rft.commands import experiment as experiment_cmd
from rft.commands import generate as generate_cmd
from rft.commands import problems as problems_cmd
from rft.commands import publish as publish_cmd
from rft.commands import schemas as schemas_cmd
from rft.commands import teacher as teacher_cmd
from rft.commands import train as train_cmd
from rft.commands import validate as validate_cmd
from rft.console import err
from rft.errors import RftError
from rft.redaction import redact_text

app = typer.Typer(
    name="rft",
    help="Synthetic step-by-step reasoning traces with backtracking, for LoRA fine-tuning of small models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"rft {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version"
    ),
) -> None:
    pass


app.add_typer(schemas_cmd.app, name="schemas")
# stage commands register below (one line each)
app.add_typer(teacher_cmd.app, name="teacher")
app.add_typer(datasets_cmd.app, name="datasets")
app.add_typer(problems_cmd.app, name="problems")
app.command("generate")(generate_cmd.generate)
app.command("validate")(validate_cmd.validate)
app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd.eval_)
app.command("publish")(publish_cmd.publish)
app.add_typer(experiment_cmd.app, name="experiment")


def _app() -> None:
    """The app; a write refused by the disk (full, read-only, no permission) that no command turned
    into a clearer error still ends as one line."""
    import sqlite3

    from rft.errors import storage_error

    try:
        app()
    except (OSError, sqlite3.Error) as exc:
        converted = storage_error(exc)
        if converted is None:
            raise
        raise converted from exc


class _ScrubbedStream:
    """A text stream that scrubs secrets from what is written to it: covers what rft's consoles do not
    print themselves (Typer's usage errors quote the bad value, warnings from libraries)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact_text(text) if isinstance(text, str) else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def main() -> None:
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ScrubbedStream(stdout), _ScrubbedStream(stderr)
    try:
        _main()
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main() -> None:
    try:
        _app()
    except RftError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)  # err scrubs secrets
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception:  # a bug: keep the traceback for the report (stderr is scrubbed by main)
        import traceback

        sys.stderr.write(traceback.format_exc())
        sys.exit(1)


if __name__ == "__main__":
    main()
