"""Renderers: a record's trace -> chat messages for training. Pure and deterministic for a seed: no
teacher is called (a self-check the teacher wrote during the search is a `reflection` node of the trace).

- `path`: only the chosen path, as numbered steps (the baseline).
- `backtrack`: the exploration, told as reasoning: a wrong step, then a reflection that names the step
  that was wrong (`step k`) and says why, in words from the judge's critique of that step or from the
  teacher's self-check, then the corrected step. Never a score, a checker's verdict or the gold answer:
  a student cannot know those at inference. A dead end nothing explains is left out of the text.
- `search`: Stream-of-Search structure (Gandhi et al., 2024): candidates per step, moves, backtracks,
  the goal; the evaluation words come from critiques, never from scores.
- `think`: the exploration inside `<think>...</think>`, then the clean numbered solution and the final
  answer (the format of R1-style reasoning datasets).

Every rendered backtrack is a `Part` (see `backtrack_parts`), which says which step it blames, where
its reason came from and which steps it abandons, so tests and tools can audit each one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from rft.errors import ConfigError
from rft.generate.blame import (
    blame_by_critique,
    parse_reflection,
    punctuated,
    specificity,
    usable_critique,
)
from rft.generate.tree import same_text_key
from rft.schemas import EventType, Message, Node, NodeKind, NodeStatus, Record, Trace
from rft.verify.code import task_text

RENDERERS = ("backtrack", "path", "search", "think")

_BACK = [
    "Wait, step {k} is wrong: {reason} {go}",
    "Checking step {k} again: {reason} {go}",
    "Step {k} has a mistake: {reason} {go}",
    "Hold on, there is a problem with step {k}: {reason} {go}",
]
_BACK_PLAIN = [  # --reflect none: a backtrack without a reason
    "This is not working out. {go}",
    "That does not lead anywhere. {go}",
]
_REDO = ["Let me redo step {k}.", "I'll write step {k} again.", "Let me try step {k} differently."]
_BACK_TO = [
    "Going back to step {t}.",
    "Let me go back to step {t} and continue differently from there.",
    "I'll return to step {t} and try again.",
]
_RESTART = ["Let me start over from the beginning.", "Going back to the beginning."]


@dataclass(frozen=True)
class Part:
    """One paragraph of the `backtrack` render.

    kind `step`: `node` rendered as `Step {number}: ...`. kind `back`: a backtrack that blames step
    `number` (node `node`) for the reason in the critique or reflection of node `source`, abandons the
    steps `abandoned` and returns to step `target` (0 = the beginning). kind `final`: the final answer
    line added when the last step does not state it."""

    kind: str
    text: str
    node: str | None = None
    number: int | None = None
    target: int | None = None
    source: str | None = None
    abandoned: tuple[str, ...] = ()
    events: tuple[tuple[str, str], ...] = ()


@dataclass
class _Ctx:
    trace: Trace
    rng: random.Random
    max_wrong: int
    mode: str  # teacher | critique | none (the record's --reflect)
    threshold: float
    index: dict[str, Node]
    kids: dict[str, list[Node]]
    first_seen: dict[str, int]
    backs: list[tuple[str, str]]
    reflections: dict[str, list[Node]] = field(default_factory=dict)  # failed final -> its self-checks


def _context(record: Record, seed: int, max_wrong: int) -> _Ctx:
    trace = record.trace
    index = trace.by_id()
    kids: dict[str, list[Node]] = {}
    reflections: dict[str, list[Node]] = {}
    for n in trace.nodes:
        if n.parent is None:
            continue
        if n.kind == NodeKind.reflection:
            reflections.setdefault(n.parent, []).append(n)
        else:
            kids.setdefault(n.parent, []).append(n)
    first_seen: dict[str, int] = {}
    for i, e in enumerate(trace.events):
        for ref in (e.node, e.from_node):
            if ref is not None and ref not in first_seen and e.type != EventType.expand:
                first_seen[ref] = i
    backs = [(e.from_node, e.to_node) for e in trace.events if e.type == EventType.backtrack]
    mode = str(record.metadata.get("reflect") or "teacher")
    threshold = float(record.metadata.get("threshold", 0.5))
    return _Ctx(
        trace,
        random.Random(f"{seed}:{record.problem.id}"),
        max_wrong,
        mode,
        threshold,
        index,
        kids,
        first_seen,
        backs,  # type: ignore[arg-type]
        reflections,
    )


def _in_subtree(ctx: _Ctx, node_id: str, top: str) -> bool:
    cur: str | None = node_id
    while cur is not None:
        if cur == top:
            return True
        cur = ctx.index[cur].parent
    return False


def _leaving(ctx: _Ctx, child: Node, parent: Node) -> list[tuple[str, str]]:
    """Backtrack events that left `child`'s subtree for `parent` or a step above it."""
    return [
        (frm, to)
        for frm, to in ctx.backs
        if _in_subtree(ctx, frm, child.id) and _in_subtree(ctx, parent.id, to)
    ]


def _dead_children(ctx: _Ctx, node: Node) -> list[tuple[Node, list[tuple[str, str]]]]:
    """Explored children of `node` that were backtracked out of, in the order they were explored."""
    out = []
    for k in ctx.kids.get(node.id, []):
        if k.status != NodeStatus.dead_end or k.id not in ctx.first_seen:
            continue
        evs = _leaving(ctx, k, node)
        if evs:
            out.append((k, evs))
    out.sort(key=lambda pair: ctx.first_seen[pair[0].id])
    return out


def _step(node: Node) -> Part:
    return Part("step", f"Step {node.depth}: {node.text.strip()}", node=node.id, number=node.depth)


def _go(ctx: _Ctx, k: int | None, t: int) -> str:
    if k is not None and t == k - 1:
        return ctx.rng.choice(_REDO).format(k=k)
    if t == 0:
        return ctx.rng.choice(_RESTART)
    return ctx.rng.choice(_BACK_TO).format(t=t)


def _chain(ctx: _Ctx, node: Node) -> list[Node]:
    """The steps from the root's child down to `node`."""
    return [n for n in ctx.trace.ancestors(node.id) if n.parent is not None]


def _evidence(ctx: _Ctx, abandoned: tuple[str, ...]) -> tuple[Node, Node, str] | None:
    """(blamed step, source node, reason) for a backtrack abandoning `abandoned`, or None."""
    nodes = [ctx.index[i] for i in abandoned]
    blamed = blame_by_critique(nodes, ctx.threshold)
    if blamed is not None:
        return blamed, blamed, punctuated(usable_critique(blamed) or "")
    if ctx.mode != "teacher":
        return None
    for n in sorted(nodes, key=lambda n: n.depth):
        for r in ctx.reflections.get(n.id, []):
            target, reason = parse_reflection(r.text, _chain(ctx, n))
            if target is not None and target.id in abandoned:
                return target, r, reason
    return None


def _explain(ctx: _Ctx, back: Part) -> Part | None:
    """The backtrack sentence for `back`, or None when nothing a model could say explains it."""
    t = back.target or 0
    if ctx.mode == "none":
        return replace(back, text=ctx.rng.choice(_BACK_PLAIN).format(go=_go(ctx, None, t)))
    found = _evidence(ctx, back.abandoned)
    if found is None:
        return None
    blamed, source, reason = found
    k = blamed.depth
    text = ctx.rng.choice(_BACK).format(k=k, reason=reason, go=_go(ctx, k, t))
    return replace(back, text=text, node=blamed.id, number=k, source=source.id)


def _excursion(ctx: _Ctx, child: Node, parent: Node, evs: list[tuple[str, str]]) -> list[Part]:
    """Parts for exploring `child` and leaving it. A backtrack that ends the exploration below is
    folded into the one leaving `child` (two backtracks in a row are one: "Going back to step 1")."""
    parts = [_step(child)]
    dead = _dead_children(ctx, child)[: max(ctx.max_wrong, 1)]
    for k, kevs in dead:
        parts += _excursion(ctx, k, child, kevs)
    for block in _wrong_tries(ctx, child, None, ctx.max_wrong - len(dead)):
        parts += block
    back = Part("back", "", target=parent.depth, abandoned=(child.id,), events=tuple(evs))
    if parts[-1].kind == "back":  # consecutive backtracks are one
        prev = parts.pop()
        back = replace(
            back,
            abandoned=prev.abandoned + back.abandoned,
            events=tuple(dict.fromkeys(prev.events + back.events)),
        )
    parts.append(back)
    return parts


def _finalise(ctx: _Ctx, parts: list[Part]) -> list[Part]:
    """Explain the last (landing) backtrack of an excursion; an excursion nothing explains is dropped."""
    if not parts or parts[-1].kind != "back":
        return parts
    explained = _explain(ctx, parts[-1])
    return [] if explained is None else parts[:-1] + [explained]


def _excursion_parts(ctx: _Ctx, child: Node, parent: Node, evs: list[tuple[str, str]]) -> list[Part]:
    return _finalise(ctx, _settle_inner(ctx, _excursion(ctx, child, parent, evs)))


def _settle_inner(ctx: _Ctx, parts: list[Part]) -> list[Part]:
    """Explain every inner backtrack of an excursion (the last one is explained by the caller); an
    inner excursion nothing explains is dropped from its first step to its backtrack."""
    out: list[Part] = []
    starts: list[int] = []  # index in `out` where each open excursion began
    for p in parts[:-1]:
        if p.kind == "step":
            starts.append(len(out))
            out.append(p)
            continue
        explained = _explain(ctx, p)
        # the steps this backtrack abandons began at the first of them that is still open
        begin = starts[-len(p.abandoned)] if len(p.abandoned) <= len(starts) else 0
        del starts[-len(p.abandoned) :]
        if explained is None:
            del out[begin:]
        else:
            out.append(explained)
    return out + parts[-1:]


def _wrong_tries(ctx: _Ctx, node: Node, nxt: Node | None, room: int) -> list[list[Part]]:
    """Rejected candidates under `node` known to be wrong for a reason a model gave (the judge's
    specific critique, most specific first, or the teacher's self-check): each is shown as the
    wrong step and the reflection on it, before the step taken instead (`nxt`)."""
    if ctx.mode == "none" or room <= 0:
        return []
    taken = {same_text_key(nxt.text)} if nxt is not None else set()
    tries = []
    for k in ctx.kids.get(node.id, []):
        if k.status != NodeStatus.rejected or k.kind != NodeKind.step:
            continue
        found = _evidence(ctx, (k.id,))
        if found is None or found[0].id != k.id:
            continue
        by_critique = found[1].id == k.id
        if by_critique and specificity(k) == 0:
            continue  # a generic "this is wrong" teaches nothing
        tries.append((0 if by_critique else 1, -specificity(k), k.id, k))
    out = []
    for *_, k in sorted(tries):
        if same_text_key(k.text) in taken:
            continue
        taken.add(same_text_key(k.text))
        back = _explain(ctx, Part("back", "", target=node.depth, abandoned=(k.id,)))
        if back is not None:
            out.append([_step(k), back])
        if len(out) >= room:
            break
    return out


def _repeats(block: list[Part], following: Part | None, ctx: _Ctx) -> bool:
    """Whether the step after `block`'s backtrack says again what that backtrack abandoned."""
    if following is None or following.node is None or not block or block[-1].kind != "back":
        return False
    abandoned = {same_text_key(ctx.index[i].text) for i in block[-1].abandoned}
    return same_text_key(ctx.index[following.node].text) in abandoned


def backtrack_parts(record: Record, seed: int = 0, max_wrong_per_node: int = 2) -> list[Part]:
    """The paragraphs of the `backtrack` render, each with what it renders (see `Part`)."""
    trace = record.trace
    if not trace.nodes:
        return []
    path = trace.selected_path()
    if len(path) == 2 and path[1].kind == NodeKind.solution_sample:
        return [Part("step", path[1].text.strip(), node=path[1].id)]
    ctx = _context(record, seed, max_wrong_per_node)
    parts: list[Part] = []
    for i, node in enumerate(path):
        nxt = path[i + 1] if i + 1 < len(path) else None
        blocks = []
        for k, evs in _dead_children(ctx, node)[: ctx.max_wrong]:
            block = _excursion_parts(ctx, k, node, evs)
            if block:
                blocks.append(block)
        blocks += _wrong_tries(ctx, node, nxt, ctx.max_wrong - len(blocks))
        following = _step(nxt) if nxt is not None else None
        kept: list[list[Part]] = []
        for j, block in enumerate(blocks):
            after = blocks[j + 1][0] if j + 1 < len(blocks) else following
            if not _repeats(block, after, ctx):
                kept.append(block)
        for block in kept:
            parts += block
        if following is not None:
            parts.append(following)
    if parts and (line := _missing_final(parts[-1].text, record)):
        parts.append(Part("final", line))
    return parts


def _path_text(record: Record) -> str:
    trace = record.trace
    if not record.outcome.solved:
        return ""  # a failed search is no demonstration: no path, no empty assistant turn
    steps = [n for n in trace.selected_path() if n.parent is not None]
    if len(steps) == 1 and steps[0].kind == NodeKind.solution_sample:
        return _finish(steps[0].text.strip(), record)
    return _finish("\n".join(f"Step {n.depth}: {n.text.strip()}" for n in steps), record)


def _missing_final(text: str, record: Record) -> str | None:
    """The `Final answer: ...` line a solved trace's text still needs at its end, or None. A code
    problem's final step is its program (a ```python block): it needs no line after it."""
    if record.problem.domain.value == "code":
        return None
    answer = record.outcome.final_answer
    if answer and text and "final answer" not in text.lower().splitlines()[-1]:
        return f"Final answer: {answer}"
    return None


def _finish(text: str, record: Record) -> str:
    """Make sure a solved trace ends by stating its final answer in the parseable form."""
    line = _missing_final(text, record)
    return f"{text}\n\n{line}" if line else text


def _labels(trace: Trace) -> dict[str, str]:
    """`a`, `b`, ... per sibling in proposal order, joined down the tree: `(b.a)` is the first
    candidate under the second candidate of step 1."""
    labels: dict[str, str] = {}
    counters: dict[str, int] = {}
    for n in trace.nodes:  # parents are created before children, siblings in proposal order
        if n.parent is None:
            labels[n.id] = ""
            continue
        if n.kind == NodeKind.reflection:
            continue
        i = counters.get(n.parent, 0)
        counters[n.parent] = i + 1
        letter = chr(ord("a") + i) if i < 26 else f"x{i}"
        labels[n.id] = f"{labels[n.parent]}.{letter}" if labels[n.parent] else letter
    return labels


def _search_text(record: Record) -> str:
    """Stream-of-Search style: every expansion, move, backtrack and the goal, in event order."""
    trace = record.trace
    index, labels = trace.by_id(), _labels(trace)
    ctx = _context(record, 0, 0)
    lines: list[str] = []
    for e in trace.events:
        if e.type == EventType.expand:
            node = index[e.node]
            after = f" after ({labels[node.id]})" if node.parent is not None else ""
            # an echo of the instructions or a half-written step is no candidate worth writing down
            kids = [index[c] for c in e.children if index[c].validator not in ("echo", "truncated")]
            if not kids:
                continue
            lines.append(f"Candidates for step {node.depth + 1}{after}:")
            for c in sorted(kids, key=lambda c: labels[c.id]):
                critique = usable_critique(c)
                note = f" ({critique.strip()})" if critique else ""
                lines.append(f"  ({labels[c.id]}) {c.text.strip()}{note}")
        elif e.type == EventType.select:
            node = index[e.node]
            lines.append(f"Trying ({labels[node.id]}) as step {node.depth}.")
        elif e.type == EventType.reflect:
            lines.append(f"Checking the steps: {index[e.node].text.strip()}")
        elif e.type == EventType.backtrack:
            frm, to = index[e.from_node], index[e.to_node]
            where = "the beginning" if to.parent is None else f"step {to.depth} ({labels[to.id]})"
            left = tuple(n.id for n in _chain(ctx, frm) if n.depth > to.depth)
            found = _evidence(ctx, left) if ctx.mode != "none" else None
            if found is None:
                why = f"Step {frm.depth} ({labels[frm.id]}) does not work out."
            else:
                blamed, _, reason = found
                why = f"Step {blamed.depth} ({labels[blamed.id]}) is wrong: {reason}"
            lines.append(f"{why} Backtracking to {where}.")
        elif e.type == EventType.prune:
            node = index[e.node]
            lines.append(f"Setting aside ({labels[node.id]}): other paths look more promising.")
        elif e.type == EventType.solve:
            node = index[e.node]
            end = "" if record.problem.domain.value == "code" else f" Final answer: {node.final_answer}"
            lines.append(f"Goal reached at ({labels[node.id]}).{end}")
            break  # what the search recorded after the goal is bookkeeping, not reasoning
        elif e.type == EventType.give_up:
            lines.append("No solution found.")
    return "\n".join(lines)


def _think_text(record: Record, seed: int, max_wrong: int) -> str:
    exploration = "\n\n".join(p.text for p in backtrack_parts(record, seed, max_wrong))
    if not exploration:
        return ""
    solution = _path_text(record)
    think = f"<think>\n{exploration}\n</think>"
    return f"{think}\n\n{solution}" if solution else think


def render(
    record: Record,
    style: str = "backtrack",
    seed: int = 0,
    max_wrong_per_node: int = 2,
    system: str | None = None,
) -> list[Message]:
    """Chat messages ([system,] user question, assistant reasoning) for `record` in `style`. When
    there is nothing to say (an unsolved `path`), there is no assistant message, never an empty one."""
    text, _ = render_with_backtracks(record, style, seed, max_wrong_per_node)
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=task_text(record.problem)))
    if text.strip():
        messages.append(Message(role="assistant", content=text))
    return messages


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
        return _path_text(record), []
    if style == "search":
        backs = [(e.from_node, e.to_node) for e in trace.events if e.type == EventType.backtrack]
        return _search_text(record), backs  # type: ignore[return-value]
    parts = backtrack_parts(record, seed, max_wrong_per_node)
    events = [ev for p in parts if p.kind == "back" for ev in p.events]
    if style == "think":
        return _think_text(record, seed, max_wrong_per_node), events
    return "\n\n".join(p.text for p in parts), events
