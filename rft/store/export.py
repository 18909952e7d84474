"""The records an export writes: only the trainable ones (`--trainable-only`), re-rendered from their
traces (`--render`), with a system message (`--system`). Pure: the loaded records are not changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rft.schemas import Message, Record
from rft.schemas.record import untrainable_reason


@dataclass
class Selection:
    records: list[Record]
    dropped: Counter[str] = field(default_factory=Counter)  # untrainable records left out, by reason


def with_system(messages: list[Message], system: str) -> list[Message]:
    """`messages` with `system` as its (only) leading system message."""
    rest = [m for m in messages if m.role != "system"]
    return [Message(role="system", content=system), *rest]


def prepare(
    records: list[Record],
    *,
    trainable_only: bool = False,
    render_style: str | None = None,
    system: str | None = None,
    seed: int = 0,
) -> Selection:
    """The records to export, in order. An unknown `render_style` is the ConfigError `render` raises."""
    from rft.generate.render import render

    kept: list[Record] = []
    dropped: Counter[str] = Counter()
    for r in records:
        reason = untrainable_reason(r)
        if trainable_only and reason is not None:
            dropped[reason] += 1
            continue
        update: dict = {}
        if render_style is not None:
            update = {"messages": render(r, render_style, seed=seed, system=system), "render": render_style}
        elif system is not None:  # the stored rendering, with this system message instead of its own
            update["messages"] = with_system(r.messages, system)
        kept.append(r.model_copy(update=update) if update else r)
    return Selection(kept, dropped)
