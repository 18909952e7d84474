"""A remote model for `rft eval`: `--model openai:MODEL --base-url URL` (vLLM, SGLang, Ollama, llama.cpp,
`transformers serve`, OpenAI itself) or `anthropic:MODEL`, called through the teacher layer
(`rft.teachers.make_teacher`: its concurrency limit, rate limits, retries with backoff, key handling).

- Each sample is one chat request (`n=1`) of the same messages the local backend puts through the chat
  template; greedy samples at temperature 0 with no seed, sampled ones at --temperature with the
  sample's own seed (`rft.eval.run.sample_seed`), --max-new-tokens as `max_tokens`.
- Tokens are the API's usage (`completion_tokens`); latency is the request's own wall time (queueing
  at the server included); memory is not measured (it is the server's).
- `preflight` sends one tiny request before anything is written: a dead server is one line, exit 2.
- A request that fails after the retries (or that the server refuses) is an infrastructure failure,
  never a wrong answer: the samples finished before it are handed on (kept), then `RemoteFailure`;
  the failed and the unstarted samples stay not done, so the same command resumes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import RftError, TeacherError
from rft.eval.config import EvalConfig
from rft.eval.generation import Generated, Handover
from rft.redaction import redact_text

MEMORY_KIND = "not measured (remote model)"


@dataclass(frozen=True)
class RemoteModelInfo:
    """The `BaseModelInfo` of a remote model: named by its spec (no local files, no hash of weights)."""

    spec: str
    base_url: str | list[str] | None

    @property
    def hash(self) -> str:
        return self.spec  # a sample of the remote model is keyed by its spec

    @property
    def path(self) -> str:
        return self.spec

    def manifest(self, served_model: str | None = None) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "remote": True,
            "base_url": redact_base_url(self.base_url),
            "served_model": served_model,
            "revision": None,
            "sha256": None,
        }


def redact_base_url(url: str | list[str] | None) -> str | list[str] | None:
    """The endpoint(s) as the manifest records them: one URL a string, several a list; secrets out."""
    if isinstance(url, list):
        return [redact_text(u) for u in url]
    return redact_text(url) if url else None


class RemoteFailure(TeacherError):
    """A request failed after the retries (or was refused): the samples finished before it were
    handed to `on_done`; the rest stay not done."""


class RemoteModel:
    """The remote model of an eval: one teacher and one event loop for the whole run."""

    def __init__(self, cfg: EvalConfig) -> None:
        from rft.teachers.factory import make_teacher

        cache = Path(cfg.response_cache).expanduser() if cfg.response_cache else None
        options = cfg.remote.model_copy(update={"spec": cfg.model, "cache_path": cache})
        self.spec = cfg.model
        self.teacher: Any = make_teacher(cfg.model, options)  # a bad spec, key or URL fails here
        self.base_urls: list[str] = getattr(self.teacher, "base_urls", [])
        self.served_model: str | None = None
        self._loop = asyncio.new_event_loop()

    def where(self) -> str:
        return f"--model {self.spec}" + (
            f" at {redact_text(', '.join(self.base_urls))}" if self.base_urls else ""
        )

    def preflight(self) -> None:
        """One tiny request: an unreachable or misconfigured server is one TeacherError now."""
        from rft.teachers.ping import preflight

        try:
            self._loop.run_until_complete(preflight(self.teacher))
        except RftError as exc:
            self.close()
            raise TeacherError(f"{self.where()}: cannot be used: {exc} (nothing was written)") from None

    def generate(
        self,
        messages: list[list[dict[str, str]]],
        seeds: list[int | None],
        *,
        temperature: float,
        max_new_tokens: int,
        on_done: Callable[[list[tuple[int, Generated]]], None],
        flush_every: int = 1,
    ) -> None:
        """Every sample (`messages[i]` with `seeds[i]`) as its own request, all in flight at once up to
        --concurrency; `on_done` gets finished (index, Generated) pairs as they come, `flush_every` at a
        time. A failed request stops the rest (cancelled, not recorded): RemoteFailure."""
        self._loop.run_until_complete(
            self._generate(messages, seeds, temperature, max_new_tokens, on_done, flush_every)
        )

    async def _one(
        self, i: int, messages: list[dict[str, str]], seed: int | None, temperature: float, max_new: int
    ) -> tuple[int, Generated] | None:
        """Sample `i`; None when a failure elsewhere stopped the run before this one was sent."""
        async with self._slots:
            if self._stopped:
                return None
            [c] = await self.teacher.chat(
                messages, n=1, temperature=temperature, max_tokens=max_new, seed=seed
            )
        if c.model and self.served_model is None:
            self.served_model = c.model
        return i, Generated(
            c.text, int(c.completion_tokens), c.finish_reason or "unknown", float(c.latency_s)
        )

    async def _generate(
        self,
        messages: list[list[dict[str, str]]],
        seeds: list[int | None],
        temperature: float,
        max_new: int,
        on_done: Callable[[list[tuple[int, Generated]]], None],
        flush_every: int,
    ) -> None:
        # the same limit as the teacher's: a sample waits here, not inside the teacher, so that after a
        # failure the samples not sent yet are not sent, and the ones in flight finish and are kept
        self._slots = asyncio.Semaphore(self.teacher.options.concurrency)
        self._stopped = False
        tasks = [
            asyncio.ensure_future(self._one(i, m, s, temperature, max_new))
            for i, (m, s) in enumerate(zip(messages, seeds, strict=True))
        ]
        handover = Handover(on_done, flush_every)
        failure: BaseException | None = None
        try:
            for fut in asyncio.as_completed(tasks):
                try:
                    pair = await fut
                except RftError as exc:
                    failure = failure or exc
                    self._stopped = True
                    continue
                if pair is not None:
                    handover.add(pair)
                if failure is not None:  # after a failure, each finished sample is kept at once
                    handover.flush()
        finally:
            pending = [t for t in tasks if not t.done()]
            for t in pending:  # Ctrl-C or an error of our own: what is not finished is dropped
                t.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        handover.flush()
        if failure is not None:
            raise RemoteFailure(
                f"{self.where()}: a request failed: {failure}; the samples finished so far are kept and the "
                "failed ones are not scored; re-run the same command to resume"
            )

    def close(self) -> None:
        """Close the teacher's clients and the loop (again: nothing)."""
        if self._loop.is_closed():
            return
        try:
            # after Ctrl-C the run's tasks are still pending in the loop: cancelled, never resumed
            pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self.teacher.aclose())
        finally:
            self._loop.close()
