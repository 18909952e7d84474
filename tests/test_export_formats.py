"""`rft datasets export --format messages|prompt-completion|stepwise`, the file type from the output's
suffix, `--trainable-only`, `--render` and `--system`, through the CLI; the files load with `datasets`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from datasets import load_dataset
from factories import make_record
from test_datasets_cli import one_line_error
from test_labels import search_record

from rft.generate.labels import answer_correct, fill_values
from rft.generate.render import render
from rft.schemas import Message, Record
from rft.store import Store


def records() -> list[Record]:
    """Two trainable records, a real dfs search (trainable), an unsolved one, one wrong against gold,
    one whose gold was never checked, and a solved one whose assistant turn is empty."""
    wrong = make_record("wrong")
    wrong.outcome.final_answer, wrong.outcome.correct = "41", False
    unchecked = make_record("unchecked")
    unchecked.outcome.correct = None
    blank = make_record("blank")
    blank.messages = [blank.messages[0], Message(role="assistant", content="  ")]
    search = search_record("dfs")
    search.outcome.final_answer, search.outcome.correct = "7", True
    search.messages = render(search, "backtrack")
    recs = [
        make_record("p0"),
        make_record("p1", with_backtrack=False),
        search,
        make_record("hard", solved=False),
    ]
    return [Record.model_validate(r.model_dump()) for r in [*recs, wrong, unchecked, blank]]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    store = Store(tmp_path / "datasets_out")
    store.seal("demo", records(), manifest={"teacher": "scripted:test"})
    return store.root


def export(capsys, out_dir: Path, *args: str) -> str:
    code, out, err = rft(capsys, "datasets", "export", "demo", *args, "--out", str(out_dir))
    assert code == 0, err
    return " ".join(out.split())


@pytest.mark.parametrize("suffix, builder", [(".jsonl", "json"), (".parquet", "parquet")])
def test_stepwise_export_loads_and_its_labels_are_the_tree_values(capsys, out_dir, tmp_path, suffix, builder):
    target = tmp_path / f"prm{suffix}"
    out = export(capsys, out_dir, "--format", "stepwise", "-o", str(target))
    ds = load_dataset(builder, data_files=str(target), split="train")
    assert ds.column_names == ["id", "prompt", "completions", "labels", "values"]
    assert f"exported demo@v1 ({len(ds)} stepwise rows from 7 records, {suffix[1:]}) to {target}" in out
    by_id = {r.id: r for r in Store(out_dir).load_version("demo").records}
    for row in ds:
        rid, node_id = row["id"].split("/")
        rec = by_id[rid]
        trace = rec.trace.model_copy(deep=True)
        fill_values(trace, rec.problem.answer, "math")
        path = [n for n in trace.ancestors(node_id) if n.parent is not None]
        assert row["prompt"] == rec.problem.question
        assert row["completions"] == [n.text for n in path]
        assert row["values"] == [n.value for n in path]
        assert row["labels"][:-1] == [n.value >= 0.5 for n in path[:-1]]
        assert row["labels"][-1] is answer_correct(path[-1], rec.problem.answer, "math")
    ids = set(ds["id"])
    # wrong turns of every record are rows too, the unsolved search's included
    assert {"p0/n3", "p0/n4", "hard/n3", "hard/n4", "s1/n4", "s1/n7"} <= ids
    assert ds[ds["id"].index("s1/n7")]["labels"] == [True, True, True]


def test_prompt_completion_export_has_no_empty_completion(capsys, out_dir, tmp_path):
    target = tmp_path / "pc.json"
    out = export(capsys, out_dir, "--format", "prompt-completion", "-o", str(target), "--system", "Be brief.")
    assert "left out 1 record with no assistant text: blank" in out
    assert f"exported demo@v1 (6 records, prompt-completion, jsonl) to {target}" in out
    ds = load_dataset("json", data_files=str(target), split="train")
    assert ds.column_names == ["id", "prompt", "completion", "answer", "trainable"]
    assert "blank" not in ds["id"]
    for row in ds:
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert row["prompt"][0]["content"] == "Be brief."
        [completion] = row["completion"]
        assert completion["role"] == "assistant" and completion["content"].strip()
    trainable = dict(zip(ds["id"], ds["trainable"], strict=True))
    assert trainable == {
        "p0": True, "p1": True, "s1": True, "hard": False, "wrong": False, "unchecked": False,
    }  # fmt: skip


def test_trainable_only_counts(capsys, out_dir, tmp_path):
    target = tmp_path / "train.parquet"
    out = export(capsys, out_dir, "--trainable-only", "-o", str(target))  # default --format messages
    assert (
        "trainable only: kept 4 of 7 records, dropped 3 "
        "(1 unsolved, 1 incorrect against gold, 1 gold could not be checked)"
    ) in out
    assert "left out 1 record with no assistant text: blank" in out
    ds = load_dataset("parquet", data_files=str(target), split="train")
    assert ds["id"] == ["p0", "p1", "s1"] and all(ds["trainable"])
    assert "messages" in ds.column_names and "record" in ds.column_names


def test_render_re_renders_from_the_trace(capsys, out_dir, tmp_path):
    target = tmp_path / "path.jsonl"
    export(capsys, out_dir, "--format", "messages", "--render", "path", "-o", str(target))
    rows = {r["id"]: r for r in map(json.loads, target.read_text().splitlines())}
    stored = {r.id: r for r in Store(out_dir).load_version("demo").records}
    for rid in ("p0", "s1"):
        assert rows[rid]["messages"] == [m.model_dump() for m in render(stored[rid], "path")]
        assert rows[rid]["messages"] != [m.model_dump() for m in stored[rid].messages]
        assert rows[rid]["render"] == "path" and json.loads(rows[rid]["record"])["render"] == "path"
    assert "blank" in rows  # re-rendered from its (solved) trace, its assistant turn has text now


def test_legacy_format_names_the_file_type(capsys, out_dir, tmp_path):
    target = tmp_path / "any.data"
    out = export(capsys, out_dir, "--format", "parquet", "-o", str(target))
    assert f"exported demo@v1 (6 records, parquet) to {target}" in out
    assert load_dataset("parquet", data_files=str(target), split="train")["id"][0] == "p0"


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--format", "stepwise", "-o", "x.csv"], ["--output x.csv", "'.csv'", ".jsonl, .json, .parquet"]),
        (["-o", "noext"], ["--output noext", "'no suffix'"]),
        (["--render", "fancy", "-o", "x.jsonl"], ["--render: unknown renderer 'fancy'"]),
        (["--format", "stepwise", "--render", "path", "-o", "x.jsonl"], ["--format stepwise has none"]),
    ],
    ids=["bad-suffix", "no-suffix", "bad-render", "stepwise-render"],
)
def test_bad_export_input_one_line_exit_2(capsys, out_dir, tmp_path, args, needles):
    code, out, err = rft(capsys, "datasets", "export", "demo", *args, "--out", str(out_dir))
    one_line_error(code, out, err, *needles)
    assert not list(tmp_path.glob("x.*"))
