"""`openai:<model>`: OpenAI and every OpenAI-compatible server (vLLM, SGLang, Ollama, llama.cpp,
`transformers serve`) through `base_url`.

Two transports: the official `openai` SDK on its aiohttp transport (`transport="sdk"`), and a thin
aiohttp client (`transport="aiohttp"`) that sends the same JSON with less per-request overhead.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import aiohttp

from rft.teachers.base import ChatRequest, Completion
from rft.teachers.config import TeacherConfig
from rft.teachers.errors import TransientError
from rft.teachers.http import (
    classify,
    connection_failed,
    parse_json,
    sdk_send,
    short,
    timed_out,
)
from rft.teachers.remote import RemoteTeacher

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_TRANSPORT = "aiohttp"


# OpenAI reasoning models (o1, o3, o4-mini, gpt-5, gpt-5.1, ...; not the gpt-5 chat models) reject a
# temperature other than 1 and the `stop` parameter with a 400.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)(?!.*chat)", re.IGNORECASE)


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.match(model.rsplit("/", 1)[-1]))


def completions_from_body(body: Any, latency: float, fallback_model: str) -> list[Completion]:
    """Completions from an OpenAI chat.completion JSON body; usage is split across the choices."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise TransientError(f"malformed response: {short(body)}")
    choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
    usage = body.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    total_out = int(usage.get("completion_tokens") or 0)
    k = max(len(choices), 1)
    out: list[Completion] = []
    for i, ch in enumerate(choices):
        msg = ch.get("message") or {}
        text = msg.get("content")
        if text is None and not msg.get("tool_calls"):
            text = ""
        out.append(
            Completion(
                text=text or "",
                finish_reason=ch.get("finish_reason"),
                prompt_tokens=prompt if i == 0 else 0,
                completion_tokens=total_out // k + (total_out % k if i == 0 else 0),
                latency_s=latency,
                model=body.get("model") or fallback_model,
            )
        )
    return out


class OpenAITeacher(RemoteTeacher):
    provider = "openai"

    url_env = "OPENAI_BASE_URL"
    vendor_url = OPENAI_URL
    vendor_host = "openai.com"
    key_env_default = "OPENAI_API_KEY"
    no_key_hint = " (or use --base-url for a local server)"

    def __init__(self, spec: str, model: str, options: TeacherConfig):
        super().__init__(spec, model, options)
        self.transport = DEFAULT_TRANSPORT if options.transport == "auto" else options.transport
        self._max_tokens_field = "max_completion_tokens" if self.official else "max_tokens"
        # Sampling at temperature 1 without stop sequences is all these models take: say so once.
        self.reasoning = self.official and is_reasoning_model(model)
        self.reasoning_effort = options.reasoning_effort
        if self.reasoning:
            from rft.console import err

            err.print(
                f"note: {spec} is a reasoning model: it samples at temperature 1 and takes no stop "
                "sequences; its hidden reasoning counts against the token limits"
                + ("" if self.reasoning_effort else " (consider --reasoning-effort low)"),
                markup=False,
                soft_wrap=True,
            )

    # -- request body ----------------------------------------------------------------------------
    def body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.message_list,
            "temperature": request.temperature,
            self._max_tokens_field: request.max_tokens,
        }
        if self.reasoning:
            del body["temperature"]
        if self.reasoning_effort:
            body["reasoning_effort"] = self.reasoning_effort
        if request.n > 1:
            body["n"] = request.n
        if request.stop and not self.reasoning:
            body["stop"] = request.stop_list
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    async def _call_at(self, request: ChatRequest, url: str) -> list[Completion]:
        body = self.body(request)
        if self.transport == "sdk":
            return await self._call_sdk(body, url)
        return await self._call_aiohttp(body, url)

    def _new_client(self, url: str) -> Any:
        return self._sdk_client(url) if self.transport == "sdk" else self._session()

    # -- the openai SDK (aiohttp transport) ------------------------------------------------------
    def _sdk_client(self, url: str) -> Any:
        import openai

        return openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=url,
            timeout=self.options.timeout_s,
            max_retries=0,  # retries are ours (shared cool-down, Retry-After, one budget)
            http_client=openai.DefaultAioHttpClient(timeout=self.options.timeout_s),
        )

    async def _call_sdk(self, body: dict[str, Any], url: str) -> list[Completion]:
        import openai

        send = self._clients.get(url).chat.completions.with_raw_response.create(**body)
        data, latency = await sdk_send(
            openai, send, spec=self.spec, key_env=self.key_env, timeout_s=self.options.timeout_s
        )
        return completions_from_body(data, latency, self.model)

    # -- thin aiohttp client ---------------------------------------------------------------------
    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self.options.timeout_s),
            headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"},
        )

    async def _call_aiohttp(self, body: dict[str, Any], url: str) -> list[Completion]:
        session = self._clients.get(url)
        t0 = time.perf_counter()
        try:
            async with session.post(f"{url}/chat/completions", data=json.dumps(body)) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except TimeoutError:
            raise timed_out(self.options.timeout_s) from None
        except aiohttp.ClientError as exc:
            raise connection_failed(exc) from None
        latency = time.perf_counter() - t0
        if status >= 300:
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw.decode("utf-8", "replace")
            raise classify(status, headers, detail, spec=self.spec, key_env=self.key_env)
        return completions_from_body(parse_json(raw), latency, self.model)
