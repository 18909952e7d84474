"""`rft generate`: a teacher solves problems step by step; a validator ranks candidate steps; dead ends
are backtracked; the whole search is recorded and sealed into a new dataset version."""

from __future__ import annotations

import sys

import typer

from rft.config import GenerateConfig, build_config
from rft.console import err
from rft.errors import ConfigError

P = "Problems"
T = "Teacher"
S = "Search"
O = "Output"  # noqa: E741


# The sampling temperatures each provider's API accepts; a request outside them is an HTTP 400.
API_TEMPERATURE_MAX = {"openai": 2.0, "anthropic": 1.0}
USUAL_TEMPERATURE_MAX = 2.0


def check_temperature(cfg: GenerateConfig) -> None:
    """Refuse a --temperature the teacher's API rejects (better than a 400 on every request mid-run);
    warn about one above the usual range where the server sets its own limits (local models,
    OpenAI-compatible servers at --base-url)."""
    provider = cfg.teacher.split(":", 1)[0]
    t = cfg.temperature
    limit = API_TEMPERATURE_MAX.get(provider)
    own_server = provider == "openai" and cfg.base_url and "api.openai.com" not in cfg.base_url
    if limit is not None and t > limit and not own_server:
        raise ConfigError(
            f"--temperature {t}: {provider} accepts 0-{limit:g}; the API would reject every request "
            f"(use a value in 0-{limit:g})"
        )
    if t > USUAL_TEMPERATURE_MAX:
        where = "the server at --base-url" if own_server else cfg.teacher
        err.print(
            f"warning: --temperature {t} is above {USUAL_TEMPERATURE_MAX:g} (the most any hosted API "
            f"accepts); {where} will sample close to random text",
            soft_wrap=True,
            markup=False,
        )


def generate(
    problems: str = typer.Option(
        None,
        "--problems",
        help="a file (jsonl/json/csv/parquet), hf:<dataset id>, or demo",
        rich_help_panel=P,
    ),
    preset: str = typer.Option(
        None, "--preset", help="field mapping preset for the source, e.g. gsm8k, math", rich_help_panel=P
    ),
    limit: int = typer.Option(None, "--limit", help="use at most this many problems", rich_help_panel=P),
    field: list[str] = typer.Option(
        None,
        "--field",
        help="map a problem field to a column, e.g. question=problem (repeatable)",
        rich_help_panel=P,
    ),
    shuffle: bool = typer.Option(
        None,
        "--shuffle/--no-shuffle",
        help="shuffle problems (with --seed) before --shard and --limit",
        rich_help_panel=P,
    ),
    shard: str = typer.Option(
        None,
        "--shard",
        help="keep shard i of n (0-based), e.g. 0/4; merge the parts with `rft datasets merge`",
        rich_help_panel=P,
    ),
    on_duplicate_id: str = typer.Option(
        None,
        "--on-duplicate-id",
        help="rows sharing a problem id: error (default; identical rows are skipped), skip (keep the "
        "first) or rename (id-2, id-3, ...)",
        rich_help_panel=P,
    ),
    allow_test_split: bool = typer.Option(
        None,
        "--allow-test-split",
        help="generate from a benchmark's test split anyway (decontamination removes those items)",
        rich_help_panel=P,
    ),
    teacher: str = typer.Option(
        None,
        "--teacher",
        help="teacher spec: local:smollm2-135m (default), openai:<model>, anthropic:<model>",
        rich_help_panel=T,
    ),
    judge: str = typer.Option(
        None,
        "--judge",
        help="judge spec for the judge/composite validator (default: the teacher)",
        rich_help_panel=T,
    ),
    base_url: str = typer.Option(
        None,
        "--base-url",
        help="OpenAI-compatible server (vLLM, Ollama, llama.cpp, transformers serve)",
        rich_help_panel=T,
    ),
    api_key_env: str = typer.Option(
        None, "--api-key-env", help="NAME of the env var holding the API key", rich_help_panel=T
    ),
    judge_base_url: str = typer.Option(
        None,
        "--judge-base-url",
        help="endpoint of the judge (default: the teacher's when the judge has its provider)",
        rich_help_panel=T,
    ),
    judge_api_key_env: str = typer.Option(
        None, "--judge-api-key-env", help="NAME of the env var with the judge's API key", rich_help_panel=T
    ),
    reasoning_effort: str = typer.Option(
        None,
        "--reasoning-effort",
        help="OpenAI reasoning models (o-series, gpt-5): e.g. minimal, low, medium",
        rich_help_panel=T,
    ),
    concurrency: int = typer.Option(
        None, "--concurrency", help="problems searched at once (default 16)", rich_help_panel=T
    ),
    rpm: int = typer.Option(None, "--rpm", help="requests per minute limit", rich_help_panel=T),
    tpm: int = typer.Option(None, "--tpm", help="tokens per minute limit", rich_help_panel=T),
    timeout_s: float = typer.Option(None, "--timeout", help="seconds per teacher request", rich_help_panel=T),
    max_retries: int = typer.Option(
        None, "--max-retries", help="retries on 429/5xx/timeouts per request (default 4)", rich_help_panel=T
    ),
    max_retry_wait: float = typer.Option(
        None,
        "--max-retry-wait",
        help="longest wait in seconds before a retry (default 120); a Retry-After beyond it fails at once",
        rich_help_panel=T,
    ),
    prices_file: str = typer.Option(
        None, "--prices-file", help="JSON/YAML price table (USD per 1M tokens)", rich_help_panel=T
    ),
    device: str = typer.Option(None, "--device", help="local teacher device (cpu, cuda)", rich_help_panel=T),
    dtype: str = typer.Option(None, "--dtype", help="local teacher dtype", rich_help_panel=T),
    strategy: str = typer.Option(
        None, "--strategy", help="dfs (default) | beam | best-first | sample", rich_help_panel=S
    ),
    validator: str = typer.Option(
        None,
        "--validator",
        help="judge | answer | composite (default when gold answers exist)",
        rich_help_panel=S,
    ),
    branches: int = typer.Option(
        None, "--branches", "-k", help="candidate steps per step (default 3)", rich_help_panel=S
    ),
    beam_width: int = typer.Option(
        None, "--beam-width", help="paths kept per depth (beam)", rich_help_panel=S
    ),
    samples: int = typer.Option(
        None, "--samples", help="whole solutions per problem (sample)", rich_help_panel=S
    ),
    threshold: float = typer.Option(
        None,
        "--threshold",
        help="backtrack when the best score is below this (0-1, default 0.5)",
        rich_help_panel=S,
    ),
    temperature: float = typer.Option(
        None, "--temperature", help="sampling temperature of candidate steps (default 0.8)", rich_help_panel=S
    ),
    max_tokens_per_step: int = typer.Option(
        None, "--max-tokens-per-step", help="tokens per candidate step (default 128)", rich_help_panel=S
    ),
    max_tokens_per_sample: int = typer.Option(
        None, "--max-tokens-per-sample", help="tokens per whole solution (sample)", rich_help_panel=S
    ),
    judge_max_tokens: int = typer.Option(
        None, "--judge-max-tokens", help="tokens per judgement (default 48)", rich_help_panel=S
    ),
    max_depth: int = typer.Option(None, "--max-depth", help="steps per solution at most", rich_help_panel=S),
    max_nodes: int = typer.Option(
        None, "--max-nodes", help="candidate steps per problem at most", rich_help_panel=S
    ),
    max_backtracks: int = typer.Option(
        None, "--max-backtracks", help="backtracks per problem at most", rich_help_panel=S
    ),
    max_tokens_per_problem: int = typer.Option(
        None, "--max-tokens-per-problem", help="token budget per problem", rich_help_panel=S
    ),
    max_cost_usd: float = typer.Option(
        None,
        "--max-cost-usd",
        help="run-wide budget: stop cleanly and seal what is finished",
        rich_help_panel=S,
    ),
    seed: int = typer.Option(
        None, "--seed", help="seed of sampling, shuffling and rendering (default 0)", rich_help_panel=S
    ),
    prompt_template: str = typer.Option(
        None, "--prompt-template", help="step prompt file (Jinja or {field} format)", rich_help_panel=S
    ),
    judge_template: str = typer.Option(
        None, "--judge-template", help="judge prompt file (Jinja or {field} format)", rich_help_panel=S
    ),
    reflect: str = typer.Option(
        None,
        "--reflect",
        help="reason of a backtrack: the judge's critique, else a self-check the teacher writes without "
        "the answer (teacher, default) | critiques only (critique) | no reasons (none)",
        rich_help_panel=S,
    ),
    render: str = typer.Option(
        None,
        "--render",
        help="messages rendering: backtrack (default) | path | search | think",
        rich_help_panel=O,
    ),
    max_wrong_per_node: int = typer.Option(
        None, "--max-wrong-per-node", help="wrong attempts rendered per step (default 2)", rich_help_panel=O
    ),
    system: str = typer.Option(
        None, "--system", help="system message put first in every record's messages", rich_help_panel=O
    ),
    name: str = typer.Option(
        None, "--name", help="dataset name (default: derived from the source)", rich_help_panel=O
    ),
    out_dir: str = typer.Option(None, "--out", help="output root (default datasets_out/)", rich_help_panel=O),
    config: str = typer.Option(
        None,
        "--config",
        help="YAML/TOML file with any of these options; flags override it",
        rich_help_panel=O,
    ),
    resume: str = typer.Option(None, "--resume", help="continue the run with this id", rich_help_panel=O),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="print the problem count and an upper bound of calls/tokens/cost; call nobody",
        rich_help_panel=O,
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="no live progress bar", rich_help_panel=O),
    seal_partial: bool = typer.Option(
        False,
        "--seal-partial",
        help="seal the finished problems even if some failed (teacher down or refusing); the manifest "
        "says the version is incomplete. Without it a run with failures is kept, not sealed, and the "
        "same command retries them",
        rich_help_panel=O,
    ),
) -> None:
    """Generate step-by-step traces with validator-ranked steps and recorded backtracking."""
    from rft.commands.problems import parse_fields
    from rft.generate.runner import GenerateRun

    flags = {
        "problems": problems,
        "preset": preset,
        "limit": limit,
        "fields": parse_fields(field) if field else None,
        "shuffle": shuffle,
        "shard": shard,
        "on_duplicate_id": on_duplicate_id,
        "allow_test_split": allow_test_split,
        "teacher": teacher,
        "judge": judge,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "judge_base_url": judge_base_url,
        "judge_api_key_env": judge_api_key_env,
        "reasoning_effort": reasoning_effort,
        "concurrency": concurrency,
        "rpm": rpm,
        "tpm": tpm,
        "timeout_s": timeout_s,
        "max_retries": max_retries,
        "max_retry_wait_s": max_retry_wait,
        "prices_file": prices_file,
        "device": device,
        "dtype": dtype,
        "strategy": strategy,
        "validator": validator,
        "branches": branches,
        "beam_width": beam_width,
        "samples": samples,
        "threshold": threshold,
        "temperature": temperature,
        "max_tokens_per_step": max_tokens_per_step,
        "max_tokens_per_sample": max_tokens_per_sample,
        "judge_max_tokens": judge_max_tokens,
        "max_depth": max_depth,
        "max_nodes": max_nodes,
        "max_backtracks": max_backtracks,
        "max_tokens_per_problem": max_tokens_per_problem,
        "max_cost_usd": max_cost_usd,
        "seed": seed,
        "prompt_template": prompt_template,
        "judge_template": judge_template,
        "reflect": reflect,
        "render": render,
        "max_wrong_per_node": max_wrong_per_node,
        "system": system,
        "name": name,
        "out": out_dir,
    }
    if resume and problems is None:
        flags["problems"] = "<from run>"  # replaced by the run's saved config
    cfg = build_config(config, flags)
    check_temperature(cfg)
    runner = GenerateRun(
        cfg, ["rft", *sys.argv[1:]], resume=resume, progress=not no_progress, seal_partial=seal_partial
    )
    try:
        runner.execute(dry=dry_run)
    except KeyboardInterrupt:
        rid = runner.run_id or "RUN_ID"
        err.print(
            f"interrupted: finished problems are kept in run {rid}; re-run the same command "
            f"(or `rft generate --resume {rid}`) to continue"
        )
        raise typer.Exit(130) from None
