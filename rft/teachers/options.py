"""Options shared by every teacher provider (CLI flags and run configs map onto these)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TeacherOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, description="OpenAI-compatible / Anthropic endpoint override")
    api_key_env: str | None = Field(
        default=None, description="env var holding the API key (default per provider)"
    )
    concurrency: int = Field(default=16, ge=1, description="max requests in flight")
    rpm: int | None = Field(default=None, ge=1, description="requests per minute limit")
    tpm: int | None = Field(default=None, ge=1, description="tokens per minute limit (prompt + completion)")
    timeout_s: float = Field(default=120.0, gt=0, description="per-request timeout")
    max_retries: int = Field(default=6, ge=0, description="retries on 429/5xx/timeouts/dropped connections")
    max_retry_wait_s: float = Field(
        default=120.0,
        ge=0,
        description="longest wait before a retry; a Retry-After beyond it fails at once",
    )
    cache_path: Path | None = Field(default=None, description="sqlite response cache; None = no cache")
    prices_file: Path | None = Field(
        default=None, description="YAML/JSON price overrides (USD per 1M tokens)"
    )
    transport: Literal["auto", "sdk", "aiohttp"] = Field(
        default="auto",
        description="openai: 'sdk' = openai SDK (aiohttp transport), 'aiohttp' = thin aiohttp client",
    )
    max_batch_size: int = Field(default=32, ge=1, description="local: rows per batched generate")
    batch_wait_ms: float = Field(default=15.0, ge=0, description="local: wait to gather a batch")
    device: str | None = Field(default=None, description="local: cpu, cuda, cuda:1, mps; None/auto = best")
    dtype: str | None = Field(default=None, description="local: float32, bfloat16, float16; None/auto = best")
    reasoning_effort: str | None = Field(
        default=None,
        description="openai: `reasoning_effort` for reasoning models (e.g. minimal, low); None = the server's default",
    )
