"""The calculator check of written-out equations: what it flags, what it leaves alone, and how the
search uses it (a false equation scores 0 without a judge call, and its reason reaches the render)."""

from __future__ import annotations

import asyncio

import pytest
from test_search import PROBLEM
from test_search_support import ScriptedTeacher, ScriptedValidator

from rft.generate.config import SearchConfig
from rft.generate.prompts import PromptSet
from rft.generate.render import backtrack_parts
from rft.generate.search import Searcher
from rft.schemas import Outcome, Record
from rft.verify.arithmetic import false_equation


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Mia has 10 + 8 = 19 apples.", "10 + 8 is not 19."),
        ("0 - 4 - 8 = 3.", "0 - 4 - 8 is not 3."),
        ("6 + 10 * 0 = 6 + 10 = 10.", "6 + 10 is not 10."),  # the first false link of a chain
        ("3 + 4 * 2 = 14", "3 + 4 * 2 is not 14."),  # precedence counts
        ("3 * 4 = 12.5", "3 * 4 is not 12.5."),
        ("1 * 5 * 2 = 3 * 2 = 6", "1 * 5 * 2 is not 3 * 2."),  # SmolLM2-135M's own
    ],
)
def test_false_equations_are_found(text, reason):
    found = false_equation(text)
    assert found is not None and found.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "3 * 12 = 36 pencils",
        "$1,200 / 4 = $300.",
        "10 / 3 = 3.33",  # rounded, not wrong
        "50 * 20% = 10",
        "5 x 9 = 45",
        "(3 + 4) * 2 = 14",
        "7 - 10 = -3",
        "x = 5",
        "12 cm = 120 mm",
        "2^3 = 8",
        "16 / 2 = 8 * 3 = 24",  # a loosely written chain: each computation is right
        "3 + 4 = 7 + 2 = 9",
        "Then 2 + 12 = 14. Final answer: 14",
        "1/0 = 5",  # not computable: left alone
    ],
)
def test_true_or_unreadable_equations_are_left_alone(text):
    assert false_equation(text) is None


def test_a_false_equation_scores_zero_without_the_validator_and_its_reason_is_rendered():
    script = {
        (): ["Step 1: 3 + 4 = 8, so the sum is 8.", "Step 1: 3 + 4 = 7, so the sum is 7."],
        ("3 + 4 = 7, so the sum is 7.",): ["Final answer: 7"],
    }

    class Counting(ScriptedValidator):
        seen: list[str] = []

        async def score(self, problem, steps, candidates, chat=None, seed=None):
            self.seen += [c.text for c in candidates]
            return await super().score(problem, steps, candidates, chat, seed)

    validator = Counting({"3 + 4 = 7, so the sum is 7.": 0.9})
    params = SearchConfig(strategy="dfs", branches=2, threshold=0.5)
    res = asyncio.run(Searcher(ScriptedTeacher(script), validator, PromptSet.load(), params).run(PROBLEM))
    wrong = next(n for n in res.trace.nodes if n.text.startswith("3 + 4 = 8"))
    assert (wrong.score, wrong.validator, wrong.critique) == (0.0, "arithmetic", "3 + 4 is not 8.")
    assert "3 + 4 = 8, so the sum is 8." not in validator.seen
    rec = Record(
        problem=PROBLEM,
        trace=res.trace,
        outcome=Outcome(solved=True, final_answer="7", correct=True),
    )
    texts = [p.text for p in backtrack_parts(rec)]
    assert texts[0] == "Step 1: 3 + 4 = 8, so the sum is 8."
    assert "step 1" in texts[1].lower() and "3 + 4 is not 8." in texts[1]
    assert texts[2:] == ["Step 1: 3 + 4 = 7, so the sum is 7.", "Step 2: Final answer: 7"]
