"""`anthropic:` against a local server that speaks the Messages API shape (no Anthropic server can
run here): request mapping, prompt-caching breakpoints, cache-aware cost, 529 retries, fan-out."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from rft.errors import TeacherError
from rft.teachers import TeacherConfig, make_teacher
from rft.teachers.anthropic_provider import to_messages_api

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK flags old model names

KEY = "sk-ant-test-SECRET-777"
SYSTEM = "You are a careful math teacher. " * 20
CONVO = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "Solve 12 * 7 step by step."},
    {"role": "assistant", "content": "Step 1: 12 * 7 = 84. "},
]


class FakeMessagesAPI:
    """POST /v1/messages: answers 529 `overloaded_fail` times first, then a Messages API response."""

    def __init__(self, overloaded_fail: int = 0, status: int = 529):
        self.overloaded_fail = overloaded_fail
        self.status = status
        self.requests: list[tuple[dict, dict]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, body))
        if self.overloaded_fail > 0:
            self.overloaded_fail -= 1
            err = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            return web.json_response(err, status=self.status, headers={"retry-after": "0"})
        if self.status == 401:
            return web.json_response(
                {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
                status=401,
            )
        first = len(self.requests) == 1
        return web.json_response(
            {
                "id": f"msg_{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": f"Step 2: done ({len(self.requests)})"}],
                "stop_reason": "max_tokens" if body["max_tokens"] <= 4 else "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 20,
                    "output_tokens": 7,
                    "cache_creation_input_tokens": 1000 if first else 0,
                    "cache_read_input_tokens": 0 if first else 1000,
                },
            }
        )

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/v1/messages", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_mapping_system_and_cache_breakpoints():
    system, turns = to_messages_api(
        CONVO + [{"role": "user", "content": "Continue."}, {"role": "user", "content": "Now."}]
    )
    assert system == [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]  # consecutive users merged
    assert [b["text"] for b in turns[-1]["content"]] == ["Continue.", "Now."]
    assert turns[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in b for t in turns[:-1] for b in t["content"])
    _, prefill = to_messages_api(CONVO)
    assert prefill[-1]["role"] == "assistant" and prefill[-1]["content"][-1]["text"] == "Step 1: 12 * 7 = 84."
    _, first_assistant = to_messages_api([{"role": "assistant", "content": "x"}])
    assert first_assistant[0]["role"] == "user"


def test_messages_api_request_cost_and_fan_out(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    async def main():
        async with FakeMessagesAPI() as api:
            t = make_teacher("anthropic:claude-3-5-haiku-20241022", TeacherConfig(base_url=api.base_url))
            try:
                comps = await t.chat(CONVO, n=3, temperature=1.7, max_tokens=64, stop=["\n\n"])
            finally:
                await t.aclose()
            return api, t, comps

    api, t, comps = asyncio.run(main())
    assert len(comps) == 3 and len(api.requests) == 3  # no n in the Messages API: one request per sample
    assert len({c.text for c in comps}) == 3
    headers, body = api.requests[0]
    # the key travels in a header only (x-api-key, or a bearer token with SDK 2.x), never in the body
    assert KEY in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
    assert "anthropic-version" in headers
    assert body["model"] == "claude-3-5-haiku-20241022"
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert all(m["role"] in ("user", "assistant") for m in body["messages"])
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert (
        body["temperature"] == 1.0 and body["max_tokens"] == 64
    )  # clamped to the API's 0..1 and body["stop_sequences"] == ["\n\n"]
    assert "n" not in body
    # claude-3-5-haiku: $0.80/M in, $4/M out, cache write 1.25x, cache read 0.1x
    write = next(c for c in comps if c.cost_usd > 0.0009)
    assert write.cost_usd == pytest.approx((20 * 0.8 + 7 * 4 + 1000 * 1.0) / 1e6)
    reads = [c for c in comps if c is not write]
    assert all(c.cost_usd == pytest.approx((20 * 0.8 + 7 * 4 + 1000 * 0.08) / 1e6) for c in reads)
    assert all(c.prompt_tokens == 1020 and c.completion_tokens == 7 for c in comps)
    assert all(c.finish_reason == "stop" and not c.truncated for c in comps)
    assert t.usage.calls == 3 and t.usage.cost_usd == pytest.approx(sum(c.cost_usd for c in comps))
    assert KEY not in json.dumps(body)


def test_529_overloaded_is_retried_and_max_tokens_is_truncated(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    async def main():
        async with FakeMessagesAPI(overloaded_fail=2) as api:
            t = make_teacher(
                "anthropic:claude-sonnet-4-5", TeacherConfig(base_url=api.base_url, max_retries=3)
            )
            try:
                comps = await t.chat([{"role": "user", "content": "hi"}], max_tokens=4)
            finally:
                await t.aclose()
            return api, t, comps

    api, t, comps = asyncio.run(main())
    assert len(api.requests) == 3 and t.retries == 2
    assert comps[0].finish_reason == "length" and comps[0].truncated
    assert "system" not in api.requests[-1][1]
    assert "temperature" not in api.requests[-1][1]  # newer models: the SDK has no temperature


def test_401_names_env_var(monkeypatch):
    monkeypatch.setenv("MY_ANTHROPIC", KEY)

    async def main():
        async with FakeMessagesAPI(status=401) as api:
            t = make_teacher(
                "anthropic:claude-3-5-haiku-latest",
                TeacherConfig(base_url=api.base_url, api_key_env="MY_ANTHROPIC"),
            )
            try:
                with pytest.raises(TeacherError) as info:
                    await t.chat([{"role": "user", "content": "hi"}])
            finally:
                await t.aclose()
            return api, info.value

    api, exc = asyncio.run(main())
    assert "MY_ANTHROPIC" in str(exc) and KEY not in str(exc) and len(api.requests) == 1
