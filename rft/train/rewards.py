"""RL rewards: what a sampled completion to a problem earns, decided by `rft.verify` (the graders that
generate, validate and eval use; nothing is graded again here).

- `reft` (the default, ReFT's reward, Luong et al. 2024): 1 when the answer is correct, 0.1 when an
  answer can be read but is wrong, 0 when none can be read. For a code problem the answer is its code:
  1 when every test passes in the sandbox, 0.1 when the completion has code (a fenced block, or a
  definition of the entry point) that fails, 0 when it has none.
- `correct`: 1 when correct, else 0.
- `code-tests`: the share of the problem's tests that pass in the sandbox (code problems only).
- `format_weight` W (`--format-reward W`): W more when the completion ends in the format the SFT stage
  taught: a last line `Final answer: ...` (how rft's renderings end), for code a ```python block.

Every completion also gets an outcome, `correct` / `wrong` (an answer, not the right one) / `none`
(no answer could be read): the shares the training metrics report.

`RewardScorer.score(problems, texts)` scores a batch. Answers are read from every text, then each
distinct (problem, answer) is graded once (a group of samples often agrees); the answers that need
math-verify's symbolic check (~10 ms each, sympy) go to a pool of worker processes when there are
enough of them to pay for it, plain numbers (microseconds) are compared in process. Code runs in the
sandbox, `workers` programs at a time. `TRLReward` / `FormatReward` wrap a scorer as TRL reward
functions (`GRPOTrainer` / `RLOOTrainer` `reward_funcs`): the problem travels in the dataset's
`problem` column (the Problem's JSON), and the outcome shares and the seconds spent scoring are
logged through TRL's `log_metric`.

The math-verify pool is a forkserver's: like any multiprocessing start but fork, it imports the main
module again in each worker, so a script that scores symbolic answers keeps its work under
`if __name__ == "__main__":` (the `rft` command, pytest and benchmarks/ do)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rft.errors import ConfigError
from rft.schemas import Problem, Verdict
from rft.verify.answers import extract_final_answer
from rft.verify.grader import CODE_TESTS, MATH, AnswerGrader, CodeTestsGrader, Grade, grader_for
from rft.verify.sandbox import Limits

REWARDS = ("reft", "correct", "code-tests")
REFT_WRONG = 0.1  # ReFT's partial reward: an answer could be read, and it is wrong
OUTCOMES = ("correct", "wrong", "none")
# Below this many distinct math-verify checks in a batch, the pool's round trip costs more than it saves.
POOL_MIN = 8

_FINAL_LINE = re.compile(r"^\s*\**\s*final answer\s*\**\s*:\s*\S", re.IGNORECASE)
_ANY_FENCE = re.compile(r"```[^\n]*\n\s*\S")
_PY_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n.*?```", re.DOTALL | re.IGNORECASE)


def check_reward(name: str) -> str:
    """`name` when it is a known reward; else a ConfigError naming the choices."""
    if name not in REWARDS:
        raise ConfigError(f"--reward {name!r}: unknown reward (choose from {', '.join(REWARDS)})")
    return name


def is_code(problem: Problem) -> bool:
    """A problem whose answer is code checked by tests in the sandbox."""
    return problem.domain == "code" or (bool(problem.tests) and not (problem.answer or "").strip())


def missing_gold(problem: Problem, reward: str) -> str | None:
    """Why `reward` cannot check a completion to `problem` (None: it can)."""
    if reward == "code-tests" or is_code(problem):
        return None if problem.tests else "no tests"
    return None if (problem.answer or "").strip() else "no gold answer"


def well_formatted(problem: Problem, text: str) -> bool:
    """The completion ends in the format the SFT stage taught (see the module doc)."""
    if is_code(problem):
        return _PY_FENCE.search(text) is not None
    last = next((ln for ln in reversed(text.splitlines()) if ln.strip()), "")
    return _FINAL_LINE.match(last) is not None


def _has_code(problem: Problem, text: str) -> bool:
    """Code could be read: a fenced block that is not empty, or a definition of the entry point."""
    if _ANY_FENCE.search(text):
        return True
    ep = problem.entry_point
    return bool(ep) and re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(ep)}\s*\(", text, re.M) is not None


@dataclass(frozen=True)
class Scored:
    """What one completion earned: the reward (with the format bonus), its outcome and why."""

    reward: float
    outcome: str  # correct | wrong | none
    answer_reward: float  # the reward without the format bonus
    formatted: bool
    detail: str = ""


def _answer_reward(reward: str, outcome: str, share: float | None) -> float:
    if reward == "code-tests":
        return float(share or 0.0)
    if outcome == "correct":
        return 1.0
    if reward == "reft" and outcome == "wrong":
        return REFT_WRONG
    return 0.0


def _outcome(grade: Grade, extractable: bool) -> str:
    if grade.verdict is Verdict.correct:
        return "correct"
    return "wrong" if extractable else "none"


def _check(grader_name: str, answer: str, gold: str) -> Grade:
    """One answer check (module level: a pool worker runs it)."""
    from rft.verify.grader import GRADERS

    grader = GRADERS[grader_name]
    assert isinstance(grader, AnswerGrader)
    return grader.check(answer, gold)


def _warm() -> None:
    """A pool worker's start: the imports and first-call costs of math-verify paid before any batch."""
    _check(MATH.name, "x^2+2x+1", "(x+1)^2")


class RewardScorer:
    """Scores batches of completions (see the module doc). `workers`: math-verify processes and
    sandboxes at a time (default: the CPUs this process may use). Call `close()` (or use it as a
    context manager) to stop the math-verify pool."""

    def __init__(
        self,
        reward: str = "reft",
        format_weight: float = 0.0,
        workers: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.reward = check_reward(reward)
        self.format_weight = float(format_weight)
        self.workers = workers or _cpus()
        # as many sandboxes as CPUs: more finish sooner (a run is partly waiting), but a test that needs
        # seconds of CPU then shares a core and can pass its wall-clock limit (measured: benchmarks/rl_throughput.py)
        self.sandboxes = self.workers
        self.code_grader = CodeTestsGrader(limits) if limits is not None else CODE_TESTS
        self._pool: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> RewardScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def pool(self) -> Any:
        """The math-verify worker processes, all started on first use and warmed (math-verify and
        sympy imported, one check run), from a forkserver: clean processes, not forks of one that
        holds a model and its threads."""
        with self._lock:
            if self._pool is None:
                import multiprocessing

                self._pool = multiprocessing.get_context("forkserver").Pool(self.workers, initializer=_warm)
            return self._pool

    def score(self, problems: Sequence[Problem], texts: Sequence[str]) -> list[Scored]:
        """One `Scored` per (problem, completion), in order."""
        if len(problems) != len(texts):
            raise ValueError(f"{len(problems)} problems for {len(texts)} completions")
        if self.reward == "code-tests":
            for p in problems:
                if not p.tests:
                    raise ConfigError(
                        f"--reward code-tests: problem {p.id} has no tests (code problems only)"
                    )
        out: list[Scored | None] = [None] * len(texts)
        code = [self.reward == "code-tests" or is_code(p) for p in problems]
        code_items = [i for i, c in enumerate(code) if c]
        answer_items = [i for i, c in enumerate(code) if not c]
        self._score_answers(problems, texts, answer_items, out)
        self._score_code(problems, texts, code_items, out)
        return [s for s in out if s is not None]

    def _finish(self, problem: Problem, text: str, outcome: str, share: float | None, detail: str) -> Scored:
        base = _answer_reward(self.reward, outcome, share)
        formatted = well_formatted(problem, text)
        bonus = self.format_weight if formatted else 0.0
        return Scored(base + bonus, outcome, base, formatted, detail)

    def _score_answers(
        self, problems: Sequence[Problem], texts: Sequence[str], items: list[int], out: list[Scored | None]
    ) -> None:
        answers = {i: extract_final_answer(texts[i]) for i in items}
        keys: dict[tuple[str, str, str], list[int]] = {}
        for i in items:
            p = problems[i]
            if answers[i] is None:
                out[i] = self._finish(p, texts[i], "none", None, "no final answer")
                continue
            grader = grader_for(p)
            keys.setdefault((grader.name, answers[i], p.answer or ""), []).append(i)  # type: ignore[arg-type]
        slow = [k for k in keys if k[0] == MATH.name]
        grades: dict[tuple[str, str, str], Grade] = {}
        if len(slow) >= POOL_MIN and self.workers > 1:
            chunk = max(1, len(slow) // (self.workers * 4))
            found = self.pool().starmap(_check, slow, chunksize=chunk)
            grades.update(zip(slow, found, strict=True))
        for k in keys:
            if k not in grades:
                grades[k] = _check(*k)
        for k, where in keys.items():
            g = grades[k]
            for i in where:
                out[i] = self._finish(problems[i], texts[i], _outcome(g, True), None, g.detail)

    def _score_code(
        self, problems: Sequence[Problem], texts: Sequence[str], items: list[int], out: list[Scored | None]
    ) -> None:
        if not items:
            return
        grades = self.code_grader.grade_many([(problems[i], texts[i]) for i in items], self.sandboxes)
        for i, g in zip(items, grades, strict=True):
            outcome = _outcome(g, _has_code(problems[i], texts[i]))
            out[i] = self._finish(problems[i], texts[i], outcome, g.share, g.detail)


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def shares(scored: Sequence[Scored]) -> dict[str, float]:
    """The share of each outcome among the scored completions."""
    n = max(len(scored), 1)
    return {o: sum(s.outcome == o for s in scored) / n for o in OUTCOMES}


def completion_text(completion: Any) -> str:
    """A TRL completion's text: a string, or the assistant message(s) of a conversational one."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content") or "" for m in completion if isinstance(m, dict))
    return str(completion)


class _ProblemColumn:
    """The dataset's `problem` column (Problem JSON) decoded once per distinct value."""

    def __init__(self) -> None:
        self._cache: dict[str, Problem] = {}

    def __call__(self, values: Sequence[str | Problem]) -> list[Problem]:
        found = []
        for v in values:
            if isinstance(v, Problem):
                found.append(v)
                continue
            if v not in self._cache:
                if len(self._cache) > 4096:
                    self._cache.clear()
                self._cache[v] = Problem.model_validate_json(v)
            found.append(self._cache[v])
        return found


class TRLReward:
    """The answer reward as a TRL reward function: `f(prompts, completions, problem, **kw) -> [float]`.

    Logs through TRL's `log_metric`: `outcome/correct`, `outcome/wrong`, `outcome/none` (shares of the
    batch) and `reward_seconds` (the wall time this call took). `on_batch(scored, seconds)` is told too."""

    def __init__(self, scorer: RewardScorer, on_batch: Callable[[list[Scored], float], None] | None = None):
        self.scorer = scorer
        self.on_batch = on_batch
        self.__name__ = scorer.reward  # TRL's name for it: rewards/<name>/mean
        self._problems = _ProblemColumn()

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        problem: Sequence[str | Problem],
        log_metric: Callable[[str, float], None] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        started = time.perf_counter()
        scored = self.scorer.score(self._problems(problem), [completion_text(c) for c in completions])
        seconds = time.perf_counter() - started
        if log_metric is not None:
            for outcome, share in shares(scored).items():
                log_metric(f"outcome/{outcome}", share)
            log_metric("reward_seconds", seconds)
        if self.on_batch is not None:
            self.on_batch(scored, seconds)
        return [s.answer_reward for s in scored]


class FormatReward:
    """The format bonus as a TRL reward function (1 when well formatted, else 0); weighted by
    `--format-reward` through TRL's `reward_weights`."""

    __name__ = "format"

    def __init__(self) -> None:
        self._problems = _ProblemColumn()

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        problem: Sequence[str | Problem],
        **kwargs: Any,
    ) -> list[float]:
        texts = [completion_text(c) for c in completions]
        return [float(well_formatted(p, t)) for p, t in zip(self._problems(problem), texts, strict=True)]
