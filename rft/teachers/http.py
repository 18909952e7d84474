"""HTTP status -> error kind, shared by the OpenAI and Anthropic providers (SDK and aiohttp paths)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from rft.errors import TeacherError
from rft.store.redaction import (
    check_env_name,
    redact_text,
    register_key_env,
    register_secret,
    register_url_secrets,
)
from rft.teachers.errors import TeacherRefused, TransientError, retry_after_from_headers, status_label

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


def short(text: Any, limit: int = 200) -> str:
    """One line of at most `limit` characters, secrets scrubbed first (so no half key is left)."""
    s = " ".join(redact_text(str(text)).split())
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
        label = status_label(status)
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


def check_endpoint(spec: str, base_url: str, api_key_env: str | None) -> None:
    """Before a provider reads its key: the env var flag holds a NAME, and the base URL holds no
    `user:password@` (the Bearer/x-api-key header carries the key; aiohttp refuses both at once).
    Any credential in the URL is registered as a secret, so an error echoing it is scrubbed."""
    check_env_name("--api-key-env", api_key_env)
    register_url_secrets(base_url)
    try:
        parts = urlsplit(base_url)
        userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        userinfo = "@" in base_url.split("://", 1)[-1].split("/", 1)[0]
    if userinfo:
        raise TeacherError(
            f"{spec}: the endpoint (--base-url, --judge-base-url) must not hold credentials "
            "(user:password@host): put the API key in an environment variable and pass its NAME with "
            "--api-key-env (--judge-api-key-env for a judge)"
        )


def read_key(key_env: str) -> str | None:
    """The API key in env var `key_env`; from now on its value is scrubbed from every output."""
    register_key_env(key_env)
    key = os.environ.get(key_env)
    register_secret(key)
    return key
