"""The search tree while it grows: nodes, events, ranking, and per-problem accounting/budgets."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rft.schemas import Event, EventType, Node, NodeKind, NodeStatus, Trace, Usage, Verdict, add_cost
from rft.teachers.base import Completion, Teacher
from rft.verify.steps import Judgement


class Stop(Exception):
    """A budget ran out: the search stops where it is (not an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def same_text_key(text: str) -> str:
    """Two step texts with the same key say the same thing (case and spacing aside)."""
    return " ".join(text.lower().split())


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (run seed, problem id, node id)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class Meter:
    """Per-problem accounting of every teacher/judge call, and the budgets checked before each."""

    max_tokens_per_problem: int | None = None
    run_guard: Callable[[], str | None] | None = None  # run-wide budget (cost); returns a reason
    on_usage: Callable[[Completion], None] | None = None  # run-wide live totals
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def check(self) -> None:
        if self.run_guard is not None:
            reason = self.run_guard()
            if reason:
                raise Stop(reason)
        if self.max_tokens_per_problem is not None and self.tokens >= self.max_tokens_per_problem:
            raise Stop("max_tokens_per_problem")

    async def chat(self, teacher: Teacher, messages, **kw) -> list[Completion]:
        self.check()
        comps = await teacher.chat(messages, **kw)
        self.calls += 1
        for c in comps:
            self.prompt_tokens += c.prompt_tokens
            self.completion_tokens += c.completion_tokens
            self.cost_usd = add_cost(self.cost_usd, c.cost_usd)
            if self.on_usage is not None:
                self.on_usage(c)
        return comps


@dataclass
class Proposal:
    text: str
    final_answer: str | None
    truncated: bool
    usage: Usage
    teacher: str
    raw: str = ""


@dataclass
class Tree:
    """Nodes in creation order and events in the order they happened."""

    threshold: float
    nodes: dict[str, Node] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    backtracks: int = 0
    pruned: int = 0
    _next: int = 0

    def add_root(self) -> Node:
        root = Node(id="n0", parent=None, depth=0, kind=NodeKind.root, status=NodeStatus.selected)
        self.nodes[root.id] = root
        self._next = 1
        return root

    def add_candidates(self, parent: Node, proposals: Sequence[Proposal], kind=NodeKind.step) -> list[Node]:
        """New candidate nodes under `parent`. Identical siblings (same text up to case and spacing)
        are merged into the first: counted in its `metadata["duplicates"]`, their usage added to it,
        never judged twice."""
        out: list[Node] = []
        seen: dict[str, Node] = {}
        for p in proposals:
            key = same_text_key(p.text)
            if key and key in seen:
                first = seen[key]
                first.metadata["duplicates"] = first.metadata.get("duplicates", 0) + 1
                first.usage = Usage(
                    prompt_tokens=first.usage.prompt_tokens + p.usage.prompt_tokens,
                    completion_tokens=first.usage.completion_tokens + p.usage.completion_tokens,
                )
                continue
            node = Node(
                id=f"n{self._next}",
                parent=parent.id,
                depth=parent.depth + 1,
                kind=kind,
                text=p.text,
                status=NodeStatus.unexplored,
                final_answer=p.final_answer,
                truncated=p.truncated,
                usage=p.usage,
                teacher=p.teacher,
            )
            if not p.text.strip() and p.raw.strip():
                node.metadata["raw"] = p.raw[:500]
            self._next += 1
            self.nodes[node.id] = node
            out.append(node)
            if key:
                seen[key] = node
        self.event(EventType.expand, node=parent.id, children=[n.id for n in out])
        return out

    def add_reflection(self, final: Node, text: str, usage: Usage, teacher: str, blames: Node | None) -> Node:
        """The teacher's self-check of the path to `final` (a failed final answer), as a node."""
        node = Node(
            id=f"n{self._next}",
            parent=final.id,
            depth=final.depth + 1,
            kind=NodeKind.reflection,
            text=text,
            status=NodeStatus.dead_end,
            usage=usage,
            teacher=teacher,
        )
        if blames is not None:
            node.metadata["blames"] = blames.id
        self._next += 1
        self.nodes[node.id] = node
        self.event(EventType.reflect, node=node.id, from_node=final.id)
        return node

    def effective(self, node: Node) -> float:
        """Score used for ranking/threshold: an unknown score counts as exactly the threshold."""
        return node.score if node.score is not None else self.threshold

    def apply(self, nodes: Sequence[Node], judgements: Sequence[Judgement]) -> list[Node]:
        """Write validator results onto nodes; rank siblings (best first, ties by proposal order)."""
        for node, j in zip(nodes, judgements, strict=True):
            node.score = None if j.score is None else min(1.0, max(0.0, float(j.score)))
            node.critique = j.critique
            node.validator = j.validator
            if node.final_answer is not None:
                node.verdict = j.verdict or Verdict.unknown
            if j.metadata:
                node.metadata.update(j.metadata)
        order = sorted(range(len(nodes)), key=lambda i: (-self.effective(nodes[i]), i))
        for rank, i in enumerate(order):
            nodes[i].rank = rank
        return [nodes[i] for i in order]

    def event(self, type_: EventType, **kw) -> Event:
        ev = Event(type=type_, step=len(self.events), **kw)
        self.events.append(ev)
        return ev

    def select(self, node: Node) -> None:
        node.status = NodeStatus.selected
        self.event(EventType.select, node=node.id)

    def backtrack(self, frm: Node, to: Node, reason: str) -> None:
        """Leave `frm` for its ancestor `to`: `frm` and every step between them are dead ends."""
        self.backtracks += 1
        self.event(EventType.backtrack, from_node=frm.id, to_node=to.id, reason=reason)
        for a in self.ancestors(frm):
            if a.id == to.id:
                break
            a.status = NodeStatus.dead_end

    def prune(self, node: Node, reason: str) -> None:
        """Beam: `node`'s path fell out of the beam. Not a backtrack (nothing was found wrong with it)."""
        node.status = NodeStatus.dead_end
        self.pruned += 1
        self.event(EventType.prune, node=node.id, reason=reason)

    def solve(self, node: Node) -> None:
        node.status = NodeStatus.solution
        self.event(EventType.solve, node=node.id)

    def path_texts(self, node: Node) -> list[str]:
        texts: list[str] = []
        cur: Node | None = node
        while cur is not None and cur.parent is not None:
            texts.append(cur.text)
            cur = self.nodes[cur.parent]
        return list(reversed(texts))

    def ancestors(self, node: Node) -> list[Node]:
        out = []
        cur: Node | None = node
        while cur is not None:
            out.append(cur)
            cur = self.nodes[cur.parent] if cur.parent else None
        return out

    def finalize(self, solution: Node | None, stopped: bool) -> None:
        """Settle statuses so the trace satisfies the integrity rules.

        Ranked candidates never followed become `rejected` (or stay `unexplored` when a budget stopped
        the search). Nodes still `selected` off the solution path become `dead_end`.
        """
        if solution is not None:
            keep: set[str] | None = {n.id for n in self.ancestors(solution)}
        else:  # keep the selected nodes only if they form one chain from the root
            chosen = [n for n in self.nodes.values() if n.status == NodeStatus.selected and n.parent]
            parents = [n.parent for n in chosen]
            chain = len(set(parents)) == len(parents) and all(
                self.nodes[p].status == NodeStatus.selected for p in parents
            )
            keep = None if chain else {n.id for n in self.nodes.values() if n.parent is None}
        for n in self.nodes.values():
            if n.parent is None:
                continue
            if n.status == NodeStatus.unexplored and n.rank is not None:
                if not stopped:
                    n.status = NodeStatus.rejected
            if n.status == NodeStatus.selected and keep is not None and n.id not in keep:
                n.status = NodeStatus.dead_end

    def trace(self, strategy: str) -> Trace:
        return Trace(strategy=strategy, nodes=list(self.nodes.values()), events=list(self.events))
