"""One short request to a teacher: is it reachable, how fast, what does it cost, is `n` honoured."""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from rft.errors import RftError, TeacherError
from rft.teachers.base import Completion, Teacher
from rft.teachers.config import TeacherConfig
from rft.teachers.factory import make_teacher

PING_MESSAGES = [{"role": "user", "content": "What is 2 + 3? Answer with the number only."}]
PREFLIGHT_MESSAGES = [{"role": "user", "content": "Reply with OK."}]


async def preflight(teacher: Teacher) -> None:
    """One tiny call before a stage starts work (generate's teacher and judge, validate's judge): an
    unreachable or misconfigured teacher is one clear error, not N failures later."""
    try:
        await teacher.chat(PREFLIGHT_MESSAGES, n=1, temperature=0.0, max_tokens=2, seed=0)
    except RftError:
        raise
    except Exception as exc:  # the provider's own exception types
        raise TeacherError(f"teacher {teacher.spec} is not usable: {type(exc).__name__}: {exc}") from exc


class PingResult(BaseModel):
    spec: str
    model: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    n_requested: int
    n_honoured: bool
    http_calls: int
    reply: str
    finish_reason: str | None


async def _ping(spec: str, options: TeacherConfig, n: int, max_tokens: int) -> PingResult:
    teacher = make_teacher(spec, options)
    try:
        t0 = time.perf_counter()
        comps: list[Completion] = await teacher.chat(
            PING_MESSAGES, n=n, temperature=0.7 if n > 1 else 0.0, max_tokens=max_tokens, seed=0
        )
        latency = time.perf_counter() - t0
        usage = teacher.usage
        return PingResult(
            spec=teacher.spec,
            model=comps[0].model,
            latency_s=latency,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            n_requested=n,
            n_honoured=bool(getattr(teacher, "supports_n", True)),
            http_calls=int(getattr(teacher, "http_calls", 1)),
            reply=comps[0].text.strip(),
            finish_reason=comps[0].finish_reason,
        )
    finally:
        await teacher.aclose()


def ping(spec: str, options: TeacherConfig, n: int = 2, max_tokens: int = 8) -> PingResult:
    return asyncio.run(_ping(spec, options, n, max_tokens))
