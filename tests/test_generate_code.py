"""`rft generate` on code problems: the `code-tests` step validator (a program scored by the share of
its problem's tests that pass in the sandbox), the code prompts, the program read from the final step,
and a real search on real HumanEval problems with a scripted teacher that writes a wrong program first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_search_support import ScriptedTeacher

from rft.errors import ConfigError
from rft.generate.blame import usable_critique
from rft.generate.config import GenerateConfig, SearchConfig
from rft.generate.parsing import final_program, parse_code_step
from rft.generate.problemset import choose_validator
from rft.generate.prompts import PromptSet
from rft.generate.render import render
from rft.generate.search import Searcher
from rft.problems import load_benchmark
from rft.problems.problemset import ProblemSet
from rft.schemas import EventType, NodeStatus, Outcome, Problem, Record, Verdict
from rft.verify.steps import (
    Candidate,
    CodeTestsValidator,
    Judgement,
    JudgePrompt,
    StepValidator,
    make_validator,
)


@pytest.fixture(scope="module")
def humaneval(bench_dir: Path) -> dict[str, Problem]:
    return {p.entry_point: p for p in load_benchmark("humaneval", benchmark_dir=bench_dir)}


@pytest.fixture(scope="module")
def mbpp(bench_dir: Path) -> list[Problem]:
    return load_benchmark("mbpp", benchmark_dir=bench_dir)


def block(code: str) -> str:
    return f"The program:\n```python\n{code.strip()}\n```"


# Per problem: a plan that leads to wrong programs (one fails an assert, one raises), and a plan that
# leads to the right one. The teacher is fallible in these known ways.
PROGRAMS = {
    "has_close_elements": (
        "Compare each number with the next one in the list.",
        # neighbours of the unsorted list: misses close pairs that are apart in the list
        "def has_close_elements(numbers, threshold):\n"
        "    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))\n",
        "def has_close_elements(numbers, threshold):\n"
        "    return any(abs(a - b) < treshold for a, b in zip(numbers, numbers[1:]))\n",
        "Sort the numbers first; then close numbers are neighbours.",
        "def has_close_elements(numbers, threshold):\n"
        "    s = sorted(numbers)\n"
        "    return any(b - a < threshold for a, b in zip(s, s[1:]))\n",
    ),
    "truncate_number": (
        "Subtract the nearest integer from the number.",
        "def truncate_number(number: float) -> float:\n    return number - round(number)\n",
        "def truncate_number(number: float) -> float:\n    return number - math.floor(number)\n",
        "The decimal part is what is left after dividing by 1.",
        "def truncate_number(number: float) -> float:\n    return number % 1.0\n",
    ),
}


def teacher_for(entry: str) -> ScriptedTeacher:
    wrong_plan, wrong, raising, right_plan, right = PROGRAMS[entry]
    return ScriptedTeacher(
        {
            (): [wrong_plan, right_plan],
            (wrong_plan,): [block(wrong), block(raising)],
            (right_plan,): [block(right), block(right)],
        },
        reflections=["Step 1: that approach is wrong for some inputs."],
    )


def search(problem: Problem, teacher: ScriptedTeacher, **params):
    searcher = Searcher(
        teacher,
        make_validator("code-tests", None, JudgePrompt.load()),
        PromptSet.load(),
        SearchConfig(strategy="dfs", branches=2, **params),
    )
    return asyncio.run(searcher.run(problem))


@pytest.mark.parametrize("entry", sorted(PROGRAMS))
def test_a_wrong_program_is_caught_by_the_tests_then_the_search_backtracks_to_a_passing_one(humaneval, entry):
    problem = humaneval[entry]
    teacher = teacher_for(entry)
    res = search(problem, teacher)
    nodes = res.trace.nodes
    wrong_plan, wrong, raising, _, right = PROGRAMS[entry]

    failed = [n for n in nodes if n.final_answer is not None and n.verdict == Verdict.incorrect]
    assert len(failed) == 2
    for n in failed:
        assert n.validator == "code-tests" and n.score is not None and n.score < 1.0
        assert n.critique and n.critique.startswith("The program fails")
        assert n.metadata["n_tests"] == 1 and n.metadata["tests_passed"] == 0
        assert usable_critique(n) is None  # hidden tests' verdict: stored, never a rendered reason
    by_program = {n.final_answer: n for n in failed}
    assert by_program[wrong].critique == "The program fails the tests: AssertionError."
    missing = "treshold" if entry == "has_close_elements" else "math"
    assert f"NameError: name '{missing}' is not defined" in by_program[raising].critique

    backtracks = list(res.trace.iter_events(EventType.backtrack))
    assert res.backtracks == len(backtracks) >= 1
    plan = next(n for n in nodes if n.text == wrong_plan)
    assert backtracks[0].to_node == nodes[0].id and plan.status == NodeStatus.dead_end

    assert res.solution is not None and res.correct is True and res.stop_reason == "solved"
    assert res.solution.final_answer == right and res.solution.score == 1.0
    assert res.solution.verdict == Verdict.correct and res.solution.metadata["tests_passed"] == 1
    assert res.solution.text.endswith("```") and "```python" in res.solution.text

    # the self-check went out in its code form
    assert "The program in Step 2 is wrong" in teacher.reflect_prompts[0]
    assert problem.question.strip()[:40] in teacher.reflect_prompts[0]


def test_sample_strategy_keeps_the_first_program_that_passes(humaneval):
    problem = humaneval["truncate_number"]
    _, wrong, _, _, right = PROGRAMS["truncate_number"]
    samples = [
        f"Step 1: Take what is left after the integer part.\nStep 2:\n{block(p)}" for p in (wrong, right)
    ]
    searcher = Searcher(
        ScriptedTeacher({}, samples=samples),
        make_validator("code-tests", None, JudgePrompt.load()),
        PromptSet.load(),
        SearchConfig(strategy="sample", samples=2),
    )
    res = asyncio.run(searcher.run(problem))
    kids = [n for n in res.trace.nodes if n.parent is not None]
    assert [k.score for k in kids] == [0.0, 1.0] and res.solution is kids[1]
    assert res.final_answer == right and res.correct is True and res.metadata["samples_correct"] == 1


class AcceptAll(StepValidator):
    """A judge that accepts every step (a lenient LLM judge)."""

    name = "judge"

    async def score(self, problem, steps, candidates, chat=None, seed=None):
        return [
            Judgement(0.9, None, Verdict.unknown if c.final_answer else None, self.name) for c in candidates
        ]


def test_a_program_a_judge_accepted_is_still_checked_against_the_tests(humaneval):
    problem = humaneval["truncate_number"]
    wrong_plan, wrong, *_ = PROGRAMS["truncate_number"]
    searcher = Searcher(
        ScriptedTeacher({(): [wrong_plan], (wrong_plan,): [block(wrong)]}),
        AcceptAll(),
        PromptSet.load(),
        SearchConfig(strategy="dfs", branches=1),
    )
    res = asyncio.run(searcher.run(problem))
    assert res.final_answer == wrong and res.correct is False  # solved by the judge, wrong by the tests
    # so it is no demonstration: a program that fails its tests is never trained on
    from rft.schemas.record import untrainable_reason

    record = Record(problem=problem, outcome=Outcome(solved=True, correct=False))
    assert not record.outcome.trainable and untrainable_reason(record) == "incorrect"
    unchecked = Record(problem=problem, outcome=Outcome(solved=True, correct=None))
    assert not unchecked.outcome.trainable and untrainable_reason(unchecked) == "gold_unchecked"
    assert Record(problem=problem, outcome=Outcome(solved=True, correct=True)).outcome.trainable


def test_rendered_code_trace_ends_with_the_program_and_quotes_no_test_verdict(humaneval):
    problem = humaneval["truncate_number"]
    res = search(problem, teacher_for("truncate_number"))
    rec = Record(
        problem=problem,
        trace=res.trace,
        outcome=Outcome(solved=True, final_answer=res.final_answer, correct=True, backtracks=res.backtracks),
    )
    for style in ("path", "backtrack", "search", "think"):
        text = render(rec, style, 0)[-1].content
        assert "Final answer:" not in text and "AssertionError" not in text and "NameError" not in text
        if style != "search":
            assert text.rstrip().endswith("return number % 1.0\n```"), text
    backtrack = render(rec, "backtrack", 0)[-1].content
    assert "that approach is wrong for some inputs" in backtrack.lower()  # the teacher's own self-check


def test_the_score_is_the_share_of_mbpp_asserts_passed_and_the_critique_names_the_first_failure(mbpp):
    problem = next(p for p in mbpp if p.entry_point == "remove_Occ")
    half = "def remove_Occ(s, ch):\n    return 'heo' if s == 'hello' else s\n"
    right = problem.solution or ""
    v = CodeTestsValidator()
    js = asyncio.run(
        v.score(
            problem,
            ["Remove the first and the last occurrence."],
            [Candidate(block(half), half), Candidate(block(right), right), Candidate("Think first.")],
        )
    )
    assert js[0].score == pytest.approx(1 / 3) and js[0].verdict == Verdict.incorrect
    assert js[0].critique == 'The program fails `assert remove_Occ("abcda","a") == "bcd"`: AssertionError.'
    assert (js[1].score, js[1].verdict, js[1].critique) == (1.0, Verdict.correct, None)
    assert (js[2].score, js[2].verdict, js[2].critique) == (None, None, None)  # reasoning: unknown


def test_a_program_that_never_ends_or_has_no_code(humaneval):
    problem = humaneval["truncate_number"]
    loop = "def truncate_number(number):\n    while True:\n        pass\n"
    from rft.verify.grader import CodeTestsGrader
    from rft.verify.sandbox import Limits

    v = CodeTestsValidator(CodeTestsGrader(Limits(timeout=1.0)))
    js = asyncio.run(v.score(problem, [], [Candidate(block(loop), loop), Candidate("", None)]))
    assert js[0].score == 0.0 and js[0].critique == "The program did not finish within the time limit."
    assert (js[1].score, js[1].critique) == (0.0, "The step is empty.")


def test_the_final_step_is_the_closed_program_block():
    entry = "f"
    prog = "def f(x):\n    return x + 1\n"
    text, final, ended = parse_code_step(f"Step 3: The program:\n```python\n{prog}```\nStep 4: more")
    assert final == prog and ended and text == f"The program:\n```python\n{prog}```"
    # a snippet that is not the entry point is reasoning, not the final step
    assert parse_code_step("Use a helper:\n```python\ndef g(): pass\n```", entry)[1] is None
    # a block cut off by max_tokens is an unfinished step; one the model stopped in is the program
    assert parse_code_step("```python\ndef f(x):\n    return", entry, truncated=True)[1:] == (None, False)
    assert parse_code_step(f"```python\n{prog}", entry)[1] == prog
    # prose with a "Final answer" line is still reasoning for a code problem
    assert parse_code_step("The answer is clear. Final answer: 5", entry)[1] is None
    assert final_program(f"Step 1: plan\nStep 2:\n```python\n{prog}```", entry) == prog


def test_code_prompts_ask_for_reasoning_steps_then_the_program(humaneval, mbpp):
    prompts = PromptSet.load()
    he = humaneval["truncate_number"]
    system, user = prompts.step_messages(he.question, ["Think."], "code")
    assert "```python block" in system["content"] and "Python programmer" in system["content"]
    assert "Write only Step 2" in user["content"] and "complete program" in user["content"]
    assert "Final answer" not in user["content"]
    math_user = prompts.step_messages("What is 2+2?", [], "math")[1]["content"]
    assert "Final answer" in math_user  # the other domains keep theirs
    sample = prompts.sample_messages(he.question, "code")
    assert "```python block" in sample[0]["content"] + sample[1]["content"]
    # an assert-list problem's question gets its first test (the function's name), as MBPP's prompt has
    from rft.verify.code import task_text

    p = next(p for p in mbpp if p.entry_point == "remove_Occ")
    assert task_text(p).endswith('assert remove_Occ("hello","l") == "heo"') and task_text(he) == he.question


def test_code_tests_is_the_default_for_code_problems_with_tests(humaneval):
    cfg = GenerateConfig(problems="humaneval")
    code = ProblemSet.of(list(humaneval.values())[:2])
    assert choose_validator(cfg, code) == "code-tests"
    plain = ProblemSet.of([Problem(id="a", question="What is 2+2?", answer="4")])
    assert choose_validator(cfg, plain) == "composite"
    mixed = ProblemSet.of([*code, Problem(id="nt", question="Write f.", domain="code")])
    assert choose_validator(cfg, mixed) == "judge"
    cfg.search.validator = "code-tests"
    with pytest.raises(ConfigError, match="problem nt has none"):
        choose_validator(cfg, mixed)


@pytest.mark.parametrize("source", ["demo", "nocode.jsonl"])
def test_cli_code_tests_on_problems_without_tests_is_one_line_and_exit_2(tmp_path, source):
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "nocode.jsonl").write_text(
        json.dumps({"question": "Write a function f that returns 1.", "domain": "code"}) + "\n"
    )
    rft = str(Path(sys.executable).with_name("rft"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    args = ["generate", "--problems", source, "--limit", "2", "--validator", "code-tests"]
    r = subprocess.run(
        [rft, *args, "--out", str(tmp_path / "o")], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "--validator code-tests needs code problems with tests" in lines[0]
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("v1"))


class PerProblem:
    """One scripted teacher per HumanEval problem, chosen by the entry point the prompt names."""

    spec = "scripted:test"

    def __init__(self) -> None:
        self.teachers = {entry: teacher_for(entry) for entry in PROGRAMS}

    async def chat(self, messages, **kw):
        user = messages[-1]["content"]
        entry = next((e for e in self.teachers if f"def {e}(" in user), None)
        if entry is None:  # the preflight ping
            return await ScriptedTeacher({}).chat(messages, **kw)
        return await self.teachers[entry].chat(messages, **kw)

    async def aclose(self) -> None:
        return None


def test_generate_run_on_real_humaneval_defaults_to_code_tests_and_seals_trainable_programs(
    tmp_path, humaneval
):
    from rft.generate.runner import GenerateRun
    from rft.store import Store

    problems = [humaneval[e] for e in sorted(PROGRAMS)]
    cfg = GenerateConfig(
        problems="humaneval", name="code", out=str(tmp_path / "out"), concurrency=2, branches=2
    )
    res = GenerateRun(
        cfg, ["rft", "generate"], teacher=PerProblem(), progress=False, problems=problems
    ).execute()
    loaded = Store(tmp_path / "out").load_version("code")
    assert res.ref == "code@v1" and loaded.manifest.validator == "code-tests"
    card = (res.path / "README.md").read_text()
    assert "`code-tests`: each final step's program ran against its problem's tests" in card
    assert "validator: `code-tests`;" in card
    for rec in loaded.records:
        o = rec.outcome
        assert o.solved and o.correct is True and o.trainable and o.backtracks >= 1
        assert rec.metadata["validator"] == "code-tests"
        assert (
            rec.messages[-1]
            .content.rstrip()
            .endswith(PROGRAMS[rec.problem.entry_point][-1].rstrip() + "\n```")
        )
        assert "AssertionError" not in rec.messages[-1].content


@pytest.mark.parametrize("strategy", ["beam", "best-first"])
def test_the_other_strategies_reach_the_passing_program(humaneval, strategy):
    problem = humaneval["has_close_elements"]
    searcher = Searcher(
        teacher_for("has_close_elements"),
        make_validator("code-tests", None, JudgePrompt.load()),
        PromptSet.load(),
        SearchConfig(strategy=strategy, branches=2, beam_width=2),
    )
    res = asyncio.run(searcher.run(problem))
    assert res.correct is True and res.solution is not None and res.solution.score == 1.0
    assert res.final_answer == PROGRAMS["has_close_elements"][-1]
