"""Step validators: score candidate steps in [0, 1] so a search can rank them.

- `judge`: an LLM scores each candidate 0-10 with a one-sentence critique. Unparseable output is
  an unknown score (None), never a crash.
- `answer`: a candidate that states a final answer is checked against the gold answer (1 or 0);
  other candidates get an unknown score.
- `composite`: the answer check decides wherever it applies, the judge everywhere else.
- `code-tests`: for code problems with tests (HumanEval, MBPP): a candidate that holds the program
  (its `final_answer`) is run against the problem's tests in the sandbox, with the limits eval uses;
  its score is the share of tests passed, and its critique says what failed. Other candidates (the
  reasoning before the program) get an unknown score (see `CodeTestsValidator`).

A new step validator subclasses `StepValidator` (`score(problem, steps, candidates, chat, seed)`
-> one `Judgement` per candidate). Validators never call a teacher directly: they go through a
`chat` function supplied by the search, which accounts usage per problem and enforces budgets.
The judge's prompt (`JudgePrompt`: system text and user template) ships in `rft/verify/prompts/`.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rft.errors import ConfigError
from rft.schemas import Problem, Verdict
from rft.teachers.base import Completion, Teacher
from rft.templates import STEP_FIELDS, Template, package_text, step_values
from rft.verify import code
from rft.verify.grader import CODE_TESTS, CodeTestsGrader, answer_grader

VALIDATORS = ("judge", "answer", "composite", "code-tests")
JUDGELESS = frozenset({"answer", "code-tests"})  # validators that never ask a judge

ChatFn = Callable[..., Awaitable[list[Completion]]]
"""chat(teacher, messages, n=, temperature=, max_tokens=, stop=, seed=) -> completions."""


# Fields a judge template may use: a step template's, and the candidate step.
JUDGE_FIELDS = STEP_FIELDS | {"candidate"}
_PACKAGE = "rft.verify"


@dataclass(frozen=True)
class JudgePrompt:
    """The judge's prompt: a system text and a user template over the question, the steps so far
    and the candidate step. `load()` gives the package's, or a user template file's."""

    system: str
    template: Template

    @classmethod
    def load(cls, template: str | Path | None = None) -> JudgePrompt:
        return cls(
            system=package_text(_PACKAGE, "judge_system.txt").strip(),
            template=Template.from_file(template, JUDGE_FIELDS)
            if template
            else Template.package(_PACKAGE, "judge.j2", JUDGE_FIELDS),
        )

    def messages(self, question: str, steps: list[str], candidate: str, domain: str) -> list[dict[str, str]]:
        user = self.template.render(**step_values(question, steps, domain), candidate=candidate)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


@dataclass
class Candidate:
    """One proposed step as a validator sees it."""

    text: str
    final_answer: str | None = None


@dataclass
class Judgement:
    score: float | None  # [0, 1]; None = unknown
    critique: str | None = None
    verdict: Verdict | None = None  # only for candidates that state a final answer
    validator: str = ""
    metadata: dict = field(default_factory=dict)


_SCORE_PATTERNS = [
    re.compile(r"score\s*[:=\-]?\s*\**\s*(\d+(?:\.\d+)?)\s*(?:/\s*10|out of 10)?", re.IGNORECASE),
    re.compile(r"(\d+(?:\.\d+)?)\s*(?:/\s*10|out of 10)", re.IGNORECASE),
    re.compile(r"^\s*\**\s*(\d+(?:\.\d+)?)\s*\**\s*$", re.MULTILINE),
]
_VERDICT_WORDS = re.compile(
    r"^\W*(no|incorrect|wrong|not correct|yes|correct|right)\b[\s,.:;!-]*", re.IGNORECASE
)
_NEGATIVE = {"no", "incorrect", "wrong", "not correct"}
_NEG_ANYWHERE = re.compile(
    r"\b(?:incorrect|not correct|wrong|not right|(?:is|was) not|isn't|mistake)\b", re.I
)
_POS_ANYWHERE = re.compile(r"\b(?:is|looks|seems) (?:correct|right|valid)\b", re.I)
_CRITIQUE = re.compile(r"critique\s*[:=\-]?\s*\**\s*(.+)", re.IGNORECASE)


def parse_judgement(text: str) -> tuple[float | None, str | None]:
    """(score in [0, 1] or None, critique or None) from a judge reply. Never raises."""
    score: float | None = None
    for pat in _SCORE_PATTERNS:
        m = pat.search(text or "")
        if m:
            try:
                value = float(m.group(1))
            except ValueError:
                continue
            if 0.0 <= value <= 10.0:
                score = value / 10.0
                break
    critique: str | None = None
    m = _CRITIQUE.search(text or "")
    if m:
        critique = _first_sentence(m.group(1))
    if score is None:
        # Small judges often answer in words: a clear verdict still carries signal.
        v = _VERDICT_WORDS.match(text or "")
        first = (text or "").split("\n")[0]
        if v:
            score = 0.2 if v.group(1).lower() in _NEGATIVE else 0.8
        elif _NEG_ANYWHERE.search(first):
            score = 0.2
        elif _POS_ANYWHERE.search(first):
            score = 0.8
        if score is not None:
            rest = _first_sentence(text[v.end() :] if v else text)
            # a reply cut off by max_tokens leaves half a sentence: not a critique
            critique = critique or (rest if rest and rest.endswith((".", "!", "?")) else None)
    return score, critique


def _first_sentence(text: str) -> str | None:
    text = text.strip().strip("*").strip()
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].strip()[:300]
    return (sentence[0].upper() + sentence[1:]) if sentence else None


async def _direct_chat(teacher: Teacher, messages, **kw) -> list[Completion]:
    return await teacher.chat(messages, **kw)


class StepValidator(ABC):
    """Scores sibling candidates; returns one Judgement per candidate, in order."""

    name: str = ""

    @abstractmethod
    async def score(
        self,
        problem: Problem,
        steps: list[str],
        candidates: Sequence[Candidate],
        chat: ChatFn | None = None,
        seed: int | None = None,
    ) -> list[Judgement]: ...


class AnswerValidator(StepValidator):
    name = "answer"

    async def score(self, problem, steps, candidates, chat=None, seed=None) -> list[Judgement]:
        return [self.check(problem, c) for c in candidates]

    def check(self, problem: Problem, cand: Candidate) -> Judgement:
        if cand.final_answer is None:
            return Judgement(score=None, validator=self.name)
        verdict = (
            answer_grader(problem.answer, problem.domain).check(cand.final_answer, problem.answer).verdict
        )
        if verdict == Verdict.correct:
            return Judgement(1.0, f"The final answer {cand.final_answer} checks out.", verdict, self.name)
        if verdict == Verdict.incorrect:
            return Judgement(
                0.0, f"The final answer {cand.final_answer} does not check out.", verdict, self.name
            )
        return Judgement(None, None, Verdict.unknown, self.name)


class JudgeValidator(StepValidator):
    """An LLM judge. Siblings are judged concurrently, at temperature 0."""

    name = "judge"

    def __init__(self, teacher: Teacher, prompt: JudgePrompt, max_tokens: int = 64) -> None:
        self.teacher = teacher
        self.prompt = prompt
        self.max_tokens = max_tokens

    async def _one(self, problem, steps, cand: Candidate, chat: ChatFn, seed) -> Judgement:
        if not cand.text.strip():
            return Judgement(0.0, "The step is empty.", self._verdict(cand), self.name)
        messages = self.prompt.messages(problem.question, steps, cand.text, problem.domain.value)
        comps = await chat(
            self.teacher, messages, n=1, temperature=0.0, max_tokens=self.max_tokens, stop=None, seed=seed
        )
        raw = comps[0].text if comps else ""
        score, critique = parse_judgement(raw)
        meta = {"judge_raw": raw[:500]} if score is None else {}
        return Judgement(score, critique, self._verdict(cand), self.name, meta)

    @staticmethod
    def _verdict(cand: Candidate) -> Verdict | None:
        return Verdict.unknown if cand.final_answer is not None else None

    async def score(self, problem, steps, candidates, chat=None, seed=None) -> list[Judgement]:
        chat = chat or _direct_chat
        results = await asyncio.gather(
            *(self._one(problem, steps, c, chat, seed) for c in candidates), return_exceptions=True
        )
        for r in results:  # every sibling has finished: now a failure (or budget stop) may propagate
            if isinstance(r, BaseException):
                raise r
        return list(results)


class CompositeValidator(StepValidator):
    """Answer check wherever it gives a verdict; the judge for everything else."""

    name = "composite"

    def __init__(self, judge: JudgeValidator) -> None:
        self.answer = AnswerValidator()
        self.judge = judge

    async def score(self, problem, steps, candidates, chat=None, seed=None) -> list[Judgement]:
        checked = [self.answer.check(problem, c) for c in candidates]
        todo = [i for i, j in enumerate(checked) if j.verdict not in (Verdict.correct, Verdict.incorrect)]
        judged = await self.judge.score(problem, steps, [candidates[i] for i in todo], chat, seed)
        out = list(checked)
        for i, j in zip(todo, judged, strict=True):
            if checked[i].verdict is not None:
                j.verdict = checked[i].verdict
            j.validator = f"{self.name}/judge"
            out[i] = j
        for i, j in enumerate(out):
            if i not in todo:
                j.validator = f"{self.name}/answer"
        return out


class CodeTestsValidator(StepValidator):
    """Runs a code problem's tests against the program a final step holds.

    - A final step (`final_answer` is the program, read from its ```python block): the program runs in
      the sandbox against the problem's tests, siblings `workers` at a time, with the grader eval and
      the RL reward use (`rft.verify.grader.CODE_TESTS`: the same limits, the same share of tests
      passed). Score = that share (1.0: every test passed, verdict correct; below 1: incorrect);
      critique = what failed first (`CodeCheck.failure`). When the sandbox cannot run at all, the
      score is 0 and the verdict unknown: an unrun program is never accepted.
    - Any other step (reasoning before the program) gets an unknown score (None), not a made-up
      number: nothing can be run on a plan, a structural guess would rank steps on noise, and an
      unknown score counts as exactly the threshold, so the search keeps the step and lets the
      program below it decide (the value labels of such steps then come from the programs in their
      subtree, `rft.generate.labels`). An empty step scores 0.

    The critique is the verdict of tests the student never sees: renders do not quote it
    (`rft.generate.blame.CHECKER_VALIDATORS`), it stays in the trace for audit."""

    name = "code-tests"

    def __init__(self, grader: CodeTestsGrader = CODE_TESTS, workers: int = 2) -> None:
        self.grader = grader
        self.workers = workers

    async def score(self, problem, steps, candidates, chat=None, seed=None) -> list[Judgement]:
        out: list[Judgement | None] = [None] * len(candidates)
        programs = []
        for i, c in enumerate(candidates):
            if c.final_answer is not None:
                programs.append(i)
            elif not c.text.strip():
                out[i] = Judgement(0.0, "The step is empty.", None, self.name)
            else:
                out[i] = Judgement(None, None, None, self.name)
        if programs and not problem.tests:
            raise ConfigError(f"--validator code-tests: problem {problem.id} has no tests")
        items = [(problem, candidates[i].final_answer or "") for i in programs]  # no fence: read whole
        checks = await asyncio.to_thread(code.check_many, items, self.grader.limits, self.workers)
        for i, check in zip(programs, checks, strict=True):
            grade = self.grader.of(check)
            unrun = grade.verdict is Verdict.unknown
            out[i] = Judgement(
                0.0 if unrun else grade.share,
                check.failure(problem),
                grade.verdict,
                self.name,
                {"tests_passed": grade.tests_passed, "n_tests": grade.n_tests},
            )
        return [j for j in out if j is not None]


def make_validator(
    name: str, judge_teacher: Teacher | None, prompt: JudgePrompt, judge_max_tokens: int = 64
) -> StepValidator:
    """Build a validator by name; ConfigError for an unknown name."""
    if name == "answer":
        return AnswerValidator()
    if name == "code-tests":
        return CodeTestsValidator()
    if name not in VALIDATORS:
        raise ConfigError(f"--validator: unknown validator {name!r} (choose from {', '.join(VALIDATORS)})")
    if judge_teacher is None:
        raise ConfigError(f"--validator {name} needs a judge teacher")
    judge = JudgeValidator(judge_teacher, prompt, judge_max_tokens)
    return judge if name == "judge" else CompositeValidator(judge)
