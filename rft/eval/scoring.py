"""Scoring one output of a benchmark item: every answer extraction the registry lists for the
benchmark (`BenchmarkSpec.extractions`, `rft.verify.extract`), each graded by the benchmark's grader
(`BenchmarkSpec.grader`, from `rft.verify.grader.GRADERS`), so every item of a benchmark, and every
model, is scored by the same grader: GSM8K by `numeric`, MATH and MATH-500 by `math` (math-verify).

Code benchmarks (grader `code-tests`) are scored by running their tests, not by reading an answer."""

from __future__ import annotations

from dataclasses import dataclass

from rft import benchmarks
from rft.errors import ConfigError
from rft.schemas import Problem, Verdict
from rft.verify.extract import get_extraction, lm_eval_exact_match
from rft.verify.grader import GRADERS, AnswerGrader


@dataclass(frozen=True)
class Score:
    """One output read by one extraction and graded: the answer read (None: an extraction failure),
    the verdict, the grader's detail, and (for lm-evaluation-harness's extractions) lm-eval's own
    exact-match result on the same extracted answer."""

    extraction: str
    extracted: str | None
    verdict: Verdict
    detail: str
    lm_eval_exact_match: bool | None = None

    @property
    def correct(self) -> bool:
        return self.verdict is Verdict.correct

    @property
    def failed_extraction(self) -> bool:
        return self.extracted is None or not self.extracted.strip()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "extracted": self.extracted,
            "verdict": self.verdict.value,
            "detail": self.detail,
        }
        if self.lm_eval_exact_match is not None:
            out["lm_eval_exact_match"] = self.lm_eval_exact_match
        return out


def grader_of(benchmark: str) -> AnswerGrader:
    """The answer grader the registry names for a benchmark."""
    spec = benchmarks.get(benchmark)
    grader = GRADERS.get(spec.grader)
    if not isinstance(grader, AnswerGrader) or not spec.extractions:
        raise ConfigError(
            f"benchmark {benchmark!r} is not scored by reading an answer (grader {spec.grader!r})"
        )
    return grader


def extractions_of(benchmark: str) -> tuple[str, ...]:
    """The extraction names a benchmark is scored by; the first is its headline score."""
    grader_of(benchmark)
    return benchmarks.get(benchmark).extractions


def score_output(benchmark: str, problem: Problem, output: str | None) -> dict[str, Score]:
    """An output for one item, scored by each of its benchmark's extractions (in the registry's order)."""
    grader = grader_of(benchmark)
    scores: dict[str, Score] = {}
    for name in extractions_of(benchmark):
        extraction = get_extraction(name)
        extracted = extraction.read(output)
        grade = grader.check(extracted, problem.answer)
        lm_eval = (
            lm_eval_exact_match(extracted, problem.answer)
            if extraction.lm_eval and problem.answer is not None
            else None
        )
        scores[name] = Score(name, extracted, grade.verdict, grade.detail, lm_eval)
    return scores
