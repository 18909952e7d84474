"""`rft datasets ...` end to end: list, show (summary, rows, trace tree), merge, export, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record, make_records

from rft.store import Store

RFT = Path(sys.executable).parent / "rft"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    store = Store(tmp_path / "datasets_out")
    run = store.open_run("demo")
    for r in [*make_records(3), make_record("hard", solved=False)]:
        run.append_record(r)
    store.seal(
        "demo", run.records(), manifest={"teacher": "local:smollm2-135m", "validator": "judge"}, run=run
    )
    store.seal("demo", make_records(2), manifest={"stage": "validate", "parent": 1})
    store.open_run("demo")  # an open run in progress
    return store.root


def test_list(capsys, out_dir: Path):
    code, out, err = rft(capsys, "datasets", "list", "--out", str(out_dir))
    assert code == 0, err
    row = next(line for line in out.splitlines() if "demo" in line)
    assert "v1, v2" in row and "validate" in row
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:4] == ["demo", "v1, v2", "v2", "2"] and cells[-1] == "1"  # 2 records in v2, 1 open run


def test_list_empty(capsys, tmp_path: Path):
    code, out, _ = rft(capsys, "datasets", "list", "--out", str(tmp_path / "none"))
    assert code == 0 and "no datasets under" in out


def test_runs(capsys, out_dir: Path):
    store = Store(out_dir)
    wip = store.open_run("demo", "wip-1")
    wip.append_record(make_record("p7"))
    code, out, err = rft(capsys, "datasets", "runs", "--out", str(out_dir))
    assert code == 0, err
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert "in progress" in rows["wip-1"] and rows["wip-1"].split("│")[4].strip() == "1"
    sealed = [line for line in rows.values() if "demo@v1" in line]
    assert len(sealed) == 1 and sealed[0].split("│")[4].strip() == "4"
    code, out, _ = rft(capsys, "datasets", "runs", "other", "--out", str(out_dir))
    assert code == 0 and "no runs under" in out


def test_show_summary_and_rows(capsys, out_dir: Path):
    code, out, err = rft(capsys, "datasets", "show", "demo@v1", "--out", str(out_dir), "--rows", "10")
    assert code == 0, err
    assert "demo@v1" in out and "local:smollm2-135m" in out and "generate" in out
    assert "records 4" in out and "solved 3" in out and "backtracks 4" in out
    m = Store(out_dir).read_manifest("demo", 1)
    assert m.files["data.jsonl"].sha256[:12] in out and m.files["README.md"].sha256[:12] in out
    assert "first 4 of 4 records" in out and "hard" in out
    code, out, _ = rft(capsys, "datasets", "show", "demo", "--out", str(out_dir))
    assert code == 0 and "demo@v2" in out and "validate" in out and "demo@v1" in out  # parent shown


def test_show_record_tree(capsys, out_dir: Path):
    code, out, err = rft(
        capsys, "datasets", "show", "demo@v1", "--record", "p0", "--events", "--out", str(out_dir)
    )
    assert code == 0, err
    for expected in (
        "✔ n4 [solution] score 0.88",
        "final answer: 31  correct",
        "✘ n3 [dead_end] score 0.71",
        "final answer: 41  incorrect",
        "critique: Giving pencils away removes them",
        "↩ backtracked to n1: final answer 41 judged incorrect",
        "✗ n2 [rejected] score 0.35",
        "· n5 [unexplored]",
        "gold answer: 31",
        "solved  final answer: 31  correct",
        "backtrack n3 → n1",
    ):
        assert expected in out, expected
    lines = out.splitlines()
    # the backtrack mark sits under the dead end it left, before the next sibling
    assert lines.index(next(x for x in lines if "↩" in x)) < lines.index(
        next(x for x in lines if "n4 [solution]" in x)
    )
    code, out, _ = rft(capsys, "datasets", "show", "demo@v1", "-r", "hard", "--out", str(out_dir))
    assert code == 0 and "not solved" in out and "n4 [dead_end]" in out


def test_tree_styles_selected_path_and_dims_the_rest():
    from rft.commands.trace_tree import node_label

    rec = make_record()
    nodes = rec.trace.by_id()

    def head_style(node_id: str) -> str:
        return str(node_label(nodes[node_id], []).spans[0].style)

    assert head_style("n1") == "bold green" and head_style("n4") == "bold green"
    assert head_style("n2") == "dim" and head_style("n3") == "dim red" and head_style("n5") == "dim italic"
    label = node_label(nodes["n3"], [("n1", "wrong answer")])
    assert "↩ backtracked to n1: wrong answer" in label.plain
    assert any(str(sp.style) == "dim cyan" for sp in label.spans)  # a dimmed node's score is dimmed too


def test_merge_and_export(capsys, out_dir: Path, tmp_path: Path):
    store = Store(out_dir)
    store.seal("shard", make_records(2, prefix="s"), manifest={})
    code, out, err = rft(capsys, "datasets", "merge", "all", "demo@v2", "shard@v1", "--out", str(out_dir))
    assert code == 0, err
    assert "sealed all@v1: 4 records from 2 versions" in out and str(out_dir / "all" / "v1") in out
    target = tmp_path / "exp" / "all.jsonl"
    code, out, err = rft(
        capsys, "datasets", "export", "all", "--format", "jsonl", "-o", str(target), "--out", str(out_dir)
    )
    assert code == 0, err
    assert f"exported all@v1 (4 records, jsonl) to {target}" in " ".join(out.split())
    assert [json.loads(x)["id"] for x in target.read_text().splitlines()] == ["p0", "p1", "s0", "s1"]


def one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    lines = [x for x in err.splitlines() if x.strip()]
    text = " ".join(" ".join(lines).split())
    assert text.startswith("error:") and "Traceback" not in err, err
    for n in needles:
        assert n in text, (n, text)


@pytest.mark.parametrize(
    "args, needles",
    [
        (["show", "nope"], ["no dataset 'nope'", "datasets: demo"]),
        (["show", "demo@v9"], ["dataset 'demo' has no v9", "v1, v2"]),
        (["show", "demo@vx"], ["invalid dataset reference 'demo@vx'"]),
        (["show", "demo", "--record", "zz"], ["no record with id 'zz' in demo@v2"]),
        (["merge", "m", "demo@v1", "demo@v1"], ["demo@v1 is given twice"]),
        (
            ["export", "demo", "--format", "csv", "-o", "x.csv"],
            ["--format must be one of messages, prompt-completion, stepwise", "got 'csv'"],
        ),
    ],
    ids=["unknown-dataset", "unknown-version", "bad-ref", "unknown-record", "merge-twice", "bad-format"],
)
def test_bad_input_one_line_exit_2(capsys, out_dir: Path, args, needles):
    one_line_error(*rft(capsys, "datasets", *args, "--out", str(out_dir)), *needles)


def test_merge_conflict_exit_2_nothing_written(capsys, out_dir: Path):
    Store(out_dir).seal("other", [make_record("p0", with_backtrack=False)], manifest={})
    one_line_error(
        *rft(capsys, "datasets", "merge", "m", "demo@v1", "other", "--out", str(out_dir)),
        "problem id 'p0' is in demo@v1 and other@v1 with different records",
    )
    assert not (out_dir / "m").exists() or not list((out_dir / "m").glob("v*"))


def test_export_into_sealed_version_exit_2(capsys, out_dir: Path):
    target = out_dir / "demo" / "v1" / "x.jsonl"
    one_line_error(
        *rft(capsys, "datasets", "export", "demo", "-f", "jsonl", "-o", str(target), "--out", str(out_dir)),
        "inside sealed version demo@v1",
    )
    assert not target.exists()


def test_tampered_version_real_binary_exit_2(out_dir: Path):
    """The installed `rft` script: a tampered data file is one line on stderr and exit code 2."""
    data = out_dir / "demo" / "v1" / "data.jsonl"
    data.chmod(0o644)
    data.write_text(data.read_text().replace('"31"', '"30"', 1))
    proc = subprocess.run(
        [str(RFT), "datasets", "show", "demo@v1", "--out", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    text = " ".join(" ".join(lines).split())
    assert (
        text.startswith("error:") and "data.jsonl: sha256 mismatch" in text and "Traceback" not in proc.stderr
    )


def test_tree_of_failed_record_without_search():
    from rich.console import Console

    from rft.commands.trace_tree import render_record
    from rft.schemas import Outcome, Problem, Record

    rec = Record(
        problem=Problem(id="x1", question="What is [2+2]?", answer="4"),
        outcome=Outcome(error="teacher unreachable: connection refused", stop_reason="error"),
    )
    console = Console(record=True, width=120)
    console.print(render_record(rec, events=True))
    text = console.export_text()
    assert "What is [2+2]?" in text  # brackets are shown literally, not parsed as markup
    assert "(no search recorded)" in text and "not solved" in text
    assert "error: teacher unreachable: connection refused" in text
