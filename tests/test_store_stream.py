"""Sealing as a stream: a run's finished records read back in problem order without holding them, one
reader of records for data files and run files, and counts summed while the records go by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_record, make_records

from rft.errors import InputError
from rft.schemas import RecordCounts
from rft.store import Store
from rft.store.records import iter_records
from rft.validate.records import parse_records


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "datasets_out")


def failed(pid: str):
    rec = make_record(pid, solved=False)
    rec.outcome.error = "teacher unreachable"
    return rec


def test_finished_records_come_in_problem_order_and_are_read_again_each_time(store: Store):
    run = store.open_run("demo", "r1")
    for r in [make_record("c"), failed("a"), make_record("x"), make_record("b"), make_record("a")]:
        run.append_record(r)
    run.append_record(make_record("c", with_backtrack=False))  # a later copy of a finished id loses
    run.append_event("progress", {"done": 4})
    order = {"a": 0, "b": 1, "c": 2, "d": 3}  # x is no problem of this run; d never finished
    stream = run.finished_records(order)
    got = [(r.id, r.outcome.error, r.outcome.backtracks) for r in stream]
    assert got == [("a", None, 1), ("b", None, 1), ("c", None, 1)]
    assert [r.id for r in stream] == ["a", "b", "c"]  # iterated again: read again
    # every record of the run as a stream: records() without holding them
    assert list(run.iter_records()) == run.records()
    assert [r.id for r in run.records()] == ["c", "a", "x", "b"]  # the retry of a took its place


def test_seal_reads_its_records_once_as_a_stream_and_reseals_idempotently(store: Store):
    run = store.open_run("demo", "r1")
    for r in make_records(5):
        run.append_record(r)
    reads = []

    def once():
        reads.append(1)
        yield from run.finished_records({f"p{i}": i for i in range(5)})

    seen: list[RecordCounts] = []

    def manifest(tally: RecordCounts) -> dict:
        seen.append(tally)
        return {"teacher": "t", "counts": {"problems": 5}}

    v1 = store.seal("demo", once(), manifest=manifest, run=run)  # a generator: one pass is enough
    assert reads == [1] and [r.id for r in store.load_version("demo").records] == [f"p{i}" for i in range(5)]
    tally = seen[0]
    assert tally.records == 5 and [r.id for r in tally.examples] == [f"p{i}" for i in range(5)]
    assert tally.domains == {"math": 5}
    assert v1.manifest.counts["problems"] == 5 and v1.manifest.counts["records"] == 5
    card = (v1.path / "README.md").read_text()
    assert "| records | 5 |" in card and "| p4 |" in card and "math: 5" in card
    # the same records again, as a list in another order: the seal found, nothing new written
    again = store.seal("demo", list(reversed(run.records())), manifest={}, run=run)
    assert again.reused and again.ref == v1.ref and store.versions("demo") == [1]
    assert not list(store.dataset_dir("demo").glob(".tmp-v*"))


def test_one_reader_for_data_files_and_run_files(tmp_path: Path, store: Store):
    good = make_record("p0").model_dump_json()
    data = tmp_path / "data.jsonl"
    data.write_text(f'{good}\n\n{{"problem": {{"id": "bad"}}}}\nnot json\n')
    with pytest.raises(InputError, match=r"data.jsonl:3: invalid record at "):
        list(iter_records(data))
    records, flags = parse_records(data)  # validate: invalid lines become schema flags
    assert [(n, r.id) for n, r in records] == [(1, "p0")]
    assert [(f.record_id, f.check, f.line) for f in flags] == [("bad", "schema", 3), ("line 4", "schema", 4)]
    with pytest.raises(InputError, match=r"missing.jsonl: cannot read \(No such file or directory\)"):
        list(iter_records(tmp_path / "missing.jsonl"))

    run = store.open_run("demo", "r1")
    run.append_record(make_record("p0"))
    with run.events_path.open("a") as fh:
        fh.write(json.dumps({"type": "record", "record": {"problem": {"id": "p1"}}}) + "\n")
        fh.write('{"type": "record", "rec')  # torn by a kill: ignored
    with pytest.raises(InputError, match=r"events.jsonl:2: invalid record at "):
        run.records()
    with pytest.raises(InputError, match=r"events.jsonl:2: invalid record at "):
        list(run.finished_records({"p0": 0, "p1": 1}))
    assert [r.id for r in run.finished_records({"p0": 0})] == ["p0"]  # a line not sealed is not read
    lines = run.events_path.read_bytes().splitlines(keepends=True)
    run.events_path.write_bytes(lines[0] + b"{oops\n")
    with pytest.raises(InputError, match=r"events.jsonl:2: malformed JSON"):
        run.records()
