"""`rft generate`: a teacher solves problems step by step; a validator ranks candidate steps; dead ends
are backtracked; the whole search is recorded and sealed into a new dataset version."""

from __future__ import annotations

import sys
from typing import Any

import typer

from rft.commands.options import config_command, config_option, given
from rft.config import load_config
from rft.console import err
from rft.errors import ConfigError
from rft.generate.config import GenerateConfig

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
    provider = cfg.teacher.provider
    t = cfg.search.temperature
    limit = API_TEMPERATURE_MAX.get(provider)
    urls = cfg.teacher.base_urls
    own_server = provider == "openai" and any("api.openai.com" not in u for u in urls)
    if limit is not None and t > limit and not own_server:
        raise ConfigError(
            f"--temperature {t}: {provider} accepts 0-{limit:g}; the API would reject every request "
            f"(use a value in 0-{limit:g})"
        )
    if t > USUAL_TEMPERATURE_MAX:
        where = "the server at --base-url" if own_server else cfg.teacher.spec
        err.print(
            f"warning: --temperature {t} is above {USUAL_TEMPERATURE_MAX:g} (the most any hosted API "
            f"accepts); {where} will sample close to random text",
            soft_wrap=True,
            markup=False,
        )


@config_command(GenerateConfig)
def generate(
    config: str = config_option(O),
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
    **flags: Any,
) -> None:
    """Generate step-by-step traces with validator-ranked steps and recorded backtracking."""
    from rft.commands.problems import parse_fields
    from rft.generate.runner import GenerateRun

    flags = given(GenerateConfig, flags, {"fields": parse_fields})
    if resume and "problems" not in flags:
        flags["problems"] = "<from run>"  # replaced by the run's saved config
    cfg = load_config(GenerateConfig, config, flags)
    check_temperature(cfg)
    from rft.validate.testdata import test_items_in

    runner = GenerateRun(
        cfg,
        ["rft", *sys.argv[1:]],
        resume=resume,
        progress=not no_progress,
        seal_partial=seal_partial,
        content_check=test_items_in,
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
