"""Per-record checks: answer re-verification, truncated steps, empty or degenerate steps.

(Schema and tree integrity are checked where records are parsed, in `rft.validate.records`.)
"""

from __future__ import annotations

import re

from rft.schemas import NodeStatus, Record, Verdict
from rft.schemas.record import untrainable_reason
from rft.validate.normalize import tokenize
from rft.validate.report import Flag
from rft.verify.answers import extract_final_answer
from rft.verify.grader import answer_grader

_TRAINED = (NodeStatus.selected, NodeStatus.solution, NodeStatus.dead_end)
MIN_TOKENS_FOR_LOOP = 30


def is_degenerate(text: str) -> str | None:
    """Why `text` looks like a repetition loop, or None.

    A loop: the same line (>= 10 chars) four or more times, or fewer than 30% distinct word
    4-grams in a text of at least 30 words."""
    lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 10]
    if lines:
        top = max(lines.count(ln) for ln in set(lines))
        if top >= 4:
            return f"a line repeated {top} times"
    toks = tokenize(text)
    if len(toks) >= MIN_TOKENS_FOR_LOOP:
        grams = [tuple(toks[i : i + 4]) for i in range(len(toks) - 3)]
        ratio = len(set(grams)) / len(grams)
        if ratio < 0.3:
            return f"only {ratio:.0%} distinct word 4-grams"
    if re.search(r"(.{8,}?)\1{5,}", text, flags=re.S):
        return "a phrase repeated 6+ times in a row"
    return None


def _excerpt(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_steps(record: Record) -> list[Flag]:
    """No assistant message at all; truncated, empty and degenerate steps on the trained path, and in
    assistant messages."""
    flags: list[Flag] = []
    rid = record.id
    if not any(m.role == "assistant" for m in record.messages):  # nothing to train on: never kept
        why = {"error": record.outcome.error} if record.outcome.error else {"messages": len(record.messages)}
        flags.append(Flag(rid, "no_messages", evidence=why))
    for node in record.trace.nodes:
        if node.parent is None or node.status not in _TRAINED:
            continue
        if node.truncated:
            flags.append(Flag(rid, "truncated", evidence={"node": node.id, "text": _excerpt(node.text)}))
        if not node.text.strip():
            flags.append(Flag(rid, "empty_step", evidence={"node": node.id}))
            continue
        why = is_degenerate(node.text)
        if why:
            flags.append(
                Flag(rid, "degenerate", evidence={"node": node.id, "why": why, "text": _excerpt(node.text)})
            )
    for i, msg in enumerate(record.messages):
        if msg.role != "assistant":
            continue
        if not msg.content.strip():
            flags.append(Flag(rid, "empty_step", evidence={"message": i}))
            continue
        why = is_degenerate(msg.content)
        if why:
            flags.append(Flag(rid, "degenerate", evidence={"message": i, "why": why}))
    if record.outcome.stop_reason in ("length", "max_tokens") and not any(
        f.check == "truncated" for f in flags
    ):
        flags.append(Flag(rid, "truncated", evidence={"stop_reason": record.outcome.stop_reason}))
    # one row per check and record is enough to audit
    seen: set[str] = set()
    out = []
    for f in flags:
        if f.check not in seen:
            seen.add(f.check)
            out.append(f)
    return out


def final_answer_of(record: Record) -> str | None:
    if record.outcome.final_answer:
        return record.outcome.final_answer
    sol = record.trace.solution()
    if sol is not None and sol.final_answer:
        return sol.final_answer
    for msg in reversed(record.messages):
        if msg.role == "assistant":
            return extract_final_answer(msg.content)
    return None


def check_answer_verdict(record: Record) -> Flag | None:
    """Re-verify the final answer against gold; flag a stored verdict that disagrees."""
    gold = record.problem.answer
    if not gold or record.problem.domain.value != "math":
        return None
    pred = final_answer_of(record)
    if pred is None:
        return None
    verdict = answer_grader(gold, record.problem.domain).check(pred, gold).verdict
    if verdict == Verdict.unknown:
        return None
    recheck = verdict == Verdict.correct
    stored: list[tuple[str, bool]] = []
    if record.outcome.correct is not None:
        stored.append(("outcome.correct", record.outcome.correct))
    sol = record.trace.solution()
    if sol is not None and sol.verdict in (Verdict.correct, Verdict.incorrect):
        stored.append((f"node {sol.id} verdict", sol.verdict == Verdict.correct))
    for where, value in stored:
        if value != recheck:
            return Flag(
                record.id,
                "answer_mismatch",
                method="answer_check",
                evidence={
                    "final_answer": pred,
                    "gold": gold,
                    "stored": f"{where}={value}",
                    "recheck": verdict.value,
                },
            )
    return None


def check_trainable(record: Record, keep: bool = False) -> Flag | None:
    """A row for an untrainable record: dropped, or kept with `keep` (`--keep-unsolved`)."""
    reason = untrainable_reason(record)
    if reason is None:
        return None
    o = record.outcome
    if reason == "unsolved":
        fields = {"stop_reason": o.stop_reason, "error": o.error}
    else:
        fields = {"final_answer": o.final_answer, "gold": record.problem.answer}
    evidence = {k: v for k, v in fields.items() if v is not None}
    return Flag(record.id, reason, action="kept" if keep else "dropped", evidence=evidence)
