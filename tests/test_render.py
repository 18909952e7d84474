"""Renderers: deterministic for a seed; every rendered backtrack is a backtrack event of the trace."""

from __future__ import annotations

import asyncio

import pytest
from test_search import CRIT, PROBLEM, SCORES, SCRIPT
from test_search_support import ScriptedTeacher, ScriptedValidator

from rft.errors import ConfigError
from rft.generate.prompts import PromptSet
from rft.generate.render import render, render_with_backtracks
from rft.generate.search import Searcher, SearchParams
from rft.schemas import EventType, Outcome, Record
from rft.validate.answer_check import extract_final_answer


def record_for(strategy: str, **kw) -> Record:
    params = SearchParams(strategy=strategy, branches=3, threshold=0.5, **kw)
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


@pytest.mark.parametrize("strategy", ["dfs", "beam", "best-first"])
def test_every_rendered_backtrack_is_a_backtrack_event(strategy):
    rec = record_for(strategy)
    events = {(e.from_node, e.to_node) for e in rec.trace.iter_events(EventType.backtrack)}
    text, rendered = render_with_backtracks(rec, "backtrack", seed=0, max_wrong_per_node=5)
    assert rendered, "the scripted tree has backtracks to render"
    assert set(rendered) <= events
    # each rendered backtrack appears as one sentence naming the step it returns to
    assert sum(text.count(t) for t in ("step 1", "the beginning")) >= len(rendered)


def test_backtrack_render_dfs_story():
    rec = record_for("dfs")
    text, rendered = render_with_backtracks(rec, "backtrack", seed=0)
    paras = text.split("\n\n")
    # A, its wrong child A1, back to step 1 (with the critique), back to the beginning, then B, B1
    assert paras[0] == "A"
    assert paras[1] == "A1. Final answer: 5"
    assert "3 + 4 is not 5." in paras[2] and "step 1" in paras[2]
    assert "the beginning" in paras[3]
    assert paras[4:] == ["B", "B1. Final answer: 7"]
    ids = rec.trace.by_id()
    assert [(ids[f].text, ids[t].text) for f, t in rendered] == [("A1. Final answer: 5", "A"), ("A", "")]


def test_phrasing_varies_with_seed_and_max_wrong():
    rec = record_for("dfs")
    texts = {render(rec, "backtrack", seed=s)[1].content for s in range(12)}
    assert len(texts) > 1
    none = render_with_backtracks(rec, "backtrack", seed=0, max_wrong_per_node=0)
    assert none[1] == [] and none[0] == "B\n\nB1. Final answer: 7"


def test_path_and_search_styles():
    rec = record_for("dfs")
    assert render(rec, "path")[1].content == "Step 1: B\nStep 2: B1. Final answer: 7"
    search = render(rec, "search")[1].content
    assert "Backtracking to node 0.1" in search and "Goal reached" in search
    with pytest.raises(ConfigError, match="--render"):
        render(rec, "tree")


def test_sample_renders_the_correct_sample():
    samples = ["3+4=8\nFinal answer: 8", "3+4=7\nFinal answer: 7"]
    params = SearchParams(strategy="sample", samples=2)
    s = Searcher(ScriptedTeacher(SCRIPT, samples), ScriptedValidator(SCORES), PromptSet.load(), params)
    res = asyncio.run(s.run(PROBLEM))
    rec = Record(problem=PROBLEM, trace=res.trace, outcome=Outcome(solved=True, final_answer="7"))
    assert render(rec, "path")[1].content == "3+4=7\nFinal answer: 7"
    assert render(rec, "backtrack")[1].content == "3+4=7\nFinal answer: 7"
