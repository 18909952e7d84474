"""`rft generate --dry-run`: the upper bound of calls, tokens and cost, without calling a teacher."""

from __future__ import annotations

from rft.console import out
from rft.generate.config import GenerateConfig
from rft.generate.estimate import estimate, total_cost
from rft.problems.problemset import ProblemSet
from rft.verify.steps import JUDGELESS


def dry_run(cfg: GenerateConfig, problems: ProblemSet, validator: str) -> None:
    p = cfg.search
    est = estimate(
        problems,
        p,
        judged=validator not in JUDGELESS,
        judge_max_tokens=cfg.search.judge_max_tokens,
    )
    judge = (cfg.judge or cfg.teacher).spec
    out.print(f"problems: {est.problems}", soft_wrap=True)
    out.print(
        f"strategy: {cfg.search.strategy}  validator: {validator}  teacher: {cfg.teacher.spec}",
        soft_wrap=True,
    )
    out.print(
        f"upper bound: {est.calls:,} calls, {est.prompt_tokens:,} prompt tokens, "
        f"{est.completion_tokens:,} completion tokens",
        soft_wrap=True,
    )
    roles = est.roles(cfg.teacher.spec, judge, cfg.teacher.prices_file)
    for r in roles:
        shown = (
            "unknown (no price; give one with --prices-file)" if r.cost_usd is None else f"${r.cost_usd:,.4f}"
        )
        if r.spec.startswith("local:"):
            shown = "$0 (local model)"
        out.print(
            f"  {r.role} {r.spec}: {r.calls:,} calls, {r.prompt_tokens:,} + {r.completion_tokens:,} tokens, "
            f"cost <= {shown}",
            soft_wrap=True,
        )
    total = total_cost(roles)
    out.print(
        "upper bound cost: " + ("unknown (a model has no price)" if total is None else f"${total:,.4f}"),
        soft_wrap=True,
    )
    out.print("dry run: no teacher was called, nothing was written")
