"""`rft experiment run recipes/cpu-smoke.yaml` end to end on CPU with real parts: SmolLM2-135M as the
teacher (generate) and the student (a 2-variant LoRA grid), the real GSM8K file from
../shared/benchmarks. One run is shared by the tests: it is SIGKILLed while its first training cell
runs, then the same command resumes it to the end without redoing the finished cells."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "cpu-smoke.yaml"
# Fewer problems and eval items than the shipped recipe, the same chain.
FAST = [
    "datasets.demo.generate.limit=2",
    "eval.limit=2",
    "eval.max_new_tokens=32",
]
KILLED = "train-sft-smollm2-s0-r4-a16"


def _cmd(out: Path, bench_dir: Path, *extra: str) -> list[str]:
    sets = [f"out={out}", f"eval.benchmark_dir={bench_dir}", *FAST, *extra]
    return [
        sys.executable,
        "-m",
        "rft.cli",
        "experiment",
        "run",
        str(RECIPE),
        *(x for s in sets for x in ("--set", s)),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}


def _state(folder: Path, cell: str) -> dict:
    try:
        return json.loads((folder / "cells" / f"{cell}.json").read_text())
    except (OSError, ValueError):
        return {}


def _alive_with(text: str) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmdline = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and "experiment" not in cmdline:
                pids.append(int(p.name))
    return pids


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, bench_dir):
    out = tmp_path_factory.mktemp("exp")
    folder = out / "cpu-smoke"
    started = time.monotonic()
    proc = subprocess.Popen(
        _cmd(out, bench_dir), cwd=out, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 400
        while _state(folder, KILLED).get("status") != "running":
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the first training cell never started"
            time.sleep(0.5)
        time.sleep(4)  # the training cell is loading or training
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    first = proc.stdout.read().decode()
    killed_at = time.monotonic() - started
    deadline = time.monotonic() + 10
    while _alive_with(str(folder / "runs")) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = _alive_with(str(folder / "runs"))
    plan = _cmd(out, bench_dir)
    plan[plan.index("run")] = "plan"
    after_kill = subprocess.run(plan, cwd=out, env=_env(), capture_output=True, text=True, timeout=120)
    second = subprocess.run(
        _cmd(out, bench_dir), cwd=out, env=_env(), capture_output=True, text=True, timeout=600
    )
    return {"out": out, "folder": folder, "first": first, "second": second, "orphans": orphans, "killed_at": killed_at,
            "after_kill": after_kill.stdout,
            "total": time.monotonic() - started}  # fmt: skip


def test_a_killed_run_resumes_without_redoing_finished_cells(smoke):
    second, folder = smoke["second"], smoke["folder"]
    assert second.returncode == 0, second.stdout + second.stderr
    assert "generate-demo: done already" in second.stdout and "validate-demo: done already" in second.stdout
    assert f"{KILLED}: rft train" in second.stdout  # the interrupted cell runs again
    assert (
        _state(folder, "generate-demo")["attempts"] == 1 and _state(folder, "validate-demo")["attempts"] == 1
    )
    assert _state(folder, KILLED)["attempts"] == 2 and _state(folder, KILLED)["status"] == "done"
    assert (folder / "logs" / "generate-demo.log").read_text().count("$ rft generate") == 1
    assert smoke["orphans"] == []  # the cell that was running died with the runner
    assert (
        f"{KILLED}  [interrupted]" in smoke["after_kill"] and "validate-demo  [done]" in smoke["after_kill"]
    )


def test_the_cpu_smoke_report_holds_every_cell_with_numbers_and_cis(smoke):
    folder = smoke["folder"]
    data = json.loads((folder / "results.json").read_text())
    assert [c["status"] for c in data["cells"]] == ["done"] * 5
    assert all(c["seconds"] > 0 for c in data["cells"])
    rows = data["rows"]["gsm8k"]
    assert [(r["kind"], r.get("variant")) for r in rows] == [
        ("base", None),
        ("arm", "r4-a16"),
        ("arm", "r8-a16"),
    ]
    for r in rows:
        assert r["status"] == "ok" and r["items"] == 2
        acc = r["accuracy"]
        assert 0 <= acc["ci_low"] <= acc["value"] <= acc["ci_high"] <= 1 and acc["se"] is not None
        assert 0 <= r["extraction_failures"] <= 1 and r["latency_s"] > 0 and r["tokens_per_s"] > 0
        assert r["infer_peak_memory_bytes"] > 0 and r["bleu"] is not None
    for r in rows[1:]:
        c = r["comparison"]
        assert c["n"] == 2 and c["ci_low"] <= c["diff"] <= c["ci_high"] and c["mcnemar_p"] is not None
        assert r["trainable_params"] > 0 and r["train_peak_memory_bytes"] > 0 and r["train_wall_s"] > 0
        assert r["train_steps"] == 2 and r["teacher_cost_usd"] == 0.0
    assert rows[2]["trainable_params"] == 2 * rows[1]["trainable_params"]  # rank 8 vs rank 4
    md = (folder / "report.md").read_text()
    for c in data["cells"]:
        assert c["id"] in md
    assert "accuracy % ± SE [95% CI]" in md and "McNemar p" in md and "| smollm2 | sft r8-a16 |" in md
    assert "the data do not support a difference" in md or "the data support a difference" in md
    assert (folder / "gsm8k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"\ncpu-smoke: killed at {smoke['killed_at']:.0f} s, done at {smoke['total']:.0f} s")
    print(md)


def test_a_finished_experiment_runs_nothing(smoke, bench_dir):
    t0 = time.monotonic()
    third = subprocess.run(_cmd(smoke["out"], bench_dir), cwd=smoke["out"], env=_env(), capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert third.returncode == 0, third.stderr
    assert third.stdout.count(": done already") == 5 and "5 of 5 cells done" in third.stdout
    assert time.monotonic() - t0 < 60


def test_cells_not_run_are_shown_as_missing_never_as_zeros(smoke, bench_dir, capsys):
    from cli_helpers import run_cli

    sets = [
        f"out={smoke['out']}",
        f"eval.benchmark_dir={bench_dir}",
        *FAST,
        "arms.wide.rank=[16]",
        "arms.wide.alpha=[32]",
    ]
    code, out, err = run_cli(
        capsys, "experiment", "report", str(RECIPE), *(x for s in sets for x in ("--set", s))
    )
    assert code == 0, err
    data = json.loads((smoke["folder"] / "results.json").read_text())
    wide = [r for r in data["rows"]["gsm8k"] if r.get("arm") == "wide"]
    assert len(wide) == 1 and wide[0]["status"] == "missing"
    assert wide[0].get("accuracy") is None and wide[0]["comparison"] is None
    assert "| smollm2 | wide r16-a32 | MISSING |" in out
    assert "wide r16-a32 vs smollm2: no comparison (missing)" in out


def test_a_failing_cell_is_recorded_and_the_others_go_on(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: f\ndatasets:\n"
        f"  a: {{generate: {{problems: {tmp_path / 'gone-a.jsonl'}}}, validate: {{hub: false}}}}\n"
        f"  b: {{generate: {{problems: {tmp_path / 'gone-b.jsonl'}}}}}\n"
        "bases: {smollm2: smollm2-135m}\narms:\n  a: {dataset: a, rank: [4], alpha: [8]}\n"
        "  b: {dataset: b, rank: [4], alpha: [8]}\nbenchmarks: [gsm8k]\n"
    )
    cmd = [sys.executable, "-m", "rft.cli", "experiment", "run", str(recipe), "--set", f"out={tmp_path}"]
    res = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "generate-a: failed" in res.stderr and "generate-b: failed" in res.stderr  # b ran after a failed
    assert "validate-a: blocked (needs generate-a)" in res.stderr
    assert "eval-a-smollm2-s0: blocked (needs train-a-smollm2-s0-r4-a8)" in res.stderr
    data = json.loads((tmp_path / "f" / "results.json").read_text())
    cells = {c["id"]: c for c in data["cells"]}
    assert (
        cells["generate-a"]["status"] == "failed"
        and "gone-a.jsonl: no such file" in cells["generate-a"]["error"]
    )
    assert cells["train-b-smollm2-s0-r4-a8"]["status"] == "blocked"
    assert [r["status"] for r in data["rows"]["gsm8k"]] == ["blocked", "blocked", "blocked"]
    md = (tmp_path / "f" / "report.md").read_text()
    assert "| generate-a | failed |" in md and "gone-a.jsonl: no such file" in md
    assert "| smollm2 | a r4-a8 | BLOCKED |" in md
