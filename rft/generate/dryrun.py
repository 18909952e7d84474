"""`rft generate --dry-run`: the upper bound of calls, tokens and cost, without calling a teacher."""

from __future__ import annotations

from pathlib import Path

from rft.console import out
from rft.generate.config import GenerateConfig
from rft.generate.estimate import estimate
from rft.schemas import Problem


def dry_run(cfg: GenerateConfig, problems: list[Problem], validator: str) -> None:
    p = cfg.search
    est = estimate(problems, p, judged=validator != "answer", judge_max_tokens=cfg.search.judge_max_tokens)
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
    parts = [
        (
            "teacher",
            cfg.teacher.spec,
            est.teacher_prompt_tokens,
            est.teacher_completion_tokens,
            est.teacher_calls,
        )
    ]
    if est.judge_calls:
        parts.append(("judge", judge, est.judge_prompt_tokens, est.judge_completion_tokens, est.judge_calls))
    total: float | None = 0.0
    for role, spec, pt, ct, calls in parts:
        usd = _cost_bound(spec, cfg.teacher.prices_file, pt, ct)
        shown = "unknown (no price; give one with --prices-file)" if usd is None else f"${usd:,.4f}"
        if spec.startswith("local:"):
            shown = "$0 (local model)"
        out.print(
            f"  {role} {spec}: {calls:,} calls, {pt:,} + {ct:,} tokens, cost <= {shown}", soft_wrap=True
        )
        total = None if total is None or usd is None else total + usd
    out.print(
        "upper bound cost: " + ("unknown (a model has no price)" if total is None else f"${total:,.4f}"),
        soft_wrap=True,
    )
    out.print("dry run: no teacher was called, nothing was written")


def _cost_bound(
    spec: str, prices_file: str | None, prompt_tokens: int, completion_tokens: int
) -> float | None:
    """USD for these tokens at `spec`'s price; 0 for local models; None when the price is unknown."""
    from rft.teachers import parse_spec, price_of

    price = price_of(*parse_spec(spec), Path(prices_file) if prices_file else None)
    return None if price is None else price.cost(prompt_tokens, completion_tokens)
