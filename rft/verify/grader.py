"""Graders: is a response's answer right for a problem? The one check generate, validate, eval and RL
rewards call.

A `Grader` has a `name` and `grade(problem, text) -> Grade`. The answer graders read the final answer
from the text (`rft.verify.answers`) and compare it with `problem.answer`; `check(answer, gold)` does
the comparison for an answer already read. `grader_for(problem)` picks one from `GRADERS`: the one
the benchmark registry (`rft.benchmarks`) names for the benchmark the problem comes from, so that a
benchmark's items are all scored alike (MATH by `math`, numeric golds too); else by domain and gold
(`answer_grader`, which generate's labels and validate's re-check use):

- `numeric`: a math problem whose gold is a plain number (GSM8K; by `answer_grader`, most of MATH's
  golds too): numbers compared with tolerance; an unevaluated expression (`3*4+2`) is wrong; anything else falls to `math`.
- `math`: other math answers: normalised text, else `math-verify` symbolic equivalence.
- `choice`: a multiple-choice gold letter (ARC): the letter the prediction names.
- `text`: any other answer: normalised string equality.
- `code-tests`: a code problem's tests (HumanEval, MBPP): the completion's code runs against them in the
  sandbox (`rft.verify.code`, `rft.verify.sandbox`); its `CodeGrade` also carries the share of tests
  that passed (the RL reward). It is chosen by name (a benchmark's `grader`), not by `grader_for`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rft import benchmarks
from rft.schemas import Problem, Verdict
from rft.verify import code
from rft.verify.answers import (
    UNEVALUATED,
    chosen_letter,
    clean_answer,
    extract_final_answer,
    gold_answer,
    is_choice,
    math_equal,
    numbers_equal,
    parse_number,
    same_text,
)
from rft.verify.sandbox import Limits, Status


@dataclass(frozen=True)
class Grade:
    """A grader's finding: the verdict, the answer it read (None: none could be read), and why."""

    verdict: Verdict
    extracted: str | None
    detail: str = ""


@runtime_checkable
class Grader(Protocol):
    """Decides whether a response to a problem is right."""

    name: str

    def grade(self, problem: Problem, text: str) -> Grade: ...


class AnswerGrader(ABC):
    """A grader of final answers: reads the answer from the text, compares it with the gold answer."""

    name = ""

    def grade(self, problem: Problem, text: str) -> Grade:
        return self.check(extract_final_answer(text), problem.answer)

    def check(self, answer: str | None, gold: str | None) -> Grade:
        """Grade an answer already read from a response (`unknown` when it or the gold is missing)."""
        if answer is None or not str(answer).strip():
            return Grade(Verdict.unknown, None, "no final answer")
        pred = clean_answer(str(answer))
        if gold is None or not str(gold).strip():
            return Grade(Verdict.unknown, pred, "no gold answer")
        verdict, detail = self.compare(pred, clean_answer(gold_answer(str(gold))))
        return Grade(verdict, pred, f"{self.name}: {detail}")

    @abstractmethod
    def compare(self, pred: str, gold: str) -> tuple[Verdict, str]:
        """(verdict, detail) for a cleaned prediction against a cleaned gold answer."""


def _verdict(ok: bool) -> Verdict:
    return Verdict.correct if ok else Verdict.incorrect


class MathGrader(AnswerGrader):
    name = "math"

    def compare(self, pred: str, gold: str) -> tuple[Verdict, str]:
        if same_text(pred, gold):
            return Verdict.correct, "same text"
        verified = math_equal(pred, gold)
        if verified is None:
            return Verdict.unknown, "math-verify cannot read the gold answer"
        return _verdict(verified), "math-verify equivalent" if verified else "math-verify: not equivalent"


class NumericGrader(MathGrader):
    name = "numeric"

    def compare(self, pred: str, gold: str) -> tuple[Verdict, str]:
        p_num, g_num = parse_number(pred), parse_number(gold)
        if p_num is not None and g_num is not None:
            ok = numbers_equal(p_num, g_num)
            return _verdict(ok), "numbers equal" if ok else f"{p_num:g} is not {g_num:g}"
        if g_num is not None and UNEVALUATED.search(pred):
            # "4 - 1 - 7" for a gold -4 restates the problem: math-verify would evaluate it and agree,
            # but a numeric answer has to be given as a number (as GSM8K graders read it).
            return Verdict.incorrect, "an unevaluated expression where a number is due"
        return super().compare(pred, gold)


class ChoiceGrader(AnswerGrader):
    name = "choice"

    def compare(self, pred: str, gold: str) -> tuple[Verdict, str]:
        chosen = chosen_letter(pred)
        if chosen is None:
            return Verdict.incorrect, "no choice named"
        want = gold.strip().upper()
        return _verdict(chosen == want), f"chose {chosen}" + ("" if chosen == want else f", not {want}")


class TextGrader(AnswerGrader):
    name = "text"

    def compare(self, pred: str, gold: str) -> tuple[Verdict, str]:
        ok = same_text(pred, gold)
        return _verdict(ok), "same text" if ok else "different text"


@dataclass(frozen=True)
class CodeGrade(Grade):
    """A code-tests grade: also how many of the tests passed."""

    tests_passed: int = 0
    n_tests: int = 0

    @property
    def share(self) -> float:
        return self.tests_passed / self.n_tests if self.n_tests else 0.0


class CodeTestsGrader:
    """Runs the completion's code against the problem's tests in the sandbox: correct when all pass;
    unknown when the problem has no tests or the sandbox could not run."""

    name = "code-tests"

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits

    def grade(self, problem: Problem, text: str) -> CodeGrade:
        if not problem.tests:
            return CodeGrade(Verdict.unknown, None, "no tests")
        return self.of(code.check_code(problem, text, self.limits))

    def grade_many(self, items: list[tuple[Problem, str]], workers: int | None = None) -> list[CodeGrade]:
        """Grades of many (problem, completion) pairs, `workers` sandboxes at a time."""
        with_tests = [(p, t) for p, t in items if p.tests]
        checks = iter(code.check_many(with_tests, self.limits, workers))
        return [
            self.of(next(checks)) if p.tests else CodeGrade(Verdict.unknown, None, "no tests")
            for p, _ in items
        ]

    @staticmethod
    def of(check: code.CodeCheck) -> CodeGrade:
        r = check.result
        verdict = Verdict.unknown if r.status is Status.error else _verdict(r.passed)
        return CodeGrade(verdict, check.code, f"code-tests: {check.detail}", r.tests_passed, r.n_tests)


NUMERIC, MATH, CHOICE, TEXT = NumericGrader(), MathGrader(), ChoiceGrader(), TextGrader()
CODE_TESTS = CodeTestsGrader()
GRADERS: dict[str, Grader] = {g.name: g for g in (NUMERIC, MATH, CHOICE, TEXT, CODE_TESTS)}


def answer_grader(gold: str | None, domain: str = "math") -> AnswerGrader:
    """The answer grader for a gold answer in a problem domain (see the module doc)."""
    g = clean_answer(gold_answer(gold)) if gold and gold.strip() else ""
    if domain == "math":
        return NUMERIC if g and parse_number(g) is not None else MATH
    return CHOICE if g and is_choice(g) else TEXT


def benchmark_grader(problem: Problem) -> Grader | None:
    """The grader the registry names for the known benchmark a problem comes from (its
    `source.benchmark`), or None: not from a known benchmark, or its grader is not an answer grader here."""
    family = problem.source.benchmark if problem.source else None
    spec = benchmarks.of_family(family) if family else None
    return GRADERS.get(spec.grader) if spec else None


def grader_for(problem: Problem) -> Grader:
    """The grader for a problem: its benchmark's (`benchmark_grader`), else by its domain and gold answer."""
    return benchmark_grader(problem) or answer_grader(problem.answer, problem.domain)


def check_answer(prediction: str | None, gold: str | None, domain: str = "math") -> Verdict:
    """The verdict on an answer already read from a response, against a gold answer."""
    return answer_grader(gold, domain).check(prediction, gold).verdict
