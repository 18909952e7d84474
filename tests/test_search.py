"""Search strategies on deterministic scripted trees."""

from __future__ import annotations

import asyncio

import pytest
from test_search_support import CUT, ScriptedTeacher, ScriptedValidator

from rft.config import load_config
from rft.errors import ConfigError
from rft.generate.config import SearchConfig
from rft.generate.prompts import PromptSet
from rft.generate.search import Searcher
from rft.schemas import EventType, NodeStatus, Problem, check_integrity

PROBLEM = Problem(id="p1", question="What is 3 + 4?", answer="7")

# root: A (0.9), B (0.6), C (0.2)
#   A: A1 (0.8, final 5: wrong), A2 (0.3)
#   B: B1 (final 7: correct), B2 (0.4)
SCRIPT = {
    (): ["Step 1: A", "Step 1: B", "Step 1: C"],
    ("A",): ["A1. Final answer: 5", "A2"],
    ("B",): ["B1. Final answer: 7", "B2"],
    ("C",): ["C1. Final answer: 7"],
    ("A", "A2"): ["A2x. Final answer: 7"],
}
SCORES = {"A": 0.9, "B": 0.6, "C": 0.2, "A1. Final answer: 5": 0.8, "A2": 0.3, "B2": 0.4, "(no idea)": 0.1}
CRIT = {"A1. Final answer: 5": "3 + 4 is not 5."}


def run(strategy="dfs", script=SCRIPT, scores=SCORES, **kw):
    teacher = ScriptedTeacher(script)
    branches = kw.pop("branches", 3)
    params = SearchConfig(strategy=strategy, branches=branches, threshold=0.5, **kw)
    searcher = Searcher(teacher, ScriptedValidator(scores, CRIT), PromptSet.load(), params)
    return asyncio.run(searcher.run(PROBLEM)), teacher


def run_sample(samples):
    teacher = ScriptedTeacher(SCRIPT, samples)
    params = SearchConfig(strategy="sample", samples=len(samples), threshold=0.5)
    searcher = Searcher(teacher, ScriptedValidator(SCORES, CRIT), PromptSet.load(), params)
    return asyncio.run(searcher.run(PROBLEM)), teacher


def story(res):
    idx = res.trace.by_id()
    out = []
    for e in res.trace.events:
        if e.type == EventType.select:
            out.append(("select", idx[e.node].text))
        elif e.type == EventType.backtrack:
            out.append(("back", idx[e.from_node].text, idx[e.to_node].text))
        elif e.type == EventType.solve:
            out.append(("solve", idx[e.node].final_answer))
        elif e.type == EventType.give_up:
            out.append(("give_up",))
    return out


def test_dfs_backtrack_order_and_statuses():
    res, _ = run("dfs")
    check_integrity(res.trace)
    # A1's final answer failed its check: a wrong candidate (its critique says why), not a step to try
    assert story(res) == [
        ("select", "A"),
        ("back", "A", ""),
        ("select", "B"),
        ("select", "B1. Final answer: 7"),
        ("solve", "7"),
    ]
    status = {n.text: n.status for n in res.trace.nodes}
    assert status["A"] == NodeStatus.dead_end
    assert status["A1. Final answer: 5"] == NodeStatus.rejected
    assert status["A2"] == NodeStatus.rejected  # ranked, below threshold, never followed
    assert status["C"] == NodeStatus.rejected
    assert status["B"] == NodeStatus.selected
    assert status["B1. Final answer: 7"] == NodeStatus.solution
    assert status["B2"] == NodeStatus.rejected
    assert res.backtracks == 1 and res.correct is True and res.final_answer == "7"
    back = next(res.trace.iter_events(EventType.backtrack))
    assert back.reason == "the best remaining step scored 0.30, below the threshold 0.50"
    # ranks: best first, A scored highest
    ranks = {n.text: n.rank for n in res.trace.nodes}
    assert (ranks["A"], ranks["B"], ranks["C"]) == (0, 1, 2)


def test_dfs_every_candidate_is_a_node_and_usage_counted():
    res, teacher = run("dfs")
    assert len(res.trace.nodes) == 1 + 3 + 3 + 3  # scripts are padded with a low "(no idea)" step
    assert res.meter.calls == len(teacher.calls) == 3
    assert res.meter.prompt_tokens == 10 * 9 and res.meter.completion_tokens == 5 * 9
    assert res.meter.cost_usd == pytest.approx(0.009)


def test_dfs_max_backtracks_stops_cleanly():
    res, _ = run("dfs", max_backtracks=0)
    check_integrity(res.trace)
    assert res.stop_reason == "max_backtracks" and res.solution is None
    assert res.backtracks == 0
    assert res.trace.events[-1].type == EventType.give_up


def test_dfs_max_nodes_and_depth():
    res, _ = run("dfs", max_nodes=4)
    check_integrity(res.trace)
    assert res.stop_reason == "max_nodes"
    assert len(res.trace.nodes) - 1 <= 4
    # unvisited ranked candidates stay unexplored when a budget stopped the search
    assert any(n.status == NodeStatus.unexplored for n in res.trace.nodes)
    res, _ = run("dfs", max_depth=1)
    check_integrity(res.trace)
    assert res.solution is None and res.stop_reason == "exhausted"
    assert all(n.depth <= 1 for n in res.trace.nodes)
    reasons = [e.reason for e in res.trace.iter_events(EventType.backtrack)]
    assert reasons == ["no final answer within 1 steps"] * 2


def test_dfs_token_budget():
    res, _ = run("dfs", max_tokens_per_problem=40)
    assert res.stop_reason == "max_tokens_per_problem"
    check_integrity(res.trace)


def test_run_guard_stops_search():
    teacher = ScriptedTeacher(SCRIPT)
    s = Searcher(
        teacher, ScriptedValidator(SCORES), PromptSet.load(), SearchConfig(), run_guard=lambda: "max_cost_usd"
    )
    res = asyncio.run(s.run(PROBLEM))
    assert res.stop_reason == "max_cost_usd" and teacher.calls == []


def test_beam_width_and_solution():
    res, teacher = run("beam", beam_width=2)
    check_integrity(res.trace)
    # depth 1 keeps the two best of A, B, C above threshold: A and B (C is below)
    first_expansions = [k for k, _ in teacher.calls]
    assert first_expansions[0] == () and set(first_expansions[1:3]) == {("A",), ("B",)}
    assert len(teacher.calls) == 3
    assert res.correct is True and res.final_answer == "7"
    path = [n.text for n in res.trace.selected_path()]
    assert path == ["", "B", "B1. Final answer: 7"]
    # A's path fell out of the beam: pruned, which is no backtrack and spends no backtrack budget
    assert res.backtracks == 0 and res.pruned == 1
    pruned = [e for e in res.trace.events if e.type == EventType.prune]
    assert [res.trace.by_id()[e.node].text for e in pruned] == ["A"]


def test_beam_takes_a_correct_final_step_even_when_the_backtrack_budget_is_spent():
    # two wrong finals beside the correct one: recording them must not stop the search first
    script = {
        (): ["Step 1: A"],
        ("A",): ["A1. Final answer: 5", "A3. Final answer: 6", "B1. Final answer: 7"],
    }
    res, _ = run("beam", script=script, max_backtracks=0, beam_width=2)
    assert res.final_answer == "7" and res.correct is True and res.stop_reason == "solved"


def test_beam_width_one_is_greedy():
    res, teacher = run("beam", beam_width=1)
    check_integrity(res.trace)
    assert [k for k, _ in teacher.calls][:2] == [(), ("A",)]


def test_best_first_order():
    res, teacher = run("best-first")
    check_integrity(res.trace)
    # global queue: A .9 -> A1 .8 (wrong) -> B .6 -> B1 (correct)
    assert story(res) == [
        ("select", "A"),
        ("select", "A1. Final answer: 5"),
        ("back", "A1. Final answer: 5", ""),
        ("select", "B"),
        ("select", "B1. Final answer: 7"),
        ("solve", "7"),
    ]
    assert res.correct is True


def test_sample_baseline_rejection_sampling():
    samples = [
        "Step 1: 3+4=8\nFinal answer: 8",
        "Step 1: 3+4=7\nFinal answer: 7",
        "I think 7. Final answer: 7",
    ]
    res, teacher = run_sample(samples)
    check_integrity(res.trace)
    assert teacher.calls == [(("<sample>",), 3)]
    kids = [n for n in res.trace.nodes if n.parent]
    assert [n.kind.value for n in kids] == ["solution_sample"] * 3
    assert [n.status for n in kids] == [NodeStatus.rejected, NodeStatus.solution, NodeStatus.rejected]
    assert [n.verdict.value for n in kids] == ["incorrect", "correct", "correct"]
    assert res.metadata["samples_correct"] == 2 and res.metadata["samples"] == 3
    assert res.final_answer == "7"


def test_bad_params():
    with pytest.raises(ConfigError, match="--strategy"):
        load_config(SearchConfig, None, {"strategy": "bfs"})
    with pytest.raises(ConfigError, match="--threshold"):
        load_config(SearchConfig, None, {"threshold": 2})


def test_beam_respects_max_nodes():
    res, teacher = run("beam", beam_width=2, max_nodes=7)
    check_integrity(res.trace)
    assert len(res.trace.nodes) - 1 <= 7
    assert res.stop_reason == "max_nodes"


def test_a_step_cut_off_by_max_tokens_is_never_taken():
    """A truncated step scores 0 without asking the validator (it stays in the tree, rejected); a
    completion that ran on past a whole step (into the next `Step N:`) keeps that step."""
    script = {
        (): ["Step 1: A" + CUT, "Step 1: B\nStep 2: B1. Final answer: 7" + CUT, "Step 1: C"],
        ("B",): ["B1. Final answer: 7"],
    }
    res, _ = run(script=script, scores={"A": 0.9, "B": 0.6, "C": 0.2})
    nodes = {n.text: n for n in res.trace.nodes}
    assert nodes["A"].truncated and nodes["A"].score == 0.0 and nodes["A"].status == NodeStatus.rejected
    assert "cut off" in nodes["A"].critique and nodes["A"].validator == "truncated"
    assert not nodes["B"].truncated and nodes["B"].status == NodeStatus.selected
    assert story(res) == [("select", "B"), ("select", "B1. Final answer: 7"), ("solve", "7")]
    check_integrity(res.trace)


@pytest.mark.parametrize(
    "raw,truncated,expected",
    [
        # not truncated: the whole reply is the step, cut only at the next `Step N:`
        ("Step 2: 3 * 4 = 12.\n\nNow add", False, ("3 * 4 = 12.\n\nNow add", None, False)),
        ("Step 1: 3 + 4 = 7.\nStep 2: done", False, ("3 + 4 = 7.", None, True)),
        # truncated: complete paragraphs are kept, the unfinished one is dropped
        ("Step 2: 3 * 4 = 12.\n\nNow we add 5 to get", True, ("3 * 4 = 12.", None, True)),
        ("3 * 4 = 12.\n\nFinal answer: 12\n\nAs you", True, ("3 * 4 = 12.\n\nFinal answer: 12", "12", True)),
        # a paragraph that announces what follows is not a step without it
        ("We compute:\n\n$$x = 3", True, ("We compute:\n\n$$x = 3", None, False)),
        ("3 * 4 = 12 and then", True, ("3 * 4 = 12 and then", None, False)),
    ],
)
def test_step_parsing_keeps_whole_steps_of_cut_off_replies(raw, truncated, expected):
    from rft.generate.parsing import parse_step_ends

    assert parse_step_ends(raw, truncated=truncated) == expected


def test_sample_cut_after_a_whole_final_answer_still_counts():
    """Rejection sampling: a solution that stated `Final answer: 7` on a finished line before
    max_tokens cut it is checked like any other; one cut inside its answer line is truncated."""
    res, _ = run_sample(
        ["3 + 4 = 7.\nFinal answer: 7\nTo check, we" + CUT, "3 + 4 = 7.\nFinal answer: 7" + CUT]
    )
    first, second = [n for n in res.trace.nodes if n.parent is not None]
    assert not first.truncated and first.verdict.value == "correct" and first.status == NodeStatus.solution
    assert second.truncated and second.score == 0.0 and second.verdict.value == "unknown"
    assert res.solution is first and res.final_answer == "7"


def test_system_prompts_follow_the_problem_domain():
    """Multiple-choice questions (ARC, domain text) are answered with a letter; math keeps its own
    prompt with a worked example; code asks for reasoning steps and then the program in a ```python
    block (tests/test_generate_code.py); a domain without its own prompt falls back to math."""
    prompts = PromptSet.load()
    text = prompts.step_messages("Which is a gas? A. ice B. steam", [], "text")[0]["content"]
    math = prompts.step_messages("What is 3 + 4?", [], "math")[0]["content"]
    assert "letter of the choice" in text and "Final answer: B" in text
    assert "math tutor" in math and "Final answer: 14" in math
    code = prompts.step_messages("x", [], "code")[0]["content"]
    assert "Python programmer" in code and "```python" in code and "Final answer" not in code
    assert prompts.step_messages("x", [], "unknown-domain")[0]["content"] == math
    assert "letter" in prompts.sample_messages("Which is a gas? A. ice B. steam", "text")[0]["content"]


def test_identical_sibling_candidates_are_merged_not_judged_twice():
    script = {(): ["Step 1: B", "Step 1:  b", "Step 1: A"], ("B",): ["B1. Final answer: 7"]}
    res, teacher = run("dfs", script=script)
    first = [n for n in res.trace.nodes if n.depth == 1]
    assert [n.text for n in first] == ["B", "A"]
    assert first[0].metadata["duplicates"] == 1
    assert first[0].usage.completion_tokens == 10  # both proposals' tokens are accounted
    assert res.final_answer == "7"


def test_a_wrong_final_answer_with_no_critique_asks_the_teacher_for_a_self_check_once():
    script = {
        (): ["Step 1: Three and four make eight."],
        ("Three and four make eight.",): ["So the answer is 8. Final answer: 8"],
    }
    reflections = {"<reflect>": ["Step 1: three and four do not make eight."]}
    teacher = ScriptedTeacher(script, reflections=reflections["<reflect>"])
    params = SearchConfig(strategy="dfs", branches=1, threshold=0.5, max_backtracks=4)
    searcher = Searcher(
        teacher, ScriptedValidator({"Three and four make eight.": 0.9}), PromptSet.load(), params
    )
    res = asyncio.run(searcher.run(PROBLEM))
    kinds = [n.kind.value for n in res.trace.nodes]
    assert kinds.count("reflection") == 1
    refl = next(n for n in res.trace.nodes if n.kind.value == "reflection")
    wrong_step = next(n for n in res.trace.nodes if n.text == "Three and four make eight.")
    assert refl.metadata["blames"] == wrong_step.id
    assert "Final answer" not in teacher.reflect_prompts[0] or "7" not in teacher.reflect_prompts[0]
    # the self-check named step 1: one backtrack goes straight back to the beginning
    backs = list(res.trace.iter_events(EventType.backtrack))
    assert [(b.from_node, b.to_node) for b in backs][0] == (refl.parent, "n0")
    assert wrong_step.status == NodeStatus.dead_end
    # with --reflect critique the teacher is never asked
    teacher2 = ScriptedTeacher(script, reflections=reflections["<reflect>"])
    params2 = SearchConfig(strategy="dfs", branches=1, threshold=0.5, reflect="critique")
    s2 = Searcher(teacher2, ScriptedValidator({"Three and four make eight.": 0.9}), PromptSet.load(), params2)
    res2 = asyncio.run(s2.run(PROBLEM))
    assert not teacher2.reflect_prompts
    assert all(n.kind.value != "reflection" for n in res2.trace.nodes)
