"""The `code-tests` grader on the real benchmark files: HumanEval's canonical solutions pass and empty
bodies fail, MBPP's reference code passes its test lists, and the share of tests passed is counted."""

from __future__ import annotations

import pytest

from rft import benchmarks
from rft.problems import load_benchmark
from rft.schemas import Problem, Verdict
from rft.verify.code import build_job, check_code, extract_code, is_check_program
from rft.verify.grader import GRADERS, CodeGrade, CodeTestsGrader, Grader
from rft.verify.sandbox import Limits

GRADER = GRADERS["code-tests"]


@pytest.fixture(scope="module")
def humaneval(bench_dir) -> list[Problem]:
    return load_benchmark("humaneval", benchmark_dir=bench_dir)


@pytest.fixture(scope="module")
def mbpp_full(bench_dir) -> list[Problem]:
    return load_benchmark("mbpp", path=bench_dir / "mbpp" / "mbpp.jsonl")


def test_code_tests_is_the_registered_grader_of_the_code_benchmarks():
    assert isinstance(GRADER, CodeTestsGrader) and isinstance(GRADER, Grader)
    for spec in benchmarks.REGISTRY.values():
        assert spec.grader in GRADERS, spec.name
    assert {s.name for s in benchmarks.REGISTRY.values() if s.grader == "code-tests"} == {"humaneval", "mbpp"}


def test_all_164_canonical_humaneval_solutions_pass_and_all_empty_bodies_fail(humaneval):
    assert len(humaneval) == 164 and all(is_check_program(p) for p in humaneval)
    canonical = GRADER.grade_many([(p, p.solution or "") for p in humaneval], workers=2)
    failed = [
        (p.id, g.detail)
        for p, g in zip(humaneval, canonical, strict=True)
        if g.verdict is not Verdict.correct
    ]
    assert failed == []
    empty = GRADER.grade_many([(p, "    pass\n") for p in humaneval], workers=2)
    assert [g.verdict for g in empty] == [Verdict.incorrect] * 164
    assert all(isinstance(g, CodeGrade) and g.share == 0.0 for g in empty)


def test_all_974_mbpp_reference_solutions_pass_their_test_lists(mbpp_full):
    assert len(mbpp_full) == 974
    assert any(p.metadata.get("test_setup_code") for p in mbpp_full)  # run before the asserts
    grades = GRADER.grade_many([(p, p.solution or "") for p in mbpp_full], workers=2)
    failed = [
        (p.id, g.detail) for p, g in zip(mbpp_full, grades, strict=True) if g.verdict is not Verdict.correct
    ]
    assert failed == []
    assert all(g.share == 1.0 and g.n_tests == len(p.tests) for p, g in zip(mbpp_full, grades, strict=True))


def test_the_share_of_tests_passed_counts_each_mbpp_assert(mbpp_full):
    problem = next(p for p in mbpp_full if p.id == "mbpp-11")  # remove_Occ: three asserts
    half = "def remove_Occ(s, ch):\n    return 'heo' if s == 'hello' else s\n"
    grade = GRADER.grade(problem, half)
    assert grade.verdict is Verdict.incorrect
    assert (grade.tests_passed, grade.n_tests) == (1, 3) and grade.share == pytest.approx(1 / 3)
    assert grade.detail.startswith("code-tests: failed: 1/3 tests passed; test 1 `assert remove_Occ(")
    assert grade.detail.endswith("raised AssertionError; passed: [0]")


def test_a_full_function_in_a_fenced_chat_answer_is_graded(humaneval):
    p = humaneval[0]
    header = p.question[p.question.index("def ") :].split("\n", 1)[0]
    answer = (
        "Here is my solution.\n\n```python\nimport math\n\n"
        f"{header}\n{p.solution}```\n\nIt compares every pair. ```\nnot code\n```"
    )
    code = extract_code(answer, p.entry_point)
    assert code.startswith("import math") and "def has_close_elements" in code
    assert GRADER.grade(p, answer).verdict is Verdict.correct
    job = build_job(p, code)
    assert job.program.startswith(p.question) and job.tests[0].endswith(f"check({p.entry_point})\n")


def test_extract_code_reads_fences_unclosed_fences_and_raw_text():
    assert extract_code("```py\nx = 1\n```", None) == "x = 1\n"
    assert extract_code(
        "```python\ndef g():\n    pass\n```\n```python\ndef f():\n    return 1\n```", "f"
    ) == ("def f():\n    return 1\n")
    assert extract_code("Sure:\n```python\ndef f():\n    return 2\n", "f") == "def f():\n    return 2\n"
    assert extract_code("def f():\n    return 3\n", "f") == "def f():\n    return 3\n"
    assert extract_code("```json\n{}\n```\nx = 1", None) == "```json\n{}\n```\nx = 1"


def test_no_code_or_no_tests(humaneval):
    assert GRADER.grade(humaneval[0], "").verdict is Verdict.incorrect
    no_tests = Problem(id="p", question="Write f.", domain="code")
    assert GRADER.grade(no_tests, "def f(): pass").verdict is Verdict.unknown


@pytest.mark.parametrize(
    "completion",
    [
        "    import sys\n    sys.exit(0)\n",
        "    import os\n    os._exit(0)\n",
        "    print('passed')\n    return None\n",
    ],
)
def test_hostile_completions_are_graded_incorrect(humaneval, completion):
    assert GRADER.grade(humaneval[0], completion).verdict is Verdict.incorrect


def test_a_timeout_is_incorrect_and_a_grader_takes_limits(humaneval):
    grader = CodeTestsGrader(Limits(timeout=1.0))
    grade = grader.grade(humaneval[0], "    while True:\n        pass\n")
    assert grade.verdict is Verdict.incorrect and "timeout" in grade.detail


def test_check_code_gives_the_sandbox_result(mbpp_full):
    p = mbpp_full[0]
    check = check_code(p, f"```python\n{p.solution}\n```")
    assert check.passed and check.share == 1.0 and check.result.n_tests == len(p.tests)
