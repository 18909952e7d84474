"""The RL rewards (rft.train.rewards) on hand-made completions: graded by rft.verify, code run in the
real sandbox, and the same numbers through the TRL reward-function interface."""

from __future__ import annotations

import pytest

from rft.errors import ConfigError
from rft.schemas import Problem
from rft.train.rewards import (
    POOL_MIN,
    FormatReward,
    RewardScorer,
    TRLReward,
    check_reward,
    missing_gold,
    shares,
)

GSM = Problem(
    id="g1", question="Tom has 3 boxes of 12 pencils and gives 5 away. How many are left?", answer="31"
)
ALG = Problem(id="m1", question="Expand (x+1)^2.", answer="x^2+2x+1", domain="math")
MBPP = Problem(
    id="c1",
    question="Write a function add(a, b) that returns the sum of a and b.",
    domain="code",
    entry_point="add",
    tests=["assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(-1, 1) == 5"],
)
RIGHT = "3 boxes of 12 is 36 pencils. 36 - 5 = 31.\nFinal answer: 31"
WRONG = "3 boxes of 12 is 36 pencils. 36 + 5 = 41.\nFinal answer: 41"
NONE = "Tom has many pencils and he likes them."
CODE = "```python\ndef add(a, b):\n    return a + b\n```"  # passes 2 of the 3 tests (the third is wrong)
NO_CODE = "I would add them."


def test_reft_reward_correct_wrong_and_no_answer():
    with RewardScorer("reft") as scorer:
        scored = scorer.score([GSM, GSM, GSM], [RIGHT, WRONG, NONE])
    assert [s.reward for s in scored] == [1.0, 0.1, 0.0]
    assert [s.outcome for s in scored] == ["correct", "wrong", "none"]
    assert shares(scored) == pytest.approx({"correct": 1 / 3, "wrong": 1 / 3, "none": 1 / 3})


def test_correct_reward_and_the_format_bonus():
    with RewardScorer("correct", format_weight=0.5) as scorer:
        scored = scorer.score([GSM, GSM, GSM, GSM], [RIGHT, WRONG, NONE, "The answer is 31."])
    # the last one is correct but not in the `Final answer:` format the SFT stage taught
    assert [s.answer_reward for s in scored] == [1.0, 0.0, 0.0, 1.0]
    assert [s.formatted for s in scored] == [True, True, False, False]
    assert [s.reward for s in scored] == [1.5, 0.5, 0.0, 1.0]


def test_code_passing_two_of_three_tests_in_the_sandbox():
    with RewardScorer("code-tests") as scorer:
        scored = scorer.score([MBPP, MBPP], [CODE, NO_CODE])
    assert scored[0].reward == pytest.approx(2 / 3) and scored[0].outcome == "wrong"
    assert scored[1].reward == 0.0 and scored[1].outcome == "none"
    with RewardScorer("reft") as scorer:  # reft on code: some tests fail, so it is a wrong answer
        assert [s.reward for s in scorer.score([MBPP, MBPP], [CODE, NO_CODE])] == [0.1, 0.0]
    fixed = MBPP.model_copy(update={"tests": MBPP.tests[:2]})
    with RewardScorer("reft") as scorer:
        assert scorer.score([fixed], [CODE])[0].outcome == "correct"


def test_symbolic_answers_go_through_math_verify_in_the_pool():
    texts = ["Final answer: (x+1)^2", "Final answer: x^2+1"] * POOL_MIN + [
        f"Final answer: x^2+{i}x" for i in range(9)
    ]
    with RewardScorer("reft", workers=2) as scorer:
        scored = scorer.score([ALG] * len(texts), texts)
        assert scorer._pool is not None  # enough distinct symbolic checks: the worker processes graded them
    assert [s.reward for s in scored[:2]] == [1.0, 0.1]
    assert all(s.reward == 0.1 for s in scored[2 * POOL_MIN :])
    with RewardScorer("reft", workers=1) as serial:  # the same grades in process
        assert [s.reward for s in serial.score([ALG] * len(texts), texts)] == [s.reward for s in scored]


def test_the_trl_reward_functions_read_the_problem_column_and_log_the_shares():
    logged: dict[str, float] = {}
    with RewardScorer("reft") as scorer:
        fn = TRLReward(scorer)
        problems = [GSM.model_dump_json()] * 3
        completions = [[{"role": "assistant", "content": t}] for t in (RIGHT, WRONG, NONE)]
        rewards = fn(
            prompts=[None] * 3, completions=completions, problem=problems, log_metric=logged.__setitem__
        )
    assert fn.__name__ == "reft" and rewards == [1.0, 0.1, 0.0]
    assert logged["outcome/correct"] == pytest.approx(1 / 3) and logged["outcome/none"] == pytest.approx(
        1 / 3
    )
    assert logged["reward_seconds"] >= 0
    assert FormatReward()(prompts=[None] * 3, completions=completions, problem=problems) == [1.0, 1.0, 0.0]


def test_unknown_reward_and_missing_gold():
    with pytest.raises(
        ConfigError, match="--reward 'bleu': unknown reward \\(choose from reft, correct, code-tests\\)"
    ):
        check_reward("bleu")
    assert missing_gold(GSM.model_copy(update={"answer": None}), "reft") == "no gold answer"
    assert missing_gold(GSM, "code-tests") == "no tests"
    assert missing_gold(MBPP, "reft") is None and missing_gold(GSM, "correct") is None
