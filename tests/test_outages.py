"""Outages and retries (issue 8, items 4 and 5): a teacher that fails for an infrastructure reason is
not data (nothing sealed, a clear count, exit 2, the failed problems retried by the same command);
`rft validate` never keeps a record without messages; a long Retry-After is capped, announced, and
past the cap fails at once with the server's message."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import pytest
from cli_helpers import (
    run_cli,
    wide_console,  # noqa: F401 (autouse fixture)
)
from factories import make_record
from fault_proxy import FaultProxy
from test_search import SCRIPT
from test_search_support import ScriptedTeacher

from rft.errors import RftError, TeacherError
from rft.generate.config import GenerateConfig
from rft.generate.runner import GenerateRun, problems_fingerprint
from rft.schemas import Message, Outcome, Problem, Record, Trace
from rft.store import Store
from rft.teachers import TeacherConfig, make_teacher
from rft.teachers.errors import TeacherRefused, TeacherUnavailable

PROBLEMS = [Problem(id=f"p{i}", question=f"What is 3 + {i}? ({i})", answer=str(3 + i)) for i in range(6)]
OUTAGE = "openai:x: gave up after 2 attempts: connection failed: Cannot connect to host 127.0.0.1:9"


def make_cfg(tmp_path, **kw) -> GenerateConfig:
    base = dict(problems="scripted", name="toy", out=str(tmp_path / "out"), concurrency=1, validator="answer")
    base.update(kw)
    return GenerateConfig(**base)


def execute(cfg, teacher, problems=PROBLEMS, **kw):
    return GenerateRun(
        cfg,
        ["rft", "generate"],
        teacher=teacher,
        progress=False,
        problems=problems,
        **kw,
    ).execute()


class FailsFor(ScriptedTeacher):
    """Answers like ScriptedTeacher, except that every step call of the chosen problems raises."""

    def __init__(self, marks: set[str], exc: Exception) -> None:
        super().__init__(SCRIPT)
        self.marks, self.exc = marks, exc
        self.asked: set[str] = set()

    async def chat(self, messages, **kw):
        text = messages[-1]["content"]
        for m in re.findall(r"\((\d+)\)", text):
            self.asked.add(m)
        if any(f"({m})" in text for m in self.marks):
            raise self.exc
        return await super().chat(messages, **kw)


class DiesAfter(ScriptedTeacher):
    """A server that dies for good after answering the preflight and the first `problems` problems."""

    def __init__(self, problems: int) -> None:
        super().__init__(SCRIPT)
        self.left = problems
        self.seen: list[str] = []
        self.failed_calls = 0

    async def chat(self, messages, **kw):
        text = messages[-1]["content"]
        if "Reply with OK" not in text:
            mark = re.findall(r"\((\d+)\)", text)[-1]
            if mark not in self.seen:
                self.seen.append(mark)
            if len(self.seen) > self.left:
                self.failed_calls += 1
                raise TeacherUnavailable(OUTAGE)
        return await super().chat(messages, **kw)


def events(store: Store) -> list[dict]:
    (run,) = store.runs("toy")
    return run.lines()


# --- item 4: an outage is never sealed as data ---------------------------------------------------
def test_outage_is_not_sealed_and_the_same_command_retries_then_seals(tmp_path):
    cfg = make_cfg(tmp_path)
    with pytest.raises(RftError) as info:
        execute(cfg, FailsFor({"2", "4"}, TeacherUnavailable(OUTAGE)))
    msg = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in msg
    store = Store(tmp_path / "out")
    (run,) = store.runs("toy")
    assert msg == (
        f"2 of 6 problems failed ({OUTAGE}); 4 finished problems are kept in run {run.id}; "
        "re-run the same command to retry the failed ones (or add --seal-partial to seal the 4 finished "
        "ones without them)"
    )
    assert store.versions("toy") == []  # nothing sealed
    assert not run.sealed_as
    assert run.done_ids() == {"p0", "p1", "p3", "p5"}  # the failures are not records
    failed = [e for e in events(store) if e["type"] == "problem_failed"]
    assert sorted(e["problem"] for e in failed) == ["p2", "p4"]
    assert all(e["kind"] == "outage" and e["error"] == OUTAGE for e in failed)
    # the server is back: the same command retries only the failed problems, then seals everything
    teacher = FailsFor(set(), TeacherUnavailable(OUTAGE))
    res = execute(cfg, teacher)
    assert res.ref == "toy@v1" and res.run_id == run.id
    assert teacher.asked == {"2", "4"}
    loaded = store.load_version("toy")
    assert [r.id for r in loaded.records] == [p.id for p in PROBLEMS]
    assert all(r.outcome.error is None and r.outcome.stop_reason != "error" for r in loaded.records)
    assert all(r.messages for r in loaded.records)
    assert loaded.manifest.counts["failed"] == 0 and loaded.manifest.metadata["complete"] is True


def test_the_cli_prints_one_line_and_exits_2(tmp_path, capsys, monkeypatch):
    """Through `rft.cli.main`: the count of failed problems on one line, exit 2, nothing sealed."""
    import rft.generate.runner as runner

    class FailsOnLegs(ScriptedTeacher):  # the second demo problem counts animals' legs
        async def chat(self, messages, **kw):
            if "legs" in messages[-1]["content"]:
                raise TeacherUnavailable(OUTAGE)
            return await super().chat(messages, **kw)

    teacher = FailsOnLegs(SCRIPT)
    monkeypatch.setattr(runner, "_make_teacher", lambda spec, cfg, cache: teacher)
    args = ["generate", "--problems", "demo", "--limit", "3", "--validator", "answer", "--concurrency", "1"]
    args += ["--name", "toy", "--out", str(tmp_path / "out"), "--no-progress"]
    code, out, err = run_cli(capsys, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: 1 of 3 problems failed (openai:x: gave up"), err
    assert "re-run the same command to retry" in lines[0]
    assert "sealed" not in out and Store(tmp_path / "out").versions("toy") == []
    # the escape hatch: seal what finished, and say it is incomplete
    code, out, err = run_cli(capsys, *args, "--seal-partial")
    assert code == 0, err
    assert "sealed toy@v1 (incomplete: 1 of 3 problems failed and are not in it): 2/3 problems" in out
    assert "warning: 1 of 3 problems failed (openai:x: gave up after 2 attempts" in err
    loaded = Store(tmp_path / "out").load_version("toy")
    assert len(loaded.records) == 2 and loaded.manifest.metadata["complete"] is False


def test_seal_partial_never_seals_an_empty_version(tmp_path):
    with pytest.raises(RftError, match=r"^6 of 6 problems failed .*; 0 finished problems are kept in run"):
        execute(make_cfg(tmp_path), FailsFor(set("012345"), TeacherRefused("HTTP 400")), seal_partial=True)
    assert Store(tmp_path / "out").versions("toy") == []


def test_a_dead_server_stops_new_problems_after_three_failures_in_a_row(tmp_path):
    cfg = make_cfg(tmp_path)
    teacher = DiesAfter(problems=1)
    with pytest.raises(RftError) as info:
        execute(cfg, teacher)
    assert str(info.value).startswith(f"3 of 6 problems failed and 2 were not started ({OUTAGE}); 1 finished")
    assert teacher.seen == ["0", "1", "2", "3"]  # p4 and p5 were never tried against the dead server
    assert Store(tmp_path / "out").versions("toy") == []


def test_seal_partial_seals_the_finished_ones_and_says_it_is_incomplete(tmp_path, capsys):
    cfg = make_cfg(tmp_path)
    with pytest.raises(RftError):
        execute(cfg, FailsFor({"2", "4"}, TeacherUnavailable(OUTAGE)))
    capsys.readouterr()
    res = execute(cfg, FailsFor({"2"}, TeacherUnavailable(OUTAGE)), seal_partial=True)
    loaded = Store(tmp_path / "out").load_version("toy")
    assert res.ref == "toy@v1"
    assert [r.id for r in loaded.records] == ["p0", "p1", "p3", "p4", "p5"]
    assert all(r.outcome.error is None for r in loaded.records)
    m = loaded.manifest
    assert m.metadata["complete"] is False and m.metadata["incomplete"] == "seal_partial"
    assert m.metadata["failed"] == 1 and m.metadata["failed_ids"] == ["p2"]
    assert m.counts["failed"] == 1 and m.counts["records"] == 5
    out = capsys.readouterr().out
    assert "sealed toy@v1 (incomplete: 1 of 6 problems failed and are not in it)" in out
    assert "1 problems failed" in (res.path / "README.md").read_text()


def test_a_refusal_of_one_problem_is_not_data_either_and_does_not_stop_the_run(tmp_path):
    """A 400 for one problem (e.g. a prompt too long) is not an outage: the other problems go on and
    no breaker trips; but the failure is not sealed as a record either (see the report)."""
    refused = TeacherRefused("openai:x: request refused (HTTP 400): prompt too long")
    cfg = make_cfg(tmp_path)
    teacher = FailsFor({"0", "1", "2", "3"}, refused)
    with pytest.raises(RftError) as info:
        execute(cfg, teacher)
    assert str(info.value).startswith("4 of 6 problems failed (openai:x: request refused (HTTP 400)")
    assert teacher.asked == {"0", "1", "2", "3", "4", "5"}  # refusals trip no breaker
    store = Store(tmp_path / "out")
    assert store.versions("toy") == [] and store.runs("toy")[0].done_ids() == {"p4", "p5"}
    assert {e["kind"] for e in events(store) if e["type"] == "problem_failed"} == {"refused"}


def test_old_error_records_still_load_and_are_retried(tmp_path):
    """Runs and versions written before this fix hold failures as records with stop_reason "error":
    a sealed one still loads; an unsealed run retries them and seals the retried record."""
    store = Store(tmp_path / "out")
    old = Record(
        problem=PROBLEMS[2],
        trace=Trace(strategy="dfs"),
        outcome=Outcome(error="server said 500 after 4 retries", stop_reason="error"),
    )
    store.seal("old", [make_record("a"), old], manifest={"teacher": "local:smollm2-135m"})
    assert store.load_version("old").record("p2").outcome.stop_reason == "error"
    cfg = make_cfg(tmp_path)
    run = GenerateRun(cfg, ["rft"], progress=False, problems=PROBLEMS)
    run_id = f"gen-{cfg.identity(problems_fingerprint(PROBLEMS))}"
    handle = store.open_run("toy", run_id=run_id, meta={"config": {}})
    handle.append_record(old)
    assert handle.done_ids() == set()  # a failure is not a finished problem
    teacher = FailsFor(set(), TeacherUnavailable(OUTAGE))
    run.teacher = teacher
    res = run.execute()
    assert res.ref == "toy@v1"
    rec = store.load_version("toy").record("p2")
    assert rec.outcome.error is None and rec.messages and "2" in teacher.asked


# --- validate never keeps a record without messages ----------------------------------------------
def test_validate_drops_records_without_messages_or_assistant_text(tmp_path, capsys):
    store = Store(tmp_path / "out")
    failed = Record(
        problem=Problem(id="failed", question="What is 9 + 9?", answer="18"),
        trace=Trace(strategy="dfs"),
        outcome=Outcome(error="connection refused", stop_reason="error"),
    )
    user_only = make_record("user_only")
    user_only.messages = [m for m in user_only.messages if m.role == "user"]
    blank = make_record("blank")
    blank.messages = [blank.messages[0], Message(role="assistant", content="  \n")]
    good = [make_record(f"g{i}", question=f"Question number {i}: what is {i} + {i}?") for i in range(2)]
    store.seal("d", [*good, failed, user_only, blank], manifest={"teacher": "local:smollm2-135m"})
    code, out, err = run_cli(capsys, "validate", "d", "--out", str(store.root))
    assert code == 0, err
    kept = store.load_version("d", 2).records
    assert sorted(r.id for r in kept) == ["g0", "g1"]
    report = json.loads((store.dataset_dir("d") / "v2" / "validation_report.json").read_text())
    rows = {r["record_id"]: r for r in report["rows"]}
    # a failed search is no demonstration: dropped as unsolved, with its error as the evidence
    assert rows["failed"]["check"] == "unsolved" and rows["failed"]["action"] == "dropped"
    assert rows["failed"]["evidence"] == {"stop_reason": "error", "error": "connection refused"}
    assert rows["user_only"]["check"] == "no_messages"
    assert rows["blank"]["check"] == "empty_step"
    assert "no_messages" in out


# --- item 5: Retry-After is capped, announced, and fails past the cap ---------------------------
class ProxyThread:
    """A FaultProxy on its own event loop in a thread, for code that runs its own asyncio.run."""

    def __init__(self, **kw) -> None:
        self.kw = kw
        self.proxy: FaultProxy | None = None
        self.port = 0

    def start(self) -> FaultProxy:
        self.proxy = FaultProxy(port=self.port, **self.kw)
        fut = asyncio.run_coroutine_threadsafe(self.proxy.__aenter__(), self.loop)
        fut.result(10)
        self.port = self.proxy.port
        return self.proxy

    def stop(self) -> None:
        if self.proxy is not None:
            asyncio.run_coroutine_threadsafe(self.proxy.__aexit__(None, None, None), self.loop).result(10)
            self.proxy = None

    def __enter__(self) -> ProxyThread:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def rate_limited(retry_after_s: int) -> ProxyThread:
    return ProxyThread(target="http://127.0.0.1:9", rate=1.0, kinds=("429",), retry_after_s=retry_after_s)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["sdk", "aiohttp"])
def test_retry_after_beyond_the_cap_fails_at_once_with_the_servers_message(transport):
    async def main(base_url):
        t = make_teacher(
            "openai:x", TeacherConfig(base_url=base_url, max_retries=1, timeout_s=2, transport=transport)
        )
        try:
            with pytest.raises(TeacherError) as info:
                await t.chat([{"role": "user", "content": "hi"}], max_tokens=2)
            return info.value, t.http_calls
        finally:
            await t.aclose()

    with rate_limited(100000) as p:
        t0 = time.monotonic()
        exc, calls = asyncio.run(main(p.base_url))
    assert time.monotonic() - t0 < 5
    assert isinstance(exc, TeacherUnavailable) and calls == 1
    msg = str(exc)
    assert "HTTP 429" in msg and "rate limited (injected)" in msg  # the server's own message
    assert "100000 s" in msg and "--max-retry-wait 120 s" in msg


@pytest.mark.slow
def test_ping_with_a_huge_retry_after_is_one_line_not_a_silent_sleep(capsys):
    with rate_limited(100000) as p:
        t0 = time.monotonic()
        code, out, err = run_cli(
            capsys,
            "teacher",
            "ping",
            "openai:x",
            "--base-url",
            p.base_url,
            "--timeout",
            "2",
            "--retries",
            "1",
        )
    assert time.monotonic() - t0 < 5
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "rate limited (injected)" in lines[0] and "100000 s" in lines[0] and "--max-retry-wait" in lines[0]


@pytest.mark.slow
def test_generate_with_a_huge_retry_after_is_one_line_not_a_silent_sleep(capsys, tmp_path):
    with rate_limited(100000) as p:
        t0 = time.monotonic()
        code, out, err = run_cli(
            capsys, "generate", "--problems", "demo", "--limit", "2", "--teacher", "openai:x",
            "--base-url", p.base_url, "--timeout", "5", "--max-retries", "1", "--out", str(tmp_path / "o"),
            "--no-progress",
        )  # fmt: skip
    assert time.monotonic() - t0 < 5
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "rate limited (injected)" in lines[0] and "100000 s" in lines[0]
    assert not list((tmp_path / "o").rglob("data.jsonl"))


@pytest.mark.slow
def test_max_retry_wait_flag_sets_the_cap(capsys):
    with rate_limited(3) as p:
        t0 = time.monotonic()
        code, out, err = run_cli(
            capsys, "teacher", "ping", "openai:x", "--base-url", p.base_url, "--retries", "1",
            "--max-retry-wait", "2",
        )  # fmt: skip
    assert time.monotonic() - t0 < 2.5
    assert code == 2 and "3 s" in err and "--max-retry-wait 2 s" in err


@pytest.mark.slow
def test_a_long_wait_is_announced_on_stderr(capsys, monkeypatch):
    import rft.teachers.engine as engine

    monkeypatch.setattr(engine, "ANNOUNCE_WAIT_S", 0.5)
    with rate_limited(1) as p:
        code, out, err = run_cli(
            capsys, "teacher", "ping", "openai:x", "--base-url", p.base_url, "--retries", "1"
        )
        asked = p.proxy.count("429")
    assert code == 2 and asked == 2  # waited once, retried once, then gave up
    assert "openai:x rate limited (HTTP 429); waiting 1 s as the server asks (Retry-After)" in err
    assert err.strip().splitlines()[-1].startswith("error: openai:x: gave up after 2 attempts")


def test_max_retry_wait_is_not_part_of_the_run_identity(tmp_path):
    a = make_cfg(tmp_path)
    b = make_cfg(tmp_path, max_retry_wait_s=5)
    assert a.identity("fp") == b.identity("fp") and a.teacher.max_retry_wait_s == 120


# --- end to end: a real server that dies mid-run -------------------------------------------------
@pytest.mark.slow
def test_real_server_dies_mid_run_nothing_sealed_then_the_same_command_finishes(
    tmp_path, capsys, openai_server
):
    out = tmp_path / "o"
    root = openai_server.base_url.removesuffix("/v1")
    with ProxyThread(target=root, rate=0.0) as pt:
        args = [
            "generate", "--problems", "demo", "--limit", "4", "--teacher", openai_server.spec,
            "--base-url", pt.base_url, "--validator", "answer", "--branches", "2", "--max-depth", "2",
            "--max-nodes", "4", "--max-tokens-per-step", "16", "--temperature", "0", "--concurrency", "1",
            "--max-retries", "1", "--timeout", "60", "--name", "dies", "--out", str(out), "--no-progress",
        ]  # fmt: skip

        def kill_after_first_record() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                found = list(out.glob("dies/runs/*/events.jsonl"))
                if found and '"type":"record"' in found[0].read_text():
                    pt.stop()  # the server is gone: connection refused from now on
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_after_first_record)
        killer.start()
        code, stdout, err = run_cli(capsys, *args)
        killer.join()
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2, err
        assert len(lines) == 1, err
        m = re.match(
            r"error: (\d) of 4 problems failed(?: and (\d) were not started)? \(.*connect.*\); (\d) finished "
            r"problems are kept in run (gen-\w+); re-run the same command to retry the failed ones",
            lines[0],
        )
        assert m, lines[0]
        failed, skipped, finished = int(m[1]), int(m[2] or 0), int(m[3])
        assert failed >= 1 and finished >= 1 and failed + skipped + finished == 4
        store = Store(out)
        assert store.versions("dies") == [] and "sealed" not in stdout
        (run,) = store.runs("dies")
        assert len(run.done_ids()) == finished
        assert not any(r.outcome.error for r in run.records())
        # the server is back on the same address: the same command retries the rest and seals
        pt.start()
        code, stdout, err = run_cli(capsys, *args)
        assert code == 0, err
        assert f"resuming run {m[4]}: {finished} of 4 problems already done" in err
    loaded = store.load_version("dies")
    assert len(loaded.records) == 4
    assert all(r.outcome.error is None and r.messages for r in loaded.records)
    assert loaded.manifest.metadata["complete"] is True
