"""Generation for `rft eval` on local transformers: one base model loaded once, the adapters of
`rft train` put on it with PEFT (never merged) and switched without loading the base again.

- `Models(base_path, device, dtype)` loads the tokenizer and the base once. `use(None)` runs the base
  (`with PeftModel.disable_adapter()` once an adapter is on it), `use(name)` the adapter `name`: the
  first adapter wraps the base in a `PeftModel` (`PeftModel.from_pretrained(base, path,
  adapter_name=...)`), the next ones are `load_adapter(path, adapter_name=...)` on the same model, and
  `set_adapter` picks one. `base_loads` counts `from_pretrained` calls of the base (one per process).
- `generate(prompts, ...)` runs the prompts through `rft.teachers.batching.BatchGenerator.generate`,
  the left-padded batching of the local teacher: greedy at temperature 0, else each row samples from
  its own seeded generator (the same output whatever it was batched with).
- Per sample: the generated tokens and its latency, which is the wall time of the batch it ran in
  (every row of a batch waits for the batch); tokens/s of a model is its tokens over its generation time.
- Peak memory per model (`PeakMemory`): on CUDA `torch.cuda.max_memory_allocated` after
  `reset_peak_memory_stats`; on CPU the process's resident-set high-water mark (VmHWM) reset before the
  model runs (`/proc/self/clear_refs` 5, Linux >= 4.0), so it is the peak while that model generated.
  The RSS is process-wide: it includes the base's weights, every adapter of the eval (`rft eval` puts
  them all on the base before it generates), the tokenizer, Python and the libraries. Where the reset is refused, `ru_maxrss` is the process's peak since it
  started (kind `peak_rss_process`), said as such.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import ConfigError
from rft.memory import PeakMemory


@dataclass(frozen=True)
class Generated:
    """One sample: its text, generated tokens (the end-of-turn token counted), how it ended, and the
    wall time of the batch it was generated in."""

    text: str
    tokens: int
    finish_reason: str
    latency_s: float


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
        self._generator: Any = None

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
                self._generator = None
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
    def generator(self) -> Any:
        from rft.teachers.batching import BatchGenerator

        if self._generator is None:
            self._generator = BatchGenerator(self.model, self.tokenizer, self.device, 1, 0.0)
        return self._generator

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
    ) -> list[Generated]:
        """The samples of `prompts` (token ids), `batch_size` at a time, in order; with the model
        chosen by `use`. Rows are batched by length (less padding); each keeps its own seed."""
        from rft.teachers.batching import Row

        rows = [Row(p, temperature, max_new_tokens, None, s) for p, s in zip(prompts, seeds, strict=True)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i].prompt_ids))
        latency = [0.0] * len(rows)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            t0 = time.perf_counter()
            self.generator.generate([rows[i] for i in chunk])
            took = time.perf_counter() - t0
            for i in chunk:
                latency[i] = took
        return [
            Generated(r.text, r.completion_tokens, r.finish_reason, latency[i]) for i, r in enumerate(rows)
        ]
