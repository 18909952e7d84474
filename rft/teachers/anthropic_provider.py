"""`anthropic:<model>`: the Messages API through the official SDK (aiohttp transport).

System messages go into the top-level `system` field; consecutive same-role messages are merged;
`cache_control` breakpoints mark the system prompt and the end of the conversation so sibling steps
(same long prefix, many samples) read the prefix from Anthropic's prompt cache. Anthropic has no `n`:
samples are separate requests (fan-out by the engine). The installed SDK (2.x) has no `temperature`
argument: newer models sample at their own default; Claude 3.x models still receive it."""

from __future__ import annotations

from typing import Any

from rft.errors import TeacherError
from rft.teachers.base import ChatRequest, Completion
from rft.teachers.errors import TransientError
from rft.teachers.http import sdk_send, short
from rft.teachers.remote import RemoteTeacher

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


class AnthropicTeacher(RemoteTeacher):
    provider = "anthropic"
    supports_n = False

    url_env = "ANTHROPIC_BASE_URL"
    vendor_url = ANTHROPIC_URL
    vendor_host = "anthropic.com"
    key_env_default = "ANTHROPIC_API_KEY"

    def _new_client(self, url: str) -> Any:
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=self._api_key,
            base_url=url,
            timeout=self.options.timeout_s,
            max_retries=0,  # retries are ours
            http_client=anthropic.DefaultAioHttpClient(timeout=self.options.timeout_s),
        )

    def body(self, request: ChatRequest) -> dict[str, Any]:
        system, turns = to_messages_api(request.message_list)
        body: dict[str, Any] = {"model": self.model, "messages": turns, "max_tokens": request.max_tokens}
        if self.model.startswith(LEGACY_SAMPLING):
            # the current SDK has no `temperature` argument; Claude 3.x models still take it (range 0..1)
            body["extra_body"] = {"temperature": min(max(request.temperature, 0.0), 1.0)}
        if system:
            body["system"] = system
        if request.stop:
            body["stop_sequences"] = request.stop_list
        return body

    async def _call_at(self, request: ChatRequest, url: str) -> list[Completion]:
        import anthropic

        send = self._clients.get(url).messages.with_raw_response.create(**self.body(request))
        data, latency = await sdk_send(
            anthropic, send, spec=self.spec, key_env=self.key_env, timeout_s=self.options.timeout_s
        )
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
