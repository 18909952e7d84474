"""`local:<path|alias>`: a transformers model in this process, with concurrent requests batched."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from rft.errors import TeacherError
from rft.teachers.base import ChatRequest, Completion
from rft.teachers.batching import BatchGenerator, Row
from rft.teachers.config import TeacherConfig
from rft.teachers.engine import ManagedTeacher
from rft.teachers.local_model import pick_device, pick_dtype, resolve_local_model

__all__ = ["LocalTeacher", "load_model", "resolve_local_model"]

_LOADED: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_GENERATORS: dict[tuple[str, str, str], tuple[BatchGenerator, int]] = {}
_LOAD_LOCK = threading.Lock()


def load_model(path: Path, device: str, dtype: Any) -> tuple[Any, Any]:
    """(model, tokenizer), loaded once per process for a given folder, device and dtype."""
    key = (str(path), device, str(dtype))
    with _LOAD_LOCK:
        if key not in _LOADED:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a per-tensor bar would break rft's own live progress
            try:
                tok = AutoTokenizer.from_pretrained(path)
                model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
            except (OSError, ValueError) as exc:
                raise TeacherError(f"local model {path}: cannot load ({str(exc).splitlines()[0]})") from None
            if tok.chat_template is None:
                raise TeacherError(f"local model {path}: the tokenizer has no chat template")
            _LOADED[key] = (model, tok)
        return _LOADED[key]


def _gen_key(path: Path, device: str, dtype: Any) -> tuple[str, str, str]:
    return (str(path), device, str(dtype))


def _shared_generator(path: Path, device: str, dtype: Any, options: TeacherConfig) -> BatchGenerator:
    """One batch generator per loaded model, shared by every teacher on it (e.g. generator and judge),
    so their requests land in the same batches instead of competing generate calls."""
    key = _gen_key(path, device, dtype)
    with _LOAD_LOCK:
        gen, users = _GENERATORS.get(key, (None, 0))
        if gen is None:
            model, tok = _LOADED[key]
            gen = BatchGenerator(model, tok, device, options.max_batch_size, options.batch_wait_ms)
        else:  # the most generous setting wins
            gen.max_batch_size = max(gen.max_batch_size, options.max_batch_size)
        _GENERATORS[key] = (gen, users + 1)
        return gen


class LocalTeacher(ManagedTeacher):
    provider = "local"
    supports_n = True

    def __init__(self, spec: str, name: str, options: TeacherConfig):
        path = resolve_local_model(name)
        super().__init__(spec, name, options, base_url=None)
        self.path = path
        self.device = pick_device(options.device)
        self.dtype = pick_dtype(options.dtype, self.device)
        model, tok = load_model(path, self.device, self.dtype)
        self.tokenizer = tok
        self.generator = _shared_generator(path, self.device, self.dtype, options)
        self._closed = False
        # the batch generator is the limit here: let every request reach its queue
        self._sem = asyncio.Semaphore(1 << 30)

    def _key_extra(self) -> dict[str, Any]:
        # the cache must tell models, devices and dtypes apart (numerics differ)
        return {"device": self.device, "dtype": str(self.dtype), "path": str(self.path)}

    def encode(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.tokenizer(text, add_special_tokens=False).input_ids

    async def _call(self, request: ChatRequest) -> list[Completion]:
        ids = self.encode(request.message_list)
        base = request.seed if request.seed is not None else secrets.randbits(62)
        temperature = max(request.temperature, 0.0)
        rows = [
            Row(ids, temperature, request.max_tokens, request.stop_list, base + i) for i in range(request.n)
        ]
        t0 = time.perf_counter()
        await self.generator.submit(rows)
        latency = time.perf_counter() - t0
        return [
            Completion(
                text=r.text,
                finish_reason=r.finish_reason,
                prompt_tokens=len(ids) if i == 0 else 0,
                completion_tokens=r.completion_tokens,
                latency_s=latency,
                model=f"local:{self.model}",
                cost_usd=0.0,
            )
            for i, r in enumerate(rows)
        ]

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        key = _gen_key(self.path, self.device, self.dtype)
        with _LOAD_LOCK:
            gen, users = _GENERATORS[key]
            _GENERATORS[key] = (gen, users - 1)
            last = users - 1 == 0
        if last:
            await gen.close()
