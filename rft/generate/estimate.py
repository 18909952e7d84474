"""`--dry-run`: an upper bound of teacher calls and tokens for a run, computed without calling anyone."""

from __future__ import annotations

from dataclasses import dataclass

from rft.generate.search import SearchParams
from rft.schemas import Problem

PROMPT_OVERHEAD = 160  # system prompt + template words, in tokens (generous)
JUDGE_OVERHEAD = 120


def approx_tokens(text: str) -> int:
    """A generous token count (about 3 characters per token)."""
    return len(text) // 3 + 1


@dataclass
class Estimate:
    problems: int
    calls: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _max_expansions(p: SearchParams) -> int:
    by_nodes = max(1, p.max_nodes // p.branches)
    if p.strategy == "beam":
        by_tree = 1 + (p.max_depth - 1) * p.beam_width
    else:
        by_tree = sum(p.branches**d for d in range(p.max_depth))
    return min(by_nodes, by_tree)


def estimate(problems: list[Problem], p: SearchParams, judged: bool, judge_max_tokens: int) -> Estimate:
    """Upper bound over all `problems` (a search stops earlier when it solves a problem)."""
    calls = prompt = completion = 0
    for prob in problems:
        q = approx_tokens(prob.question)
        if p.strategy == "sample":
            c = 1 + (p.samples if judged else 0)
            pt = (
                PROMPT_OVERHEAD
                + q
                + (p.samples * (JUDGE_OVERHEAD + q + p.max_tokens_per_sample) if judged else 0)
            )
            ct = p.samples * p.max_tokens_per_sample + (p.samples * judge_max_tokens if judged else 0)
        else:
            e = _max_expansions(p)
            context = PROMPT_OVERHEAD + q + (p.max_depth - 1) * p.max_tokens_per_step
            c = e * (1 + (p.branches if judged else 0))
            pt = e * (
                context + (p.branches * (JUDGE_OVERHEAD + context + p.max_tokens_per_step) if judged else 0)
            )
            ct = e * p.branches * (p.max_tokens_per_step + (judge_max_tokens if judged else 0))
        if p.max_tokens_per_problem is not None and pt + ct > p.max_tokens_per_problem:
            # the budget is checked before each call, so one call may overshoot it
            per_call = (pt + ct) / max(c, 1)
            c = min(c, int(p.max_tokens_per_problem / max(per_call, 1)) + 1)
            pt = min(pt, p.max_tokens_per_problem + int(per_call))
            ct = min(ct, p.max_tokens_per_problem + int(per_call))
        calls += c
        prompt += pt
        completion += ct
    return Estimate(len(problems), calls, prompt, completion)
