"""Final-answer extraction and checking (GSM8K numeric, MATH via math-verify)."""

from __future__ import annotations

import json

import pytest

from rft.schemas import Verdict
from rft.verify.answers import extract_final_answer, gold_answer
from rft.verify.grader import check_answer
from rft.verify.steps import parse_judgement


@pytest.mark.parametrize(
    "text,expected",
    [
        ("So she has 18 eggs. Final answer: 18", "18"),
        ("Final Answer: $1,234.", "1,234"),
        ("**Final answer:** 42", "42"),
        (r"Thus the area is \boxed{\frac{1}{\sqrt{2}}}.", r"\frac{1}{\sqrt{2}}"),
        (r"\boxed{3} at first, but Final answer: 4", "4"),
        ("Final answer: \\boxed{x^{2}+1}", "x^{2}+1"),
        ("Natalia sold 72 clips.\n#### 72", "72"),
        ("no answer here", None),
        ("", None),
        (r"\boxed{unclosed", None),
    ],
)
def test_extract_final_answer(text, expected):
    assert extract_final_answer(text) == expected


@pytest.mark.parametrize(
    "pred,gold,verdict",
    [
        ("18", "18", Verdict.correct),
        ("$18.00", "18", Verdict.correct),
        ("1,234", "1234", Verdict.correct),
        ("18 dollars", "Janet sells 16 - 3 - 4 = 9 eggs...\n#### 18", Verdict.correct),
        ("17", "18", Verdict.incorrect),
        ("0.5", r"\frac{1}{2}", Verdict.correct),
        (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", Verdict.correct),
        (r"x^2+2x+1", r"(x+1)^2", Verdict.correct),
        (r"\frac{1}{3}", r"\frac{1}{2}", Verdict.incorrect),
        ("banana", r"\frac{1}{2}", Verdict.incorrect),
        (None, "18", Verdict.unknown),
        ("18", None, Verdict.unknown),
    ],
)
def test_check_answer(pred, gold, verdict):
    assert check_answer(pred, gold) == verdict


def test_real_gsm8k_gold_answers(bench_dir):
    rows = [json.loads(line) for line in (bench_dir / "gsm8k" / "train.jsonl").open().readlines()[:20]]
    for row in rows:
        gold = gold_answer(row["answer"])
        assert check_answer(gold, row["answer"]) == Verdict.correct
        assert check_answer(str(float(gold.replace(",", "")) + 1), row["answer"]) == Verdict.incorrect


def test_real_math_gold_answers(bench_dir):
    path = next((bench_dir / "math500").glob("*.jsonl"))
    rows = [json.loads(line) for line in path.open().readlines()[:15]]
    for row in rows:
        assert check_answer(row["answer"], row["answer"]) == Verdict.correct, row["answer"]


@pytest.mark.parametrize(
    "reply,score,critique",
    [
        ("Score: 8\nCritique: The arithmetic is right.", 0.8, "The arithmetic is right."),
        ("**Score:** 3/10. Critique: wrong sum. Also more.", 0.3, "Wrong sum."),
        ("I'd give it 7 out of 10", 0.7, None),
        ("10", 1.0, None),
        ("Score: 42", None, None),
        ("looks fine to me!", None, None),
        ("", None, None),
    ],
)
def test_parse_judgement_is_robust(reply, score, critique):
    s, c = parse_judgement(reply)
    assert s == (pytest.approx(score) if score is not None else None)
    assert c == critique


def test_small_judge_word_verdicts_and_equations():
    assert parse_judgement("No, the proposed step is incorrect. The correct step is") == (
        pytest.approx(0.2),
        "The proposed step is incorrect.",
    )
    assert parse_judgement("Yes, this is right.")[0] == pytest.approx(0.8)
    assert extract_final_answer("Final answer: 24/2 = 12") == "12"


def test_verdict_words_anywhere_and_placeholder_answers():
    s, c = parse_judgement("The proposed step is correct and makes progress. It's a")
    assert s == pytest.approx(0.8) and c == "The proposed step is correct and makes progress."
    assert parse_judgement("The proposed step is not correct because 3+4=7")[0] == pytest.approx(0.2)
    assert parse_judgement("The proposed step is to add 2 to the previous step")[0] is None
    assert extract_final_answer('end with the format: "Final answer: Final') is None
    assert extract_final_answer("Final answer: <answer>") is None


def test_answer_needs_a_separator():
    assert extract_final_answer("The values have been determined. The final answer is") is None
    assert extract_final_answer("The final answer is 12.") == "12"
    assert extract_final_answer("So the answer is: 5") == "5"


@pytest.mark.parametrize(
    ("prediction", "gold", "verdict"),
    [
        ("4 - 1 - 7", "-4", "incorrect"),  # the question restated: math-verify would evaluate it to -4
        ("3*4+2", "14", "incorrect"),
        ("5 \\times 3", "15", "incorrect"),
        ("12/4 + 1", "4", "incorrect"),
        ("-4", "-4", "correct"),
        ("3/4", "0.75", "correct"),  # a fraction is a number
        ("x = 5", "5", "correct"),  # the value after the last '='
        ("2\\sqrt{2}", "\\sqrt{8}", "correct"),  # MATH-style gold: symbolic equivalence stays
    ],
)
def test_numeric_gold_needs_an_evaluated_number(prediction, gold, verdict):
    assert check_answer(prediction, gold).value == verdict


@pytest.mark.parametrize(
    ("prediction", "verdict"),
    [
        ("B", "correct"),
        ("(B)", "correct"),
        ("B. steam", "correct"),
        ("b) steam", "correct"),
        ("Choice B", "correct"),
        ("The answer is B", "correct"),
        ("C", "incorrect"),
        ("A. ice", "incorrect"),
        ("steam", "incorrect"),  # the choice's text is not its letter
    ],
)
def test_multiple_choice_compares_the_chosen_letter(prediction, verdict):
    assert check_answer(prediction, "B", "text").value == verdict
