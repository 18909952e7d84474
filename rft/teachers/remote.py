"""`RemoteTeacher`: the base of the providers behind an HTTP API (OpenAI-compatible, Anthropic):
endpoint, API key, and clients kept one per event loop."""

from __future__ import annotations

import asyncio
import os
from abc import abstractmethod
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from rft.errors import TeacherError
from rft.teachers.config import TeacherConfig
from rft.teachers.engine import ManagedTeacher
from rft.teachers.http import check_endpoint, read_key


class PerLoop:
    """One client per event loop (a client's connections belong to the loop that opened them),
    made on first use in a loop, made again once closed, and closed together."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._clients: dict[int, Any] = {}

    def get(self) -> Any:
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None or getattr(client, "closed", False):
            client = self._clients[loop_id] = self._make()
        return client

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for c in clients.values():
            try:
                await c.close()
            except RuntimeError:  # its event loop is gone
                pass


class RemoteTeacher(ManagedTeacher):
    """A provider behind an HTTP API: its endpoint (flag, env var or the vendor's URL), its API key
    (none needed by a self-hosted server) and its clients, one per event loop (`_new_client`)."""

    url_env = ""  # env var that moves the default endpoint, e.g. OPENAI_BASE_URL
    vendor_url = ""
    vendor_host = ""  # the vendor's own endpoints end in this host name; they need a key
    key_env_default = ""
    no_key_hint = ""  # added to the no-key error when no --api-key-env was given

    def __init__(self, spec: str, model: str, options: TeacherConfig):
        base_url = (options.base_url or os.environ.get(self.url_env) or self.vendor_url).rstrip("/")
        check_endpoint(spec, base_url, options.api_key_env)
        super().__init__(spec, model, options, base_url=base_url)
        self.official = (urlparse(base_url).hostname or "").endswith(self.vendor_host)
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
        self._clients = PerLoop(lambda: self._new_client())

    @abstractmethod
    def _new_client(self) -> Any:
        """A client (SDK client or aiohttp session) for the running event loop."""

    async def _close(self) -> None:
        await self._clients.close()
