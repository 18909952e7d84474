"""What the OpenAI and Anthropic providers share on the wire (SDK and aiohttp paths): HTTP status ->
error kind, SDK exceptions -> the same kinds, JSON bodies, endpoint and key checks."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from rft.errors import ConfigError, TeacherError
from rft.redaction import (
    env_name_problem,
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


def timed_out(timeout_s: float) -> TransientError:
    return TransientError(f"timed out after {timeout_s:g}s")


def connection_failed(exc: BaseException) -> TransientError:
    return TransientError(f"connection failed: {short(exc)}")


def parse_json(raw: str | bytes) -> Any:
    """A response body as JSON; a garbled one is a TransientError (asked again)."""
    try:
        return json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        raise TransientError(f"invalid JSON in the response: {short(text, 80)}") from None


async def sdk_send(
    sdk: ModuleType, send: Awaitable[Any], *, spec: str, key_env: str | None, timeout_s: float
) -> tuple[Any, float]:
    """(JSON body, latency) of one raw-response call through an official SDK (`openai` or
    `anthropic`: the same exception classes), its failures turned into rft's error kinds."""
    t0 = time.perf_counter()
    try:
        raw = await send
        text = raw.http_response.text
    except sdk.APIStatusError as exc:
        raise classify(exc.status_code, exc.response.headers, exc.body, spec=spec, key_env=key_env) from None
    except sdk.APITimeoutError:
        raise timed_out(timeout_s) from None
    except sdk.APIConnectionError as exc:
        raise connection_failed(exc.__cause__ or exc) from None
    latency = time.perf_counter() - t0
    return parse_json(text), latency


def check_env_name(flag: str, value: str | None) -> str | None:
    """`value` if it can name an env var; ConfigError naming `flag` otherwise (the value not echoed)."""
    problem = env_name_problem(value)
    if problem:
        register_secret(value)
        raise ConfigError(f"{flag}: {problem}")
    return value


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
