"""The `openai:` provider against a real `transformers serve` (SmolLM2-135M), directly and through a
fault-injection proxy; the response cache; authentication errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from fault_proxy import FaultProxy

from rft.errors import TeacherError
from rft.teachers import TeacherConfig, make_teacher
from rft.teachers.base import ChatRequest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def q(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Repeat the number {i}."}]


def server_root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


@pytest.mark.parametrize("transport", ["sdk", "aiohttp"])
def test_openai_against_transformers_serve(openai_server, transport):
    async def main():
        t = make_teacher(
            openai_server.spec, TeacherConfig(base_url=openai_server.base_url, transport=transport)
        )
        try:
            comps = await t.chat(q(7), n=2, temperature=0.0, max_tokens=6)
            trunc = await t.chat(
                [{"role": "user", "content": "Write a long poem about the sea."}], temperature=0, max_tokens=3
            )
            return t, comps, trunc
        finally:
            await t.aclose()

    t, comps, trunc = asyncio.run(main())
    assert len(comps) == 2
    assert all(c.text.strip() for c in comps)
    assert comps[0].text == comps[1].text  # greedy
    assert comps[0].prompt_tokens > 10 and comps[0].completion_tokens > 0
    assert comps[0].finish_reason in ("stop", "length") and comps[0].latency_s > 0
    assert "smollm2-135m" in comps[0].model
    assert comps[0].cost_usd is None and t.usage.cost_usd is None  # a self-hosted model has no known price
    # transformers serve ignores n: the engine noticed and fanned out into separate requests
    assert t.supports_n is False
    assert trunc[0].finish_reason == "length" and trunc[0].truncated and trunc[0].completion_tokens == 3
    if transport == "sdk":
        assert t.transport == "sdk"


def test_sdk_and_aiohttp_transports_agree(openai_server):
    async def run(transport):
        t = make_teacher(
            openai_server.spec, TeacherConfig(base_url=openai_server.base_url, transport=transport)
        )
        try:
            return [c.text for c in await t.chat(q(42), temperature=0.0, max_tokens=5)]
        finally:
            await t.aclose()

    assert asyncio.run(run("sdk")) == asyncio.run(run("aiohttp"))


@pytest.mark.parametrize("transport", ["sdk", "aiohttp"])
def test_fault_proxy_30_percent_all_complete(openai_server, transport):
    """100 distinct requests, 30% of attempts faulted: all complete, each with its own server answer,
    none lost or duplicated; waits after a 429 respect Retry-After / retry-after-ms for every worker."""
    n_req = 100

    async def main():
        async with FaultProxy(server_root(openai_server.base_url), rate=0.3, stall_s=4.0, seed=3) as proxy:
            opts = TeacherConfig(
                base_url=proxy.base_url, transport=transport, concurrency=4, timeout_s=2.5, max_retries=12
            )
            t = make_teacher(openai_server.spec, opts)
            try:
                results = await asyncio.gather(
                    *(t.chat(q(i), temperature=0.0, max_tokens=2) for i in range(n_req))
                )
            finally:
                await t.aclose()
            return proxy, t, results

    proxy, t, results = asyncio.run(main())
    assert len(results) == n_req and all(len(r) == 1 for r in results)
    for i, r in enumerate(results):
        key = FaultProxy.key_of(__import__("json").dumps({"messages": q(i)}).encode())
        served = proxy.responses.get(key)
        assert served, f"request {i} never reached the server"
        assert r[0].text == served[-1]  # its own answer, not another request's
    assert len({r[0].text for r in results}) >= 10  # answers differ, so a mix-up would show
    assert t.usage.calls == n_req
    faults = {k: proxy.count(k) for k in ("429", "429ms", "500", "stall", "reset", "badjson")}
    assert all(v >= 1 for v in faults.values()), faults
    assert proxy.count("ok") >= n_req
    assert t.http_calls == len(proxy.arrivals)
    # Retry-After: the same request never comes back early, and no other worker sends during the cool-down
    for a in proxy.arrivals:
        if a.retry_after is None:
            continue
        later_same = [b.t for b in proxy.arrivals if b.key == a.key and b.t > a.t]
        assert later_same and later_same[0] - a.t_sent >= a.retry_after - 0.01, (a, later_same[:1])
        window = (a.t_sent + 0.05, a.t_sent + a.retry_after - 0.05)
        inside = [b for b in proxy.arrivals if window[0] < b.t < window[1]]
        assert not inside, f"requests sent during the cool-down after a 429: {inside[:3]}"


def test_cache_second_run_makes_no_calls(openai_server, tmp_path):
    """The same 20 requests twice, through a counting proxy: the second time nothing reaches the server."""
    cache = tmp_path / "cache.sqlite"

    async def one_run(proxy: FaultProxy):
        t = make_teacher(
            openai_server.spec, TeacherConfig(base_url=proxy.base_url, cache_path=cache, concurrency=4)
        )
        try:
            res = await asyncio.gather(*(t.chat(q(i), temperature=0.0, max_tokens=2) for i in range(20)))
        finally:
            await t.aclose()
        return t, [r[0] for r in res]

    async def main():
        async with FaultProxy(server_root(openai_server.base_url), rate=0.0) as proxy:
            t1, first = await one_run(proxy)
            n_first = len(proxy.arrivals)
            t2, second = await one_run(proxy)  # a new teacher, as in a re-run: only the cache file is shared
            return n_first, len(proxy.arrivals) - n_first, t1, t2, first, second

    n_first, n_second, t1, t2, first, second = asyncio.run(main())
    assert n_first == 20 and t1.usage.calls == 20
    assert n_second == 0 and t2.http_calls == 0  # nothing reached the server
    assert t2.usage.cached_calls == 20 and t2.usage.calls == 0
    assert [c.text for c in first] == [c.text for c in second]
    assert all(c.cached for c in second) and not any(c.cached for c in first)


def test_ping_cli_against_transformers_serve(openai_server):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rft.cli",
            "teacher",
            "ping",
            openai_server.spec,
            "--base-url",
            openai_server.base_url,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"model     {openai_server.model}" in proc.stdout
    assert "latency" in proc.stdout and "tokens" in proc.stdout
    assert "cost      unknown" in proc.stdout
    assert "n         no:" in proc.stdout  # transformers serve ignores n


# --- authentication: a tiny server that rejects every key ------------------------------------------


async def _reject_server():
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "Incorrect API key provided"}}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("transport", ["sdk", "aiohttp"])
def test_401_names_env_var_not_key(monkeypatch, transport):
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("MY_TEACHER_KEY", secret)

    async def main():
        runner, port = await _reject_server()
        t = make_teacher(
            "openai:gpt-4o-mini",
            TeacherConfig(
                base_url=f"http://127.0.0.1:{port}/v1", api_key_env="MY_TEACHER_KEY", transport=transport
            ),
        )
        try:
            with pytest.raises(TeacherError) as info:
                await t.chat(q(1), max_tokens=2)
            return info.value, t.http_calls
        finally:
            await t.aclose()
            await runner.cleanup()

    exc, calls = asyncio.run(main())
    msg = str(exc)
    assert "MY_TEACHER_KEY" in msg and "401" in msg
    assert secret not in msg and "SECRET" not in msg
    assert calls == 1  # not retried
    assert "\n" not in msg


def test_401_cli_one_line_exit_2():
    async def serve_and_ping():
        runner, port = await _reject_server()
        env = {**os.environ, "MY_TEACHER_KEY": "sk-cli-SECRET-42"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rft.cli", "teacher", "ping", "openai:gpt-4o-mini",
            "--base-url", f"http://127.0.0.1:{port}/v1", "--api-key-env", "MY_TEACHER_KEY",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        out, err = await proc.communicate()
        await runner.cleanup()
        return proc.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(serve_and_ping())
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "MY_TEACHER_KEY" in lines[0] and "SECRET" not in err + out


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("gpt-5-mini", True),
        ("o4-mini", True),
        ("o1", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4o-mini", False),
    ],
)
def test_reasoning_models_get_no_temperature_or_stop(monkeypatch, capsys, model, reasoning):
    """OpenAI's reasoning models answer 400 to a temperature other than 1 and to `stop`: rft leaves
    both out for them on api.openai.com (and says so once), and keeps them everywhere else."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    t = make_teacher(f"openai:{model}", TeacherConfig(reasoning_effort="low" if reasoning else None))
    body = t.body(ChatRequest([{"role": "user", "content": "hi"}], 3, 0.7, 64, ["\nStep "], 1))
    assert body["max_completion_tokens"] == 64 and body["n"] == 3 and body["seed"] == 1
    if reasoning:
        assert "temperature" not in body and "stop" not in body and body["reasoning_effort"] == "low"
        assert "reasoning model" in capsys.readouterr().err
    else:
        assert body["temperature"] == 0.7 and body["stop"] == ["\nStep "] and "reasoning_effort" not in body
    # a self-hosted server with the same model name keeps every parameter
    local = make_teacher(f"openai:{model}", TeacherConfig(base_url="http://127.0.0.1:8000/v1"))
    body = local.body(ChatRequest([{"role": "user", "content": "hi"}], 1, 0.7, 64, ["\nStep "], None))
    assert body["temperature"] == 0.7 and body["stop"] == ["\nStep "] and body["max_tokens"] == 64
