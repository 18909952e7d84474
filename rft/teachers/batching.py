"""Batched generation for in-process models: concurrent requests are gathered (max batch size, short
wait window) into one left-padded `generate` call. Each row keeps its own temperature, max_tokens,
stop strings and random generator, so a row's output does not depend on what it was batched with."""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import GenerationConfig, LogitsProcessor, StoppingCriteria


@dataclass
class Row:
    prompt_ids: list[int]
    temperature: float
    max_tokens: int
    stop: list[str] | None
    seed: int | None
    future: asyncio.Future | None = None
    # filled by the generator
    text: str = ""
    finish_reason: str = "stop"
    completion_tokens: int = 0
    stop_hit: bool = field(default=False, repr=False)


def left_padded(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids, attention mask) of the prompts as one batch, padded on the left to the longest."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p) :] = 1
    return ids, mask


class _RowSampler(LogitsProcessor):
    """Gumbel-max sampling per row: argmax(log_softmax(logits / T) + Gumbel noise) is a draw from
    softmax(logits / T). Noise comes from each row's own seeded generator; T == 0 rows stay greedy."""

    def __init__(self, rows: list[Row]):
        self.temps = [r.temperature for r in rows]
        self.gens: list[torch.Generator | None] = []
        for r in rows:
            if r.temperature > 0:
                g = torch.Generator(device="cpu")
                g.manual_seed(r.seed if r.seed is not None else secrets.randbits(63))
                self.gens.append(g)
            else:
                self.gens.append(None)

    def draw(self, i: int, scores: torch.Tensor) -> torch.Tensor:
        """Row `i`'s scores (one step, a sampled row) with its Gumbel noise added: their argmax is the draw."""
        logp = torch.log_softmax(scores.float() / self.temps[i], dim=-1)
        u = torch.rand(logp.shape[-1], generator=self.gens[i]).clamp_(1e-20, 1.0 - 1e-7).to(logp.device)
        return logp - torch.log(-torch.log(u))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for i, g in enumerate(self.gens):
            if g is not None:
                scores[i] = self.draw(i, scores[i]).to(scores.dtype)
        return scores


class _RowStop(StoppingCriteria):
    """Per-row end: the row's own max_tokens, or one of its stop strings in the recent text."""

    def __init__(self, rows: list[Row], prompt_len: int, tokenizer: Any):
        self.rows = rows
        self.prompt_len = prompt_len
        self.tok = tokenizer
        self.tail = [max((len(s) for s in r.stop or []), default=0) + 8 for r in rows]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kw: Any) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        produced = input_ids.shape[1] - self.prompt_len
        for i, r in enumerate(self.rows):
            if produced >= r.max_tokens:
                done[i] = True
            elif r.stop:
                text = self.tok.decode(input_ids[i, -min(produced, self.tail[i]) :], skip_special_tokens=True)
                if any(s in text for s in r.stop):
                    done[i] = True
        return done


class BatchGenerator:
    """Owns one model + tokenizer; `submit` rows from any coroutine, a worker batches them."""

    def __init__(self, model: Any, tokenizer: Any, device: str, max_batch_size: int, wait_ms: float):
        self.model = model
        # the worker thread decodes with its own copy: a fast tokenizer shared between threads can fail
        # with "Already borrowed" while the event loop thread encodes prompts
        self.tok = copy.deepcopy(tokenizer)
        self.device = device
        self.max_batch_size = max_batch_size
        self.wait_s = wait_ms / 1000.0
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        self.eos_ids = sorted(eos_ids)
        self.batches: list[int] = []  # sizes of the batches run (for tests and benchmarks)
        self._queue: asyncio.Queue[Row] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task | None = None

    async def submit(self, rows: list[Row]) -> list[Row]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run())
        for r in rows:
            r.future = loop.create_future()
            self._queue.put_nowait(r)
        await asyncio.gather(*(r.future for r in rows))
        return rows

    async def close(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, RuntimeError):
                pass
        self._worker = None

    async def _run(self) -> None:
        assert self._queue is not None
        q = self._queue
        while True:
            batch = [await q.get()]
            deadline = time.monotonic() + self.wait_s
            while len(batch) < self.max_batch_size:
                if not q.empty():
                    batch.append(q.get_nowait())
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(q.get(), left))
                except TimeoutError:
                    break
            batch = [r for r in batch if r.future is not None and not r.future.done()]
            if not batch:
                continue
            try:
                await asyncio.to_thread(self.generate, batch)
            except Exception as exc:  # a failed batch fails its requests, not the worker
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(exc)
                continue
            for r in batch:
                if not r.future.done():
                    r.future.set_result(r)

    @torch.inference_mode()
    def generate(self, rows: list[Row]) -> None:
        """One left-padded batched generate over `rows` (blocking; runs in a worker thread)."""
        self.batches.append(len(rows))
        ids, mask = left_padded([r.prompt_ids for r in rows], self.pad_id)
        width = ids.shape[1]
        cfg = GenerationConfig(
            max_new_tokens=max(r.max_tokens for r in rows),
            do_sample=False,
            pad_token_id=self.pad_id,
            eos_token_id=self.eos_ids,
        )
        out = self.model.generate(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            generation_config=cfg,
            logits_processor=[_RowSampler(rows)],
            stopping_criteria=[_RowStop(rows, width, self.tok)],
        )
        new = out[:, width:].tolist()
        eos = set(self.eos_ids)
        for r, toks in zip(rows, new, strict=True):
            toks = toks[: r.max_tokens]
            cut = next((j for j, t in enumerate(toks) if t in eos), None)
            hit_eos = cut is not None
            if hit_eos:
                toks = toks[:cut]
            text = self.tok.decode(toks, skip_special_tokens=True)
            hit_stop = False
            if r.stop:
                pos = [text.find(s) for s in r.stop if s in text]
                if pos:
                    text = text[: min(pos)]
                    hit_stop = True
            r.text = text
            r.completion_tokens = len(toks) + (1 if hit_eos else 0)
            r.finish_reason = "stop" if (hit_eos or hit_stop) else "length"
