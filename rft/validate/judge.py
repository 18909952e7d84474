"""The LLM judge of the semantic band: is a record's question the same problem as a benchmark item?

Asked through the teacher layer (`make_teacher`: concurrency limit, rate limits, retries, response
cache), one teacher and one event loop for every round of a validation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rft import teachers
from rft.errors import RftError, TeacherError
from rft.teachers import Teacher, TeacherConfig
from rft.teachers.ping import preflight

if TYPE_CHECKING:
    from rft.validate.config import ValidateConfig

JUDGE_PROMPT = (
    "Are these two problems the same problem, differing only in wording, names or numbers? "
    "Answer with exactly one word: YES or NO.\n\nProblem A:\n{a}\n\nProblem B:\n{b}"
)
JUDGE_CONCURRENCY = 8  # requests in flight at most
JUDGE_PREFLIGHT_RETRIES = 2  # the judge has no --max-retries: a dead server fails in seconds
JUDGE_CACHE = "judge.sqlite"  # the judge's response cache, in the dataset's cache folder

# Ask about (record question, benchmark question) pairs: True same problem, False different, None unclear.
JudgePairs = Callable[[list[tuple[str, str]]], list[bool | None]]


def read_answer(text: str) -> bool | None:
    """YES -> True, NO -> False, anything else -> None (the pair stays a suspect)."""
    text = text.strip().upper()
    if text.startswith("YES"):
        return True
    if text.startswith("NO"):
        return False
    return None


class PairJudge:
    """The judge `spec` as a `JudgePairs` callable. The teacher is built on the first question (so a
    validation that asks nothing opens no cache) and closed with the context."""

    def __init__(self, spec: str, options: TeacherConfig) -> None:
        self.spec = spec
        self.options = options
        self._runner: asyncio.Runner | None = None
        self._teacher: Teacher | None = None

    def __call__(self, pairs: list[tuple[str, str]]) -> list[bool | None]:
        if not pairs:
            return []
        if self._runner is None:
            self._runner = asyncio.Runner()
        if self._teacher is None:
            self._teacher = teachers.make_teacher(self.spec, self.options)
        return self._runner.run(self._ask_all(self._teacher, pairs))

    @staticmethod
    async def _ask_all(teacher: Teacher, pairs: list[tuple[str, str]]) -> list[bool | None]:
        async def one(a: str, b: str) -> bool | None:
            msgs = [{"role": "user", "content": JUDGE_PROMPT.format(a=a, b=b)}]
            out = await teacher.chat(msgs, n=1, temperature=0.0, max_tokens=4)
            return read_answer(out[0].text if out else "")

        return list(await asyncio.gather(*(one(a, b) for a, b in pairs)))

    def close(self) -> None:
        runner, teacher = self._runner, self._teacher
        self._runner = self._teacher = None
        if runner is None:
            return
        try:
            if teacher is not None:
                runner.run(teacher.aclose())
        finally:
            runner.close()

    def __enter__(self) -> PairJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_judge(
    cfg: ValidateConfig, cache_path: Path | None = None
) -> contextlib.AbstractContextManager[PairJudge | None]:
    """The configured judge (None without `--judge`); `cache_path`: its response cache, None for none."""
    judge = cfg.judge_teacher
    if judge is None:
        return contextlib.nullcontext(None)
    opts = judge.model_copy(
        update={"concurrency": min(judge.concurrency, JUDGE_CONCURRENCY), "cache_path": cache_path}
    )
    return PairJudge(judge.spec, opts)


def check_judge(cfg: ValidateConfig) -> None:
    """A bad judge spec, a missing key, a missing local model or an unreachable judge ends here,
    before any work: one tiny request, as generate does, even when no pair will need the judge."""
    judge = cfg.judge_teacher
    if judge is None:
        return
    opts = judge.model_copy(update={"max_retries": min(judge.max_retries, JUDGE_PREFLIGHT_RETRIES)})
    teacher = teachers.make_teacher(judge.spec, opts)

    async def check() -> None:
        try:
            await preflight(teacher)
        finally:
            await teacher.aclose()

    try:
        asyncio.run(check())
    except RftError as exc:
        detail = (
            str(exc).removeprefix(f"teacher {teacher.spec} is not usable: ").removeprefix(f"{teacher.spec}: ")
        )
        raise TeacherError(f"--judge {judge.spec} is not usable: {detail}") from None
