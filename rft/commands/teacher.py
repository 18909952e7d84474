"""`rft teacher ping SPEC`: one short request; prints model, latency, tokens, cost and whether n is honoured."""

from __future__ import annotations

from typing import Any

import typer

from rft.commands.options import config_command, config_option, given
from rft.config import load_config
from rft.console import out
from rft.teachers.config import TeacherConfig

app = typer.Typer(
    help="Check teachers (openai:<model>, anthropic:<model>, local:<path|alias>).", no_args_is_help=True
)


# ping's own defaults: a quick check waits less per request
PING_DEFAULTS = {"timeout_s": 60.0}


@app.command("ping")
@config_command(
    TeacherConfig,
    skip=("spec", "concurrency", "max_batch_size", "batch_wait_ms"),
    defaults=PING_DEFAULTS,
    aliases={"max_retries": ["--retries"]},
)
def ping(
    spec: str = typer.Argument(
        ..., metavar="SPEC", help="openai:<model>, anthropic:<model> or local:<path|alias>"
    ),
    n: int = typer.Option(2, "--n", min=1, max=16, help="samples to ask for (checks whether n is honoured)"),
    max_tokens: int = typer.Option(8, "--max-tokens", min=1, help="tokens to generate"),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Send one short request and report model, latency, tokens, cost and n support."""
    from rft.teachers.ping import ping as run_ping

    opts = load_config(TeacherConfig, config, {**given(TeacherConfig, flags), "spec": spec}, PING_DEFAULTS)
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
    if r.endpoints:
        answered = [e for e in r.endpoints if e["requests"] > e["failures"]]
        rows.append(
            (
                "endpoints",
                f"{len(answered)} of {len(r.endpoints)} answered: "
                + ", ".join(f"{e['base_url']} {'ok' if e in answered else 'failed'}" for e in r.endpoints),
            )
        )
    for label, value in rows:
        out.print(f"{label:<9} {value}", soft_wrap=True, markup=False)
