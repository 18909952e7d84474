"""Renderers: deterministic for a seed; every rendered backtrack is a backtrack event of the trace."""

from __future__ import annotations

import asyncio

import pytest
from test_search import CRIT, PROBLEM, SCORES, SCRIPT
from test_search_support import ScriptedTeacher, ScriptedValidator

from rft.errors import ConfigError
from rft.generate.config import SearchConfig
from rft.generate.prompts import PromptSet
from rft.generate.render import backtrack_parts, render, render_with_backtracks
from rft.generate.search import Searcher
from rft.schemas import EventType, Outcome, Record
from rft.verify.answers import extract_final_answer


def record_for(strategy: str, **kw) -> Record:
    params = SearchConfig(strategy=strategy, branches=3, threshold=0.5, **kw)
    s = Searcher(ScriptedTeacher(SCRIPT), ScriptedValidator(SCORES, CRIT), PromptSet.load(), params)
    res = asyncio.run(s.run(PROBLEM))
    return Record(
        problem=PROBLEM,
        trace=res.trace,
        outcome=Outcome(
            solved=res.solution is not None, final_answer=res.final_answer, backtracks=res.backtracks
        ),
    )


@pytest.mark.parametrize("strategy", ["dfs", "beam", "best-first"])
@pytest.mark.parametrize("style", ["backtrack", "path", "search"])
def test_deterministic_for_a_seed(strategy, style):
    rec = record_for(strategy)
    a = render(rec, style, seed=3)
    assert a == render(rec, style, seed=3)
    assert [m.role for m in a] == ["user", "assistant"]
    assert a[0].content == PROBLEM.question
    assert extract_final_answer(a[1].content) == "7"


@pytest.mark.parametrize("strategy", ["dfs", "best-first"])
def test_every_rendered_backtrack_is_a_backtrack_event(strategy):
    rec = record_for(strategy)
    events = {(e.from_node, e.to_node) for e in rec.trace.iter_events(EventType.backtrack)}
    text, rendered = render_with_backtracks(rec, "backtrack", seed=0, max_wrong_per_node=5)
    assert rendered, "the scripted tree has backtracks to render"
    assert set(rendered) <= events
    backs = [p for p in backtrack_parts(rec, seed=0, max_wrong_per_node=5) if p.kind == "back"]
    # each rendered backtrack names the step it blames and the step it returns to
    for p in backs:
        assert f"step {p.number}" in p.text.lower()


def test_a_pruned_beam_is_not_rendered_as_a_backtrack():
    rec = record_for("beam")
    assert list(rec.trace.iter_events(EventType.prune)), "A fell out of the beam"
    assert render_with_backtracks(rec, "backtrack")[1] == []
    assert render(rec, "backtrack")[1].content == "Step 1: B\n\nStep 2: B1. Final answer: 7"


def test_backtrack_render_dfs_story():
    rec = record_for("dfs")
    parts = backtrack_parts(rec, seed=0)
    paras = [p.text for p in parts]
    # A, its wrong child A1, one backtrack (A1's critique, to the beginning: A has nothing else), then B, B1
    assert paras[0] == "Step 1: A"
    assert paras[1] == "Step 2: A1. Final answer: 5"
    assert "step 2" in paras[2].lower() and "3 + 4 is not 5." in paras[2] and "beginning" in paras[2]
    assert paras[3:] == ["Step 1: B", "Step 2: B1. Final answer: 7"]
    ids = rec.trace.by_id()
    back = parts[2]
    assert (back.kind, ids[back.node].text, back.target, back.source) == (
        "back",
        "A1. Final answer: 5",
        0,
        back.node,
    )
    assert [ids[i].text for i in back.abandoned] == ["A1. Final answer: 5", "A"]
    text, rendered = render_with_backtracks(rec, "backtrack", seed=0)
    assert text == "\n\n".join(paras)
    assert [(ids[f].text, ids[t].text) for f, t in rendered] == [("A", "")]


def test_phrasing_varies_with_seed_and_max_wrong():
    rec = record_for("dfs")
    texts = {render(rec, "backtrack", seed=s)[1].content for s in range(12)}
    assert len(texts) > 1
    none = render_with_backtracks(rec, "backtrack", seed=0, max_wrong_per_node=0)
    assert none[1] == [] and none[0] == "Step 1: B\n\nStep 2: B1. Final answer: 7"


def test_path_search_and_think_styles():
    rec = record_for("dfs")
    assert render(rec, "path")[1].content == "Step 1: B\nStep 2: B1. Final answer: 7"
    search = render(rec, "search")[1].content
    assert "(a.a) A1. Final answer: 5 (3 + 4 is not 5.)" in search  # the critique, never a score
    assert "Step 1 (a) does not work out. Backtracking to the beginning." in search
    assert "Goal reached at (b.a). Final answer: 7" in search
    assert "score" not in search.lower()
    think = render(rec, "think")[1].content
    exploration, solution = think.split("</think>")
    assert exploration.startswith("<think>\nStep 1: A") and "3 + 4 is not 5." in exploration
    assert solution.strip() == "Step 1: B\nStep 2: B1. Final answer: 7"
    with_system = render(rec, "path", system="You reason step by step.")
    assert [m.role for m in with_system] == ["system", "user", "assistant"]
    with pytest.raises(ConfigError, match="--render"):
        render(rec, "tree")


def test_an_unsolved_path_has_no_assistant_turn():
    rec = record_for("dfs", max_backtracks=0)
    assert not rec.outcome.solved and not rec.outcome.trainable
    assert [m.role for m in render(rec, "path")] == ["user"]


def test_sample_renders_the_correct_sample():
    samples = ["3+4=8\nFinal answer: 8", "3+4=7\nFinal answer: 7"]
    params = SearchConfig(strategy="sample", samples=2)
    s = Searcher(ScriptedTeacher(SCRIPT, samples), ScriptedValidator(SCORES), PromptSet.load(), params)
    res = asyncio.run(s.run(PROBLEM))
    rec = Record(problem=PROBLEM, trace=res.trace, outcome=Outcome(solved=True, final_answer="7"))
    assert render(rec, "path")[1].content == "3+4=7\nFinal answer: 7"
    assert render(rec, "backtrack")[1].content == "3+4=7\nFinal answer: 7"
