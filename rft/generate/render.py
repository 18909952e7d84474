"""Renderers: a record's trace -> chat messages for training. Pure and deterministic for a seed.

- `path`: only the chosen path, as numbered steps (the baseline).
- `backtrack`: the exploration as it happened: wrong steps, then a natural backtrack sentence that
  uses the critique and names the step it returns to. Every rendered backtrack corresponds to a
  backtrack event of the trace (`rendered_backtracks` returns those pairs).
- `search`: explicit search notation in the style of Stream of Search (Gandhi et al., 2024).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rft.errors import ConfigError
from rft.schemas import EventType, Message, Node, NodeKind, NodeStatus, Record, Trace, Verdict

RENDERERS = ("backtrack", "path", "search")

_BACK_WITH_CRITIQUE = [
    "Wait, that's not right: {critique} Let me go back to {target} and try again.",
    "Hmm, this doesn't work. {critique} Going back to {target}.",
    "Let me check that. {critique} So I'll return to {target} and take a different approach.",
    "That can't be right. {critique} Back to {target}.",
    "Actually, this is a mistake: {critique} I'll go back to {target}.",
]
_BACK_PLAIN = [
    "Wait, this isn't leading anywhere. Let me go back to {target} and try again.",
    "Hmm, that approach doesn't work out. Going back to {target}.",
    "That doesn't look right. Let me return to {target} and try something else.",
    "This path is a dead end, so I'll go back to {target}.",
]


@dataclass
class _Ctx:
    trace: Trace
    rng: random.Random
    max_wrong: int
    index: dict[str, Node]
    kids: dict[str, list[Node]]
    first_seen: dict[str, int]
    backs: list[tuple[str, str]]  # (from_node, to_node) of every backtrack event
    rendered: list[tuple[str, str]] = field(default_factory=list)


def _context(trace: Trace, seed: int, max_wrong: int, key: str) -> _Ctx:
    index = trace.by_id()
    kids: dict[str, list[Node]] = {}
    for n in trace.nodes:
        if n.parent is not None:
            kids.setdefault(n.parent, []).append(n)
    first_seen: dict[str, int] = {}
    for i, e in enumerate(trace.events):
        for ref in (e.node, e.from_node):
            if ref is not None and ref not in first_seen and e.type != EventType.expand:
                first_seen[ref] = i
    backs = [(e.from_node, e.to_node) for e in trace.events if e.type == EventType.backtrack]
    return _Ctx(trace, random.Random(f"{seed}:{key}"), max_wrong, index, kids, first_seen, backs)  # type: ignore[arg-type]


def _in_subtree(ctx: _Ctx, node_id: str, top: str) -> bool:
    cur: str | None = node_id
    while cur is not None:
        if cur == top:
            return True
        cur = ctx.index[cur].parent
    return False


def _backtrack_event_for(ctx: _Ctx, child: Node, parent: Node) -> tuple[str, str] | None:
    """The backtrack event that left `child`'s subtree for `parent`, if the trace has one."""
    for frm, to in ctx.backs:
        if to == parent.id and _in_subtree(ctx, frm, child.id):
            return frm, to
    return None


def _target(parent: Node) -> str:
    if parent.parent is None:
        return "the beginning"
    return f"step {parent.depth}"


def _back_sentence(ctx: _Ctx, node: Node, parent: Node) -> str:
    """A natural backtrack sentence. The critique is used when it explains the failure: the step
    stated a wrong final answer or was itself scored low (a high-scored step whose subtree failed
    gets a plain sentence: its own critique praises it)."""
    explains = node.verdict == Verdict.incorrect or (node.score is not None and node.score < 0.5)
    critique = (node.critique or "").strip() if explains else ""
    target = _target(parent)
    if critique:
        if not critique.endswith((".", "!", "?")):
            critique += "."
        critique = critique[0].upper() + critique[1:]
        return ctx.rng.choice(_BACK_WITH_CRITIQUE).format(critique=critique, target=target)
    return ctx.rng.choice(_BACK_PLAIN).format(target=target)


def _wrong_children(ctx: _Ctx, node: Node) -> list[tuple[Node, tuple[str, str]]]:
    """Explored children of `node` that were backtracked out of, in the order they were explored."""
    out = []
    for k in ctx.kids.get(node.id, []):
        if k.status != NodeStatus.dead_end or k.id not in ctx.first_seen:
            continue
        ev = _backtrack_event_for(ctx, k, node)
        if ev is not None:
            out.append((k, ev))
    out.sort(key=lambda pair: ctx.first_seen[pair[0].id])
    return out[: ctx.max_wrong]


def _excursion(ctx: _Ctx, node: Node, parent: Node, ev: tuple[str, str], lines: list[str]) -> None:
    lines.append(node.text.strip())
    for k, kev in _wrong_children(ctx, node):
        _excursion(ctx, k, node, kev, lines)
    lines.append(_back_sentence(ctx, node, parent))
    ctx.rendered.append(ev)


def _backtrack_text(ctx: _Ctx) -> str:
    path = ctx.trace.selected_path()
    lines: list[str] = []
    for i, node in enumerate(path):
        for k, ev in _wrong_children(ctx, node):
            _excursion(ctx, k, node, ev, lines)
        if i + 1 < len(path):
            lines.append(path[i + 1].text.strip())
    return "\n\n".join(line for line in lines if line)


def _path_text(trace: Trace) -> str:
    steps = [n for n in trace.selected_path() if n.parent is not None]
    if len(steps) == 1 and steps[0].kind == NodeKind.solution_sample:
        return steps[0].text.strip()
    return "\n".join(f"Step {i}: {n.text.strip()}" for i, n in enumerate(steps, 1))


def _labels(trace: Trace) -> dict[str, str]:
    labels: dict[str, str] = {}
    for n in trace.nodes:  # parents are created before children
        if n.parent is None:
            labels[n.id] = "0"
    for n in trace.nodes:
        if n.parent is not None:
            sibs = trace.children(n.parent)
            labels[n.id] = f"{labels[n.parent]}.{sibs.index(n) + 1}"
    return labels


def _search_text(trace: Trace) -> str:
    """Stream-of-Search style: every expansion, move, backtrack and the goal, in event order."""
    index, labels = trace.by_id(), _labels(trace)
    lines: list[str] = []
    for e in trace.events:
        if e.type == EventType.expand:
            lines.append(f"Current node {labels[e.node]}. Generating {len(e.children)} candidate steps:")
            for cid in sorted(e.children, key=lambda c: labels[c]):
                c = index[cid]
                score = "?" if c.score is None else f"{c.score:.2f}"
                lines.append(f"  Node {labels[cid]} (score {score}): {c.text.strip()}")
        elif e.type == EventType.select:
            lines.append(f"Moving to node {labels[e.node]}.")
        elif e.type == EventType.backtrack:
            why = f" ({e.reason.strip()})" if e.reason else ""
            lines.append(
                f"Node {labels[e.from_node]} is a dead end{why}. Backtracking to node {labels[e.to_node]}."
            )
        elif e.type == EventType.solve:
            lines.append(f"Goal reached at node {labels[e.node]}. Final answer: {index[e.node].final_answer}")
        elif e.type == EventType.give_up:
            lines.append(f"No solution found ({e.reason or 'search ended'}).")
    return "\n".join(lines)


def _finish(text: str, record: Record) -> str:
    """Make sure a solved trace ends by stating its final answer in the parseable form."""
    answer = record.outcome.final_answer
    if answer and text and "final answer" not in text.lower().splitlines()[-1]:
        text += f"\n\nFinal answer: {answer}"
    return text


def render(
    record: Record, style: str = "backtrack", seed: int = 0, max_wrong_per_node: int = 2
) -> list[Message]:
    """Chat messages (user question, assistant reasoning) for `record` in `style`."""
    text, _ = render_with_backtracks(record, style, seed, max_wrong_per_node)
    return [Message(role="user", content=record.problem.question), Message(role="assistant", content=text)]


def render_with_backtracks(
    record: Record, style: str = "backtrack", seed: int = 0, max_wrong_per_node: int = 2
) -> tuple[str, list[tuple[str, str]]]:
    """The assistant text and the (from_node, to_node) backtrack events it renders, in order."""
    if style not in RENDERERS:
        raise ConfigError(f"--render: unknown renderer {style!r} (choose from {', '.join(RENDERERS)})")
    if max_wrong_per_node < 0:
        raise ConfigError(f"--max-wrong-per-node must be >= 0, got {max_wrong_per_node}")
    trace = record.trace
    if not trace.nodes:
        return "", []
    if style == "path":
        return _finish(_path_text(trace), record), []
    if style == "search":
        backs = [(e.from_node, e.to_node) for e in trace.events if e.type == EventType.backtrack]
        return _search_text(trace), backs  # type: ignore[return-value]
    ctx = _context(trace, seed, max_wrong_per_node, record.problem.id)
    return _finish(_backtrack_text(ctx), record), ctx.rendered
