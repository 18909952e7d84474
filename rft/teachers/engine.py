"""The machinery around every provider: concurrency limit, rate limits, retries, response cache,
usage and cost, and fan-out into n requests where a server returns fewer choices than asked."""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from rft.errors import TeacherError
from rft.teachers.base import ChatRequest, Completion, UsageTotals
from rft.teachers.cache import ResponseCache, cache_key
from rft.teachers.config import TeacherConfig
from rft.teachers.errors import TeacherUnavailable, TransientError, status_label
from rft.teachers.prices import Price, price_of
from rft.teachers.ratelimit import RateLimiter

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
ANNOUNCE_WAIT_S = 10.0  # a wait before a retry longer than this is said on stderr


class ManagedTeacher(ABC):
    """Base class of every provider. Subclasses implement `_call` (one request, no retries)."""

    provider: str = ""
    supports_n: bool = True  # flipped off once a server answers with fewer choices than asked

    def __init__(self, spec: str, model: str, options: TeacherConfig, base_url: str | None = None):
        self.spec = spec
        self.model = model
        self.options = options
        self.base_url = base_url
        self.usage = UsageTotals()
        self.http_calls = 0  # requests that actually went out (attempts included)
        self.retries = 0
        self._sem = asyncio.Semaphore(options.concurrency)
        self._limiter = RateLimiter(options.rpm, options.tpm)
        self._cache = ResponseCache(options.cache_path) if options.cache_path else None
        self.price: Price | None = price_of(self.provider, model, options.prices_file)

    # -- provider hook ---------------------------------------------------------------------------
    @abstractmethod
    async def _call(self, request: ChatRequest) -> list[Completion]:
        """One request for `request.n` choices. Raise TransientError for retryable failures,
        TeacherError for fatal ones."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        pass

    # -- public API ------------------------------------------------------------------------------
    async def chat(
        self,
        messages: list[dict[str, str]],
        n: int = 1,
        temperature: float = 0.7,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        if n < 1:
            raise TeacherError(f"{self.spec}: n must be >= 1 (got {n})")
        if max_tokens < 1:
            raise TeacherError(f"{self.spec}: max_tokens must be >= 1 (got {max_tokens})")
        request = ChatRequest(messages, n, temperature, max_tokens, stop, seed)
        keys = [self._key(request, i) for i in range(n)] if self._cache is not None else []
        results: list[Completion | None] = [None] * n
        if self._cache is not None:
            for i, k in enumerate(keys):
                hit = self._cache.get(k)
                if hit is not None:
                    results[i] = hit.model_copy(update={"cached": True})
        missing = [i for i in range(n) if results[i] is None]
        if missing:
            fresh = await self._fill(request, missing)
            for i, c in zip(missing, fresh, strict=True):
                results[i] = c
                if self._cache is not None:
                    self._cache.put(keys[i], c)
        done = [c for c in results if c is not None]
        for c in done:
            self.usage.add(c)
        return done

    async def aclose(self) -> None:
        await self._close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    # -- internals -------------------------------------------------------------------------------
    def _key(self, request: ChatRequest, i: int) -> str:
        return cache_key(
            provider=self.provider,
            base_url=self.base_url,
            model=self.model,
            request=request,
            sample_index=i,
            extra=self._key_extra(),
        )

    def _key_extra(self) -> dict[str, Any] | None:
        """What else, beside provider, endpoint, model and request, tells this teacher's answers apart."""
        return None

    async def _fill(self, request: ChatRequest, missing: list[int]) -> list[Completion]:
        """Completions for the sample indices in `missing`: one n-request where honoured, else fan-out."""
        got: list[Completion] = []
        if self.supports_n and len(missing) > 1:
            got = (await self._attempt(request.with_n(len(missing))))[: len(missing)]
            if len(got) < len(missing):
                self.supports_n = False
        rest = missing[len(got) :]
        if rest:
            batches = await asyncio.gather(*(self._attempt(request.sample(i)) for i in rest))
            got.extend(b[0] for b in batches)
        return got

    async def _attempt(self, request: ChatRequest) -> list[Completion]:
        """One logical request with rate limiting, the concurrency limit and retries."""
        est = request.estimate_tokens()
        try:  # the first attempt without tenacity's per-attempt machinery (most requests need no other)
            comps = await self._send(request, est)
        except TransientError as exc:
            comps = await self._retry(request, est, exc)
        actual = sum(c.prompt_tokens + c.completion_tokens for c in comps)
        self._limiter.correct(est, actual)
        return [self._finish(c) for c in comps]

    async def _send(self, request: ChatRequest, est: int) -> list[Completion]:
        async with self._sem:
            # the limiter (and a 429 cool-down) is checked by a worker that holds a slot, right
            # before it sends: nothing queued earlier slips through a cool-down
            await self._limiter.acquire(est)
            self.http_calls += 1
            comps = await self._call(request)
        if not comps:
            raise TransientError("the server returned no choices")
        return comps

    async def _retry(self, request: ChatRequest, est: int, first: TransientError) -> list[Completion]:
        """The attempts after a first one failed with `first`: tenacity sees that failure as its
        attempt 1 (the same waits, cool-downs and limits as if it had sent it)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.options.max_retries + 1),
            # a Retry-After beyond --max-retry-wait is not waited for at all: give up at once
            retry=retry_if_exception(lambda e: isinstance(e, TransientError) and not self._too_long(e)),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        failed: TransientError | None = first
        try:
            async for attempt in retrying:
                with attempt:
                    if failed is not None:  # attempt 1 was sent by `_attempt`: its failure, again
                        exc, failed = failed, None
                        raise exc
                    comps = await self._send(request, est)
        except TransientError as exc:
            if self._too_long(exc):
                raise TeacherUnavailable(
                    f"{self.spec}: {exc}; the server asks to wait {exc.retry_after:.0f} s before retrying "
                    f"(Retry-After), more than --max-retry-wait {self.options.max_retry_wait_s:g} s"
                ) from None
            raise TeacherUnavailable(
                f"{self.spec}: gave up after {self.options.max_retries + 1} attempts: {exc}"
            ) from None
        return comps

    def _finish(self, c: Completion) -> Completion:
        update: dict[str, Any] = {"truncated": c.finish_reason == "length"}
        if c.cost_usd is None and self.price is not None:
            update["cost_usd"] = self.price.cost(c.prompt_tokens, c.completion_tokens)
        if not c.model:
            update["model"] = self.model
        return c.model_copy(update=update)

    def _too_long(self, exc: BaseException) -> bool:
        """A Retry-After longer than --max-retry-wait: not worth sleeping through."""
        return (
            isinstance(exc, TransientError)
            and exc.retry_after is not None
            and exc.retry_after > self.options.max_retry_wait_s
        )

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the server gave one (never less), else exponential backoff with full jitter;
        never more than --max-retry-wait."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            wait = exc.retry_after + random.uniform(0, min(0.25, exc.retry_after * 0.1 + 0.02))
        else:
            cap = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (state.attempt_number - 1))
            wait = random.uniform(BACKOFF_BASE_S / 2, cap)
        return min(wait, self.options.max_retry_wait_s)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep or 0.0
        if isinstance(exc, TransientError) and exc.rate_limited:
            self._limiter.cool_down(wait or BACKOFF_BASE_S)
        if wait > ANNOUNCE_WAIT_S and isinstance(exc, TransientError):
            self._announce(exc, wait, state.attempt_number)

    def _announce(self, exc: TransientError, wait: float, attempt: int) -> None:
        """Say on stderr what a long wait is for, so a run never sleeps silently."""
        from rft.console import err

        if exc.retry_after is not None:
            label = status_label(exc.status)
            status = f" (HTTP {exc.status})" if exc.status else ""
            line = f"{self.spec} {label}{status}; waiting {wait:.0f} s as the server asks (Retry-After)"
        else:
            line = (
                f"{self.spec}: {exc}; retrying in {wait:.0f} s "
                f"(attempt {attempt + 1} of {self.options.max_retries + 1})"
            )
        err.print(line, markup=False, soft_wrap=True)
