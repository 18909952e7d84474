"""`anthropic:<model>`: the Messages API through the official SDK (aiohttp transport).

System messages go into the top-level `system` field; consecutive same-role messages are merged;
`cache_control` breakpoints mark the system prompt and the end of the conversation so sibling steps
(same long prefix, many samples) read the prefix from Anthropic's prompt cache. Anthropic has no `n`:
samples are separate requests (fan-out by the engine). The installed SDK (2.x) has no `temperature`
argument: newer models sample at their own default; Claude 3.x models still receive it."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any
from urllib.parse import urlparse

from rft.errors import TeacherError
from rft.teachers.base import Completion
from rft.teachers.config import TeacherConfig
from rft.teachers.engine import ManagedTeacher
from rft.teachers.errors import TransientError
from rft.teachers.http import check_endpoint, classify, read_key, short

ANTHROPIC_URL = "https://api.anthropic.com"
EPHEMERAL = {"type": "ephemeral"}
LEGACY_SAMPLING = ("claude-3",)  # model families that accept `temperature`
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def to_messages_api(messages: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, messages) in the Messages API shape, with cache_control breakpoints."""
    system_parts = [m["content"] for m in messages if m.get("role") == "system" and m.get("content")]
    system = (
        [{"type": "text", "text": "\n\n".join(system_parts), "cache_control": EPHEMERAL}]
        if system_parts
        else []
    )
    turns: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        if role == "system":
            continue
        if role not in ("user", "assistant"):
            raise TeacherError(
                f"anthropic: unsupported message role {role!r} (use system, user or assistant)"
            )
        block = {"type": "text", "text": str(m.get("content", ""))}
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].append(block)
        else:
            turns.append({"role": role, "content": [block]})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    # an assistant turn last = a prefill the model continues; it must not end in whitespace
    if turns[-1]["role"] == "assistant":
        last = turns[-1]["content"][-1]
        last["text"] = last["text"].rstrip()
    turns[-1]["content"][-1]["cache_control"] = EPHEMERAL
    return system, turns


class AnthropicTeacher(ManagedTeacher):
    provider = "anthropic"
    supports_n = False

    def __init__(self, spec: str, model: str, options: TeacherConfig):
        base_url = (options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_URL).rstrip("/")
        check_endpoint(spec, base_url, options.api_key_env)
        super().__init__(spec, model, options, base_url=base_url)
        self.key_env = options.api_key_env or "ANTHROPIC_API_KEY"
        key = read_key(self.key_env)
        official = (urlparse(base_url).hostname or "").endswith("anthropic.com")
        if not key:
            if options.api_key_env or official:
                raise TeacherError(f"{spec}: no API key: set the env var {self.key_env}")
            key = "EMPTY"
        self._api_key = key
        self._clients: dict[int, Any] = {}

    def _client(self) -> Any:
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            import anthropic

            client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.options.timeout_s,
                max_retries=0,  # retries are ours
                http_client=anthropic.DefaultAioHttpClient(timeout=self.options.timeout_s),
            )
            self._clients[loop_id] = client
        return client

    def body(
        self, messages: list[dict[str, str]], temperature: float, max_tokens: int, stop: list[str] | None
    ) -> dict[str, Any]:
        system, turns = to_messages_api(messages)
        body: dict[str, Any] = {"model": self.model, "messages": turns, "max_tokens": max_tokens}
        if self.model.startswith(LEGACY_SAMPLING):
            # the current SDK has no `temperature` argument; Claude 3.x models still take it (range 0..1)
            body["extra_body"] = {"temperature": min(max(temperature, 0.0), 1.0)}
        if system:
            body["system"] = system
        if stop:
            body["stop_sequences"] = stop
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
        import anthropic

        body = self.body(messages, temperature, max_tokens, stop)
        client = self._client()
        t0 = time.perf_counter()
        try:
            raw = await client.messages.with_raw_response.create(**body)
            text = raw.http_response.text
        except anthropic.APIStatusError as exc:
            raise classify(
                exc.status_code, exc.response.headers, exc.body, spec=self.spec, key_env=self.key_env
            ) from None
        except anthropic.APITimeoutError:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except anthropic.APIConnectionError as exc:
            raise TransientError(f"connection failed: {short(exc.__cause__ or exc)}") from None
        latency = time.perf_counter() - t0
        try:
            data = json.loads(text)
        except ValueError:
            raise TransientError(f"invalid JSON in the response: {short(text, 80)}") from None
        if data.get("type") == "error":
            err = data.get("error") or {}
            status = 529 if err.get("type") == "overloaded_error" else 500
            raise TransientError(
                f"{err.get('type', 'error')}: {short(err.get('message', ''))}", status=status
            )
        return [self._completion(data, latency)]

    def _completion(self, data: dict[str, Any], latency: float) -> Completion:
        if not isinstance(data.get("content"), list):
            raise TransientError(f"malformed response: {short(data)}")
        text = "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
        usage = data.get("usage") or {}
        fresh = int(usage.get("input_tokens") or 0)
        read = int(usage.get("cache_read_input_tokens") or 0)
        write = int(usage.get("cache_creation_input_tokens") or 0)
        out = int(usage.get("output_tokens") or 0)
        cost = self.price.cost(fresh, out, cache_read=read, cache_write=write) if self.price else None
        reason = data.get("stop_reason")
        return Completion(
            text=text,
            finish_reason=STOP_REASONS.get(reason, reason),
            prompt_tokens=fresh + read + write,
            completion_tokens=out,
            latency_s=latency,
            model=data.get("model") or self.model,
            cost_usd=cost,
        )

    async def _close(self) -> None:
        clients, self._clients = self._clients, {}
        for c in clients.values():
            try:
                await c.close()
            except RuntimeError:
                pass
