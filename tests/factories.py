"""Builders of valid, realistic Records for tests (any engineer's tests may import these).

`make_record()` builds the search of one arithmetic word problem:

    n0 root (the question)                                   selected
    ├── n1 "Tom starts with 3 boxes of 12 pencils ..."  0.92   selected
    │   ├── n3 "... 36 + 5 = 41"  final 41 (incorrect)  0.71   dead_end   ↩ backtrack to n1
    │   ├── n4 "... 36 - 5 = 31"  final 31 (correct)    0.88   solution
    │   └── n5 "Divide the pencils ..."                        unexplored
    └── n2 "Tom has 3 + 12 = 15 pencils."               0.35   rejected

With `with_backtrack=False` the dead end and the backtrack are left out; with `solved=False` the
would-be solution concludes 29 (incorrect), is a dead end too, and the search ends with `give_up`.
"""

from __future__ import annotations

from typing import Any

from rft.schemas import (
    Event,
    EventType,
    Message,
    Node,
    NodeKind,
    NodeStatus,
    Outcome,
    Problem,
    ProblemSource,
    Record,
    Trace,
    Usage,
    Verdict,
)

QUESTION = (
    "Tom has 3 boxes with 12 pencils each. He gives away 5 pencils. How many pencils does he have left?"
)
TEACHER = "local:smollm2-135m"
VALIDATOR = "judge:local:smollm2-135m"


def _node(id_: str, parent: str | None, depth: int, text: str, status: NodeStatus, **kw: Any) -> Node:
    kind = NodeKind.root if parent is None else NodeKind.step
    usage = (
        Usage(prompt_tokens=0, completion_tokens=0)
        if parent is None
        else Usage(prompt_tokens=120, completion_tokens=24)
    )
    return Node(
        id=id_,
        parent=parent,
        depth=depth,
        kind=kind,
        text=text,
        status=status,
        usage=usage,
        teacher=None if parent is None else TEACHER,
        validator=None if parent is None or kw.get("score") is None else VALIDATOR,
        **kw,
    )


def make_trace(*, with_backtrack: bool = True, solved: bool = True, question: str = QUESTION) -> Trace:
    """The trace drawn in the module docstring."""
    nodes = [
        _node("n0", None, 0, question, NodeStatus.selected),
        _node(
            "n1",
            "n0",
            1,
            "Tom starts with 3 boxes of 12 pencils, so 3 * 12 = 36 pencils.",
            NodeStatus.selected,
            score=0.92,
            rank=0,
            critique="Correct multiplication.",
        ),
        _node(
            "n2",
            "n0",
            1,
            "Tom has 3 + 12 = 15 pencils.",
            NodeStatus.rejected,
            score=0.35,
            rank=1,
            critique="Adds boxes and pencils per box; it should multiply.",
        ),
    ]
    events = [
        Event(type=EventType.expand, node="n0", children=["n1", "n2"], step=0),
        Event(type=EventType.select, node="n1", step=1),
    ]
    if with_backtrack:
        nodes.append(
            _node(
                "n3",
                "n1",
                2,
                "He gives away 5, so 36 + 5 = 41. The answer is 41.",
                NodeStatus.dead_end,
                score=0.71,
                rank=0,
                final_answer="41",
                verdict=Verdict.incorrect,
                critique="Giving pencils away removes them: subtract, do not add.",
            )
        )
    final_status = NodeStatus.solution if solved else NodeStatus.dead_end
    nodes.append(
        _node(
            "n4",
            "n1",
            2,
            "He gives away 5, so 36 - 5 = 31. The answer is 31."
            if solved
            else "He gives away 5, so 36 - 7 = 29. The answer is 29.",
            final_status,
            score=0.88 if solved else 0.62,
            rank=1 if with_backtrack else 0,
            final_answer="31" if solved else "29",
            verdict=Verdict.correct if solved else Verdict.incorrect,
            critique="Subtracts the pencils given away." if solved else "Subtracts 7 instead of 5.",
        )
    )
    nodes.append(_node("n5", "n1", 2, "Divide the pencils among the boxes.", NodeStatus.unexplored))
    children = ["n3", "n4", "n5"] if with_backtrack else ["n4", "n5"]
    events.append(Event(type=EventType.expand, node="n1", children=children, step=2))
    step = 3
    if with_backtrack:
        events += [
            Event(type=EventType.select, node="n3", step=step),
            Event(
                type=EventType.backtrack,
                from_node="n3",
                to_node="n1",
                reason="final answer 41 judged incorrect: giving pencils away removes them",
                step=step + 1,
            ),
        ]
        step += 2
    events.append(Event(type=EventType.select, node="n4", step=step))
    if solved:
        events.append(Event(type=EventType.solve, node="n4", step=step + 1))
    else:
        events.append(
            Event(
                type=EventType.backtrack,
                from_node="n4",
                to_node="n1",
                reason="final answer 29 judged incorrect",
                step=step + 1,
            )
        )
        events.append(Event(type=EventType.give_up, reason="budget exhausted", step=step + 2))
    return Trace(strategy="beam-backtrack", nodes=nodes, events=events)


def make_messages(question: str, *, with_backtrack: bool = True, solved: bool = True) -> list[Message]:
    steps = ["Tom starts with 3 boxes of 12 pencils, so 3 * 12 = 36 pencils."]
    if with_backtrack:
        steps += [
            "He gives away 5, so 36 + 5 = 41.",
            "Wait, that's wrong: giving pencils away removes them. Going back to step 1.",
        ]
    steps.append("He gives away 5, so 36 - 5 = 31.")
    steps.append("The answer is 31." if solved else "I could not find an answer I trust.")
    return [Message(role="user", content=question), Message(role="assistant", content="\n".join(steps))]


def make_record(
    problem_id: str = "p1",
    with_backtrack: bool = True,
    *,
    solved: bool = True,
    question: str | None = None,
    answer: str = "31",
    source: ProblemSource | None = None,
    metadata: dict[str, Any] | None = None,
) -> Record:
    """A valid Record whose trace is the search in the module docstring."""
    question = question if question is not None else f"{QUESTION} (#{problem_id})"
    trace = make_trace(with_backtrack=with_backtrack, solved=solved, question=question)
    steps = [n for n in trace.nodes if n.parent is not None and n.status != NodeStatus.unexplored]
    tokens_in = sum(n.usage.prompt_tokens for n in steps)
    tokens_out = sum(n.usage.completion_tokens for n in steps)
    return Record(
        problem=Problem(
            id=problem_id,
            question=question,
            answer=answer,
            solution="3 * 12 = 36; 36 - 5 = 31. #### 31",
            source=source or ProblemSource(kind="builtin", name="demo", row=0),
        ),
        trace=trace,
        outcome=Outcome(
            solved=solved,
            final_answer="31" if solved else None,
            correct=True if solved else None,
            nodes=len(trace.nodes),
            backtracks=sum(1 for _ in trace.iter_events(EventType.backtrack)),
            teacher_calls=2,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=0.0,
            wall_time_s=1.25,
            stop_reason="solved" if solved else "budget",
        ),
        messages=make_messages(question, with_backtrack=with_backtrack, solved=solved),
        render="backtrack",
        metadata=metadata or {},
    )


def make_records(n: int, prefix: str = "p", **kw: Any) -> list[Record]:
    """`n` records with ids p0..p{n-1}; every third one without a backtrack."""
    return [make_record(f"{prefix}{i}", with_backtrack=i % 3 != 2, **kw) for i in range(n)]
