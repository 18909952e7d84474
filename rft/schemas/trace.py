"""The search tree (nodes) and the search history (events) of one problem.

Integrity rules (checked on construction): exactly one root; unique ids; every parent exists;
depth = parent depth + 1 (root at 0); events refer to existing nodes; at most one node has status
`solution`, and it lies on the selected path (all its ancestors are `selected`); a node has at most
one selected/solution child, so the selected path is a single chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NodeStatus(StrEnum):
    selected = "selected"  # on the chosen path (the root is always selected)
    rejected = "rejected"  # ranked, not followed (or followed and abandoned without a final answer)
    dead_end = "dead_end"  # followed, then backtracked out of (wrong answer, low score, depth out)
    solution = "solution"  # the step that concludes the chosen path with a final answer
    unexplored = "unexplored"  # proposed, never ranked or visited (budget ran out)


class Verdict(StrEnum):
    correct = "correct"
    incorrect = "incorrect"
    unknown = "unknown"


class NodeKind(StrEnum):
    """What a node holds. `root`, `step`, `solution_sample` (a whole written solution, the `sample`
    strategy) and `reflection` are produced; `code`/`tool` leave room for steps with an observation.

    A `reflection` is the teacher's self-check of the steps so far, written after a final answer
    failed its check, without being told the correct answer. It is a child of the final step it
    checks, is never a step of a path, and carries `metadata["blames"]` = the id of the step it
    names as wrong (absent when it names none)."""

    root = "root"
    step = "step"
    solution_sample = "solution_sample"
    reflection = "reflection"
    code = "code"
    tool = "tool"


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    parent: str | None = None
    depth: int = 0
    kind: NodeKind = NodeKind.step
    text: str = ""
    status: NodeStatus = NodeStatus.unexplored
    score: float | None = Field(default=None, ge=0.0, le=1.0, description="validator score in [0, 1]")
    rank: int | None = Field(default=None, ge=0, description="0 = best among its siblings")
    final_answer: str | None = None
    verdict: Verdict | None = None
    critique: str | None = None
    truncated: bool = Field(default=False, description="the teacher hit max_tokens in this step")
    usage: Usage = Field(default_factory=Usage)
    teacher: str | None = Field(default=None, description="teacher spec that proposed this step")
    validator: str | None = None
    # A step that runs code/tools carries its observation (room for what comes next).
    observation: str | None = None
    value: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="process label: share of the explored final answers below (and at) this step that"
        " are correct; the validator score where none below was explored",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)


class EventType(StrEnum):
    expand = "expand"  # `node` was expanded; `children` are the new candidates
    select = "select"  # `node` was chosen to continue from
    backtrack = "backtrack"  # left `from_node` (a dead end) and went back to `to_node`
    solve = "solve"  # `node` concluded with an accepted final answer
    give_up = "give_up"  # the search stopped without a solution; `reason` says why
    reflect = "reflect"  # the teacher checked the path to `from_node` and wrote reflection `node`
    prune = "prune"  # beam: `node` fell out of the beam (not a backtrack: nothing was wrong with it)


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EventType
    node: str | None = None
    children: list[str] = Field(default_factory=list)
    from_node: str | None = None
    to_node: str | None = None
    reason: str | None = None
    step: int | None = Field(default=None, description="sequence number within the search")

    @model_validator(mode="after")
    def _fields_for_type(self) -> Event:
        t = self.type
        if t == EventType.backtrack and (self.from_node is None or self.to_node is None):
            raise ValueError("backtrack event needs from_node and to_node")
        needs_node = (EventType.expand, EventType.select, EventType.solve, EventType.reflect, EventType.prune)
        if t in needs_node and self.node is None:
            raise ValueError(f"{t.value} event needs node")
        return self

    def node_refs(self) -> list[str]:
        refs = [r for r in (self.node, self.from_node, self.to_node) if r is not None]
        return refs + list(self.children)


class TraceIntegrityError(ValueError):
    pass


class Trace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: str | None = None
    nodes: list[Node] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _integrity(self) -> Trace:
        check_integrity(self)
        return self

    # --- navigation helpers (pure) ---
    def by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    def root(self) -> Node:
        return next(n for n in self.nodes if n.parent is None)

    def children(self, node_id: str) -> list[Node]:
        kids = [n for n in self.nodes if n.parent == node_id]
        return sorted(kids, key=lambda n: (n.rank if n.rank is not None else 1 << 30, n.id))

    def ancestors(self, node_id: str) -> list[Node]:
        """Path from the root to `node_id`, both included."""
        index = self.by_id()
        path: list[Node] = []
        cur: str | None = node_id
        while cur is not None:
            node = index[cur]
            path.append(node)
            cur = node.parent
        return list(reversed(path))

    def selected_path(self) -> list[Node]:
        """Root, then the chain of selected children, ending at the solution if there is one."""
        if not self.nodes:
            return []
        path = [self.root()]
        while True:
            nxt = [
                c
                for c in self.children(path[-1].id)
                if c.status in (NodeStatus.selected, NodeStatus.solution)
            ]
            if not nxt:
                return path
            path.append(nxt[0])

    def solution(self) -> Node | None:
        return next((n for n in self.nodes if n.status == NodeStatus.solution), None)

    def iter_events(self, type_: EventType) -> Iterator[Event]:
        return (e for e in self.events if e.type == type_)


def check_integrity(trace: Trace) -> None:
    """Raise TraceIntegrityError naming the first broken rule."""
    nodes = trace.nodes
    if not nodes:
        if trace.events:
            raise TraceIntegrityError("trace has events but no nodes")
        return
    index: dict[str, Node] = {}
    for n in nodes:
        if n.id in index:
            raise TraceIntegrityError(f"duplicate node id {n.id!r}")
        index[n.id] = n
    roots = [n for n in nodes if n.parent is None]
    if len(roots) != 1:
        raise TraceIntegrityError(f"trace must have exactly one root, found {len(roots)}")
    root = roots[0]
    if root.depth != 0:
        raise TraceIntegrityError(f"root {root.id!r} has depth {root.depth}, expected 0")
    for n in nodes:
        if n.parent is None:
            continue
        parent = index.get(n.parent)
        if parent is None:
            raise TraceIntegrityError(f"node {n.id!r} has missing parent {n.parent!r}")
        if n.depth != parent.depth + 1:
            raise TraceIntegrityError(
                f"node {n.id!r} has depth {n.depth}, expected {parent.depth + 1} (parent {parent.id!r})"
            )
    # cycles are impossible once depths are consistent and there is one root; still guard ids
    for e in trace.events:
        for ref in e.node_refs():
            if ref not in index:
                raise TraceIntegrityError(f"{e.type.value} event refers to missing node {ref!r}")
    on_path = (NodeStatus.selected, NodeStatus.solution)
    chosen_children: dict[str, int] = {}
    for n in nodes:
        if n.parent is not None and n.status in on_path:
            chosen_children[n.parent] = chosen_children.get(n.parent, 0) + 1
            if chosen_children[n.parent] > 1:
                raise TraceIntegrityError(f"node {n.parent!r} has more than one selected child")
    solutions = [n for n in nodes if n.status == NodeStatus.solution]
    if len(solutions) > 1:
        raise TraceIntegrityError(f"trace has {len(solutions)} solution nodes, at most one allowed")
    for sol in solutions:
        cur = sol.parent
        while cur is not None:
            anc = index[cur]
            if anc.status != NodeStatus.selected:
                raise TraceIntegrityError(
                    f"solution {sol.id!r} is not on the selected path: ancestor {anc.id!r} is {anc.status.value}"
                )
            cur = anc.parent
