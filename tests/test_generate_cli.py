"""`rft generate` from the command line with real parts: bad input, the `openai:` provider against a
real `transformers serve` with SmolLM2 on GSM8K, and a SIGKILL-then-resume of a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rft.schemas import EventType, Record, check_integrity
from rft.store import Store

RFT = str(Path(sys.executable).with_name("rft"))


def rft(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([RFT, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--strategy", "bfs"], "--strategy"),
        (["--validator", "vibes"], "--validator"),
        (["--threshold", "3"], "--threshold"),
        (["--render", "tree"], "--render"),
        (["--teacher", "nosuch:model"], "nosuch"),
        (["--prompt-template", "missing.j2"], "missing.j2"),
        (["--api-key-env", "sk-live key"], "--api-key-env"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    r = rft(
        "generate", "--problems", "demo", "--limit", "2", "--out", str(tmp_path / "o"), *args, cwd=tmp_path
    )
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("v1"))


def test_problem_without_question_is_one_line(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(
        json.dumps({"question": "What is 2+2?", "answer": "4"}) + "\n" + json.dumps({"answer": "5"}) + "\n"
    )
    r = rft("generate", "--problems", str(f), "--dry-run", cwd=tmp_path)
    assert r.returncode == 2
    assert "p.jsonl" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_dry_run_on_real_gsm8k(tmp_path, bench_dir):
    train = bench_dir / "gsm8k" / "train.jsonl"
    r = rft(
        "generate",
        "--problems",
        str(train),
        "--preset",
        "gsm8k",
        "--limit",
        "50",
        "--dry-run",
        "--teacher",
        "openai:gpt-4o-mini",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "problems: 50" in r.stdout and "upper bound" in r.stdout
    assert not (tmp_path / "o").exists()


def _records(out: Path, name: str) -> list[Record]:
    return Store(out).load_version(name).records


@pytest.mark.slow
def test_gsm8k_through_openai_provider_dfs_composite(tmp_path, bench_dir, openai_server):
    out = tmp_path / "o"
    r = rft(
        "generate",
        "--problems",
        str(bench_dir / "gsm8k" / "train.jsonl"),
        "--preset",
        "gsm8k",
        "--limit",
        "5",
        "--teacher",
        f"openai:{openai_server.model}",
        "--base-url",
        openai_server.base_url,
        "--strategy",
        "dfs",
        "--validator",
        "composite",
        "--branches",
        "2",
        "--max-depth",
        "2",
        "--max-nodes",
        "6",
        "--threshold",
        "0.9",
        "--max-tokens-per-step",
        "32",
        "--judge-max-tokens",
        "16",
        "--concurrency",
        "5",
        "--name",
        "gsm8k-it",
        "--out",
        str(out),
        "--no-progress",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "gsm8k-it/v1" in r.stdout
    loaded = Store(out).load_version("gsm8k-it")
    assert len(loaded.records) == 5
    backtracks = 0
    for rec in loaded.records:
        Record.model_validate(rec.model_dump(mode="json"))
        check_integrity(rec.trace)
        assert rec.outcome.error is None, rec.outcome.error
        assert rec.render == "backtrack" and rec.messages[0].content == rec.problem.question
        backtracks += sum(1 for _ in rec.trace.iter_events(EventType.backtrack))
    assert backtracks >= 1
    m = loaded.manifest
    assert m.validator.startswith("composite") and m.counts["teacher_calls"] > 0 and m.tokens_out > 0


def _generate_args(server, problems: Path, out: Path) -> list[str]:
    return [
        "generate",
        "--problems",
        str(problems),
        "--preset",
        "gsm8k",
        "--limit",
        "3",
        "--teacher",
        f"openai:{server.model}",
        "--base-url",
        server.base_url,
        "--validator",
        "answer",
        "--branches",
        "2",
        "--max-depth",
        "2",
        "--max-nodes",
        "4",
        "--max-tokens-per-step",
        "16",
        "--temperature",
        "0",
        "--concurrency",
        "1",
        "--seed",
        "7",
        "--name",
        "crash",
        "--out",
        str(out),
        "--no-progress",
    ]


def _comparable(rec: Record) -> dict:
    d = rec.model_dump(mode="json")
    d["outcome"].pop("wall_time_s")
    d["outcome"].pop("cost_usd")
    return d


@pytest.mark.slow
def test_sigkill_halfway_then_resume_equals_uninterrupted(tmp_path, bench_dir, openai_server):
    problems = bench_dir / "gsm8k" / "train.jsonl"
    killed_out = tmp_path / "killed"
    proc = subprocess.Popen(
        [RFT, *_generate_args(openai_server, problems, killed_out)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    events = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(killed_out.glob("crash/runs/*/events.jsonl"))
        if found and sum(1 for line in found[0].read_text().splitlines() if '"type":"record"' in line) >= 1:
            events = found[0]
            break
        time.sleep(0.05)
    assert events is not None, "the run never got halfway"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(killed_out)
    assert store.versions("crash") == []  # nothing sealed by the killed run
    done_before = store.runs("crash")[0].done_ids()
    assert 1 <= len(done_before) < 3
    r = rft(*_generate_args(openai_server, problems, killed_out), cwd=tmp_path)  # the same command resumes
    assert r.returncode == 0, r.stderr
    assert f"{len(done_before)} of 3 problems already done" in r.stderr
    clean_out = tmp_path / "clean"
    r = rft(*_generate_args(openai_server, problems, clean_out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    a, b = _records(killed_out, "crash"), _records(clean_out, "crash")
    assert [x.id for x in a] == [x.id for x in b] and len(a) == 3
    for x, y in zip(a, b, strict=True):
        assert _comparable(x) == _comparable(y), x.id


def test_dead_server_is_one_line_naming_the_teacher(tmp_path):
    """A dead OpenAI-compatible server: one line before the run starts, the spec printed as typed
    (rich must not read `:m:` as an emoji code), nothing sealed."""
    r = rft(
        "generate", "--problems", "demo", "--limit", "1", "--teacher", "openai:m",
        "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0", "--out", str(tmp_path / "o"),
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "openai:m:" in lines[0] and "connect" in lines[0].lower(), r.stderr
    assert not list((tmp_path / "o").rglob("data.jsonl"))
