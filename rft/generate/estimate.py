"""`--dry-run`: an upper bound of teacher calls, tokens and cost for a run, computed without calling anyone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rft.generate.config import SearchConfig
from rft.schemas import Problem, sum_cost

PROMPT_OVERHEAD = 160  # system prompt + template words, in tokens (generous)
JUDGE_OVERHEAD = 120


def approx_tokens(text: str) -> int:
    """A generous token count (about 3 characters per token)."""
    return len(text) // 3 + 1


@dataclass
class Estimate:
    """Upper bounds, split by who is called: the teacher (proposals) and the judge (scores)."""

    problems: int
    teacher_calls: int = 0
    teacher_prompt_tokens: int = 0
    teacher_completion_tokens: int = 0
    judge_calls: int = 0
    judge_prompt_tokens: int = 0
    judge_completion_tokens: int = 0

    @property
    def calls(self) -> int:
        return self.teacher_calls + self.judge_calls

    @property
    def prompt_tokens(self) -> int:
        return self.teacher_prompt_tokens + self.judge_prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.teacher_completion_tokens + self.judge_completion_tokens

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def roles(self, teacher: str, judge: str, prices_file: str | None = None) -> list[RoleBound]:
        """The bound of each model called (the teacher; the judge when it is called), priced."""
        out = [
            RoleBound.priced(
                "teacher",
                teacher,
                self.teacher_calls,
                self.teacher_prompt_tokens,
                self.teacher_completion_tokens,
                prices_file,
            )
        ]
        if self.judge_calls:
            out.append(
                RoleBound.priced(
                    "judge",
                    judge,
                    self.judge_calls,
                    self.judge_prompt_tokens,
                    self.judge_completion_tokens,
                    prices_file,
                )
            )
        return out


@dataclass(frozen=True)
class RoleBound:
    """The upper bound for one model: its calls, tokens and their cost (None: no price known)."""

    role: str  # teacher | judge
    spec: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None

    @classmethod
    def priced(
        cls, role: str, spec: str, calls: int, prompt: int, completion: int, prices_file: str | None
    ) -> RoleBound:
        """USD at `spec`'s price (0 for local models); None when the price is unknown."""
        from rft.teachers import parse_spec, price_of

        price = price_of(*parse_spec(spec), Path(prices_file) if prices_file else None)
        usd = None if price is None else price.cost(prompt, completion)
        return cls(role, spec, calls, prompt, completion, usd)


def total_cost(roles: list[RoleBound]) -> float | None:
    """The cost bound of the whole run: unknown when any model's price is."""
    return sum_cost(r.cost_usd for r in roles)


def _max_expansions(p: SearchConfig) -> int:
    by_nodes = max(1, p.max_nodes // p.branches)
    if p.strategy == "beam":
        by_tree = 1 + (p.max_depth - 1) * p.beam_width
    else:
        by_tree = sum(p.branches**d for d in range(p.max_depth))
    return min(by_nodes, by_tree)


def _one_problem(q: int, p: SearchConfig, judged: bool, judge_max_tokens: int) -> list[int]:
    """[teacher calls, prompt, completion, judge calls, prompt, completion] for one problem."""
    if p.strategy == "sample":
        teacher = [1, PROMPT_OVERHEAD + q, p.samples * p.max_tokens_per_sample]
        judge = [
            p.samples,
            p.samples * (JUDGE_OVERHEAD + q + p.max_tokens_per_sample),
            p.samples * judge_max_tokens,
        ]
    else:
        e = _max_expansions(p)
        context = PROMPT_OVERHEAD + q + (p.max_depth - 1) * p.max_tokens_per_step
        teacher = [e, e * context, e * p.branches * p.max_tokens_per_step]
        if p.reflect == "teacher":  # at most one self-check per candidate whose final answer fails
            checks = e * p.branches
            teacher = [
                teacher[0] + checks,
                teacher[1] + checks * (context + p.max_tokens_per_step),
                teacher[2] + checks * p.max_tokens_per_step,
            ]
        judge = [
            e * p.branches,
            e * p.branches * (JUDGE_OVERHEAD + context + p.max_tokens_per_step),
            e * p.branches * judge_max_tokens,
        ]
    if not judged:
        judge = [0, 0, 0]
    total = sum(teacher[1:]) + sum(judge[1:])
    if p.max_tokens_per_problem is not None and total > p.max_tokens_per_problem:
        # The budget is checked before each call, so the last call may overshoot it by one call's size.
        calls = teacher[0] + judge[0]
        per_call = total / max(calls, 1)
        share = min(1.0, (p.max_tokens_per_problem + per_call) / total)
        teacher = [teacher[0]] + [int(x * share) + 1 for x in teacher[1:]]
        judge = [judge[0]] + [int(x * share) + 1 for x in judge[1:]] if judged else judge
        allowed = int(p.max_tokens_per_problem / max(per_call, 1)) + 1
        if calls > allowed:
            teacher[0] = min(teacher[0], allowed)
            judge[0] = min(judge[0], allowed)
    return teacher + judge


def estimate(problems: list[Problem], p: SearchConfig, judged: bool, judge_max_tokens: int) -> Estimate:
    """Upper bound over all `problems` (a search stops earlier when it solves a problem)."""
    sums = [0] * 6
    for prob in problems:
        for i, x in enumerate(_one_problem(approx_tokens(prob.question), p, judged, judge_max_tokens)):
            sums[i] += x
    return Estimate(len(problems), *sums)
