"""Keep secrets (API keys, tokens, passwords) out of manifests and cards."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
# `hf_token`, `api_key`, `access-token` are secrets; `max_tokens`, `tokens_in`, `tokenizer` are not.
SECRET_KEY_RE = re.compile(
    r"(api_?key|secret|password|passwd|authorization|credential|(?<![a-z])token(?![a-z]))", re.I
)
# Values that look like provider keys even under an innocent name.
SECRET_VALUE_RE = re.compile(
    r"\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|AKIA[0-9A-Z]{16}|Bearer\s+[A-Za-z0-9._~+/=-]{16,})"
)


# `api_key_env: OPENAI_API_KEY` names an environment variable: the name is not a secret.
ENV_NAME_KEY_RE = re.compile(r"_env(_?var)?$", re.I)


def _is_secret_key(key: str) -> bool:
    key = key.replace("-", "_")
    return bool(SECRET_KEY_RE.search(key)) and not ENV_NAME_KEY_RE.search(key)


# Credentials inside URLs: `https://user:pass@host/...` and `?api_key=...&sig=...`.
URL_USERINFO_RE = re.compile(r"(?<=://)[^/\s@]+@")
URL_SECRET_PARAM_RE = re.compile(
    r"([?&][^=&\s#]*(?:key|token|secret|sig|signature|password|auth)[^=&\s#]*=)[^&\s#]+", re.I
)


def redact_text(text: str) -> str:
    text = SECRET_VALUE_RE.sub(REDACTED, text)
    text = URL_USERINFO_RE.sub(REDACTED + "@", text)
    return URL_SECRET_PARAM_RE.sub(lambda m: m.group(1) + REDACTED, text)


def redact(value: Any) -> Any:
    """A copy of `value` with secret-named fields and secret-looking strings replaced."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if (
                isinstance(k, str)
                and _is_secret_key(k)
                and v not in (None, "", False)
                and not isinstance(v, int | float)
            ):
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with the values of secret-named flags (`--api-key X`, `--token=X`) removed."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-") and _is_secret_key(arg.lstrip("-").split("=", 1)[0]):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=" + REDACTED)
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg))
    return out
