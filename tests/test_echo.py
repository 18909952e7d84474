"""Teacher echoes of the instructions, against the package's real prompts: placeholders, copied
instruction sentences and the worked example are echoes; restating the question, calculations and a
real final answer are not (checked over the real GSM8K, MATH-500 and ARC solutions)."""

from __future__ import annotations

import re

import pytest

from rft.generate.echo import EXAMPLE_REASON, SENTENCE_REASON, echo_reason
from rft.generate.prompts import PromptSet
from rft.problems import load_problems
from rft.verify.steps import JudgePrompt

PROMPTS = PromptSet.load()
QUESTION = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?"
)
STEPS = ["In May she sold 48 / 2 = 24 clips."]


def step_prompt(question: str = QUESTION, steps: list[str] = STEPS, domain: str = "math"):
    return PROMPTS.step_messages(question, steps, domain)


@pytest.mark.parametrize(
    "text",
    [
        'You can finish your steps with "Final answer: <answer>".',  # SmolLM2-135M, the demo teacher
        "0 - 4 - 8 = 3.\n\nYou can finish your steps with either an ending sentence of "
        '"Final answer: <answer>".',
        "In April she sold 48. Final answer: <ANSWER>",
    ],
)
def test_a_placeholder_of_the_instructions_is_an_echo(text):
    assert echo_reason(text, step_prompt()) == (
        'The step copies the placeholder "<answer>" from the instructions instead of working on the problem.'
    )


def test_placeholders_of_other_prompts():
    judge = JudgePrompt.load().messages(QUESTION, STEPS, "Then 48 + 24 = 72.", "math")
    assert "<0-10>" in echo_reason("Score: <0-10>", judge)
    reflect = PROMPTS.reflect_messages(QUESTION, STEPS, "math")
    assert '"<k>"' in echo_reason("Step <k>: <what is wrong in it>", reflect)
    # a placeholder the question itself contains (code) is not an echo
    code = "Write f(xs) for a vector<answer> of ints; return the sum."
    assert echo_reason("f returns the sum of the vector<answer>.", step_prompt(code, [])) is None


@pytest.mark.parametrize(
    "text",
    [
        "You are a careful math tutor.",
        "You solve problems one step at a time.",
        "Each step is one or two short sentences with the calculation written out.",
        "EACH step is one or two   short sentences, with the 'calculation' written out!",  # normalised
        "Write only Step 2: one short step that moves toward the answer.",
        "Write only Step 4: one short step that moves toward the answer: 4 - 7.\n\nFinal answer: 4 - 7 = 2.",
        "The step 1 that moves toward the answer is:",  # SmolLM2-135M, as the next three
        "One short step that moves toward the answer. A clever problem.",
        "You are a careful math tutor. You solve problems one step at a time. Each step is one or two "
        "short sentences with the calculation written out. When a step reaches the answer, end it with",
        "First, 48 + 24 = 72. Okay, you solve problems one step at a time, I see.",
    ],
)
def test_a_sentence_of_the_instructions_is_an_echo(text):
    assert echo_reason(text, step_prompt()) == SENTENCE_REASON


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("Multiplication comes first: 3 * 4 = 12.", "math"),
        ("Step 1: Multiplication comes first: 3*4=12", "math"),
        ("Step 2: Then 2 + 12 = 14. Final answer: 14", "math"),
        ("Then 2 + 12 = 14. Final answer: 14", "math"),
        ("Photosynthesis turns carbon dioxide and water into sugar and oxygen.", "text"),
    ],
)
def test_the_worked_example_copied_is_an_echo(text, domain):
    assert echo_reason(text, step_prompt(steps=[], domain=domain)) == EXAMPLE_REASON


def test_the_worked_example_is_no_echo_where_it_is_the_reasoning():
    """An ARC question about photosynthesis may be answered with the example's own sentence."""
    question = (
        "During photosynthesis, which substances do plants turn into sugar and oxygen?\n\n"
        "A. water and carbon dioxide\nB. nitrogen and water\nC. oxygen and sugar"
    )
    step = "Photosynthesis turns carbon dioxide and water into sugar and oxygen."
    assert echo_reason(step, step_prompt(question, [], "text")) is None


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Natalia sold clips to 48 of her friends in April.", []),  # the question restated
        ("She sold half as many clips in May, so 48 / 2 = 24 clips.", []),
        ("How many clips did Natalia sell altogether in April and May?", STEPS),
        ("In May she sold 48 / 2 = 24 clips.", []),
        ("Altogether she sold 48 + 24 = 72 clips. Final answer: 72", STEPS),
        ("Final answer: 72", STEPS),
        ("Step 2: 48+24=72. Final answer: 72", STEPS),
        ("The answer is 72 clips, so this step gives the final answer.", STEPS),
    ],
)
def test_legitimate_steps_are_not_echoes(text, steps):
    assert echo_reason(text, step_prompt(QUESTION, steps)) is None


def test_a_question_that_quotes_the_instructions_may_be_quoted():
    """The question is not instructions: a step may repeat its sentences whatever they say."""
    question = (
        "A tutor says: You solve problems one step at a time. Each step is one or two short sentences "
        "with the calculation written out. If she writes 3 steps a minute, how many in 5 minutes?"
    )
    for step in (
        "The tutor says you solve problems one step at a time.",
        "Each step is one or two short sentences with the calculation written out.",
        "She writes 3 * 5 = 15 steps. Final answer: 15",
    ):
        assert echo_reason(step, step_prompt(question, [])) is None, step


def test_a_user_message_without_a_problem_marker_is_not_read_as_instructions():
    """A custom template whose question cannot be told apart: only the system prompt counts."""
    messages = [
        {"role": "system", "content": PROMPTS.step_system},
        {"role": "user", "content": f"Q: {QUESTION}\nGive the next step in one short sentence please."},
    ]
    assert echo_reason("Natalia sold clips to 48 of her friends in April.", messages) is None
    assert echo_reason("You solve problems one step at a time.", messages) == SENTENCE_REASON


@pytest.mark.parametrize(
    ("rel", "preset", "domain"),
    [
        ("gsm8k/train.jsonl", "gsm8k", "math"),
        ("math500/test.jsonl", "math", "math"),
        ("arc_challenge/arc_challenge.jsonl", "arc", "text"),
    ],
)
def test_no_real_solution_step_or_question_sentence_is_an_echo(bench_dir, rel, preset, domain):
    """Every line of the real worked solutions (with the lines before it as the steps so far), every
    sentence of the question and the gold final answer, on 150 problems of each benchmark."""
    checked = 0
    for p in load_problems(str(bench_dir / rel), preset=preset, shuffle=True, seed=0, limit=150):
        lines = [line.strip() for line in (p.solution or "").splitlines() if line.strip()]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", p.question) if s.strip()]
        cases = [(lines[:i], line) for i, line in enumerate(lines)] + [([], s) for s in sentences]
        cases.append((lines, f"Final answer: {p.answer}"))
        for steps, text in cases:
            assert echo_reason(text, PROMPTS.step_messages(p.question, steps, domain)) is None, (p.id, text)
            checked += 1
    assert checked > 300
