"""Code problems: the program a completion makes with a benchmark's tests, and its run in the sandbox.

- `extract_code(text, entry_point)`: the code in a completion: the fenced block (```python, ```py or
  bare ```) that defines the entry point, else the first fenced block, else an unclosed fence's rest,
  else the text itself.
- `build_job(problem, code)`: the sandbox job.
  - HumanEval (one test program that defines `check(candidate)`): the program is the prompt and the
    completion (a function body continues the prompt; a full definition follows it and replaces the
    prompt's stub, keeping the prompt's imports), and the one test is the test program followed by
    `check(<entry_point>)`, as OpenAI's harness builds it.
  - MBPP and other assert lists: the program is the code and the benchmark's `test_setup_code`; each
    assert is a test of its own, so a run says which passed (the RL reward's share of tests passed).
- `check_code(problem, text)` / `check_many(items)`: extract, build, run; a `CodeCheck` with the
  sandbox's result and the share of tests that passed. The `code-tests` grader in
  `rft.verify.grader` turns it into a `Grade`.
- `CodeCheck.failure(problem)`: one short sentence saying what failed (the program's own error, the
  first failing assert, a timeout), built only from the exception's type and message and the
  problem's own test text: never the sandbox's output tails, its nonce or its paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rft.schemas import Problem
from rft.verify.sandbox import Job, Limits, SandboxResult, Status, run, run_many

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_LANGS = {"", "python", "py", "python3", "py3"}


def _defines(code: str, name: str | None) -> bool:
    if not name:
        return False
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code in a completion (see the module doc). Never raises; may return ""."""
    blocks = [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in _CODE_LANGS]
    if blocks:
        for block in blocks:
            if _defines(block, entry_point):
                return block.rstrip() + "\n"
        return blocks[0].rstrip() + "\n"
    return text


def task_text(problem: Problem) -> str:
    """A problem as a solver is given it: the question; for a code problem whose tests are asserts
    (MBPP), the question and its first test, which names the function and shows how it is called (as
    MBPP's own prompt does, and eval's). A HumanEval prompt already holds the signature."""
    if problem.domain.value != "code" or not problem.tests or is_check_program(problem):
        return problem.question
    return f"{problem.question.rstrip()}\nYour code should pass this test:\n{problem.tests[0].strip()}"


def is_check_program(problem: Problem) -> bool:
    """HumanEval's form: one test program defining `check(candidate)`, and an entry point."""
    return bool(problem.entry_point) and len(problem.tests) == 1 and "def check(" in problem.tests[0]


def _is_body(code: str) -> bool:
    """A function body that continues a prompt (indented first line), not a module of its own."""
    first = next((ln for ln in code.splitlines() if ln.strip()), "")
    return first[:1] in (" ", "\t")


def build_job(problem: Problem, code: str) -> Job:
    """The sandbox job for a problem's tests and a completion's code (see the module doc)."""
    if is_check_program(problem):
        prompt = problem.question
        if _is_body(code) or not _defines(code, problem.entry_point):
            program = prompt + code
        else:
            program = prompt + "\n\n" + code
        test = problem.tests[0] + "\n" + f"check({problem.entry_point})\n"
        return Job(program=program, tests=(test,), name=problem.id)
    setup = problem.metadata.get("test_setup_code") or ""
    program = code if not setup else code.rstrip() + "\n\n" + setup
    return Job(program=program, tests=tuple(problem.tests), name=problem.id)


@dataclass(frozen=True)
class CodeCheck:
    """A completion's code run against a problem's tests."""

    code: str
    result: SandboxResult

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def share(self) -> float:
        return self.result.share

    @property
    def detail(self) -> str:
        r = self.result
        which = [i for i, t in enumerate(r.tests) if t.ok]
        passed = f"passed: {which}" if r.n_tests > 1 and r.status is not Status.passed else ""
        return "; ".join(x for x in (f"{r.status.value}: {r.detail}", passed) if x)

    def failure(self, problem: Problem, limit: int = 200) -> str | None:
        """What failed, in one short sentence (None: every test passed). See the module doc."""
        r = self.result
        if r.status is Status.passed:
            return None
        if not self.code.strip():
            return "The step has no program."
        if r.status is Status.timeout:
            return "The program did not finish within the time limit."
        if r.status is Status.output_limit:
            return "The program wrote more output than the limit allows."
        if r.status is Status.tampered:
            return "The program interfered with the test harness."
        if r.status is Status.error:
            return "The sandbox could not run the program."
        if r.program_error:
            return _sentence(f"The program fails before any test runs: {r.program_error}", limit)
        for i, t in enumerate(r.tests):
            if not t.ok:
                error = t.error or "it failed"
                if is_check_program(problem) or i >= len(problem.tests):
                    return _sentence(f"The program fails the tests: {error}", limit)
                test = " ".join(problem.tests[i].split())
                return _sentence(f"The program fails `{_clip(test, limit // 2)}`: {error}", limit)
        if r.status is Status.crashed:
            return "The program crashed before the tests finished."
        return "The program fails the tests."


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _sentence(text: str, limit: int) -> str:
    text = _clip(text, limit)
    return text if text.endswith((".", "!", "?", "...")) else text + "."


def _job(problem: Problem, text: str) -> tuple[str, Job]:
    code = extract_code(text, problem.entry_point)
    return code, build_job(problem, code)


def _no_code(code: str, problem: Problem) -> CodeCheck | None:
    if code.strip():
        return None
    result = SandboxResult(
        Status.failed, None, "", "", 0.0, program_error="no code", n_tests=len(problem.tests)
    )
    return CodeCheck(code, result)


def check_code(problem: Problem, text: str, limits: Limits | None = None) -> CodeCheck:
    """Run a completion's code against a problem's tests in the sandbox."""
    code, job = _job(problem, text)
    return _no_code(code, problem) or CodeCheck(code, run(job, limits))


def check_many(
    items: Sequence[tuple[Problem, str]], limits: Limits | None = None, workers: int | None = None
) -> list[CodeCheck]:
    """`check_code` for many (problem, completion) pairs, `workers` sandboxes at a time, in order."""
    built = [_job(p, t) for p, t in items]
    todo = [
        i for i, ((code, _), (p, _)) in enumerate(zip(built, items, strict=True)) if _no_code(code, p) is None
    ]
    results = dict(zip(todo, run_many([built[i][1] for i in todo], limits, workers), strict=True))
    out = []
    for i, ((code, _), (p, _)) in enumerate(zip(built, items, strict=True)):
        out.append(CodeCheck(code, results[i]) if i in results else _no_code(code, p))
    return out  # type: ignore[return-value]
