"""Search strategies over candidate steps: dfs, beam, best-first, and the `sample` baseline.

Everything here is plain async code over schema objects with the teacher and the validator
injected, so it runs the same against a real model and against a scripted test teacher.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rft.generate.blame import blame_by_critique, parse_reflection
from rft.generate.config import SearchConfig
from rft.generate.echo import echo_reason
from rft.generate.labels import answer_correct
from rft.generate.parsing import (
    STOP_SEQUENCES,
    answer_survives_cut,
    final_program,
    parse_code_step,
    parse_step_ends,
    split_solution,
)
from rft.generate.prompts import PromptSet
from rft.generate.tree import Meter, Proposal, Stop, Tree, derive_seed
from rft.schemas import EventType, Node, NodeKind, NodeStatus, Problem, Trace, Usage, Verdict
from rft.teachers.base import Completion, Teacher
from rft.verify.arithmetic import false_equation
from rft.verify.code import task_text
from rft.verify.grader import check_answer
from rft.verify.steps import Candidate, Judgement, StepValidator


@dataclass
class SearchResult:
    trace: Trace
    solution: Node | None
    stop_reason: str | None
    meter: Meter
    backtracks: int
    wall_time_s: float
    metadata: dict[str, Any] = field(default_factory=dict)
    pruned: int = 0
    correct: bool | None = None  # the gold check of the final answer, whatever validator ranked steps

    @property
    def final_answer(self) -> str | None:
        return self.solution.final_answer if self.solution is not None else None


async def gather_all(*aws):
    """Like asyncio.gather, but waits for every awaitable before raising the first exception, so no
    sibling keeps running (and mutating the tree) after a budget stop."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


class Searcher:
    """Runs one strategy on one problem."""

    def __init__(
        self,
        teacher: Teacher,
        validator: StepValidator,
        prompts: PromptSet,
        params: SearchConfig,
        run_guard: Callable[[], str | None] | None = None,
        on_usage: Callable[[Completion], None] | None = None,
    ) -> None:
        self.teacher = teacher
        self.validator = validator
        self.prompts = prompts
        self.p = params
        self.run_guard = run_guard
        self.on_usage = on_usage

    # --- one problem ---
    async def run(self, problem: Problem) -> SearchResult:
        t0 = time.monotonic()
        meter = Meter(self.p.max_tokens_per_problem, self.run_guard, self.on_usage)
        tree = Tree(threshold=self.p.threshold)
        root = tree.add_root()
        ctx = _Ctx(self, problem, tree, meter)
        solution: Node | None = None
        stop: str | None = None
        meta: dict[str, Any] = {}
        try:
            if self.p.strategy == "dfs":
                solution, why, _ = await ctx.dfs(root)
            elif self.p.strategy == "beam":
                solution, why = await ctx.beam(root)
            elif self.p.strategy == "best-first":
                solution, why = await ctx.best_first(root)
            else:
                solution, why = await ctx.sample(root, meta)
            if solution is None:
                tree.event(EventType.give_up, node=root.id, reason=why)
        except Stop as s:
            stop = s.reason
            tree.event(EventType.give_up, node=root.id, reason=f"budget: {s.reason}")
        tree.finalize(solution, stopped=stop is not None)
        correct = None if solution is None else answer_correct(solution, problem.answer, problem.domain.value)
        if correct is None and solution is not None:
            correct = await program_passes(problem, solution)
        return SearchResult(
            trace=tree.trace(self.p.strategy),
            solution=solution,
            stop_reason=stop or ("solved" if solution is not None else "exhausted"),
            meter=meter,
            backtracks=tree.backtracks,
            wall_time_s=time.monotonic() - t0,
            metadata=meta,
            pruned=tree.pruned,
            # checked against gold (a code problem's tests) where there is one, whatever validator ranked
            # the steps
            correct=correct,
        )


async def program_passes(problem: Problem, solution: Node) -> bool | None:
    """Whether the program a code problem's solution ends in passes the problem's tests in the sandbox
    (the gold check of a program a judge accepted); None when there is no program or no tests, or
    the sandbox could not run it."""
    if problem.domain.value != "code" or not problem.tests or solution.final_answer is None:
        return None
    from rft.verify.grader import CODE_TESTS

    grade = await asyncio.to_thread(CODE_TESTS.grade, problem, solution.final_answer)
    return {Verdict.correct: True, Verdict.incorrect: False}.get(grade.verdict)


class _Ctx:
    """State of one problem's search."""

    def __init__(self, s: Searcher, problem: Problem, tree: Tree, meter: Meter) -> None:
        self.s, self.p, self.problem, self.tree, self.meter = s, s.p, problem, tree, meter
        self.located: dict[str, Node | None] = {}  # failed final -> the step found wrong (None: none)

    # --- proposal and judging ---
    def _seed(self, *parts: object) -> int:
        return derive_seed(self.p.seed, self.problem.id, *parts)

    def _proposals(self, comps: list[Completion], whole: bool) -> list[Proposal]:
        out = []
        code, entry = self.problem.domain.value == "code", self.problem.entry_point
        for c in comps:
            truncated = c.truncated
            if whole and code:
                text, final = c.text.strip(), final_program(c.text, entry)
                truncated = truncated and final is None  # a closed program block survived the cut
            elif whole:
                steps, final = split_solution(c.text)
                text = c.text.strip()
                # a solution that stated its answer whole before running on is not cut short
                truncated = truncated and not (final is not None and answer_survives_cut(c.text))
            elif code:  # the final step is the program (see rft.generate.parsing)
                text, final, ended = parse_code_step(c.text, entry, truncated=c.truncated)
                truncated = truncated and not ended
            else:
                text, final, ended = parse_step_ends(c.text, truncated=c.truncated)
                truncated = truncated and not ended
            out.append(
                Proposal(
                    text=text,
                    final_answer=final,
                    truncated=truncated,
                    usage=Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens),
                    teacher=self.s.teacher.spec,
                    raw=c.text,
                )
            )
        return out

    async def expand(self, node: Node) -> list[Node]:
        """Propose `branches` next steps under `node`, judge them, return them ranked best first."""
        if len(self.tree.nodes) - 1 + self.p.branches > self.p.max_nodes:
            raise Stop("max_nodes")
        steps = self.tree.path_texts(node)
        messages = self.s.prompts.step_messages(task_text(self.problem), steps, self.problem.domain.value)
        comps = await self.meter.chat(
            self.s.teacher,
            messages,
            n=self.p.branches,
            temperature=self.p.temperature,
            max_tokens=self.p.max_tokens_per_step,
            stop=STOP_SEQUENCES,
            seed=self._seed(node.id),
        )
        kids = self.tree.add_candidates(node, self._proposals(comps, whole=False))
        return await self.judge(kids, steps, messages)

    async def judge(self, kids: list[Node], steps: list[str], prompt: list[dict[str, str]]) -> list[Node]:
        """Score candidates (answers to `prompt`) with the validator. A step cut off by max_tokens is
        incomplete (its calculation or answer may be half written): it scores 0 without asking the
        validator, so it is never taken onto a path, and stays in the tree as a rejected candidate."""
        settled = {k.id: j for k in kids if (j := self.settle(k, prompt)) is not None}
        whole = [k for k in kids if k.id not in settled]
        cands = [Candidate(k.text, k.final_answer) for k in whole]
        js = (
            await self.s.validator.score(
                self.problem, steps, cands, self.meter.chat, self._seed("judge", *(k.id for k in kids))
            )
            if whole
            else []
        )
        by_id = dict(zip((k.id for k in whole), js, strict=True)) | settled
        return self.tree.apply(kids, [by_id[k.id] for k in kids])

    def settle(self, node: Node, prompt: list[dict[str, str]]) -> Judgement | None:
        """A judgement that needs no validator: a step cut off at the token limit, an echo of the
        instructions (`<answer>`, the prompt's own sentences), or a step whose written-out arithmetic
        is false (`10 + 8 = 19`: a calculator check, whose finding is a reason the student can give
        itself). All score 0; a final answer keeps its gold check."""
        if node.truncated:
            return Judgement(
                0.0, "The step was cut off at the token limit before it ended.", None, "truncated"
            )
        if self.problem.domain.value == "code" and node.final_answer is not None:
            return None  # a program: its tests decide (its lines are neither prose nor arithmetic)
        if node.kind == NodeKind.step and (echo := echo_reason(node.text, prompt)):
            return Judgement(0.0, echo, self.gold_verdict(node), "echo")
        wrong = false_equation(node.text)
        if wrong is None:
            return None
        return Judgement(0.0, wrong.reason, self.gold_verdict(node), "arithmetic")

    def gold_verdict(self, node: Node) -> Verdict | None:
        """The gold check of a final answer the validator will not see (None: no final answer)."""
        if node.final_answer is None:
            return None
        if not self.problem.answer:
            return Verdict.unknown
        return check_answer(node.final_answer, self.problem.answer, self.problem.domain.value)

    def accepts(self, node: Node) -> bool:
        """A final answer is accepted when it checks out, or when nothing can check it and it scores well."""
        if node.verdict == Verdict.correct:
            return True
        if node.verdict == Verdict.incorrect:
            return False
        return self.tree.effective(node) >= self.p.threshold

    def below(self, node: Node) -> bool:
        return self.tree.effective(node) < self.p.threshold

    def backtrack(self, frm: Node, to: Node, reason: str) -> None:
        if self.tree.backtracks >= self.p.max_backtracks:
            # the search stops where it stands: `frm` stays the end of the current path
            raise Stop("max_backtracks")
        self.tree.backtrack(frm, to, reason)

    @staticmethod
    def wrong_reason(node: Node) -> str:
        return node.critique or f"the final answer {node.final_answer} does not check out"

    def failed(self, node: Node) -> bool:
        """A candidate whose final answer failed its check."""
        return node.final_answer is not None and node.verdict == Verdict.incorrect

    async def review(self, kids: list[Node]) -> tuple[Node, Node] | None:
        """Find the wrong step behind every failed final answer among new candidates. Returns (the
        failed final, the earlier step shown wrong) for the first whose fault lies above it."""
        for k in kids:
            if self.failed(k):
                blamed = await self.locate(k)
                if blamed is not None and blamed.depth < k.depth:
                    return k, blamed
        return None

    async def locate(self, final: Node) -> Node | None:
        """The step on the path to `final` (a final answer that was not accepted) that was wrong.

        The judge's critiques along the path decide where they found a step wrong; when the only
        evidence is the failed final answer and `reflect` is `teacher`, the teacher is asked once to
        check its steps without being told the correct answer, and its self-check is recorded as a
        reflection node (renders then need no teacher)."""
        if final.id in self.located:
            return self.located[final.id]
        path = self.tree.ancestors(final)[::-1][1:]
        blamed = blame_by_critique(path, self.p.threshold)
        if blamed is not None or self.p.reflect != "teacher" or final.verdict != Verdict.incorrect:
            self.located[final.id] = blamed
            return blamed
        messages = self.s.prompts.reflect_messages(
            task_text(self.problem), [n.text for n in path], self.problem.domain.value
        )
        comps = await self.meter.chat(
            self.s.teacher,
            messages,
            n=1,
            temperature=0.0,
            max_tokens=self.p.max_tokens_per_step,
            stop=None,
            seed=self._seed("reflect", final.id),
        )
        c = comps[0] if comps else None
        text = c.text.strip()[:600] if c is not None else ""
        blamed, _ = parse_reflection(text, path)
        usage = Usage(
            prompt_tokens=c.prompt_tokens if c else 0, completion_tokens=c.completion_tokens if c else 0
        )
        self.tree.add_reflection(final, text, usage, self.s.teacher.spec, blamed)
        self.located[final.id] = blamed
        return blamed

    # --- dfs ---
    async def dfs(self, node: Node) -> tuple[Node | None, str, int | None]:
        """(solution, why not, depth to unwind to). A wrong final answer whose fault lies in an
        earlier step goes back to the step before that one in one backtrack, not level by level."""
        kids = await self.expand(node)
        if kids and kids[0].final_answer is not None and self.accepts(kids[0]):
            self.tree.select(kids[0])
            self.tree.solve(kids[0])
            with contextlib.suppress(Stop):  # the wrong finals beside it, as far as budgets allow
                await self.review(kids[1:])
            return kids[0], "solved", None
        jump = await self.review(kids)
        if jump is not None:
            final, blamed = jump
            to = next(a for a in self.tree.ancestors(final) if a.depth == blamed.depth - 1)
            if self.tree.backtracks >= self.p.max_backtracks:
                raise Stop("max_backtracks")  # before `final` is selected: the path stays as it was
            reason = f"step {blamed.depth} was wrong ({self.wrong_reason(final)})"
            self.tree.select(final)
            self.backtrack(final, to, reason)
            return None, reason, to.depth
        why = "no candidate step led to an accepted answer"
        for child in kids:
            if self.failed(child):
                continue  # reviewed above: a wrong candidate, never a step to build on
            if self.below(child):
                score = "unknown" if child.score is None else f"{child.score:.2f}"
                why = f"the best remaining step scored {score}, below the threshold {self.p.threshold:.2f}"
                break
            self.tree.select(child)
            if child.final_answer is not None:
                if self.accepts(child):
                    self.tree.solve(child)
                    return child, "solved", None
                self.backtrack(child, node, self.wrong_reason(child))
                continue
            if child.depth >= self.p.max_depth:
                self.backtrack(child, node, f"no final answer within {self.p.max_depth} steps")
                continue
            found, sub_why, unwind = await self.dfs(child)
            if found is not None:
                return found, "solved", None
            if unwind is not None:
                if unwind < node.depth:
                    return None, sub_why, unwind
                continue  # the backtrack came back to this step: try its next candidate
            self.backtrack(child, node, sub_why)
        return None, why, None

    # --- beam ---
    async def beam(self, root: Node) -> tuple[Node | None, str]:
        frontier = [root]
        for _depth in range(1, self.p.max_depth + 1):
            room = (self.p.max_nodes - (len(self.tree.nodes) - 1)) // self.p.branches
            if room <= 0:
                raise Stop("max_nodes")
            out_of_room = room < len(frontier)
            frontier = frontier[:room]
            groups = await gather_all(*(self.expand(n) for n in frontier))
            pool: list[Node] = [k for g in groups for k in g]
            order = {k.id: i for i, k in enumerate(pool)}
            pool.sort(key=lambda k: (-self.tree.effective(k), order[k.id]))
            finals = [k for k in pool if k.final_answer is not None]
            winners = [k for k in finals if self.accepts(k)]
            if winners:  # a correct final step is taken before any budget can stop the search
                best = winners[0]
                on_path = {a.id for a in self.tree.ancestors(best)}
                for n in frontier:  # the other paths in the beam are left here: pruned, not wrong
                    if n.id not in on_path:
                        self.tree.prune(n, "another path in the beam reached an accepted answer")
                self.tree.select(best)
                self.tree.solve(best)
                with contextlib.suppress(Stop):  # the wrong finals beside it, as far as budgets allow
                    await self.review([k for k in finals if k.parent == best.parent])
                return best, "solved"
            await self.review(finals)
            keep = [k for k in pool if k.final_answer is None and not self.below(k)][: self.p.beam_width]
            for k in keep:
                self.tree.select(k)
            kept_parents = {k.parent for k in keep}
            for n in frontier:
                if n.parent is not None and n.id not in kept_parents:
                    self.tree.prune(n, "its continuations fell out of the beam")
            if out_of_room:
                raise Stop("max_nodes")
            if not keep:
                return None, "no candidate in the beam scored above the threshold"
            frontier = keep
        for n in frontier:
            self.backtrack(n, self.tree.nodes[n.parent], f"no final answer within {self.p.max_depth} steps")
        return None, f"no final answer within {self.p.max_depth} steps"

    # --- best-first ---
    async def best_first(self, root: Node) -> tuple[Node | None, str]:
        heap: list[tuple[float, int, str]] = []
        seq = 0

        def push(nodes: list[Node]) -> None:
            nonlocal seq
            for k in nodes:
                heapq.heappush(heap, (-self.tree.effective(k), seq, k.id))
                seq += 1

        async def expand(node: Node) -> None:
            kids = await self.expand(node)
            push(kids)
            await self.review(kids)

        await expand(root)
        current: Node = root
        while heap:
            _, _, nid = heapq.heappop(heap)
            node = self.tree.nodes[nid]
            if self.below(node):
                return None, "no open step scores above the threshold"
            if current is not root and node.parent != current.id:
                # the focus moves elsewhere: leave the current branch up to the common ancestor
                anc = {a.id for a in self.tree.ancestors(node)}
                to = next(a for a in self.tree.ancestors(current) if a.id in anc)
                reason = current.metadata.pop("left_because", None) or "a step elsewhere scores higher"
                self.backtrack(current, to, reason)
            for a in self.tree.ancestors(node)[1:-1]:  # the path to `node` is the current path again
                a.status = NodeStatus.selected
            self.tree.select(node)
            current = node
            if node.final_answer is not None:
                if self.accepts(node):
                    self.tree.solve(node)
                    return node, "solved"
                await self.locate(node)
                node.metadata["left_because"] = self.wrong_reason(node)
                continue
            if node.depth >= self.p.max_depth:
                node.metadata["left_because"] = f"no final answer within {self.p.max_depth} steps"
                continue
            await expand(node)
        if current is not root:
            self.backtrack(current, root, current.metadata.pop("left_because", None) or "no open steps left")
        return None, "no open steps left"

    # --- sample (rejection sampling baseline) ---
    async def sample(self, root: Node, meta: dict[str, Any]) -> tuple[Node | None, str]:
        messages = self.s.prompts.sample_messages(task_text(self.problem), self.problem.domain.value)
        comps = await self.meter.chat(
            self.s.teacher,
            messages,
            n=self.p.samples,
            temperature=self.p.temperature,
            max_tokens=self.p.max_tokens_per_sample,
            stop=None,
            seed=self._seed("sample"),
        )
        kids = self.tree.add_candidates(
            root, self._proposals(comps, whole=True), kind=NodeKind.solution_sample
        )
        await self.judge(kids, [], messages)
        meta["samples"] = len(kids)
        meta["samples_correct"] = sum(k.verdict == Verdict.correct for k in kids)
        meta["samples_with_answer"] = sum(k.final_answer is not None for k in kids)
        for k in kids:  # sample order, not score order: the first correct sample wins
            if k.final_answer is not None and self.accepts(k):
                self.tree.select(k)
                self.tree.solve(k)
                return k, "solved"
        return None, "no sample was accepted"
