"""Requests- and tokens-per-minute limiter (estimate before a call, correct after) and the shared
cool-down that every worker honours after a 429."""

from __future__ import annotations

import asyncio
import time


class _Bucket:
    """A token bucket holding up to one minute's allowance, refilled continuously. May go into debt."""

    def __init__(self, per_minute: float):
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.rate = per_minute / 60.0
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0 = now). Requests larger than a minute's worth wait for a full bucket."""
        self._refill()
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= amount

    def give(self, amount: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    def __init__(self, rpm: int | None = None, tpm: int | None = None):
        self._req = _Bucket(rpm) if rpm else None
        self._tok = _Bucket(tpm) if tpm else None
        self._lock = asyncio.Lock()
        self.cooldown_until = 0.0  # time.monotonic() before which nobody sends

    def cool_down(self, seconds: float) -> None:
        """After a 429: hold every worker back for `seconds` (extends, never shortens, a running cool-down)."""
        self.cooldown_until = max(self.cooldown_until, time.monotonic() + seconds)

    async def acquire(self, est_tokens: int) -> None:
        """Wait for the cool-down, a request slot and `est_tokens` tokens, then take them."""
        async with self._lock:  # FIFO: one waiter at a time, so big requests are not starved
            while True:
                delay = self.cooldown_until - time.monotonic()
                if self._req is not None:
                    delay = max(delay, self._req.wait_for(1))
                if self._tok is not None:
                    delay = max(delay, self._tok.wait_for(est_tokens))
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            if self._req is not None:
                self._req.take(1)
            if self._tok is not None:
                self._tok.take(est_tokens)

    def correct(self, est_tokens: int, actual_tokens: int) -> None:
        """Settle the difference between the estimate and the usage the server reported."""
        if self._tok is None:
            return
        diff = actual_tokens - est_tokens
        if diff > 0:
            self._tok.take(diff)
        elif diff < 0:
            self._tok.give(-diff)

    @property
    def active(self) -> bool:
        return self._req is not None or self._tok is not None
