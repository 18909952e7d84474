"""`rft validate` drops untrainable records (unsolved, incorrect against gold, gold not checked) by
default and keeps them with `--keep-unsolved`; records written before `trainable` existed load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record

from rft.schemas import Message, Record, Verdict
from rft.store import Store
from rft.validate.families import synthetic_record

QUESTIONS = {
    "hard": "A baker fills 4 trays with 6 rolls each and sells 9 rolls. How many rolls are left?",
    "nomsg": "A library has 5 shelves of 20 books and lends out 13 books. How many books remain?",
    "wrong": "A farmer plants 7 rows of 8 cabbages and a goat eats 11 of them. How many cabbages are left?",
    "unchecked": "A school orders 9 boxes of 15 pens and hands out 40 pens. How many pens does it keep?",
}


def records(bench_dir: Path) -> list[Record]:
    rows = [json.loads(x) for x in (bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines()[:3]]
    good = [synthetic_record(f"p{i}", r["question"], r["answer"]) for i, r in enumerate(rows)]
    hard = make_record("hard", solved=False, question=QUESTIONS["hard"])
    nomsg = make_record("nomsg", solved=False, question=QUESTIONS["nomsg"])
    nomsg.messages = [Message(role="user", content=QUESTIONS["nomsg"])]  # a failed search: no assistant turn
    wrong = make_record("wrong", question=QUESTIONS["wrong"], answer="30")  # its 31 is wrong against 30
    wrong.outcome.correct = False
    wrong.trace.by_id()["n4"].verdict = Verdict.incorrect
    unchecked = make_record("unchecked", question=QUESTIONS["unchecked"])
    unchecked.outcome.correct = None  # solved, gold exists, never checked against it
    return [Record.model_validate(r.model_dump()) for r in [*good, hard, nomsg, wrong, unchecked]]


@pytest.fixture
def store(tmp_path: Path, bench_dir: Path) -> Store:
    s = Store(tmp_path / "datasets_out")
    s.seal("demo", records(bench_dir), manifest={"teacher": "scripted:test"})
    return s


def validate(capsys, store: Store, *args: str) -> str:
    code, out, err = rft(
        capsys, "validate", "demo@v1", "--benchmarks", "gsm8k", "--no-hub", *args, "--out", str(store.root)
    )
    assert code == 0, err
    return " ".join(out.split())


def report_of(store: Store, version: int) -> dict:
    return json.loads((store.dataset_dir("demo") / f"v{version}" / "validation_report.json").read_text())


def test_untrainable_records_are_dropped_by_default(capsys, store: Store):
    out = validate(capsys, store)
    assert "wrote demo@v2 (3 of 7 records kept)" in out
    assert (
        "untrainable records: 4 dropped (2 unsolved, 1 incorrect against gold, 1 gold could not be checked);"
        " --keep-unsolved keeps them"
    ) in out
    assert sorted(r.id for r in store.load_version("demo", 2).records) == ["p0", "p1", "p2"]
    report = report_of(store, 2)
    assert report["summary"]["untrainable"] == {
        "unsolved": {"dropped": 2, "kept": 0},
        "incorrect": {"dropped": 1, "kept": 0},
        "gold_unchecked": {"dropped": 1, "kept": 0},
    }
    checks = {(r["record_id"], r["check"]): r for r in report["rows"]}
    assert checks[("hard", "unsolved")]["evidence"] == {"stop_reason": "budget"}
    assert checks[("wrong", "incorrect")]["evidence"] == {"final_answer": "31", "gold": "30"}
    assert ("unchecked", "gold_unchecked") in checks and ("nomsg", "no_messages") in checks
    assert not any(r["check"] == "answer_mismatch" for r in report["rows"])


def test_keep_unsolved_keeps_them(capsys, store: Store):
    out = validate(capsys, store, "--keep-unsolved")
    assert "wrote demo@v2 (7 of 7 records kept)" in out
    assert (
        "untrainable records: 4 kept (2 unsolved, 1 incorrect against gold, 1 gold could not be checked)"
        in out
    )
    assert "--keep-unsolved keeps them" not in out
    kept = {r.id: r for r in store.load_version("demo", 2).records}
    assert len(kept) == 7 and not kept["hard"].outcome.trainable and kept["p0"].outcome.trainable
    rows = report_of(store, 2)["rows"]
    # the failed search without an assistant turn is kept for its tree (exports leave it out of chats)
    assert {r["check"]: r["action"] for r in rows if r["record_id"] == "nomsg"} == {
        "no_messages": "kept",
        "unsolved": "kept",
    }
    assert report_of(store, 2)["config"]["keep_unsolved"] is True


def strip_trainable(store: Store) -> None:
    """Rewrite demo@v1 as an rft from before `Outcome.trainable` wrote it (manifest hash updated)."""
    v1 = store.dataset_dir("demo") / "v1"
    data = v1 / "data.jsonl"
    lines = []
    for line in data.read_text().splitlines():
        obj = json.loads(line)
        del obj["outcome"]["trainable"]
        lines.append(json.dumps(obj))
    data.chmod(0o644)
    data.write_text("\n".join(lines) + "\n")
    manifest = json.loads((v1 / "manifest.json").read_text())
    manifest["files"]["data.jsonl"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest["files"]["data.jsonl"]["bytes"] = data.stat().st_size
    manifest.pop("manifest_sha256")
    (v1 / "manifest.json").chmod(0o644)
    (v1 / "manifest.json").write_text(json.dumps(manifest))


def test_old_records_without_trainable_load_and_validate(capsys, store: Store):
    strip_trainable(store)
    assert '"trainable"' not in (store.dataset_dir("demo") / "v1" / "data.jsonl").read_text()
    loaded = {r.id: r.outcome.trainable for r in store.load_version("demo", 1).records}
    assert loaded == {
        "p0": True, "p1": True, "p2": True, "hard": False, "nomsg": False, "wrong": False, "unchecked": False,
    }  # fmt: skip
    out = validate(capsys, store)
    assert "wrote demo@v2 (3 of 7 records kept)" in out
