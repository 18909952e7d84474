"""Teacher-layer throughput (prints ratios; not a test).

(a) engine overhead: a local OpenAI-compatible server (separate process) answers every request after
    100 ms; 2,000 requests at concurrency 64 through our `openai:` teacher (cache off).
    Ratio = achieved req/s / 640 (ideal). Target >= 0.8. Both transports are measured.
(b) local batching: SmolLM2-135M on CPU, 32 concurrent requests of up to 64 new tokens.
    Ratio = tokens/s batched / tokens/s one request at a time. Target >= 5x.

    .venv/bin/python benchmarks/teacher_throughput.py [--only a|b] [--requests 2000] [--serial 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

DELAY_S = 0.1
CONCURRENCY = 64
IDEAL = CONCURRENCY / DELAY_S

BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "42"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
).encode()


def serve(port: int) -> None:
    """The fixed-latency OpenAI-compatible server (runs in its own process)."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(DELAY_S)
        return web.Response(body=BODY, content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_requests(base_url: str, transport: str, n: int) -> float:
    from rft.teachers import TeacherConfig, make_teacher

    opts = TeacherConfig(base_url=base_url, concurrency=CONCURRENCY, transport=transport, max_retries=0)
    t = make_teacher("openai:bench", opts)
    try:
        msgs = [[{"role": "user", "content": f"question {i}"}] for i in range(n)]
        await asyncio.gather(*(t.chat(m, max_tokens=4) for m in msgs[:CONCURRENCY]))  # warm the pool
        t0 = time.perf_counter()
        await asyncio.gather(*(t.chat(m, max_tokens=4) for m in msgs))
        elapsed = time.perf_counter() - t0
    finally:
        await t.aclose()
    assert t.usage.calls == n + CONCURRENCY, t.usage
    return n / elapsed


def bench_engine(n: int) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        print(
            f"(a) engine overhead: {n} requests, concurrency {CONCURRENCY}, server answers after {DELAY_S * 1000:.0f} ms"
        )
        for transport in ("aiohttp", "sdk"):
            rps = asyncio.run(run_requests(f"http://127.0.0.1:{port}/v1", transport, n))
            label = (
                "thin aiohttp client (default)" if transport == "aiohttp" else "openai SDK, aiohttp transport"
            )
            print(
                f"    {label:32s} {rps:7.1f} req/s   ratio {rps / IDEAL:.2f} of ideal {IDEAL:.0f}/s   (target >= 0.80)"
            )
    finally:
        proc.terminate()
        proc.wait(10)


async def _local(serial: int) -> None:
    from rft.teachers import TeacherConfig, make_teacher

    t = make_teacher("local:smollm2-135m", TeacherConfig(max_batch_size=32, batch_wait_ms=20))
    prompts = [
        [
            {
                "role": "user",
                "content": f"Write a long, detailed story about a robot named Unit {i} who learns to paint.",
            }
        ]
        for i in range(32)
    ]
    try:
        await t.chat(prompts[0], temperature=0.0, max_tokens=4)  # warm-up
        t0 = time.perf_counter()
        one = [(await t.chat(p, temperature=0.0, max_tokens=64))[0] for p in prompts[:serial]]
        serial_tps = sum(c.completion_tokens for c in one) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        many = await asyncio.gather(*(t.chat(p, temperature=0.0, max_tokens=64) for p in prompts))
        batched_tps = sum(c[0].completion_tokens for c in many) / (time.perf_counter() - t0)
        sizes = t.generator.batches[-3:]
    finally:
        await t.aclose()
    print("(b) local batching: SmolLM2-135M on CPU, 32 concurrent requests x 64 new tokens")
    print(f"    one at a time ({serial} requests): {serial_tps:6.1f} tokens/s")
    print(f"    batched (batch sizes {sizes}): {batched_tps:6.1f} tokens/s")
    print(f"    ratio {batched_tps / serial_tps:.1f}x   (target >= 5x)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--serial", type=int, default=4, help="requests timed one at a time in (b)")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.only in (None, "a"):
        bench_engine(args.requests)
    if args.only in (None, "b"):
        asyncio.run(_local(args.serial))


if __name__ == "__main__":
    main()
