"""`TeacherConfig`: one teacher endpoint and how to call it; the teacher of `rft generate`, its judge,
`rft validate --judge` and `rft teacher ping` all take one. Each field is documented once: the CLI
flags and their help come from these definitions (rft/commands/options.py).

Secrets never enter a config: it holds the NAME of the environment variable with the API key
(`api_key_env`), never the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rft.config import Part

DEFAULT_TEACHER = "local:smollm2-135m"
# The endpoint options every stage with a judge shares: --judge, --judge-base-url, --judge-api-key-env.
ENDPOINT = ("spec", "base_url", "api_key_env")
# How requests are sent (pace, patience), not what is asked: no stage's results depend on them.
REQUEST_LIMITS = ("concurrency", "rpm", "tpm", "timeout_s", "max_retries", "max_retry_wait_s")


class TeacherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str = Field(
        default=DEFAULT_TEACHER,
        description="teacher spec: local:smollm2-135m, openai:<model>, anthropic:<model>",
    )
    base_url: str | list[str] | None = Field(
        default=None,
        description="OpenAI-compatible server (vLLM, Ollama, llama.cpp, transformers serve) or Anthropic "
        "endpoint; give it several times for replicas of one model (least-loaded routing, failover)",
    )
    api_key_env: str | None = Field(
        default=None, description="NAME of the env var holding the API key (default per provider)"
    )
    reasoning_effort: str | None = Field(
        default=None,
        description="OpenAI reasoning models (o-series, gpt-5): e.g. minimal, low, medium; "
        "default: the server's",
    )
    transport: Literal["auto", "sdk", "aiohttp"] = Field(
        default="auto", description="openai: auto, sdk (openai SDK) or aiohttp (thin client)"
    )
    concurrency: int = Field(default=16, ge=1, description="requests in flight at most")
    rpm: int | None = Field(default=None, ge=1, description="requests per minute limit")
    tpm: int | None = Field(default=None, ge=1, description="tokens per minute limit (prompt + completion)")
    timeout_s: float = Field(
        default=120.0, gt=0, description="seconds per request", json_schema_extra={"flag": "--timeout"}
    )
    max_retries: int = Field(default=4, ge=0, description="retries on 429/5xx/timeouts/dropped connections")
    max_retry_wait_s: float = Field(
        default=120.0,
        ge=0,
        description="longest wait in seconds before a retry; a Retry-After beyond it fails at once",
        json_schema_extra={"flag": "--max-retry-wait"},
    )
    prices_file: str | None = Field(default=None, description="JSON/YAML price table (USD per 1M tokens)")
    device: str | None = Field(default=None, description="local: cpu, cuda, cuda:1, mps; default: the best")
    dtype: str | None = Field(
        default=None, description="local: float32, bfloat16, float16; default: the best"
    )
    max_batch_size: int = Field(default=32, ge=1, description="local: rows per batched generate")
    batch_wait_ms: float = Field(default=15.0, ge=0, description="local: wait to gather a batch")
    cache_path: Path | None = Field(
        default=None, exclude=True, description="sqlite response cache (set by the stage); None = no cache"
    )

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        from rft.redaction import env_name_problem, register_secret

        problem = env_name_problem(v)
        if problem:
            register_secret(v)  # it may be the key itself: never shown
            raise ValueError(problem)
        return v

    @field_validator("base_url")
    @classmethod
    def _endpoints(cls, v: str | list[str] | None) -> str | list[str] | None:
        """One URL stays a string (so configs, run ids and caches of one endpoint are as they were);
        several are a list, each URL once."""
        if not isinstance(v, list):
            return v
        urls = [u.strip() for u in v if u.strip()]
        seen = {u.rstrip("/") for u in urls}
        if len(seen) < len(urls):
            raise ValueError("the same base URL is given more than once")
        return urls[0] if len(urls) == 1 else (urls or None)

    @field_validator("device")
    @classmethod
    def _device(cls, v: str | None) -> str | None:
        from rft.teachers.local_model import device_problem

        if problem := device_problem(v):
            raise ValueError(problem)
        return v

    @property
    def base_urls(self) -> list[str]:
        """The endpoints given (none: the provider's default)."""
        if self.base_url is None:
            return []
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    @property
    def provider(self) -> str:
        return self.spec.split(":", 1)[0]


def judge_part(attr: str, panel: str, help: dict[str, str], only: tuple[str, ...] = ENDPOINT) -> Part:
    """A stage config's judge (a `TeacherConfig` at `attr`) as flat options: --judge SPEC,
    --judge-base-url, --judge-api-key-env (and more from `only`); `help`: the stage's wording."""
    return Part(
        attr,
        panel,
        prefix="judge_",
        rename={"spec": "judge"},
        only=only,
        help=help,
        requires=("spec", "--judge-base-url and --judge-api-key-env need --judge SPEC"),
    )
