"""`rft teacher ping SPEC`: one short request; prints model, latency, tokens, cost and whether n is honoured."""

from __future__ import annotations

from pathlib import Path

import typer

from rft.console import out
from rft.teachers.config import TeacherConfig

app = typer.Typer(
    help="Check teachers (openai:<model>, anthropic:<model>, local:<path|alias>).", no_args_is_help=True
)


@app.command("ping")
def ping(
    spec: str = typer.Argument(
        ..., metavar="SPEC", help="openai:<model>, anthropic:<model> or local:<path|alias>"
    ),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible or Anthropic endpoint"),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="env var that holds the API key"),
    n: int = typer.Option(2, "--n", min=1, max=16, help="samples to ask for (checks whether n is honoured)"),
    max_tokens: int = typer.Option(8, "--max-tokens", min=1, help="tokens to generate"),
    timeout_s: float = typer.Option(60.0, "--timeout", min=1, help="seconds per request"),
    retries: int = typer.Option(2, "--retries", min=0, help="retries on 429/5xx/timeouts"),
    max_retry_wait: float = typer.Option(
        120.0,
        "--max-retry-wait",
        min=0,
        help="longest wait in seconds before a retry; a Retry-After beyond it fails at once",
    ),
    transport: str = typer.Option("auto", "--transport", help="openai: auto, sdk (openai SDK) or aiohttp"),
    device: str | None = typer.Option(
        None, "--device", help="local: cpu, cuda, mps (default: best available)"
    ),
    prices_file: Path | None = typer.Option(
        None,
        "--prices-file",
        help="YAML/JSON prices (USD per 1M tokens) for models not in the built-in table",
    ),
    dtype: str | None = typer.Option(
        None, "--dtype", help="local: float32, bfloat16, float16 (default: best)"
    ),
    reasoning_effort: str | None = typer.Option(
        None, "--reasoning-effort", help="OpenAI reasoning models (o-series, gpt-5): e.g. minimal, low"
    ),
) -> None:
    """Send one short request and report model, latency, tokens, cost and n support."""
    from rft.errors import ConfigError
    from rft.store.redaction import check_env_name
    from rft.teachers.local_model import check_device
    from rft.teachers.ping import ping as run_ping

    check_env_name("--api-key-env", api_key_env)

    if transport not in ("auto", "sdk", "aiohttp"):
        raise ConfigError(f"--transport: expected auto, sdk or aiohttp, got {transport!r}")
    check_device(device)
    opts = TeacherConfig(
        base_url=base_url,
        api_key_env=api_key_env,
        timeout_s=timeout_s,
        max_retries=retries,
        max_retry_wait_s=max_retry_wait,
        transport=transport,  # type: ignore[arg-type]
        device=device,
        dtype=dtype,
        prices_file=prices_file,
        reasoning_effort=reasoning_effort,
    )
    r = run_ping(spec, opts, n=n, max_tokens=max_tokens)
    if r.cost_usd is None:
        cost = "unknown (no price for this model; see --prices-file)"
    elif r.spec.startswith("local:"):
        cost = "$0 (local model)"
    else:
        cost = f"${r.cost_usd:.6f}"
    if r.n_requested == 1:
        n_line = "not checked (ask for --n 2 or more)"
    elif r.n_honoured:
        n_line = f"yes: {r.n_requested} samples from one request"
    else:
        n_line = f"no: the server returned fewer choices; rft fans out ({r.http_calls} requests for n={r.n_requested})"
    rows = [
        ("teacher", r.spec),
        ("model", r.model),
        ("latency", f"{r.latency_s:.2f} s"),
        ("tokens", f"{r.prompt_tokens} in / {r.completion_tokens} out"),
        ("cost", cost),
        ("n", n_line),
        ("reply", f"{r.reply!r} (finish: {r.finish_reason})"),
    ]
    for label, value in rows:
        out.print(f"{label:<9} {value}", soft_wrap=True, markup=False)
