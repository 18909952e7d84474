"""`rft eval --model BASE [--adapter runs/x/y ...] [--adapters runs/x] --benchmarks gsm8k,humaneval`:
the base and every adapter on the same benchmark items, with the same graders and a paired comparison.
`rft eval --model openai:MODEL --base-url http://localhost:8000/v1`: a served model (vLLM, SGLang, any
OpenAI-compatible server) or an API model, scored the same way (`rft.eval.remote`)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from rft.commands.options import config_command, config_option, given
from rft.config import load_config
from rft.console import err
from rft.eval.config import EvalConfig

O = "Run"  # noqa: E741


@config_command(EvalConfig, skip=("adapter",), first=True)
def eval_(
    adapter: list[str] = typer.Option(
        None,
        "--adapter",
        help=EvalConfig.model_fields["adapter"].description,
        rich_help_panel="Models",
    ),
    config: str = config_option(O),
    no_progress: bool = typer.Option(False, "--no-progress", help="no live progress bar", rich_help_panel=O),
    **flags: Any,
) -> None:
    """Evaluate a base model and its adapters on GSM8K, MATH, HumanEval, ...: accuracy ± SE, pass@k,
    BLEU, latency, memory, and each adapter against the base (paired bootstrap CI, McNemar).

    --model openai:MODEL --base-url URL (or anthropic:MODEL) evaluates a served or API model the same
    way, through the teacher layer (retries, rate limits, --api-key-env).

    Writes OUT/<id>/ (the id follows from the settings): re-running the same command resumes, and
    finished samples are not generated again."""
    from rft.eval.run import print_result, run_eval

    flags = given(
        EvalConfig, flags, parsers={"benchmark_path": list}
    )  # NAME=PATH items: the config parses them
    if adapter:
        flags["adapter"] = list(adapter)
    cfg = load_config(EvalConfig, config, flags)
    try:
        result = run_eval(cfg, ["rft", *sys.argv[1:]], progress=not no_progress)
    except KeyboardInterrupt:
        err.print("interrupted: finished samples are kept; re-run the same command to resume")
        raise typer.Exit(130) from None
    print_result(result)
