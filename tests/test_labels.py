"""Step-level labels: node values from the tree, and the stepwise (process-supervision) rows."""

from __future__ import annotations

import pytest
from factories import make_record
from test_search import SCORES, run

from rft.generate.labels import answer_correct, fill_values, stepwise_rows
from rft.schemas import Node, NodeKind, NodeStatus, Problem, Record, Trace, Verdict

SEARCH_PROBLEM = Problem(id="s1", question="What is 3 + 4?", answer="7")


def values(trace: Trace) -> dict[str, float | None]:
    return {n.id: n.value for n in trace.nodes}


def expected_values(trace: Trace, gold: str | None) -> dict[str, float | None]:
    """The definition, computed the slow way: for each node, the explored final answers of known
    correctness among the nodes whose ancestors include it."""
    out: dict[str, float | None] = {}
    for node in trace.nodes:
        if node.kind == NodeKind.reflection:
            out[node.id] = None
            continue
        below = [
            answer_correct(n, gold, "math")
            for n in trace.nodes
            if node.id in {a.id for a in trace.ancestors(n.id)}
            and n.kind != NodeKind.reflection
            and n.status != NodeStatus.unexplored
        ]
        known = [ok for ok in below if ok is not None]
        out[node.id] = sum(known) / len(known) if known else node.score
    return out


def search_record(strategy: str, **kw) -> Record:
    """A record of a real scripted search (tests/test_search.py's teacher and judge); `A2` scored 0.7
    so dfs follows it after the wrong A1 and finds A2x, three steps deep."""
    res, _ = run(strategy, scores={**SCORES, "A2": 0.7}, **kw)
    rec = Record(problem=SEARCH_PROBLEM, trace=res.trace)
    rec.outcome.solved = res.solution is not None
    return rec


def test_fill_values_on_the_factory_tree():
    rec = make_record()
    fill_values(rec.trace, "31", "math")
    # n3 (41, wrong) and n4 (31, right) below n1; n2 has no final answer below: its score
    assert values(rec.trace) == {"n0": 0.5, "n1": 0.5, "n2": 0.35, "n3": 0.0, "n4": 1.0, "n5": None}


def test_gold_decides_and_without_gold_the_verdict_does():
    rec = make_record()
    fill_values(rec.trace, "41", "math")  # against this gold, n3 is the correct one
    assert values(rec.trace)["n3"] == 1.0 and values(rec.trace)["n4"] == 0.0
    fill_values(rec.trace, None, "math")  # no gold: the stored verdicts (n3 incorrect, n4 correct)
    assert values(rec.trace)["n3"] == 0.0 and values(rec.trace)["n4"] == 1.0
    n3 = rec.trace.by_id()["n3"]
    n3.verdict = Verdict.unknown  # correctness not known: it counts for nothing, its score remains
    fill_values(rec.trace, None, "math")
    assert values(rec.trace)["n3"] == 0.71 and values(rec.trace)["n1"] == 1.0


def test_unexplored_final_answers_do_not_count():
    rec = make_record()
    n5 = rec.trace.by_id()["n5"]
    n5.final_answer, n5.verdict = "29", Verdict.incorrect  # proposed, never ranked or visited
    fill_values(rec.trace, "31", "math")
    assert values(rec.trace)["n1"] == 0.5 and values(rec.trace)["n5"] is None


def reflected_record() -> Record:
    """The factory tree with a self-check under the wrong final step n3."""
    rec = make_record()
    nodes = [
        *rec.trace.nodes,
        Node(
            id="r1",
            parent="n3",
            depth=3,
            kind=NodeKind.reflection,
            text="Checking: giving pencils away should subtract; the answer is 31.",
            status=NodeStatus.selected,
            final_answer="31",
            metadata={"blames": "n3"},
        ),
    ]
    return rec.model_copy(update={"trace": Trace(strategy="dfs", nodes=nodes, events=rec.trace.events)})


def test_reflection_nodes_are_not_steps():
    rec = reflected_record()
    fill_values(rec.trace, "31", "math")
    assert values(rec.trace)["r1"] is None and values(rec.trace)["n3"] == 0.0  # its "31" is not counted
    rows = stepwise_rows(rec)
    assert [r["id"] for r in rows] == ["p1/n3", "p1/n4"]
    assert all("Checking" not in step for r in rows for step in r["completions"])


@pytest.mark.parametrize("strategy, kw", [("dfs", {}), ("beam", {"beam_width": 2}), ("best-first", {})])
def test_fill_values_matches_the_definition_on_search_trees(strategy, kw):
    rec = search_record(strategy, **kw)
    fill_values(rec.trace, "7", "math")
    assert values(rec.trace) == expected_values(rec.trace, "7")
    assert values(rec.trace)["n0"] == 0.5  # one wrong (A1) and one right final answer explored


def test_stepwise_rows_of_a_dfs_search():
    rec = search_record("dfs")
    rows = stepwise_rows(rec)
    assert [(r["id"], r["completions"], r["labels"], r["values"]) for r in rows] == [
        ("s1/n4", ["A", "A1. Final answer: 5"], [True, False], [0.5, 0.0]),
        ("s1/n7", ["A", "A2", "A2x. Final answer: 7"], [True, True, True], [0.5, 1.0, 1.0]),
    ]
    assert {r["prompt"] for r in rows} == {"What is 3 + 4?"}
    assert all(n.value is None for n in rec.trace.nodes)  # the record's own trace is left alone


def test_stepwise_rows_use_the_values_in_the_trace():
    rec = make_record()
    fill_values(rec.trace, "31", "math")
    rec.trace.by_id()["n1"].value = 0.25  # as stored, e.g. filled by an earlier rft
    rows = stepwise_rows(rec)
    assert [r["labels"] for r in rows] == [[False, False], [False, True]]
    assert [r["values"] for r in rows] == [[0.25, 0.0], [0.25, 1.0]]


def test_stepwise_rows_are_deduplicated_by_their_steps():
    rec = make_record()
    n4 = rec.trace.by_id()["n4"]
    twin = n4.model_copy(update={"id": "n6", "status": NodeStatus.rejected, "rank": 3})
    rec = rec.model_copy(
        update={"trace": Trace(strategy="dfs", nodes=[*rec.trace.nodes, twin], events=rec.trace.events)}
    )
    assert [r["id"] for r in stepwise_rows(rec)] == ["p1/n3", "p1/n4"]


def test_last_label_is_the_answer_correctness_not_the_threshold():
    rec = make_record(solved=False)  # n3 (41) and n4 (29) both wrong against 31
    rows = stepwise_rows(rec)
    assert [r["labels"] for r in rows] == [[False, False], [False, False]]
    assert stepwise_rows(Record(problem=SEARCH_PROBLEM)) == []  # no trace, no rows
