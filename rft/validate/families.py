"""Contamination families: programmatic disguises of benchmark items, for measuring recall.

Used by the tests and `benchmarks/decontam.py`: plant disguised test items into clean data and
count how many `rft validate` flags. Each function is deterministic given its `rng`.
"""

from __future__ import annotations

import random
import re

from rft.schemas import Message, Node, NodeKind, NodeStatus, Outcome, Problem, Record, Trace, Verdict

TEMPLATES = (
    "Solve the following problem step by step.\n\n{q}\n\nPut the final answer at the end.",
    "Question: {q}\nAnswer: Let's think step by step.",
    "You are a helpful tutor. A student asks:\n{q}\nExplain carefully.",
    "{q}",
    "Here is a practice problem from my homework: {q} Can you help?",
)

NAMES = (
    "Olivia Liam Emma Noah Amelia Oliver Sophia Elijah Mia Lucas Harper Mateo Evelyn Levi Aria Ezra "
    "Luna Asher Chloe Leo Nora Kai Zoe Milo Hazel Omar Ines Tariq Priya Kenji Aiko Sven Freya Dmitri "
    "Yara Bruno Lena Marco Ada Felix"
).split()
_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty"
).split()
_STOP_CAPS = frozenset(
    "A An The If In On At How What When Where Which Who Why Each Every Then After Before She He They "
    "It Its His Her Their There This That These Those For From To Of And But Or So Find Compute Let "
    "Given Suppose Determine Express Simplify Evaluate What's I We You Mr Mrs Ms Dr Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday January February March April May June July August "
    "September October November December Is Are Was Were Do Does Did Can Will Write Solve Assume".split()
)


def verbatim(q: str, rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(q=q)


def format_noise(q: str, rng: random.Random) -> str:
    """Whitespace, case and LaTeX-delimiter noise; the words and numbers are unchanged."""
    text = re.sub(r"\$\$(.+?)\$\$", r"\\[\1\\]", q, flags=re.S)
    text = re.sub(
        r"\$(.+?)\$", lambda m: rng.choice([r"\(" + m.group(1) + r"\)", "$ " + m.group(1) + " $"]), text
    )
    text = text.replace(r"\frac", r"\dfrac")
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.15:
            w = w.upper()
        elif r < 0.3:
            w = w.capitalize()
        sep = rng.choice([" ", " ", " ", "  ", "\n", " \t"])
        out.append(w + sep)
    return "".join(out).strip()


def _swap_number(m: re.Match[str], rng: random.Random) -> str:
    s = m.group()
    digits = [c for c in s if c.isdigit()]
    while True:
        new = "".join(str(rng.randint(1 if i == 0 and len(digits) > 1 else 0, 9)) for i in range(len(digits)))
        if new != "".join(digits):
            break
    it = iter(new)
    return "".join(next(it) if c.isdigit() else c for c in s)


def swap_numbers(q: str, rng: random.Random) -> str:
    """Every number (digits or a number word) replaced by a different one."""
    text = re.sub(r"\d+(?:\.\d+)?", lambda m: _swap_number(m, rng), q)
    pattern = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
    return pattern.sub(lambda m: rng.choice([w for w in _NUMBER_WORDS if w != m.group().lower()]), text)


def names_in(q: str) -> list[str]:
    """Capitalised words that look like names (not sentence starts of common words, not units)."""
    found = []
    for m in re.finditer(r"\b[A-Z][a-z]+\b", q):
        w = m.group()
        if w not in _STOP_CAPS and w not in found:
            found.append(w)
    return found


def swap_numbers_and_names(q: str, rng: random.Random) -> str:
    text = swap_numbers(q, rng)
    for name in names_in(q):
        new = rng.choice([n for n in NAMES if n != name])
        text = re.sub(rf"\b{re.escape(name)}\b", new, text)
    return text


def first_half(q: str, rng: random.Random) -> str:
    words = q.split()
    return " ".join(words[: max(1, len(words) // 2)])


FAMILIES = {
    "verbatim": verbatim,
    "format_noise": format_noise,
    "numbers_swapped": swap_numbers,
    "numbers_names_swapped": swap_numbers_and_names,
    "first_half": first_half,
}


def synthetic_record(pid: str, question: str, solution: str, answer: str | None = None) -> Record:
    """A record shaped like `rft generate` output: each solution line a selected step (the last one
    the solution), a rejected sibling at the first step, and a chat rendering in `messages`."""
    lines = [ln.strip() for ln in re.sub(r"<<[^>]*>>", "", solution).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("####")] or ["The answer follows directly."]
    if answer is None:
        m = re.search(r"####\s*(.+)", solution)
        answer = m.group(1).strip() if m else None
    final = f"The answer is {answer}." if answer else None
    nodes = [
        Node(id="n0", parent=None, depth=0, kind=NodeKind.root, text=question, status=NodeStatus.selected)
    ]
    parent = "n0"
    for i, text in enumerate(lines, 1):
        last = i == len(lines)
        if last and final:
            text = f"{text} {final}"
        nodes.append(
            Node(
                id=f"n{i}",
                parent=parent,
                depth=i,
                text=text,
                status=NodeStatus.solution if last and final else NodeStatus.selected,
                score=0.9,
                rank=0,
                final_answer=answer if last and final else None,
                verdict=Verdict.correct if last and final else None,
            )
        )
        parent = f"n{i}"
    nodes.append(
        Node(
            id="r1",
            parent="n0",
            depth=1,
            text="Let me first restate what is asked.",
            status=NodeStatus.rejected,
            score=0.2,
            rank=1,
        )
    )
    reply = "\n".join(n.text for n in nodes[1:] if n.status != NodeStatus.rejected)
    return Record(
        problem=Problem(id=pid, question=question, answer=answer, solution=solution),
        trace=Trace(strategy="synthetic", nodes=nodes),
        outcome=Outcome(
            solved=bool(final), final_answer=answer, correct=True if final else None, nodes=len(nodes)
        ),
        messages=[Message(role="user", content=question), Message(role="assistant", content=reply)],
        render="path",
    )
