"""Error kinds inside the teachers layer: transient ones are retried, TeacherError ends the run."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from time import time
from typing import Any

from rft.errors import TeacherError
from rft.redaction import redact_text

__all__ = [
    "TeacherError",
    "TeacherRefused",
    "TeacherUnavailable",
    "TransientError",
    "retry_after_from_headers",
    "status_label",
]


def status_label(status: int | None) -> str:
    """How a retryable HTTP status reads in a message: rate limited (429), overloaded (529), else
    server error."""
    return {429: "rate limited", 529: "overloaded"}.get(status or 0, "server error")


class TransientError(Exception):
    """A failure worth retrying (429, 5xx, 529, timeout, dropped connection, garbled body)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(redact_text(message))  # may quote the server's body: no secret in it
        self.status = status
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


def retry_after_from_headers(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or HTTP date); None if absent."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(float(ra), 0.0)
    except ValueError:
        try:
            return max(parsedate_to_datetime(ra).timestamp() - time(), 0.0)
        except (TypeError, ValueError):
            return None


class TeacherUnavailable(TeacherError):
    """The teacher cannot be reached or keeps failing (connection refused, timeouts, 5xx or 429 after
    the retries, a Retry-After beyond --max-retry-wait): an outage, never a property of a problem."""


class TeacherRefused(TeacherError):
    """The server refused this one request (a 4xx other than auth/not-found, e.g. 400 for a prompt
    too long): it says something about the request, and retrying it unchanged will not help."""
