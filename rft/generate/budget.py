"""What a run may still spend, and what failed: the run-wide cost budget (`--max-cost-usd`), and the
problems that did not finish because a teacher call failed, with the breaker that stops starting new
ones while the teacher is down."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rft.console import err
from rft.generate.progress import Totals
from rft.teachers.base import Completion

# After this many problems in a row failed for an outage (no problem finished in between), no new
# problem is started: a dead server costs a few problems' retries, not the whole run's.
OUTAGE_BREAKER = 3


@dataclass
class Budget:
    """Run-wide spending (including what earlier invocations of the run spent) against
    `max_cost_usd`; once it is reached every search stops and the run seals what is finished."""

    max_cost_usd: float | None
    totals: Totals  # the live progress' sums, fed by every call
    teacher: str  # the teacher's spec, named when a price is unknown
    spent_usd: float = 0.0
    unknown: bool = False  # a call had no known price
    stop_reason: str | None = None
    _warned: bool = False

    def on_usage(self, c: Completion) -> None:
        """Count one teacher call (cached answers cost nothing)."""
        self.totals.tokens += c.prompt_tokens + c.completion_tokens
        if c.cached:
            return
        if c.cost_usd is None:
            self.unknown = True
            self.totals.add_cost(None)
            if self.max_cost_usd is not None and not self._warned:
                self._warned = True
                err.print(
                    f"warning: the price of {c.model or self.teacher} is unknown; --max-cost-usd cannot be enforced"
                )
        else:
            self.spent_usd += c.cost_usd
            self.totals.add_cost(c.cost_usd)

    def guard(self) -> str | None:
        """Why every search must stop now (`max_cost_usd`), else None."""
        if self.stop_reason:
            return self.stop_reason
        if self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd:
            self.stop_reason = "max_cost_usd"
        return self.stop_reason


@dataclass
class Failures:
    """Problems of this invocation that did not finish because a teacher call failed. A failure is
    never a record (it is not data): it is an event in the run, and the same command retries it."""

    errors: dict[str, str] = field(default_factory=dict)  # problem id -> one-line error
    not_started: list[str] = field(default_factory=list)  # left out once the breaker tripped
    outages_in_a_row: int = 0

    @property
    def tripped(self) -> bool:
        """The teacher is down: start nothing new."""
        return self.outages_in_a_row >= OUTAGE_BREAKER

    def failed(self, problem_id: str, message: str, *, outage: bool) -> None:
        self.errors[problem_id] = message
        if outage:  # a refusal is no sign the teacher is down
            self.outages_in_a_row += 1

    def finished(self) -> None:
        self.outages_in_a_row = 0

    def reason(self) -> str:
        counts = Counter(self.errors.values()).most_common()
        top = counts[0][0] if counts else "?"
        return top + (f"; and {len(counts) - 1} other errors" if len(counts) > 1 else "")

    def counted(self, total: int) -> str:
        what = f"{len(self.errors)} of {total} problems failed"
        if self.not_started:
            what += f" and {len(self.not_started)} were not started"
        return what

    def summary(self, total: int) -> str:
        return f"{self.counted(total)} ({self.reason()})"
