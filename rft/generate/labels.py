"""Step-level labels from a search tree (process supervision), and the stepwise rows built from them.

A step's `value` is the share of correct final answers among the explored final answers in its
subtree (itself included) whose correctness is known; with none below, its validator score. Rows
follow the stepwise-supervision format of Hub PRM datasets such as `trl-lib/math_shepherd`:
`prompt`, `completions` (the steps), `labels` (a bool per step).
"""

from __future__ import annotations

from typing import Any

from rft.schemas import Node, NodeKind, NodeStatus, Record, Trace, Verdict
from rft.verify.code import task_text
from rft.verify.grader import answer_grader


def answer_correct(node: Node, gold: str | None, domain: str) -> bool | None:
    """Whether `node`'s final answer is correct: against `gold` when given, else the node's verdict;
    None when unknown (no final answer, an unreadable answer, no verdict)."""
    if node.final_answer is None:
        return None
    verdict = answer_grader(gold, domain).check(node.final_answer, gold).verdict if gold else node.verdict
    if verdict == Verdict.correct:
        return True
    if verdict == Verdict.incorrect:
        return False
    return None


def _counts_final(node: Node) -> bool:
    return node.kind != NodeKind.reflection and node.status != NodeStatus.unexplored


def fill_values(trace: Trace, gold: str | None, domain: str) -> None:
    """Set `value` on every node but reflections (in place), the root included."""
    if not trace.nodes:
        return
    correct: dict[str, int] = {}
    known: dict[str, int] = {}
    # deepest first, so each node's own counts are complete before they are added to its parent
    for node in sorted(trace.nodes, key=lambda n: n.depth, reverse=True):
        if node.kind == NodeKind.reflection:
            continue
        ok = answer_correct(node, gold, domain) if _counts_final(node) else None
        c = correct.get(node.id, 0) + (ok is True)
        k = known.get(node.id, 0) + (ok is not None)
        node.value = c / k if k else node.score
        if node.parent is not None:
            correct[node.parent] = correct.get(node.parent, 0) + c
            known[node.parent] = known.get(node.parent, 0) + k


def _steps_to(trace: Trace, node: Node) -> list[Node]:
    """The steps from the root's child down to `node` (a reflection is never a step)."""
    return [a for a in trace.ancestors(node.id) if a.parent is not None and a.kind != NodeKind.reflection]


def stepwise_rows(record: Record) -> list[dict[str, Any]]:
    """One row per explored final-answer node whose correctness is known: `prompt` (the question),
    `completions` (step texts from the root's child down to that node), `labels` (value >= 0.5 per
    step; the last one is that answer's correctness), `values` (the floats) and `id`
    (`<record id>/<node id>`). Rows with the same completions are given once (the first)."""
    trace = record.trace
    if not trace.nodes:
        return []
    gold, domain = record.problem.answer, record.problem.domain.value
    finals = [
        (n, ok)
        for n in trace.nodes
        if n.parent is not None and _counts_final(n) and (ok := answer_correct(n, gold, domain)) is not None
    ]
    paths = [_steps_to(trace, n) for n, _ in finals]
    if any(a.value is None for path in paths for a in path):  # values not filled yet: fill a copy
        trace = trace.model_copy(deep=True)
        fill_values(trace, gold, domain)
        index = trace.by_id()
        paths = [[index[a.id] for a in path] for path in paths]
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for (node, ok), path in zip(finals, paths, strict=True):
        completions = [a.text.strip() for a in path]
        if tuple(completions) in seen:
            continue
        seen.add(tuple(completions))
        values = [float(a.value) for a in path]  # type: ignore[arg-type]  # filled above
        labels = [v >= 0.5 for v in values[:-1]] + [ok]
        rows.append(
            {
                "id": f"{record.id}/{node.id}",
                "prompt": task_text(record.problem),
                "completions": completions,
                "labels": labels,
                "values": values,
            }
        )
    return rows
