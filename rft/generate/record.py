"""A finished search as the record a run appends: outcome, metadata, value labels, rendered messages."""

from __future__ import annotations

from rft.generate.config import GenerateConfig
from rft.generate.labels import fill_values
from rft.generate.render import render
from rft.generate.search import SearchResult
from rft.schemas import Outcome, Problem, Record


def build_record(problem: Problem, res: SearchResult, cfg: GenerateConfig, validator: str) -> Record:
    outcome = Outcome(
        solved=res.solution is not None,
        final_answer=res.final_answer,
        correct=res.correct,
        nodes=len(res.trace.nodes),
        backtracks=res.backtracks,
        pruned=res.pruned,
        teacher_calls=res.meter.calls,
        tokens_in=res.meter.prompt_tokens,
        tokens_out=res.meter.completion_tokens,
        cost_usd=res.meter.cost_usd,
        wall_time_s=round(res.wall_time_s, 3),
        stop_reason=res.stop_reason,
    )
    meta = {
        "strategy": cfg.search.strategy,
        "validator": validator,
        "teacher": cfg.teacher.spec,
        "reflect": cfg.search.reflect,
        "threshold": cfg.search.threshold,
        **res.metadata,
    }
    if cfg.judge:
        meta["judge"] = cfg.judge.spec
    fill_values(res.trace, problem.answer, problem.domain.value)
    rec = Record(problem=problem, trace=res.trace, outcome=outcome, metadata=meta)
    rec.messages = render(
        rec, cfg.output.render, cfg.search.seed, cfg.output.max_wrong_per_node, system=cfg.output.system
    )
    rec.render = cfg.output.render
    return rec
