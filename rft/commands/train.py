"""`rft train NAME[@vN] --base MODEL`: LoRA SFT (TRL + PEFT) on a dataset version's traces; a grid of
ranks x alphas, one run folder per variant, and a table of them. `--method grpo|rloo` is the RL stage
(TRL's GRPOTrainer / RLOOTrainer, rewards from rft.verify), from an SFT adapter with `--init-adapter`."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import typer

from rft.commands.options import config_command, config_option, given
from rft.config import load_config
from rft.console import err
from rft.errors import ConfigError, RftError
from rft.train.config import TrainConfig

O = "Output"  # noqa: E741


@config_command(TrainConfig, skip=("dataset",), first=False)
def train(
    ref: str = typer.Argument(
        None,
        metavar="NAME[@vN]",
        help="dataset version to train on (default: latest; or `dataset:` in --config)",
    ),
    config: str = config_option(O),
    no_progress: bool = typer.Option(False, "--no-progress", help="no live progress bar", rich_help_panel=O),
    **flags: Any,
) -> None:
    """LoRA SFT (TRL + PEFT) on a dataset's traces; --rank 4,16 --alpha 16,32 trains every variant.

    The loss covers the assistant turn and its end-of-turn token only. Each variant is written to
    OUT/NAME/r<rank>-a<alpha>/; a finished variant is skipped, an interrupted one resumes.

    --method grpo|rloo is the RL stage (ReFT): TRL's GRPOTrainer / RLOOTrainer sample
    --num-generations completions per problem and reward them with rft.verify (--reward reft: 1
    correct, 0.1 wrong, 0 no answer); --init-adapter runs/NAME/r16-a32 starts from the SFT warm-up."""
    from rft.train.run import run_grid

    flags = given(TrainConfig, flags)
    try:
        if ref:
            flags["dataset"] = ref
        elif not config and not flags.get("problems"):
            rl = flags.get("method") in ("grpo", "rloo")
            raise ConfigError(
                "missing the dataset: rft train NAME[@vN] (or `dataset:` in a --config file"
                + ("; or --problems SOURCE)" if rl else ")")
            )
        cfg = load_config(TrainConfig, config, flags)
        result = run_grid(cfg, ["rft", *sys.argv[1:]], progress=not no_progress)
    except RftError as exc:
        # under torchrun / accelerate launch every process finds the same bad input (what escapes run_grid
        # is found before training, or by process zero alone): process zero says it. The others leave a
        # moment later, since the launcher stops every process once one has exited.
        if os.environ.get("RANK", "0") not in ("", "0"):
            time.sleep(3)
            raise typer.Exit(exc.exit_code) from None
        raise
    except KeyboardInterrupt:
        err.print(
            "interrupted: finished variants are kept; re-run the same command to resume the interrupted one "
            "from its last checkpoint"
        )
        raise typer.Exit(130) from None
    if len(result.outcomes) == 1 and result.failed:
        raise RftError(f"{result.failed[0].variant.name}: {result.failed[0].error}")
    if result.failed:
        names = ", ".join(f"{o.variant.name} ({o.error})" for o in result.failed)
        raise RftError(f"{len(result.failed)} of {len(result.outcomes)} variants failed: {names}")
