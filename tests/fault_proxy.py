"""A fault-injection HTTP proxy (aiohttp, 127.0.0.1) between a client and a real server.

At a configurable rate it answers a request with a fault instead of forwarding it; the kind of fault
cycles through `kinds` so every kind shows up: 429 with Retry-After / retry-after-ms, 500, a stall
longer than the client's timeout, a connection cut in the middle of the response, an invalid JSON body.
Every arrival is logged (time, request key, what was done) so tests can check retries and delays."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

KINDS = ("429", "429ms", "500", "stall", "reset", "badjson")


@dataclass
class Arrival:
    t: float  # time.monotonic() when the request arrived
    key: str  # sha256 of the request's messages
    kind: str  # "ok" (forwarded) or the fault injected
    retry_after: float | None = None
    t_sent: float | None = None  # when the fault answer went out (429s)


@dataclass
class FaultProxy:
    target: str  # e.g. http://127.0.0.1:8000 (no /v1)
    rate: float = 0.3
    kinds: tuple[str, ...] = KINDS
    retry_after_s: int = 1  # Retry-After header (whole seconds, as HTTP defines it)
    retry_after_ms: int = 400  # retry-after-ms header
    stall_s: float = 5.0
    seed: int = 0
    arrivals: list[Arrival] = field(default_factory=list)
    responses: dict[str, list[str]] = field(default_factory=dict)  # key -> texts the server returned
    port: int = 0  # 0 = any free port; give one to come back on the same address after a stop

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._next_kind = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def count(self, kind: str) -> int:
        return sum(1 for a in self.arrivals if a.kind == kind)

    async def __aenter__(self) -> FaultProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def key_of(body: bytes) -> str:
        try:
            messages = json.loads(body).get("messages")
        except (ValueError, AttributeError):
            messages = None
        return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]

    def _pick(self) -> str:
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return "ok"
        kind = self.kinds[self._next_kind % len(self.kinds)]
        self._next_kind += 1
        return kind

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        key = self.key_of(body)
        kind = self._pick() if request.method == "POST" else "ok"
        arrival = Arrival(time.monotonic(), key, kind)
        self.arrivals.append(arrival)
        if kind == "429":
            arrival.retry_after = float(self.retry_after_s)
            arrival.t_sent = time.monotonic()
            return web.json_response(
                {"error": {"message": "rate limited (injected)", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": str(self.retry_after_s)},
            )
        if kind == "429ms":
            arrival.retry_after = self.retry_after_ms / 1000
            arrival.t_sent = time.monotonic()
            return web.json_response(
                {"error": {"message": "rate limited (injected)"}},
                status=429,
                headers={"retry-after-ms": str(self.retry_after_ms)},
            )
        if kind == "500":
            return web.json_response({"error": {"message": "internal error (injected)"}}, status=500)
        if kind == "stall":
            await asyncio.sleep(self.stall_s)
            return web.json_response({"error": {"message": "too late (injected)"}}, status=504)
        if kind == "reset":
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            resp.content_length = 4096
            await resp.prepare(request)
            await resp.write(b'{"id": "cut-')
            assert request.transport is not None
            request.transport.abort()  # the connection drops in the middle of the body
            return resp
        if kind == "badjson":
            return web.Response(
                status=200,
                body=b'{"id": "x", "choices": [{"index": 0, "mess',
                content_type="application/json",
            )
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        async with self._session.request(
            request.method, self.target + request.path_qs, data=body, headers=headers
        ) as up:
            payload = await up.read()
            if up.status == 200:
                try:
                    data = json.loads(payload)
                    self.responses.setdefault(key, []).append(data["choices"][0]["message"]["content"])
                except (ValueError, KeyError, IndexError, TypeError):
                    pass
            return web.Response(status=up.status, body=payload, content_type="application/json")
