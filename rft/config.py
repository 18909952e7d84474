"""Run configs (pydantic), loadable from YAML/TOML with `--config FILE` and overridden by CLI flags.

Secrets never enter a config: it holds the NAME of the environment variable with the API key
(`api_key_env`), never the key.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rft.errors import ConfigError

# Fields that change how fast a run goes or where it prints, not what it produces: they are left
# out of the run identity, so re-running with another --concurrency resumes the same run.
NON_SEMANTIC = frozenset(
    {
        "concurrency",
        "rpm",
        "tpm",
        "timeout_s",
        "max_retries",
        "max_retry_wait_s",
        "dry_run",
        "allow_test_split",
        "resume",
        "out",
        "progress",
        "device",
    }
)


class GenerateConfig(BaseModel):
    """Everything `rft generate` needs. Field names are the CLI flags with `_` for `-`."""

    model_config = ConfigDict(extra="forbid")

    # problems
    problems: str = Field(description="problem source: a file, hf:<dataset id>, or demo")
    preset: str | None = None
    limit: int | None = Field(default=None, ge=1)
    fields: dict[str, str] | None = Field(default=None, description="problem field -> source column")
    shuffle: bool = False
    shard: str | None = Field(default=None, description="i/n: keep shard i of n (0-based)")
    on_duplicate_id: Literal["error", "skip", "rename"] = Field(
        default="error",
        description="rows sharing a problem id: error (name them), skip (keep the first) or rename (-2, -3)",
    )
    allow_test_split: bool = Field(
        default=False,
        description="generate from a known benchmark's test split (its items get decontaminated away)",
    )
    # teacher
    teacher: str = "local:smollm2-135m"
    judge: str | None = Field(default=None, description="judge spec; default: the teacher")
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, description="NAME of the env var holding the API key")
    judge_base_url: str | None = Field(default=None, description="endpoint of the judge")
    judge_api_key_env: str | None = Field(
        default=None, description="NAME of the env var with the judge's key"
    )
    reasoning_effort: str | None = Field(default=None, description="openai reasoning models: e.g. low")
    concurrency: int = Field(default=16, ge=1)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=4, ge=0)
    max_retry_wait_s: float = Field(
        default=120.0, ge=0, description="longest wait before a retry; a Retry-After beyond it fails at once"
    )
    prices_file: str | None = None
    device: str | None = None
    dtype: str | None = None
    # search
    strategy: Literal["dfs", "beam", "best-first", "sample"] = "dfs"
    validator: Literal["judge", "answer", "composite"] | None = Field(
        default=None, description="default: composite when the problems have gold answers, else judge"
    )
    branches: int = Field(default=3, ge=1)
    beam_width: int = Field(default=2, ge=1)
    samples: int = Field(default=4, ge=1)
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    temperature: float = Field(default=0.8, ge=0.0)
    max_tokens_per_step: int = Field(default=128, ge=1)
    max_tokens_per_sample: int = Field(default=512, ge=1)
    judge_max_tokens: int = Field(default=48, ge=1)
    max_depth: int = Field(default=8, ge=1)
    max_nodes: int = Field(default=64, ge=1)
    max_backtracks: int = Field(default=8, ge=0)
    max_tokens_per_problem: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    seed: int = 0
    prompt_template: str | None = None
    judge_template: str | None = None
    # output
    reflect: Literal["teacher", "critique", "none"] = Field(
        default="teacher",
        description="reason of a backtrack: the judge's critique, else a self-check the teacher writes "
        "(teacher); critiques only (critique); no reasons (none)",
    )
    render: Literal["backtrack", "path", "search", "think"] = "backtrack"
    max_wrong_per_node: int = Field(default=2, ge=0)
    system: str | None = Field(
        default=None, description="system message put first in every record's messages"
    )
    name: str | None = None
    out: str = "datasets_out"

    @field_validator("api_key_env", "judge_api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        from rft.redaction import env_name_problem, register_secret

        problem = env_name_problem(v)
        if problem:
            register_secret(v)  # it may be the key itself: never shown
            raise ValueError(problem)
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str | None) -> str | None:
        from rft.teachers.local_model import device_problem

        if problem := device_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str | None) -> str | None:
        if v is not None:
            from rft.problems import parse_shard

            parse_shard(v)
        return v

    def for_judge(self) -> GenerateConfig:
        """This config as the judge's teacher sees it: `--judge-base-url`/`--judge-api-key-env` when
        given; else the teacher's endpoint when the judge has the teacher's provider (same server),
        else the judge provider's defaults."""
        if self.judge_base_url or self.judge_api_key_env:
            endpoint = (self.judge_base_url, self.judge_api_key_env)
        elif self.judge and self.judge.split(":", 1)[0] == self.teacher.split(":", 1)[0]:
            endpoint = (self.base_url, self.api_key_env)
        else:
            endpoint = (None, None)
        return self.model_copy(update={"base_url": endpoint[0], "api_key_env": endpoint[1]})

    def shard_tuple(self) -> tuple[int, int] | None:
        from rft.problems import parse_shard

        return parse_shard(self.shard) if self.shard else None

    @model_validator(mode="after")
    def _judge_endpoint_needs_judge(self) -> GenerateConfig:
        if (self.judge_base_url or self.judge_api_key_env) and not self.judge:
            raise ValueError("--judge-base-url and --judge-api-key-env need --judge SPEC")
        return self

    def identity(self, source_fingerprint: str | None) -> str:
        """A stable id of what this config produces: same name + same config -> same run."""
        data = {k: v for k, v in self.model_dump(mode="json").items() if k not in NON_SEMANTIC}
        data["source_fingerprint"] = source_fingerprint
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML or TOML config file as a dict with `_` keys. ConfigError naming the file otherwise."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {p}: {exc.strerror or exc}") from exc
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{p}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of options at the top level")
    if isinstance(data.get("generate"), dict):  # allow a [generate] table / generate: section
        data = data["generate"]
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build_config(file: str | Path | None, flags: dict[str, Any]) -> GenerateConfig:
    """Config file values, overridden by the CLI flags that were given (not None)."""
    data = read_config_file(file) if file else {}
    data.update({k: v for k, v in flags.items() if v is not None})
    origin = str(file) if file else "command line"
    if "problems" not in data:
        raise ConfigError("--problems is required (a file, hf:<dataset id>, or demo)")
    try:
        return GenerateConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"{origin}: unknown option {field!r}") from exc
        if not field:  # a rule across options: its message names them
            raise ConfigError(f"{msg} ({origin})") from exc
        raise ConfigError(f"{_flag(field)} ({origin}): {msg}") from exc


# Config fields whose CLI flag is not the field name with `-` for `_`.
FLAG_NAMES = {"timeout_s": "--timeout", "max_retry_wait_s": "--max-retry-wait", "fields": "--field"}


def _flag(field: str) -> str:
    return FLAG_NAMES.get(field) or "--" + field.split(".")[0].replace("_", "-")
