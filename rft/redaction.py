"""Keep secrets (API keys, tokens, passwords) out of every file, log line and terminal.

The one place for it: every writer (manifest, card, extra files such as the validation report, run.json,
events.jsonl) and every printed line (rft.console, the CLI's error line, TeacherError/TransientError
texts) goes through `redact` / `redact_text`. Three kinds of secrets are removed:
- values known to be secrets: the values of API-key env vars (OPENAI_API_KEY, ANTHROPIC_API_KEY,
  HF_TOKEN, the env var named by --api-key-env; key-like values of `*_KEY`, `*_TOKEN`, `*_SECRET`,
  `*_PASSWORD`) and credentials taken from URLs (`register_url_secrets`), wherever they appear;
- strings shaped like provider keys (`sk-...`, `hf_...`, `Bearer ...`);
- credentials inside URLs (`user:password@`, `?api_key=...&sig=...`).
The patterns never cross a quote or a backslash, so redacting serialised JSON keeps it valid JSON.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
URL_USERINFO_RE = re.compile(r"(?<=://)[^/?#\s@\"'\\]+@")
URL_SECRET_PARAM_RE = re.compile(
    r"([?&][^=&\s#\"'\\]*(?:key|token|secret|sig|signature|password|auth)[^=&\s#\"'\\]*=)"
    r"[^&\s#\"'\\]+",
    re.I,
)

# --- values known to be secrets ------------------------------------------------------------------
KEY_ENVS = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}
# Env vars whose value is a secret by their name: MY_API_KEY, MY_KEY, GITHUB_TOKEN, DB_PASSWORD (not
# *_KEY_FILE, *_TOKEN_PATH).
_SPACE_RE = re.compile(r"\s")
SECRET_ENV_NAME_RE = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.I)
MIN_SECRET_LEN = 8  # shorter values ("EMPTY", "1") would scrub ordinary words
_key_envs: set[str] = set()
_values: set[str] = set()


def register_secret(value: str | None) -> None:
    """Scrub `value` from everything written or printed by this process from now on."""
    if value and len(value) >= MIN_SECRET_LEN:
        _values.add(value)


def register_key_env(name: str | None) -> None:
    """The env var `name` holds a key (e.g. the one named by --api-key-env): scrub its value."""
    if name:
        _key_envs.add(name)


def register_url_secrets(url: str | None) -> None:
    """The password (and user) of `user:password@host` and secret query values of `url`."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        register_secret(parts.password)
        if parts.password is None:  # `https://TOKEN@host`: the user name is the token
            register_secret(parts.username)
        for k, v in parse_qsl(parts.query, keep_blank_values=False):
            if URL_SECRET_PARAM_RE.search(f"?{k}=x"):
                register_secret(v)
    except ValueError:
        pass


_known: tuple[Any, list[str]] | None = None  # (what it was computed from, known_secrets())


def known_secrets() -> list[str]:
    """Every value to scrub, longest first (a key that contains another is replaced whole). Computed
    again only when a secret was registered or the environment changed (every record written asks)."""
    global _known
    env = getattr(os.environ, "_data", None)  # the raw environment, compared without decoding it
    key = (frozenset(_values), frozenset(_key_envs), dict(env) if env is not None else None)
    if env is not None and _known is not None and _known[0] == key:
        return list(_known[1])
    vals = _scan_secrets()
    _known = (key, vals)
    return list(vals)


def _scan_secrets() -> list[str]:
    vals = set(_values)
    for name, v in os.environ.items():
        if len(v) < MIN_SECRET_LEN or _SPACE_RE.search(v):
            continue
        if name in KEY_ENVS or name in _key_envs:
            vals.add(v)
        elif SECRET_ENV_NAME_RE.search(name) and _random_looking(v):
            vals.add(v)  # by its name only: a value such as SORT_KEY=problem_id is no secret
    return sorted(vals, key=len, reverse=True)


def _random_looking(v: str) -> bool:
    return len(v) >= 16 and any(c.isdigit() for c in v) and any(c.isalpha() for c in v)


def scrub_known(text: str, values: list[str] | None = None) -> str:
    """`text` with every known secret value replaced (no pattern: safe on any data). `values`:
    `known_secrets()` computed once by a caller that scrubs many texts."""
    for v in known_secrets() if values is None else values:
        if v in text:
            text = text.replace(v, REDACTED)
    return text


def redact_text(text: str) -> str:
    """`text` with known secret values, key-shaped strings and URL credentials replaced."""
    text = scrub_known(text)
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


# --- flags that take the NAME of an env var ---------------------------------------------------------
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_NAME_HINT = "must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key"


def looks_like_key(value: str) -> bool:
    """A provider key's shape (`sk-...`, `hf_...`), or a long run of mixed case and digits without
    the underscores between the words of an env var name."""
    if SECRET_VALUE_RE.search(value):
        return True
    mixed = (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )
    return len(value) >= 24 and mixed and "_" not in value


def env_name_problem(value: str | None) -> str | None:
    """Why `value` cannot be an env var name (--api-key-env and friends), else None. The message
    never repeats the value: it may be the key itself."""
    if value is None:
        return None
    if not ENV_NAME_RE.match(value) or looks_like_key(value):
        return ENV_NAME_HINT
    return None


def redact_record(obj: dict[str, Any], values: list[str] | None = None) -> dict[str, Any]:
    """A record (as JSON data) ready to store: its error text redacted like any log line, and known
    secret values scrubbed from every string (no patterns: a problem about URLs stays intact)."""
    outcome = obj.get("outcome")
    if isinstance(outcome, dict) and isinstance(outcome.get("error"), str):
        obj = {**obj, "outcome": {**outcome, "error": redact_text(outcome["error"])}}
    values = known_secrets() if values is None else values
    if values:
        # a known value is plain text ([A-Za-z0-9_-] in practice): it reads the same inside the JSON
        # text, and its replacement keeps the JSON valid
        text = json.dumps(obj, ensure_ascii=False)
        if any(v in text for v in values):
            obj = json.loads(scrub_known(text, values))
    return obj
