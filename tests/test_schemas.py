"""Schemas: round trips, integrity checks on broken trees, JSON Schema export."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from factories import make_record
from pydantic import ValidationError

from rft.commands.schemas import MODELS, export_schemas
from rft.schemas import (
    SCHEMA_VERSION,
    Event,
    EventType,
    Manifest,
    Node,
    NodeStatus,
    Problem,
    Record,
    Trace,
    problem_id_for,
)


@pytest.mark.parametrize(
    "kw", [{}, {"with_backtrack": False}, {"solved": False}], ids=["backtrack", "straight", "unsolved"]
)
def test_record_round_trip(kw):
    rec = make_record("p1", **kw)
    line = rec.model_dump_json()
    assert Record.model_validate_json(line) == rec
    assert json.loads(line) == rec.model_dump(mode="json")
    # schema_version is the first key of a dataset row
    assert next(iter(json.loads(line))) == "schema_version"
    assert json.loads(line)["schema_version"] == SCHEMA_VERSION


def test_factory_trace_is_realistic():
    rec = make_record()
    t = rec.trace
    assert [n.id for n in t.selected_path()] == ["n0", "n1", "n4"]
    assert t.solution().id == "n4"
    assert [n.id for n in t.ancestors("n3")] == ["n0", "n1", "n3"]
    statuses = {n.id: n.status for n in t.nodes}
    assert statuses["n3"] == NodeStatus.dead_end and statuses["n2"] == NodeStatus.rejected
    assert statuses["n5"] == NodeStatus.unexplored
    (bt,) = t.iter_events(EventType.backtrack)
    assert (bt.from_node, bt.to_node) == ("n3", "n1")
    assert rec.outcome.backtracks == 1 and rec.outcome.nodes == len(t.nodes)
    assert [n.id for n in t.children("n1")] == ["n3", "n4", "n5"]  # by rank, unranked last
    unsolved = make_record(solved=False)
    assert unsolved.trace.solution() is None
    assert unsolved.trace.events[-1].type == EventType.give_up


def _trace_dict() -> dict:
    return make_record().trace.model_dump(mode="json")


def _node(d: dict, node_id: str) -> dict:
    return next(n for n in d["nodes"] if n["id"] == node_id)


def _two_roots(d):
    _node(d, "n2").update(parent=None, depth=0)


def _no_root(d):
    _node(d, "n0")["parent"] = "n5"


def _missing_parent(d):
    _node(d, "n5")["parent"] = "n99"


def _wrong_depth(d):
    _node(d, "n3")["depth"] = 3


def _root_depth(d):
    _node(d, "n0")["depth"] = 1


def _event_missing_node(d):
    d["events"].append({"type": "select", "node": "n42"})


def _event_missing_child(d):
    d["events"][0]["children"].append("n77")


def _backtrack_missing_target(d):
    d["events"].append({"type": "backtrack", "from_node": "n3", "to_node": "nX"})


def _solution_off_path(d):
    _node(d, "n4").update(parent="n2", depth=2)


def _two_solutions(d):
    d["nodes"].append({"id": "n6", "parent": "n2", "depth": 2, "status": "solution", "final_answer": "15"})


def _two_selected_children(d):
    _node(d, "n2")["status"] = "selected"


def _duplicate_ids(d):
    d["nodes"].append(dict(_node(d, "n5")))


def _events_without_nodes(d):
    d["nodes"] = []


BROKEN = {
    "two roots": (_two_roots, "exactly one root, found 2"),
    "no root": (_no_root, "exactly one root, found 0"),
    "missing parent": (_missing_parent, "missing parent 'n99'"),
    "wrong depth": (_wrong_depth, "'n3' has depth 3, expected 2"),
    "root depth": (_root_depth, "root 'n0' has depth 1"),
    "event to missing node": (_event_missing_node, "select event refers to missing node 'n42'"),
    "expand to missing child": (_event_missing_child, "expand event refers to missing node 'n77'"),
    "backtrack to missing node": (_backtrack_missing_target, "backtrack event refers to missing node 'nX'"),
    "solution off the selected path": (_solution_off_path, "solution 'n4' is not on the selected path"),
    "two solutions": (_two_solutions, "2 solution nodes"),
    "two selected children": (_two_selected_children, "'n0' has more than one selected child"),
    "duplicate ids": (_duplicate_ids, "duplicate node id 'n5'"),
    "events without nodes": (_events_without_nodes, "events but no nodes"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_integrity_rejects_broken_tree(case):
    breaker, message = BROKEN[case]
    d = _trace_dict()
    Trace.model_validate(d)  # valid before breaking
    breaker(d)
    with pytest.raises(ValidationError, match=message):
        Trace.model_validate(d)
    # the same break inside a whole record line is rejected too
    rec = make_record().model_dump(mode="json")
    rec["trace"] = d
    with pytest.raises(ValidationError, match=message):
        Record.model_validate_json(json.dumps(rec))


def test_field_level_rejections():
    with pytest.raises(ValidationError, match="backtrack event needs from_node and to_node"):
        Event(type=EventType.backtrack, from_node="n1")
    with pytest.raises(ValidationError, match="select event needs node"):
        Event(type=EventType.select)
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Node(id="a", score=1.5)
    with pytest.raises(ValidationError, match="question is empty"):
        Problem(id="p", question="   ")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Record.model_validate({**make_record().model_dump(), "surprise": 1})


def test_empty_trace_is_valid():
    t = Trace()
    assert t.selected_path() == [] and t.solution() is None


def test_problem_id_is_stable_under_formatting():
    a = problem_id_for("What is  2+2?\n")
    assert a == problem_id_for("what is 2+2?") and a.startswith("q-")
    assert a != problem_id_for("What is 2+3?")


def test_json_schema_export_is_valid_and_validates_records(tmp_path: Path):
    written = export_schemas(tmp_path / "schemas")
    assert {p.name for p in written} == {f"{name}.schema.json" for name in MODELS}
    schemas = {p.name.split(".")[0]: json.loads(p.read_text()) for p in written}
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    record_v = jsonschema.Draft202012Validator(schemas["record"])
    for rec in (make_record(), make_record(with_backtrack=False), make_record(solved=False)):
        record_v.validate(json.loads(rec.model_dump_json()))
    bad = json.loads(make_record().model_dump_json())
    bad["trace"]["nodes"][1]["status"] = "maybe"
    assert not record_v.is_valid(bad)
    del bad["problem"]
    assert not record_v.is_valid(bad)
    manifest = Manifest(name="demo", version=1, created_at="2026-01-01T00:00:00Z", rft_version="0.1.0")
    jsonschema.Draft202012Validator(schemas["manifest"]).validate(json.loads(manifest.model_dump_json()))


def test_schemas_export_cli(tmp_path: Path, capsys):
    import sys

    from rft.cli import main

    target = tmp_path / "out" / "schemas"
    old, sys.argv = sys.argv, ["rft", "schemas", "export", str(target)]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = old
    assert exc.value.code in (0, None)
    printed = capsys.readouterr().out.replace("\n", "")  # rich may wrap long paths
    for name in MODELS:
        path = target / f"{name}.schema.json"
        assert f"wrote {path}" in printed
        assert json.loads(path.read_text())["$id"] == f"rft/{name}.schema.json"
