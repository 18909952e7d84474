"""One answer parser for gold and predictions (rft.verify): the same box reads the same way in both."""

from __future__ import annotations

import json

import pytest

from rft.problems import load_problems
from rft.schemas import Problem, Verdict
from rft.verify.answers import extract_final_answer, last_boxed
from rft.verify.grader import GRADERS, Grade, Grader, grader_for


@pytest.mark.parametrize(
    "solution, answer",
    [
        (r"The set is $\boxed{\{1,2\}}$.", r"\{1,2\}"),
        (r"so the answer is $\boxed 5$.", "5"),
        (r"$\boxed{\frac{1}{2}}$", r"\frac{1}{2}"),
    ],
)
def test_gold_and_prediction_read_a_box_the_same_way(solution, answer):
    assert last_boxed(solution) == answer  # how gold is read from a reference solution
    assert extract_final_answer(solution) == answer  # how a prediction is read from a response


def test_a_math_gold_read_by_its_preset_grades_the_same_text_as_correct(tmp_path):
    row = {"problem": "Which set?", "solution": r"It is $\boxed{\{1,2\}}$.", "level": "Level 1"}
    path = tmp_path / "math.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (problem,) = load_problems(str(path), preset="math")
    assert problem.answer == r"\{1,2\}"
    grade = grader_for(problem).grade(problem, row["solution"])
    assert grade.verdict is Verdict.correct
    assert grade.extracted == r"\{1,2\}"


@pytest.mark.parametrize(
    "gold, text, verdict, extracted",
    [
        ("18", "Step 1: 9 * 2 = 18.\nFinal answer: 18", Verdict.correct, "18"),
        ("18", "Final answer: 19", Verdict.incorrect, "19"),
        ("18", "I think it is about eighteen", Verdict.unknown, None),
        ("B", "Final answer: (B)", Verdict.correct, "(B)"),
        (r"\frac{1}{2}", r"Final answer: $\boxed{0.5}$", Verdict.correct, "0.5"),
    ],
)
def test_grader_protocol(gold, text, verdict, extracted):
    problem = Problem(id="p", question="q", answer=gold)
    grader = grader_for(problem)
    assert isinstance(grader, Grader)
    grade = grader.grade(problem, text)
    assert isinstance(grade, Grade)
    assert grade.verdict is verdict
    assert grade.extracted == extracted
    assert grade.detail


def test_graders_are_registered_by_name():
    assert {"numeric", "math", "choice"} <= set(GRADERS)
    assert all(g.name == name for name, g in GRADERS.items())
