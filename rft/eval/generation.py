"""Generation for `rft eval` on local transformers: one base model loaded once, the adapters of
`rft train` put on it with PEFT (never merged) and switched without loading the base again.

- `Models(base_path, device, dtype)` loads the tokenizer and the base once. `use(None)` runs the base
  (`with PeftModel.disable_adapter()` once an adapter is on it), `use(name)` the adapter `name`: the
  first adapter wraps the base in a `PeftModel` (`PeftModel.from_pretrained(base, path,
  adapter_name=...)`), the next ones are `load_adapter(path, adapter_name=...)` on the same model, and
  `set_adapter` picks one. `base_loads` counts `from_pretrained` calls of the base (one per process).
- `generate(prompts, ...)` decodes the prompts, shortest first, step by step with the KV cache
  (`_decode`), with continuous batching: a row that ends (end of turn, or its max_new_tokens) leaves
  the batch and the cache at once, and once a quarter of the batch is free the next prompts are read
  and join the rows still going, so the batch stays full to the end (`model.generate` computes
  finished rows until the longest ends, and a fixed batch shrinks as its rows end). The prompts are
  read by `rft.eval.prefill` (their common prefix and identical prompts computed once, the rest in
  groups of similar length) into a cache with room reserved for the new tokens (`rft.eval.kvcache`);
  `prompt_tokens_computed` counts what those reads ran through the model. Greedy at temperature 0,
  else each row samples from its own seeded generator as the local teacher does
  (`rft.teachers.batching._RowSampler`), so its output is the same whatever it was batched with, and
  the same as `BatchGenerator.generate`'s (tests/test_eval_generation.py).
- Per sample: the generated tokens, its latency (from when its prompt was read to its last token)
  and `elapsed_s` (from the start of the generation call to its last token); tokens/s of a model is
  its tokens over its generation time (`rft.eval.report.timing`).
- Peak memory per model (`PeakMemory`): on CUDA `torch.cuda.max_memory_allocated` after
  `reset_peak_memory_stats`; on CPU the process's resident-set high-water mark (VmHWM) reset before the
  model runs (`/proc/self/clear_refs` 5, Linux >= 4.0), so it is the peak while that model generated.
  The RSS is process-wide: it includes the base's weights, every adapter of the eval (`rft eval` puts
  them all on the base before it generates), the tokenizer, Python and the libraries. Where the
  reset is refused, `ru_maxrss` is the process's peak since it started (kind `peak_rss_process`),
  said as such.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import ConfigError
from rft.memory import PeakMemory


@dataclass(frozen=True)
class Generated:
    """One sample: its text, generated tokens (the end-of-turn token counted), how it ended, its
    latency (from when its prompt was read to its last token; a remote request's own time), and the
    time from the start of the generation it ran in to its end (`elapsed_s`; None: the latency)."""

    text: str
    tokens: int
    finish_reason: str
    latency_s: float
    elapsed_s: float | None = None


class Handover:
    """Finished (index, Generated) pairs handed to `on_done` `every` at a time; `flush` hands on the
    rest (both backends: code is graded a group at a time)."""

    def __init__(self, on_done: Callable[[list[tuple[int, Generated]]], None], every: int) -> None:
        self.on_done, self.every = on_done, every
        self._held: list[tuple[int, Generated]] = []

    def add(self, pair: tuple[int, Generated]) -> None:
        self._held.append(pair)
        if len(self._held) >= self.every:
            self.flush()

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            self.on_done(held)


class Models:
    """The base model and the adapters on it (see the module doc)."""

    base_loads = 0  # from_pretrained calls of a base model in this process (tests: switching reloads none)

    def __init__(self, base_path: Path, device: str, dtype: Any) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(base_path, local_files_only=True)
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"--model {base_path}: the tokenizer has no chat template (rft eval asks a chat model)"
            )
        self.base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype, local_files_only=True)
        type(self).base_loads += 1
        self.base.to(device).eval()
        self.model: Any = self.base  # becomes the PeftModel wrapping the same base once an adapter is on
        self.adapters: dict[str, Path] = {}
        self.memory = PeakMemory(device)
        self.prompt_tokens_computed = 0  # prompt positions run through the model (rft.eval.prefill)

    def load_adapter(self, name: str, path: Path) -> None:
        """Put the adapter at `path` on the base under `name` (the base is not loaded again)."""
        from peft import PeftModel

        if name in self.adapters:
            return
        try:
            if not self.adapters:
                self.model = PeftModel.from_pretrained(
                    self.base, str(path), adapter_name=name, is_trainable=False
                )
                self.model.eval()
            else:
                self.model.load_adapter(str(path), adapter_name=name, is_trainable=False)
        except (RuntimeError, ValueError, KeyError, TypeError, OSError) as exc:
            # weights of another shape (another base, a config that does not match them), a bad config
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            for line in str(exc).splitlines():
                if "size mismatch" in line:
                    first = line.strip()
                    break
            raise ConfigError(
                f"--adapter {path}: PEFT cannot put it on the base model ({first[:300]})"
            ) from None
        self.adapters[name] = path

    @contextlib.contextmanager
    def use(self, adapter: str | None) -> Iterator[None]:
        """Generate with the base (None) or with the adapter `name` inside the block."""
        if adapter is None:
            if self.adapters:
                with self.model.disable_adapter():
                    yield
            else:
                yield
            return
        if adapter not in self.adapters:
            raise KeyError(f"adapter {adapter!r} is not loaded")
        self.model.set_adapter(adapter)
        yield

    @property
    def eos_ids(self) -> set[int]:
        eos = self.base.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids

    def encode(self, messages: list[dict[str, str]]) -> list[int]:
        """The chat template's token ids of a prompt, with the assistant turn opened."""
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)

    def generate(
        self,
        prompts: list[list[int]],
        seeds: list[int | None],
        *,
        temperature: float,
        max_new_tokens: int,
        batch_size: int,
        on_done: Callable[[list[tuple[int, Generated]]], None] | None = None,
        flush_every: int = 1,
    ) -> list[Generated]:
        """The samples of `prompts` (token ids), at most `batch_size` decoding at once, shortest prompt
        first, with the model chosen by `use`; each row keeps its own seed. `on_done` gets finished
        (index, Generated) pairs as they come, `flush_every` at a time (the last ones at the end)."""
        from rft.teachers.batching import Row

        rows = [Row(p, temperature, max_new_tokens, None, s) for p, s in zip(prompts, seeds, strict=True)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i].prompt_ids))
        out: list[Generated | None] = [None] * len(rows)
        handover = Handover(on_done, flush_every) if on_done is not None else None

        def finished(i: int, g: Generated) -> None:
            out[i] = g
            if handover is not None:
                handover.add((i, g))

        self._decode(rows, order, batch_size, finished)
        if handover is not None:
            handover.flush()
        done = [g for g in out if g is not None]
        assert len(done) == len(rows)  # every row ends: at end of turn or at its max new tokens
        return done

    def _decode(
        self, rows: list[Any], order: list[int], batch_size: int, finished: Callable[[int, Generated], None]
    ) -> None:
        """Continuous batching: rows are read into the batch in `order` (`rft.eval.prefill`), decoded
        step by step with the KV cache, and a row leaves the batch (and the cache) as soon as it ends;
        once a quarter of the batch is free (or all of it), the next prompts are read and joined to
        the rows still going (`prefill.join`). Greedy at temperature 0; else each row draws from its
        own seeded generator as the local teacher does (`rft.teachers.batching._RowSampler`:
        Gumbel-max on log_softmax(logits / T)), one draw per step, so a row's output does not depend
        on what it was batched with. `finished(i, Generated)` as each row ends."""
        import torch

        from rft.eval.prefill import Prefilled, join, prefill, shareable
        from rft.teachers.batching import _RowSampler

        pad = self.tokenizer.pad_token_id
        pad = self.tokenizer.eos_token_id if pad is None else pad
        # transformers 5.24 renamed forward's past_key_values to cache (the old name warns)
        named = "cache" if "cache" in inspect.signature(self.base.forward).parameters else "past_key_values"
        joinable = shareable(self.base.config)
        refill = max(1, batch_size // 4)
        sampler = _RowSampler(rows)
        eos = self.eos_ids
        pending = list(reversed(order))  # popped from the end: shortest prompt first
        memo: dict = {}  # prefixes read by this model in this call
        t_start = time.perf_counter()
        admitted = [0.0] * len(rows)
        made: list[list[int]] = [[] for _ in rows]
        alive: list[int] = []  # rows in the batch, in the order of the batch's rows
        batch: Prefilled | None = None  # their cache, mask, positions and next-token logits
        with torch.inference_mode():
            while alive or pending:
                free = batch_size - len(alive)
                if pending and (not alive or (joinable and free >= refill)):
                    take = [pending.pop() for _ in range(min(free, len(pending)))]
                    now = time.perf_counter()
                    for i in take:
                        admitted[i] = now
                    room = max(rows[i].max_tokens - len(made[i]) for i in alive + take)
                    read = prefill(
                        self.model, self.base.config, [rows[i].prompt_ids for i in take], pad,
                        self.device, named, reserve=room, memo=memo if joinable else None,
                    )  # fmt: skip
                    self.prompt_tokens_computed += read.computed_tokens
                    batch = Prefilled(*join(batch, read, room, self.base.config), 0) if alive else read
                    alive = alive + take
                assert batch is not None
                scores = batch.logits.float()
                for j, i in enumerate(alive):
                    if sampler.gens[i] is not None:
                        scores[j] = sampler.draw(i, scores[j])
                chosen = scores.argmax(dim=-1).tolist()
                keep = []
                for j, (i, token) in enumerate(zip(alive, chosen, strict=True)):
                    made[i].append(token)
                    if token in eos:
                        rows[i].finish_reason = "stop"
                    elif len(made[i]) >= rows[i].max_tokens:
                        rows[i].finish_reason = "length"
                    else:
                        keep.append(j)
                        continue
                    finished(i, self._finish(rows[i], made[i], eos, admitted[i], t_start))
                if len(keep) < len(alive):
                    alive = [alive[j] for j in keep]
                    if not alive:
                        continue
                    index = torch.tensor(keep, device=batch.mask.device)
                    batch.cache.batch_select_indices(index)
                    batch.mask = batch.mask[index]
                    batch.position = batch.position[index]
                    chosen = [chosen[j] for j in keep]
                step_ids = torch.tensor(chosen, dtype=torch.long, device=batch.mask.device)[:, None]
                batch.mask = torch.cat([batch.mask, batch.mask.new_ones((len(alive), 1))], dim=1)
                batch.position = batch.position + 1
                batch.logits = self.model(
                    input_ids=step_ids,
                    attention_mask=batch.mask,
                    position_ids=batch.position,
                    use_cache=True,
                    logits_to_keep=1,
                    **{named: batch.cache},
                ).logits[:, -1, :]

    def _finish(self, row: Any, toks: list[int], eos: set[int], admitted: float, t_start: float) -> Generated:
        """A row that ended: its text (the end-of-turn token not decoded), tokens and times."""
        ended = bool(toks) and toks[-1] in eos
        row.text = self.tokenizer.decode(toks[:-1] if ended else toks, skip_special_tokens=True)
        row.completion_tokens = len(toks)
        now = time.perf_counter()
        return Generated(row.text, len(toks), row.finish_reason, now - admitted, now - t_start)
