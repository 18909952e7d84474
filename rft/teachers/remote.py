"""`RemoteTeacher`: the base of the providers behind an HTTP API (OpenAI-compatible, Anthropic):
endpoints, API key, and clients kept one per event loop and endpoint.

Several base URLs (`--base-url` given more than once: replicas of one model) form an `EndpointPool`:
each request goes to the least-loaded endpoint in service; one that fails for a transient reason is
taken out for a while and the request is sent to the next at once. Only when every endpoint has
failed it does the failure reach the engine's retries (backoff, Retry-After, the retry budget)."""

from __future__ import annotations

import asyncio
import os
from abc import abstractmethod
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from rft.errors import TeacherError
from rft.redaction import redact_text
from rft.teachers.base import ChatRequest, Completion
from rft.teachers.config import TeacherConfig
from rft.teachers.engine import ManagedTeacher
from rft.teachers.errors import TransientError
from rft.teachers.http import check_endpoint, read_key
from rft.teachers.pool import Endpoint, EndpointPool


class PerLoop:
    """One client per event loop and endpoint (a client's connections belong to the loop that opened
    them), made on first use, made again once closed, and closed together."""

    def __init__(self, make: Callable[[str], Any]) -> None:
        self._make = make
        self._clients: dict[tuple[int, str], Any] = {}

    def get(self, url: str) -> Any:
        key = (id(asyncio.get_running_loop()), url)
        client = self._clients.get(key)
        if client is None or getattr(client, "closed", False):
            client = self._clients[key] = self._make(url)
        return client

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for c in clients.values():
            try:
                await c.close()
            except RuntimeError:  # its event loop is gone
                pass


def endpoint_key(urls: list[str]) -> str:
    """What names a set of endpoints in the response cache: the URL itself for one (as before pools),
    the sorted URLs for several (replicas of one model answer alike, whatever the order given)."""
    return urls[0] if len(urls) == 1 else ",".join(sorted(urls))


class RemoteTeacher(ManagedTeacher):
    """A provider behind an HTTP API: its endpoints (flag, env var or the vendor's URL), its API key
    (none needed by a self-hosted server) and its clients (`_new_client`)."""

    url_env = ""  # env var that moves the default endpoint, e.g. OPENAI_BASE_URL
    vendor_url = ""
    vendor_host = ""  # the vendor's own endpoints end in this host name; they need a key
    key_env_default = ""
    no_key_hint = ""  # added to the no-key error when no --api-key-env was given

    def __init__(self, spec: str, model: str, options: TeacherConfig):
        given = options.base_urls or [os.environ.get(self.url_env) or self.vendor_url]
        urls = [u.rstrip("/") for u in given]
        for url in urls:
            check_endpoint(spec, url, options.api_key_env)
        super().__init__(spec, model, options, base_url=endpoint_key(urls))
        self.base_urls = urls
        self.pool = EndpointPool(urls)
        self.official = any((urlparse(u).hostname or "").endswith(self.vendor_host) for u in urls)
        self.key_env = options.api_key_env or self.key_env_default
        key = read_key(self.key_env)
        if not key:
            if options.api_key_env or self.official:
                raise TeacherError(
                    f"{spec}: no API key: set the env var {self.key_env}"
                    + ("" if options.api_key_env else self.no_key_hint)
                )
            key = "EMPTY"  # self-hosted compatible servers need none
        self._api_key = key
        self._clients = PerLoop(self._new_client)

    @abstractmethod
    def _new_client(self, url: str) -> Any:
        """A client (SDK client or aiohttp session) of endpoint `url` for the running event loop."""

    @abstractmethod
    async def _call_at(self, request: ChatRequest, url: str) -> list[Completion]:
        """One request to endpoint `url`, no retries (the `_call` of a single-endpoint provider)."""

    async def _call(self, request: ChatRequest) -> list[Completion]:
        """`request` at the least-loaded endpoint in service; on a transient failure that endpoint is
        taken out and the next one in service is asked at once (a request of its own: counted and
        rate limited). The last failure is raised when no endpoint is left to ask."""
        tried: set[str] = set()
        last: TransientError | None = None
        while (endpoint := self.pool.pick(exclude=tried)) is not None:
            if tried:
                self.http_calls += 1
                await self._limiter.acquire(request.estimate_tokens())
            try:
                return await self._at(endpoint, request)
            except TransientError as exc:
                tried.add(endpoint.url)
                last = exc
        assert last is not None  # with nothing tried yet, pick() always gives an endpoint
        raise last

    async def _at(self, endpoint: Endpoint, request: ChatRequest) -> list[Completion]:
        """`request` at `endpoint`, counted in flight there; a transient failure takes it out (and is
        raised), a success brings it back."""
        with self.pool.lease(endpoint):
            try:
                comps = await self._call_at(request, endpoint.url)
            except TransientError as exc:
                self._taken_out(endpoint, exc)
                raise
        self.pool.succeeded(endpoint)
        return comps

    def _taken_out(self, endpoint: Endpoint, exc: TransientError) -> None:
        was_in = self.pool.is_in_service(endpoint)
        out_s = self.pool.failed(endpoint, exc.retry_after)
        if was_in and len(self.pool) > 1:  # said once per outage of an endpoint, not per request
            from rft.console import err

            err.print(
                f"{self.spec}: endpoint {redact_text(endpoint.url)} taken out for {out_s:.0f} s: {exc} "
                f"({self.pool.in_service()} of {len(self.pool)} in service)",
                markup=False,
                soft_wrap=True,
            )

    async def probe_endpoints(self, messages: list[dict[str, str]]) -> int:
        """Before a stage starts (several endpoints only): one tiny request to each, no retries; an
        endpoint that fails is taken out (and said), so work starts on the live ones. Returns how many
        answered (0 for a single endpoint: nothing probed)."""
        if len(self.pool) < 2:
            return 0
        request = ChatRequest(messages, 1, 0.0, 2, None, 0)

        served: dict[str, str] = {}

        async def probe(endpoint: Endpoint) -> None:
            self.http_calls += 1
            try:
                comps = await self._at(endpoint, request)
            except TransientError:
                return  # taken out
            if comps and comps[0].model:
                served[endpoint.url] = comps[0].model

        await asyncio.gather(*(probe(e) for e in self.pool.endpoints))
        if len(set(served.values())) > 1:  # replicas answer alike; other models would mix in the data
            listed = ", ".join(f"{redact_text(u)} serves {m!r}" for u, m in served.items())
            raise TeacherError(
                f"{self.spec}: the endpoints serve different models ({listed}); give replicas of one model"
            )
        return self.pool.in_service()

    async def _close(self) -> None:
        await self._clients.close()
        if len(self.pool) > 1 and any(e.requests for e in self.pool.endpoints):
            from rft.console import err

            parts = [
                f"{e['base_url']} {e['requests']}" + (f" ({e['failures']} failed)" if e["failures"] else "")
                for e in self.pool.report()
            ]
            err.print(f"{self.spec}: requests per endpoint: {', '.join(parts)}", markup=False, soft_wrap=True)
