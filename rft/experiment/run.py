"""`rft experiment run`: the cells that are not done, one after another in plan order, each as its
own `rft` process (the command line the plan shows). What the runner keeps of a cell:

    experiments/<name>/cells/<cell>.json   status (running | done | failed | blocked), start, end,
                                           seconds, exit code, the error's last line
    experiments/<name>/logs/<cell>.log     the command's output

Whether a cell is done is never taken from these files: it is the command's own completion marker
(`cells.marker`). A cell that fails is recorded and the others go on; a cell whose dependency is not
done is `blocked`. A run killed at any moment (SIGKILL included) resumes with the same command: the
cell that was running dies with it (PR_SET_PDEATHSIG) and its command resumes it, as every `rft`
stage resumes; finished cells are not run again. One `run` at a time per experiment (a lock)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rft.console import err, out
from rft.errors import ConfigError, write_error
from rft.experiment.cells import Cell, marker, read_json

CELLS, LOGS, LOCK = "cells", "logs", ".run.lock"


def state_path(root: Path, cell: Cell) -> Path:
    return root / CELLS / f"{cell.id}.json"


def read_state(root: Path, cell: Cell) -> dict[str, Any]:
    return read_json(state_path(root, cell)) or {}


def _write_state(root: Path, cell: Cell, state: dict[str, Any]) -> None:
    from rft.store.fsutil import replace_atomic

    path = state_path(root, cell)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomic(path, (json.dumps({"cell": cell.id, **state}, indent=2) + "\n").encode())
    except OSError as exc:
        raise write_error(exc, path) from exc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _die_with_parent() -> None:  # in the child, before exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: Any = None

    def __enter__(self) -> _Lock:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "w")
        except OSError as exc:
            raise write_error(exc, self.path) from exc
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise ConfigError(f"another `rft experiment run` is running on {self.path.parent}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def _run_in_progress(root: Path) -> bool:
    """Whether an `rft experiment run` holds the experiment's lock now."""
    import fcntl

    try:
        with open(root / LOCK) as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
    except OSError:
        return False
    return False


def status(root: Path, cell: Cell) -> str:
    """done | failed | blocked | running | interrupted (a run was killed while it ran) | pending."""
    if marker(cell) is not None:
        return "done"
    recorded = read_state(root, cell).get("status") or "pending"
    if recorded == "running" and not _run_in_progress(root):
        return "interrupted"
    return recorded


def run_cells(root: Path, cells: list[Cell], *, env: dict[str, str] | None = None) -> dict[str, str]:
    """Run every cell that is not done; the status of each at the end."""
    final: dict[str, str] = {}
    with _Lock(root / LOCK):
        for i, cell in enumerate(cells, 1):
            label = f"[{i}/{len(cells)}] {cell.id}"
            if marker(cell) is not None:
                final[cell.id] = "done"
                out.print(f"{label}: done already ({cell.output}); skipped", markup=False, soft_wrap=True)
                continue
            waiting = [d for d in cell.deps if final.get(d) != "done"]
            if waiting:
                final[cell.id] = "blocked"
                _write_state(root, cell, {"status": "blocked", "error": f"needs {', '.join(waiting)}",
                                          "command": cell.command, "at": _now()})  # fmt: skip
                err.print(f"{label}: blocked (needs {', '.join(waiting)})", markup=False, soft_wrap=True)
                continue
            final[cell.id] = _run_one(root, cell, label, env)
    return final


def _run_one(root: Path, cell: Cell, label: str, env: dict[str, str] | None) -> str:
    log = root / LOGS / f"{cell.id}.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, log.parent) from exc
    previous = read_state(root, cell)
    started = _now()
    out.print(f"{label}: {cell.command}", markup=False, soft_wrap=True)
    _write_state(root, cell, {"status": "running", "command": cell.command, "started_at": started,
                              "log": str(log), "attempts": int(previous.get("attempts", 0)) + 1})  # fmt: skip
    t0 = time.perf_counter()
    with open(log, "ab") as fh:
        fh.write(f"\n$ {cell.command}   # {started}\n".encode())
        fh.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "rft.cli", *cell.argv[1:]],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "COLUMNS": "160"},
            preexec_fn=_die_with_parent,
        )
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            proc.wait()
            raise
    seconds = time.perf_counter() - t0
    state = {"command": cell.command, "started_at": started, "finished_at": _now(), "seconds": round(seconds, 1),
             "exit_code": code, "log": str(log), "attempts": int(previous.get("attempts", 0)) + 1}  # fmt: skip
    if code == 0 and marker(cell) is not None:
        _write_state(root, cell, {"status": "done", **state})
        out.print(f"{label}: done in {seconds:.0f} s", markup=False)
        return "done"
    why = _last_error(log) if code != 0 else f"exited 0 but {cell.output} holds no finished output"
    _write_state(root, cell, {"status": "failed", "error": why, **state})
    err.print(f"{label}: failed after {seconds:.0f} s: {why} (log: {log})", markup=False, soft_wrap=True)
    return "failed"


def _last_error(log: Path) -> str:
    """The command's error line (`error: ...`), else the last line of its output."""
    try:
        lines = [
            x.strip() for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()
        ]
    except OSError:
        return "no output"
    for line in reversed(lines):
        if line.startswith("error:") or " failed:" in line:
            return line.removeprefix("error:").strip()
    return lines[-1] if lines else "no output"
