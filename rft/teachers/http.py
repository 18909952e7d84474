"""HTTP status -> error kind, shared by the OpenAI and Anthropic providers (SDK and aiohttp paths)."""

from __future__ import annotations

from typing import Any

from rft.errors import TeacherError
from rft.teachers.errors import TeacherRefused, TransientError, retry_after_from_headers

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


def short(text: Any, limit: int = 200) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def error_detail(body: Any) -> str:
    """The server's own error message from an OpenAI/Anthropic style error body, else the raw text."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return short(err.get("message") or err.get("detail") or err)
        if body.get("detail"):
            return short(body["detail"])
        return short(err)
    return short(body or "")


def classify(status: int, headers: Any, body: Any, *, spec: str, key_env: str | None) -> Exception:
    """The exception to raise for a non-2xx answer: TransientError (retry) or TeacherError (stop)."""
    detail = error_detail(body)
    if status in RETRYABLE or status >= 500:
        label = {429: "rate limited", 529: "overloaded"}.get(status, "server error")
        return TransientError(
            f"HTTP {status} {label}: {detail}", status=status, retry_after=retry_after_from_headers(headers)
        )
    if status in (401, 403):
        where = f"check the env var {key_env}" if key_env else "check the API key"
        what = "rejected the API key" if status == 401 else "denied access"
        return TeacherError(f"{spec}: the server {what} (HTTP {status}); {where}")
    if status == 404:
        return TeacherError(f"{spec}: not found (HTTP 404): {detail}; check the model name and --base-url")
    return TeacherRefused(f"{spec}: request refused (HTTP {status}): {detail}")
