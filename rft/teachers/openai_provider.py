"""`openai:<model>`: OpenAI and every OpenAI-compatible server (vLLM, SGLang, Ollama, llama.cpp,
`transformers serve`) through `base_url`.

Two transports: the official `openai` SDK on its aiohttp transport (`transport="sdk"`), and a thin
aiohttp client (`transport="aiohttp"`) that sends the same JSON with less per-request overhead.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from typing import Any
from urllib.parse import urlparse

import aiohttp

from rft.errors import TeacherError
from rft.teachers.base import Completion
from rft.teachers.config import TeacherConfig
from rft.teachers.engine import ManagedTeacher
from rft.teachers.errors import TransientError
from rft.teachers.http import check_endpoint, classify, read_key, short

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_TRANSPORT = "aiohttp"


def _is_official(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "").endswith("openai.com")


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


class OpenAITeacher(ManagedTeacher):
    provider = "openai"

    def __init__(self, spec: str, model: str, options: TeacherConfig):
        base_url = (options.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
        check_endpoint(spec, base_url, options.api_key_env)
        super().__init__(spec, model, options, base_url=base_url)
        self.key_env = options.api_key_env or "OPENAI_API_KEY"
        key = read_key(self.key_env)
        if not key:
            if options.api_key_env or _is_official(base_url):
                raise TeacherError(
                    f"{spec}: no API key: set the env var {self.key_env}"
                    + ("" if options.api_key_env else " (or use --base-url for a local server)")
                )
            key = "EMPTY"  # local OpenAI-compatible servers need none
        self._api_key = key
        self.transport = DEFAULT_TRANSPORT if options.transport == "auto" else options.transport
        self._max_tokens_field = "max_completion_tokens" if _is_official(base_url) else "max_tokens"
        # Sampling at temperature 1 without stop sequences is all these models take: say so once.
        self.reasoning = _is_official(base_url) and is_reasoning_model(model)
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
        self._clients: dict[int, Any] = {}  # per event loop

    # -- request body ----------------------------------------------------------------------------
    def body(
        self,
        messages: list[dict[str, str]],
        n: int,
        temperature: float,
        max_tokens: int,
        stop: list[str] | None,
        seed: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            self._max_tokens_field: max_tokens,
        }
        if self.reasoning:
            del body["temperature"]
        if self.reasoning_effort:
            body["reasoning_effort"] = self.reasoning_effort
        if n > 1:
            body["n"] = n
        if stop and not self.reasoning:
            body["stop"] = stop
        if seed is not None:
            body["seed"] = seed
        return body

    async def _call(
        self,
        messages: list[dict[str, str]],
        n: int,
        temperature: float,
        max_tokens: int,
        stop: list[str] | None,
        seed: int | None,
    ) -> list[Completion]:
        body = self.body(messages, n, temperature, max_tokens, stop, seed)
        if self.transport == "sdk":
            return await self._call_sdk(body)
        return await self._call_aiohttp(body)

    # -- the openai SDK (aiohttp transport) ------------------------------------------------------
    def _sdk(self) -> Any:
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            import openai

            client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.options.timeout_s,
                max_retries=0,  # retries are ours (shared cool-down, Retry-After, one budget)
                http_client=openai.DefaultAioHttpClient(timeout=self.options.timeout_s),
            )
            self._clients[loop_id] = client
        return client

    async def _call_sdk(self, body: dict[str, Any]) -> list[Completion]:
        import openai

        client = self._sdk()
        t0 = time.perf_counter()
        try:
            raw = await client.chat.completions.with_raw_response.create(**body)
            text = raw.http_response.text
            latency = time.perf_counter() - t0
        except openai.APIStatusError as exc:
            raise classify(
                exc.status_code, exc.response.headers, exc.body, spec=self.spec, key_env=self.key_env
            ) from None
        except openai.APITimeoutError:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection failed: {short(exc.__cause__ or exc)}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise TransientError(f"invalid JSON in the response: {short(text, 80)}") from None
        return completions_from_body(data, latency, self.model)

    # -- thin aiohttp client ---------------------------------------------------------------------
    def _session(self) -> aiohttp.ClientSession:
        loop_id = id(asyncio.get_running_loop())
        session = self._clients.get(loop_id)
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=self.options.timeout_s),
                headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"},
            )
            self._clients[loop_id] = session
        return session

    async def _call_aiohttp(self, body: dict[str, Any]) -> list[Completion]:
        session = self._session()
        t0 = time.perf_counter()
        try:
            async with session.post(f"{self.base_url}/chat/completions", data=json.dumps(body)) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except TimeoutError:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"connection failed: {short(exc)}") from None
        latency = time.perf_counter() - t0
        try:
            data = json.loads(raw)
        except ValueError:
            if status >= 300:
                raise classify(
                    status, headers, raw.decode("utf-8", "replace"), spec=self.spec, key_env=self.key_env
                ) from None
            raise TransientError(
                f"invalid JSON in the response: {short(raw.decode('utf-8', 'replace'), 80)}"
            ) from None
        if status >= 300:
            raise classify(status, headers, data, spec=self.spec, key_env=self.key_env)
        return completions_from_body(data, latency, self.model)

    async def _close(self) -> None:
        clients, self._clients = self._clients, {}
        for c in clients.values():
            try:
                await c.close()
            except RuntimeError:  # its event loop is gone
                pass
