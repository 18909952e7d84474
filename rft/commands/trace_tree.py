"""A record's search as a rich Tree: the selected path highlighted, the rest dimmed, backtracks marked."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from rft.schemas import EventType, Node, NodeKind, NodeStatus, Record, Verdict

STYLE = {
    NodeStatus.selected: "bold green",
    NodeStatus.solution: "bold green",
    NodeStatus.rejected: "dim",
    NodeStatus.dead_end: "dim red",
    NodeStatus.unexplored: "dim italic",
}
BADGE = {
    NodeStatus.selected: "●",
    NodeStatus.solution: "✔",
    NodeStatus.rejected: "✗",
    NodeStatus.dead_end: "✘",
    NodeStatus.unexplored: "·",
}
VERDICT_STYLE = {Verdict.correct: "green", Verdict.incorrect: "red", Verdict.unknown: "yellow"}


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def node_label(node: Node, backtracks: list[tuple[str, str | None]], *, width: int = 160) -> Text:
    """One node: badge, id, status, score/rank, step text; then answer/verdict, critique, backtracks."""
    if node.kind == NodeKind.reflection:
        label = Text(f"✎ {node.id} [self-check]", style="magenta")
        if node.metadata.get("blames"):
            label.append(f" blames {node.metadata['blames']}", style="bold magenta")
        label.append("\n" + _short(node.text or "(empty)", width), style="magenta")
        return label
    style = STYLE[node.status]
    label = Text()
    label.append(f"{BADGE[node.status]} {node.id} ", style=style)
    label.append(f"[{node.status.value}]", style=style)
    if node.score is not None:
        on_path = node.status in (NodeStatus.selected, NodeStatus.solution)
        label.append(f" score {node.score:.2f}", style="cyan" if on_path else "dim cyan")
    if node.rank is not None:
        label.append(f" rank {node.rank}", style="dim")
    if node.truncated:
        label.append(" (truncated)", style="yellow")
    if node.value is not None:
        label.append(f" value {node.value:.2f}", style="dim")
    if node.metadata.get("duplicates"):
        label.append(f" (+{node.metadata['duplicates']} identical)", style="dim")
    text = node.text if node.text.strip() else "(empty step)"
    label.append("\n" + _short(text, width), style=style if node.status != NodeStatus.selected else "green")
    if node.final_answer is not None:
        label.append("\nfinal answer: ", style="bold")
        label.append(node.final_answer)
        if node.verdict is not None:
            label.append(f"  {node.verdict.value}", style=VERDICT_STYLE[node.verdict])
    if node.observation:
        label.append("\nobservation: " + _short(node.observation, width), style="dim")
    if node.critique and node.parent is not None:
        label.append("\ncritique: " + _short(node.critique, width), style="dim italic")
    for to_node, reason in backtracks:
        label.append(f"\n↩ backtracked to {to_node}", style="bold yellow")
        if reason:
            label.append(f": {_short(reason, width)}", style="yellow")
    return label


def trace_tree(record: Record, *, width: int = 160) -> Tree:
    """The whole trace of `record` as a rich Tree rooted at the question."""
    trace = record.trace
    backtracks: dict[str, list[tuple[str, str | None]]] = {}
    for e in trace.iter_events(EventType.backtrack):
        assert e.from_node is not None and e.to_node is not None
        backtracks.setdefault(e.from_node, []).append((e.to_node, e.reason))
    head = Text()
    head.append(f"{record.id}", style="bold")
    head.append(f"  {_short(record.problem.question, width)}")
    if record.problem.answer is not None:
        head.append("\ngold answer: ", style="bold")
        head.append(record.problem.answer)
    tree = Tree(head, guide_style="dim")
    if not trace.nodes:
        tree.add(Text("(no search recorded)", style="dim italic"))
        return tree
    root = trace.root()
    if root.text.strip() and root.text.strip() != record.problem.question.strip():
        parent = tree.add(node_label(root, backtracks.get(root.id, []), width=width))
    else:
        parent = tree
        for to_node, reason in backtracks.get(root.id, []):
            tree.add(Text(f"↩ backtracked to {to_node}: {reason or ''}", style="bold yellow"))

    def add(branch: Tree, node_id: str) -> None:
        for child in trace.children(node_id):
            sub = branch.add(node_label(child, backtracks.get(child.id, []), width=width))
            add(sub, child.id)

    add(parent, root.id)
    return tree


def outcome_line(record: Record) -> Text:
    o = record.outcome
    t = Text()
    if o.solved:
        t.append("solved", style="bold green")
    else:
        t.append("not solved", style="bold red")
    t.append(f"  final answer: {o.final_answer if o.final_answer is not None else '-'}")
    if o.correct is not None:
        t.append("  ")
        t.append("correct" if o.correct else "incorrect", style="green" if o.correct else "red")
    cost = "unknown" if o.cost_usd is None else f"${o.cost_usd:.4f}"
    t.append(
        f"  nodes {o.nodes}  backtracks {o.backtracks}"
        + (f"  pruned {o.pruned}" if o.pruned else "")
        + f"  teacher calls {o.teacher_calls}"
        f"  tokens {o.tokens_in}/{o.tokens_out}  cost {cost}  {o.wall_time_s:.1f}s"
    )
    if o.stop_reason:
        t.append(f"  stop: {o.stop_reason}", style="dim")
    t.append("  trainable" if o.trainable else "  not trainable", style="green" if o.trainable else "dim")
    if o.error:
        t.append(f"\nerror: {o.error}", style="red")
    return t


def event_lines(record: Record) -> Text:
    """The search in the order it happened, one event a line."""
    t = Text()
    for i, e in enumerate(record.trace.events):
        step = e.step if e.step is not None else i
        t.append(
            f"{step:>3} {e.type.value:<9}", style="bold yellow" if e.type == EventType.backtrack else "bold"
        )
        if e.type == EventType.backtrack:
            t.append(f" {e.from_node} → {e.to_node}")
        elif e.node:
            t.append(f" {e.node}")
        if e.children:
            t.append(" → " + ", ".join(e.children), style="dim")
        if e.reason:
            t.append(f"  {e.reason}", style="dim")
        t.append("\n")
    return t


def render_record(record: Record, *, events: bool = False, width: int = 160) -> Group:
    parts = [trace_tree(record, width=width), outcome_line(record)]
    if events:
        parts += [Text("\nevents", style="bold underline"), event_lines(record)]
    return Group(*parts)
