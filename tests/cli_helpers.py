"""Running the real `rft` entry point inside the test process, with a console wide enough that
assertions do not depend on where rich wraps lines."""

from __future__ import annotations

import sys

import pytest

from rft.cli import main


def _exit_code(*args: str) -> int:
    """`rft ARGS...` through `rft.cli.main` (error handling and exit codes included); its exit code."""
    old = sys.argv
    sys.argv = ["rft", *args]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = old
    return exc.value.code or 0


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`rft ARGS...` through `rft.cli.main`; returns (exit code, stdout, stderr)."""
    code = _exit_code(*args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_ok(*args: str) -> None:
    """`rft ARGS...` in this process where no capsys is at hand (a module fixture); a nonzero exit fails."""
    code = _exit_code(*args)
    assert not code, f"rft {' '.join(args)} exited {code}"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Imported into a test module, makes its rich consoles 220 columns wide."""
    from rft.console import err, out

    monkeypatch.setattr(out, "_width", 220)
    monkeypatch.setattr(err, "_width", 220)
