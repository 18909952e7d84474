"""Errors a user can cause end with one line and exit 2 (issue 8, item 10) and nothing already
written is lost: a full disk during generate, seal, validate and `schemas export`; a read-only store
for validate and export; `--device tpu`; a corrupt response cache; a dead judge server; Ctrl-C in
validate.

A full disk is simulated where the write happens (OSError ENOSPC, sqlite3 "database or disk is
full"); a read-only folder by chmod, or, when the tests run as root (chmod stops nothing then), by
failing every write under the folder with EROFS."""

from __future__ import annotations

import asyncio
import builtins
import errno
import io
import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record
from test_search import SCRIPT
from test_search_support import ScriptedTeacher

from rft.store import Store
from rft.teachers.base import Completion
from rft.teachers.engine import ManagedTeacher

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def no_temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp" in p.name]


# --- a teacher behind the real engine (retries, response cache) without a server -----------------
class FakeServerTeacher(ManagedTeacher):
    """Step prompts answered from the search tests' script; anything else (the preflight) with OK."""

    provider = "openai"
    calls: list[str] = []

    def __init__(self, spec: str, options) -> None:
        super().__init__(spec, spec.split(":", 1)[1], options, base_url="http://fake/v1")
        self.script = ScriptedTeacher(SCRIPT)

    async def _call(self, request):
        messages, n = request.message_list, request.n
        FakeServerTeacher.calls.append(messages[-1]["content"])
        if "Write only Step" in messages[-1]["content"]:
            return await self.script.chat(
                messages, n=n, temperature=request.temperature, max_tokens=request.max_tokens
            )
        return [Completion(text="OK", prompt_tokens=3, completion_tokens=1) for _ in range(n)]


@pytest.fixture
def fake_teacher(monkeypatch):
    import rft.teachers

    FakeServerTeacher.calls = []
    monkeypatch.setattr(rft.teachers, "make_teacher", lambda spec, opts: FakeServerTeacher(spec, opts))
    return FakeServerTeacher


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    p = tmp_path / "problems.jsonl"
    rows = [{"id": f"p{i}", "question": f"What is 3 + {i}? ({i})", "answer": str(3 + i)} for i in range(3)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def generate(capsys, problems: Path, out: Path, *extra: str):
    return rft(
        capsys, "generate", "--problems", str(problems), "--teacher", "openai:fake", "--validator", "answer",
        "--name", "toy", "--out", str(out), "--concurrency", "1", "--no-progress", *extra,
    )  # fmt: skip


def only_run(store: Store, name: str = "toy"):
    [run] = store.runs(name)
    return run


# --- a full disk ------------------------------------------------------------------------------
def _enospc_after_half(monkeypatch):
    """Every write of a version file writes half of its bytes, then the disk is full."""
    import rft.store.store as store_mod

    def write(self, data: bytes) -> None:
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_mod._HashingWriter, "write", write)


def test_disk_full_while_sealing_generate_keeps_the_run(
    capsys, tmp_path, problems, fake_teacher, monkeypatch
):
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _enospc_after_half(m)
        code, _, err = generate(capsys, problems, out)
    assert code == 2
    line = one_line(err)
    assert "disk is full" in line and str(out / "toy") in line and "toy@v1" in line, line
    store = Store(out)
    assert store.versions("toy") == [] and not (out / "toy" / "LATEST").exists()
    assert not no_temps(out / "toy")
    run = only_run(store)
    assert run.sealed_as is None and [r.id for r in run.records()] == ["p0", "p1", "p2"]
    calls = len(fake_teacher.calls)
    # space freed: the same command seals what was finished, without asking the teacher again
    code, stdout, err = generate(capsys, problems, out)
    assert code == 0, err
    assert store.versions("toy") == [1] and len(store.load_version("toy").records) == 3
    assert len(fake_teacher.calls) == calls  # even the preflight is answered from the response cache


def test_disk_full_appending_to_the_run_keeps_finished_lines(
    capsys, tmp_path, problems, fake_teacher, monkeypatch
):
    import rft.store.run as run_mod

    out = tmp_path / "out"
    appends = {"records": 0}

    class HalfThenFull:  # the run file: from the second finished problem on, the disk is full
        def __init__(self, fh):
            self.fh = fh

        def write(self, s: bytes) -> int:
            appends["records"] += 1
            if appends["records"] < 2:
                return self.fh.write(s)
            self.fh.write(s[: len(s) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fake_open(path, mode="r", *args, **kw):
        fh = builtins.open(path, mode, *args, **kw)
        if Path(path).name == "events.jsonl" and "a" in mode:
            return HalfThenFull(fh)
        return fh

    with monkeypatch.context() as m:
        m.setattr(run_mod, "open", fake_open, raising=False)
        code, _, err = generate(capsys, problems, out)
    assert code == 2
    line = one_line(err)
    assert "disk is full" in line and "events.jsonl" in line, line
    run = only_run(Store(out))
    raw = run.events_path.read_bytes()
    assert raw.endswith(b"\n"), raw[-80:]  # the half-written line was cut off again
    assert [r.id for r in run.records()] == ["p0"] and Store(out).versions("toy") == []
    code, _, err = generate(capsys, problems, out)
    assert code == 0, err
    assert [r.id for r in Store(out).load_version("toy").records] == ["p0", "p1", "p2"]


def test_disk_full_in_the_response_cache_stops_the_run(capsys, tmp_path, problems, fake_teacher, monkeypatch):
    import rft.teachers.cache as cache_mod

    out = tmp_path / "out"
    real_connect = sqlite3.connect

    class FullDisk:
        """A connection whose inserts fail once the second problem has started."""

        def __init__(self, db):
            self.db = db

        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith("INSERT") and any("3 + 1?" in c for c in fake_teacher.calls):
                raise sqlite3.OperationalError("database or disk is full")
            return self.db.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.db, name)

    with monkeypatch.context() as m:
        m.setattr(cache_mod.sqlite3, "connect", lambda *a, **kw: FullDisk(real_connect(*a, **kw)))
        code, _, err = generate(capsys, problems, out)
    assert code == 2
    line = one_line(err)
    run = only_run(Store(out))
    assert "response cache" in line and str(run.cache_path) in line and "disk is full" in line, line
    # p1 is not recorded as a failed problem: it is simply not done, and a re-run does it
    lines = [json.loads(x) for x in run.events_path.read_text().splitlines()]
    assert [x["record"]["problem"]["id"] for x in lines if x["type"] == "record"] == ["p0"]
    assert Store(out).versions("toy") == []
    code, _, err = generate(capsys, problems, out)
    assert code == 0, err
    recs = Store(out).load_version("toy").records
    assert [r.id for r in recs] == ["p0", "p1", "p2"] and all(r.outcome.error is None for r in recs)


def test_disk_full_anywhere_else_is_still_one_line(capsys, tmp_path, problems, fake_teacher, monkeypatch):
    """The safety net in rft.cli: here the run's own run.json cannot be written."""
    import rft.store.fsutil as fsutil

    real = fsutil.write_durable

    def write_durable(path: Path, data: bytes) -> None:
        if ".run.json.tmp" in path.name:
            path.write_bytes(data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data)

    with monkeypatch.context() as m:
        m.setattr(fsutil, "write_durable", write_durable)
        code, _, err = generate(capsys, problems, tmp_path / "out")
    assert code == 2
    line = one_line(err)
    assert line.startswith("error: cannot write ") and "run.json: the disk is full" in line, line
    assert not no_temps(tmp_path / "out") and not list((tmp_path / "out").rglob("run.json"))
    code, _, err = generate(capsys, problems, tmp_path / "out")
    assert code == 0, err


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "out")
    recs = [
        make_record("a", question="A train leaves at 3 pm and travels 60 miles per hour for two hours."),
        make_record("b", question="Mia buys 4 packs of 6 stickers and gives 5 of them to her brother."),
    ]
    s.seal("demo", recs, manifest={"teacher": "local:smollm2-135m"})
    return s


def test_disk_full_while_validate_seals_leaves_latest(capsys, store: Store, monkeypatch):
    ddir = store.dataset_dir("demo")
    _enospc_after_half(monkeypatch)
    code, _, err = rft(capsys, "validate", "demo", "--no-hub", "--out", str(store.root))
    assert code == 2
    line = one_line(err)
    assert "disk is full" in line and "demo@v2" in line and str(ddir) in line, line
    assert (ddir / "LATEST").read_text() == "v1\n" and store.versions("demo") == [1]
    assert not no_temps(ddir)
    store.load_version("demo", 1)  # v1 intact (checksums verified)


def test_disk_full_writing_the_report(capsys, store: Store, monkeypatch):
    real = Path.write_text

    def write_text(self, data, *a, **kw):
        if self.parent.name == "reports":
            real(self, data[:100], *a, **kw)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data, *a, **kw)

    monkeypatch.setattr(Path, "write_text", write_text)
    code, _, err = rft(capsys, "validate", "demo", "--no-hub", "--report-only", "--out", str(store.root))
    assert code == 2
    line = one_line(err)
    reports = store.dataset_dir("demo") / "reports"
    assert "disk is full" in line and str(reports) in line, line
    assert list(reports.iterdir()) == []  # no half-written report, no temp file


def test_disk_full_during_schemas_export(capsys, tmp_path, monkeypatch):
    d = tmp_path / "schemas"
    code, _, err = rft(capsys, "schemas", "export", str(d))
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    real = Path.write_text
    seen = []

    def write_text(self, data, *a, **kw):
        seen.append(self)
        if len(seen) == 3:
            real(self, data[:50], *a, **kw)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data, *a, **kw)

    monkeypatch.setattr(Path, "write_text", write_text)
    code, _, err = rft(capsys, "schemas", "export", str(d))
    assert code == 2
    line = one_line(err)
    assert "disk is full" in line and str(d / "node.schema.json") in line, line
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before  # nothing half-written, no temp


# --- a read-only store ------------------------------------------------------------------------
def read_only(monkeypatch, folder: Path) -> None:
    """Make `folder` read-only: chmod, and where chmod stops nothing (root), fail every write under
    it with EROFS the way a read-only file system does."""
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir():
            p.chmod(0o555)
    if os.geteuid() != 0:
        return
    root = str(folder.resolve())

    def under(path) -> bool:
        try:
            return os.path.abspath(os.fsdecode(path)).startswith(root)
        except TypeError:
            return False

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    real_os_open, real_open, real_mkdir = os.open, io.open, os.mkdir
    real_unlink, real_rename, real_replace = os.unlink, os.rename, os.replace
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def os_open(path, flags, *a, **kw):
        if flags & writing and under(path):
            refuse(path)
        return real_os_open(path, flags, *a, **kw)

    def open_(file, mode="r", *a, **kw):
        if isinstance(file, str | bytes | os.PathLike) and set(mode) & set("wax+") and under(file):
            refuse(file)
        return real_open(file, mode, *a, **kw)

    def guard(real):
        def f(src, *a, **kw):
            if under(src) or (a and under(a[0])):
                refuse(src)
            return real(src, *a, **kw)

        return f

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(os, "mkdir", guard(real_mkdir))
    monkeypatch.setattr(os, "unlink", guard(real_unlink))
    monkeypatch.setattr(os, "remove", guard(real_unlink))
    monkeypatch.setattr(os, "rename", guard(real_rename))
    monkeypatch.setattr(os, "replace", guard(real_replace))


@pytest.fixture
def writable_again(tmp_path):
    yield
    for p in [tmp_path, *tmp_path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


def test_validate_on_a_read_only_store(capsys, store: Store, monkeypatch, writable_again):
    ddir = store.dataset_dir("demo")
    read_only(monkeypatch, store.root)
    code, _, err = rft(capsys, "validate", "demo", "--no-hub", "--out", str(store.root))
    monkeypatch.undo()
    assert code == 2
    line = one_line(err)
    assert str(ddir) in line and ("read-only" in line or "permission denied" in line), line
    assert store.versions("demo") == [1] and (ddir / "LATEST").read_text() == "v1\n"


def test_export_into_a_read_only_folder(capsys, store: Store, tmp_path, monkeypatch, writable_again):
    ro = tmp_path / "ro"
    ro.mkdir()
    for fmt in ("jsonl", "parquet"):
        with monkeypatch.context() as m:
            read_only(m, ro)
            code, _, err = rft(
                capsys, "datasets", "export", "demo", "-f", fmt, "-o", str(ro / f"x.{fmt}"), "--out", str(store.root)
            )  # fmt: skip
        assert code == 2
        line = one_line(err)
        assert str(ro / f"x.{fmt}") in line and ("read-only" in line or "permission denied" in line), line
        ro.chmod(0o755)
        assert list(ro.iterdir()) == []


# --- --device ---------------------------------------------------------------------------------
DEVICE_VALUES = ("cpu", "cuda", "cuda:N", "mps", "auto")


def test_generate_device_tpu_is_refused_before_any_work(capsys, tmp_path, problems, monkeypatch):
    from rft import teachers

    def no_teacher(*a, **kw):
        raise AssertionError("no teacher may be built with a bad --device")

    monkeypatch.setattr(teachers, "make_teacher", no_teacher)
    for teacher in ("local:smollm2-135m", "openai:fake"):
        code, _, err = rft(
            capsys, "generate", "--problems", str(problems), "--teacher", teacher, "--device", "tpu",
            "--out", str(tmp_path / "out"),
        )  # fmt: skip
        assert code == 2
        line = one_line(err)
        assert "--device" in line and "tpu" in line and all(v in line for v in DEVICE_VALUES), line
        assert not (tmp_path / "out").exists()


def test_teacher_ping_device_tpu(capsys, monkeypatch):
    import rft.teachers.local as local

    monkeypatch.setattr(local, "load_model", lambda *a: pytest.fail("no model may load with a bad --device"))
    code, _, err = rft(capsys, "teacher", "ping", "local:smollm2-135m", "--device", "tpu")
    assert code == 2
    line = one_line(err)
    assert "--device" in line and "tpu" in line and all(v in line for v in DEVICE_VALUES), line


def test_device_values_that_are_accepted():
    from rft.teachers.local_model import check_device

    for ok in ("cpu", "cuda", "cuda:0", "cuda:12", "mps", "auto", None):
        assert check_device(ok) == ok
    for bad in ("tpu", "cuda:", "cuda:x", "CPU ", "gpu"):
        with pytest.raises(Exception, match="--device"):
            check_device(bad)


# --- a corrupt response cache -----------------------------------------------------------------
def _interrupted_run(capsys, problems: Path, out: Path, monkeypatch):
    """A run stopped by Ctrl-C on its second problem: finished problems and a cache on disk."""

    async def interrupt(self, *a, **kw):
        if any("3 + 1?" in c for c in FakeServerTeacher.calls):
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C does: asyncio cancels the run
            await asyncio.sleep(5)
        return await real(self, *a, **kw)

    real = FakeServerTeacher._call
    with monkeypatch.context() as m:
        m.setattr(FakeServerTeacher, "_call", interrupt)
        code, _, err = generate(capsys, problems, out)
    assert code == 130, err
    return only_run(Store(out))


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not sqlite " * 300)


def _malformed_pages(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[4096:] = b"\x07" * (len(raw) - 4096)  # header intact, every page after the first broken
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("corrupt", [_garbage, _malformed_pages])
def test_corrupt_response_cache_says_how_to_discard_it(
    capsys, tmp_path, problems, fake_teacher, monkeypatch, corrupt
):
    out = tmp_path / "out"
    run = _interrupted_run(capsys, problems, out, monkeypatch)
    db = sqlite3.connect(run.cache_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for side in ("-wal", "-shm"):
        Path(str(run.cache_path) + side).unlink(missing_ok=True)
    assert run.cache_path.stat().st_size > 4096
    corrupt(run.cache_path)
    code, _, err = generate(capsys, problems, out)
    assert code == 2
    line = one_line(err)
    assert "response cache" in line and str(run.cache_path) in line and "corrupt" in line, line
    assert "delete" in line and "not usable" not in line, line
    assert [r.id for r in run.records()] == ["p0"]  # finished work untouched
    run.cache_path.unlink()  # as the message says: only cached responses are lost
    code, _, err = generate(capsys, problems, out)
    assert code == 0, err
    assert [r.id for r in Store(out).load_version("toy").records] == ["p0", "p1", "p2"]


# --- validate: a dead judge, Ctrl-C -------------------------------------------------------------
def test_dead_judge_fails_before_any_work(capsys, store: Store, monkeypatch):
    import rft.validate.run as vrun

    def no_work(*a, **kw):
        raise AssertionError("validation must not start with a dead judge")

    monkeypatch.setattr(vrun, "validate_records", no_work)
    code, _, err = rft(
        capsys, "validate", "demo", "--no-hub", "--semantic", "--judge", "openai:m",
        "--judge-base-url", "http://127.0.0.1:9/v1", "--out", str(store.root),
    )  # fmt: skip
    assert code == 2
    line = one_line(err)
    assert "--judge" in line and "openai:m" in line and "connect" in line.lower(), line
    assert store.versions("demo") == [1] and not (store.dataset_dir("demo") / "reports").exists()


@pytest.mark.parametrize("report_only", [False, True])
def test_validate_ctrl_c_says_what_was_kept(capsys, store: Store, monkeypatch, report_only):
    import rft.validate.run as vrun

    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(vrun, "validate_records", interrupt)
    args = ["--report-only"] if report_only else []
    code, _, err = rft(capsys, "validate", "demo", "--no-hub", "--out", str(store.root), *args)
    assert code == 130
    line = one_line(err)
    assert "interrupted" in line and "demo@v1" in line and "untouched" in line and "re-run" in line, line
    assert ("no report was written" if report_only else "nothing was sealed") in line, line
    assert err == line + "\n"  # no blank line left by the progress bar either
    assert store.versions("demo") == [1] and not no_temps(store.root)
