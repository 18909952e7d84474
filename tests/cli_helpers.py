"""Running the real `rft` entry point inside the test process, with a console wide enough that
assertions do not depend on where rich wraps lines."""

from __future__ import annotations

import sys

import pytest

from rft.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`rft ARGS...` through `rft.cli.main` (error handling and exit codes included);
    returns (exit code, stdout, stderr)."""
    old = sys.argv
    sys.argv = ["rft", *args]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Imported into a test module, makes its rich consoles 220 columns wide."""
    from rft.console import err, out

    monkeypatch.setattr(out, "_width", 220)
    monkeypatch.setattr(err, "_width", 220)
