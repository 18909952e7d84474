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
        probe = getattr(teacher, "probe_endpoints", None)
        # several endpoints: each is asked once and the dead ones are taken out before work starts;
        # with none left, the usual request (with its retries) says what is wrong
        if probe is None or not await probe(PREFLIGHT_MESSAGES):
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
    endpoints: list[dict] | None = None  # several --base-url: each one's requests and failures


async def _ping(spec: str, options: TeacherConfig, n: int, max_tokens: int) -> PingResult:
    teacher = make_teacher(spec, options)
    try:
        pool = getattr(teacher, "pool", None)
        if pool is not None:  # several endpoints: each asked once; the ping goes to a live one
            await teacher.probe_endpoints(PREFLIGHT_MESSAGES)
        calls_before = int(getattr(teacher, "http_calls", 0))
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
            http_calls=int(getattr(teacher, "http_calls", 1)) - calls_before,
            reply=comps[0].text.strip(),
            finish_reason=comps[0].finish_reason,
            endpoints=pool.report() if pool is not None and len(pool) > 1 else None,
        )
    finally:
        await teacher.aclose()


def ping(spec: str, options: TeacherConfig, n: int = 2, max_tokens: int = 8) -> PingResult:
    return asyncio.run(_ping(spec, options, n, max_tokens))
