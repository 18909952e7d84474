"""`EndpointPool`: several base URLs serving one model (vLLM replicas behind no load balancer).

- A request goes to the least-loaded endpoint: the fewest requests in flight, ties to the one picked
  longest ago (so equal endpoints take turns).
- An endpoint whose request fails for a transient reason (connection refused or cut, timeout, 5xx,
  429) is taken out for a while: its Retry-After when it gave one, else 5 s doubling with each failure
  in a row, at most 60 s. A success brings it back at once.
- While every endpoint is out, the one due back first is tried (a probe): the engine's retry backoff
  paces those attempts, so a pool that is all down fails like one dead server does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rft.redaction import redact_text

OUT_BASE_S = 5.0
OUT_MAX_S = 60.0


@dataclass
class Endpoint:
    url: str
    in_flight: int = 0
    requests: int = 0  # requests sent here (failovers included)
    failures: int = 0  # transient failures, all told
    failures_in_a_row: int = 0
    out_until: float = 0.0  # time.monotonic() at which it takes requests again
    last_pick: int = 0

    def is_out(self, now: float) -> bool:
        return self.out_until > now


class EndpointPool:
    def __init__(self, urls: list[str], clock=time.monotonic) -> None:
        if not urls:
            raise ValueError("an endpoint pool needs at least one URL")
        self.endpoints = [Endpoint(u) for u in urls]
        self._clock = clock
        self._picks = 0

    def __len__(self) -> int:
        return len(self.endpoints)

    def pick(self, exclude: set[str] = frozenset()) -> Endpoint | None:
        """The endpoint for the next request: the least-loaded one in service, not in `exclude` (the
        ones this request already failed on); None when all in service are excluded. When none is in
        service, the one due back first (not excluded) is probed."""
        now = self._clock()
        candidates = [e for e in self.endpoints if e.url not in exclude]
        if not candidates:
            return None
        serving = [e for e in candidates if not e.is_out(now)]
        if serving:
            chosen = min(serving, key=lambda e: (e.in_flight, e.last_pick))
        elif exclude:
            return None  # the others are out: the engine's retry waits before the next probe
        else:
            chosen = min(candidates, key=lambda e: e.out_until)
        self._picks += 1
        chosen.last_pick = self._picks
        return chosen

    @contextmanager
    def lease(self, endpoint: Endpoint) -> Iterator[Endpoint]:
        """Count a request in flight at `endpoint` while it runs."""
        endpoint.in_flight += 1
        endpoint.requests += 1
        try:
            yield endpoint
        finally:
            endpoint.in_flight -= 1

    def succeeded(self, endpoint: Endpoint) -> None:
        endpoint.failures_in_a_row = 0
        endpoint.out_until = 0.0

    def failed(self, endpoint: Endpoint, retry_after: float | None = None) -> float:
        """Take `endpoint` out after a transient failure; returns for how many seconds. Failures while
        it is already out (requests that were in flight when it went down) do not lengthen the
        backoff: one outage is one step of it."""
        now = self._clock()
        endpoint.failures += 1
        if not endpoint.is_out(now):
            endpoint.failures_in_a_row += 1
        backoff = min(OUT_MAX_S, OUT_BASE_S * 2 ** (endpoint.failures_in_a_row - 1))
        endpoint.out_until = max(endpoint.out_until, now + max(backoff, retry_after or 0.0))
        return endpoint.out_until - now

    def is_in_service(self, endpoint: Endpoint) -> bool:
        return not endpoint.is_out(self._clock())

    def in_service(self) -> int:
        now = self._clock()
        return sum(not e.is_out(now) for e in self.endpoints)

    def report(self) -> list[dict[str, object]]:
        """Per endpoint (URL with any secret scrubbed): requests sent and transient failures."""
        return [
            {"base_url": redact_text(e.url), "requests": e.requests, "failures": e.failures}
            for e in self.endpoints
        ]
